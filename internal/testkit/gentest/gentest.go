// Package gentest asserts that the ClickHouse views show exactly the figures
// of a gen.Truth: every row of every view.
package gentest

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/chsql"
)

// Querier runs a query and returns its rows as text (chtest.Engine: the
// 18.16 server or chDB).
type Querier interface {
	TryQuery(q string) ([][]string, error)
}

// Tolerance for ratios and seconds: the SQL and Go compute the same
// quotients, but sums may be added in another order.
const tol = 1e-9

func near(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func nearPtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return near(*a, *b)
}

func fmtPtr(p *float64) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}

// checker collects mismatches; Report fails the test with the first few of
// each view and a count.
type checker struct {
	t       testing.TB
	conn    Querier
	db      string
	figures int
}

// row is one result row as text, read into Go values by Scan.
type row []string

// Scan reads the row's columns into dst: *string, *uint64, *uint32,
// *float64 or **float64 (nil for NULL).
func (r row) Scan(dst ...any) error {
	if len(dst) != len(r) {
		return fmt.Errorf("%d columns, want %d", len(r), len(dst))
	}
	for i, d := range dst {
		v := r[i]
		var err error
		switch p := d.(type) {
		case *string:
			*p = v
		case *uint64:
			*p, err = strconv.ParseUint(v, 10, 64)
		case *uint32:
			var n uint64
			n, err = strconv.ParseUint(v, 10, 32)
			*p = uint32(n)
		case *float64:
			*p, err = strconv.ParseFloat(v, 64)
		case **float64:
			if v == chsql.Null {
				*p = nil
				continue
			}
			var f float64
			f, err = strconv.ParseFloat(v, 64)
			*p = &f
		default:
			return fmt.Errorf("cannot scan into %T", d)
		}
		if err != nil {
			return fmt.Errorf("column %d %q: %w", i+1, v, err)
		}
	}
	return nil
}

func (c *checker) query(q string, scan func(row) error) {
	c.t.Helper()
	rows, err := c.conn.TryQuery(strings.ReplaceAll(q, "DB.", c.db+"."))
	if err != nil {
		c.t.Fatalf("cannot query %q: %v", q, err)
	}
	for _, r := range rows {
		if err := scan(row(r)); err != nil {
			c.t.Fatalf("cannot scan %q: %v", q, err)
		}
	}
}

func (c *checker) compare(view string, got, want []string) {
	c.t.Helper()
	c.figures += len(want)
	bad := 0
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			if bad < 5 {
				c.t.Errorf("%s row %d:\n got %s\nwant %s", view, i+1, g, w)
			}
			bad++
		}
	}
	if bad > 0 {
		c.t.Errorf("%s: %d of %d rows differ (got %d rows)", view, bad, len(want), len(got))
	}
}

// CheckViews compares every view in database db with truth and returns how
// many rows it compared.
func CheckViews(t testing.TB, conn Querier, db string, truth *gen.Truth) int {
	t.Helper()
	c := &checker{t: t, conn: conn, db: db}

	// conversion_summary
	var got, want []string
	c.query("SELECT conversion, conversion_type, category, users, events FROM DB.conversion_summary", func(r row) error {
		var conv, typ, cat string
		var users, events uint64
		err := r.Scan(&conv, &typ, &cat, &users, &events)
		got = append(got, fmt.Sprint(conv, " ", typ, " ", cat, " ", users, " ", events))
		return err
	})
	for _, s := range truth.ConversionSummary {
		want = append(want, fmt.Sprint(s.Conversion, " ", s.ConversionType, " ", s.Category, " ", s.Users, " ", s.Events))
	}
	c.compare("conversion_summary", got, want)

	// conversion_daily
	got, want = nil, nil
	c.query("SELECT toString(day), conversion, conversion_type, users, events FROM DB.conversion_daily", func(r row) error {
		var day, conv, typ string
		var users, events uint64
		err := r.Scan(&day, &conv, &typ, &users, &events)
		got = append(got, fmt.Sprint(day, " ", conv, " ", typ, " ", users, " ", events))
		return err
	})
	for _, s := range truth.ConversionDaily {
		want = append(want, fmt.Sprint(s.Day, " ", s.Conversion, " ", s.ConversionType, " ", s.Users, " ", s.Events))
	}
	c.compare("conversion_daily", got, want)

	// funnels
	ids := make([]string, 0, len(truth.Funnels))
	for id := range truth.Funnels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := truth.Funnels[id]
		type ratioRow struct {
			key      string
			prev, st float64
		}
		cmpRatios := func(view string, g, w []ratioRow) {
			t.Helper()
			var gs, ws []string
			for i := range w {
				ws = append(ws, w[i].key)
				if i < len(g) && g[i].key == w[i].key && near(g[i].prev, w[i].prev) && near(g[i].st, w[i].st) {
					gs = append(gs, w[i].key)
					continue
				}
				if i < len(g) {
					gs = append(gs, fmt.Sprintf("%s %v %v", g[i].key, g[i].prev, g[i].st))
					ws[i] = fmt.Sprintf("%s %v %v", w[i].key, w[i].prev, w[i].st)
				}
			}
			for i := len(w); i < len(g); i++ {
				gs = append(gs, g[i].key)
			}
			c.compare(view, gs, ws)
		}
		var g, w []ratioRow
		c.query("SELECT step, name, users, from_previous, from_start FROM DB.funnel_"+id, func(r row) error {
			var step uint32
			var name string
			var users uint64
			var fp, fs float64
			err := r.Scan(&step, &name, &users, &fp, &fs)
			g = append(g, ratioRow{fmt.Sprint(step, " ", name, " ", users), fp, fs})
			return err
		})
		for _, s := range f.Steps {
			w = append(w, ratioRow{fmt.Sprint(s.Step, " ", s.Name, " ", s.Users), s.FromPrevious, s.FromStart})
		}
		cmpRatios("funnel_"+id, g, w)

		g, w = nil, nil
		c.query("SELECT dimension, value, step, name, users, from_previous, from_start FROM DB.funnel_"+id+"_breakdown", func(r row) error {
			var dim, val, name string
			var step uint32
			var users uint64
			var fp, fs float64
			err := r.Scan(&dim, &val, &step, &name, &users, &fp, &fs)
			g = append(g, ratioRow{fmt.Sprintf("%s %q %d %s %d", dim, val, step, name, users), fp, fs})
			return err
		})
		for _, s := range f.Breakdown {
			w = append(w, ratioRow{fmt.Sprintf("%s %q %d %s %d", s.Dimension, s.Value, s.Step, s.Name, s.Users), s.FromPrevious, s.FromStart})
		}
		cmpRatios("funnel_"+id+"_breakdown", g, w)

		g, w = nil, nil
		c.query("SELECT toString(day), step, users, from_start FROM DB.funnel_"+id+"_daily", func(r row) error {
			var day string
			var step uint32
			var users uint64
			var fs float64
			err := r.Scan(&day, &step, &users, &fs)
			g = append(g, ratioRow{fmt.Sprint(day, " ", step, " ", users), 0, fs})
			return err
		})
		for _, s := range f.Daily {
			w = append(w, ratioRow{fmt.Sprint(s.Day, " ", s.Step, " ", s.Users), 0, s.FromStart})
		}
		cmpRatios("funnel_"+id+"_daily", g, w)

		var gt, wt []string
		var gtv [][3]*float64
		c.query("SELECT step, users, avg_seconds, median_seconds, p90_seconds FROM DB.funnel_"+id+"_times", func(r row) error {
			var step uint32
			var users uint64
			var avg, med, p90 *float64
			err := r.Scan(&step, &users, &avg, &med, &p90)
			gt = append(gt, fmt.Sprint(step, " ", users))
			gtv = append(gtv, [3]*float64{avg, med, p90})
			return err
		})
		for i, s := range f.Times {
			key := fmt.Sprint(s.Step, " ", s.Users)
			wt = append(wt, key)
			if i < len(gt) && gt[i] == key {
				v := gtv[i]
				if !nearPtr(v[0], s.AvgSeconds) || !nearPtr(v[1], s.MedianSeconds) || !nearPtr(v[2], s.P90Seconds) {
					gt[i] += fmt.Sprintf(" avg %s median %s p90 %s", fmtPtr(v[0]), fmtPtr(v[1]), fmtPtr(v[2]))
					wt[i] += fmt.Sprintf(" avg %s median %s p90 %s", fmtPtr(s.AvgSeconds), fmtPtr(s.MedianSeconds), fmtPtr(s.P90Seconds))
				}
			}
		}
		c.compare("funnel_"+id+"_times", gt, wt)
	}

	// micro_lift
	got, want = nil, nil
	type liftRow struct {
		key     string
		rw, rwo float64
		lift    *float64
	}
	var gl []liftRow
	c.query("SELECT micro, macro, users_with, converted_with, users_without, converted_without, rate_with, rate_without, lift FROM DB.micro_lift", func(r row) error {
		var micro, macro string
		var uw, cw, uwo, cwo uint64
		var rw, rwo float64
		var lift *float64
		err := r.Scan(&micro, &macro, &uw, &cw, &uwo, &cwo, &rw, &rwo, &lift)
		gl = append(gl, liftRow{fmt.Sprint(micro, " ", macro, " ", uw, " ", cw, " ", uwo, " ", cwo), rw, rwo, lift})
		return err
	})
	for i, m := range truth.MicroLift {
		key := fmt.Sprint(m.Micro, " ", m.Macro, " ", m.UsersWith, " ", m.ConvertedWith, " ", m.UsersWithout, " ", m.ConvertedWithout)
		want = append(want, key)
		if i >= len(gl) {
			continue
		}
		g := gl[i]
		if g.key == key && near(g.rw, m.RateWith) && near(g.rwo, m.RateWithout) && nearPtr(g.lift, m.Lift) {
			got = append(got, key)
			continue
		}
		got = append(got, fmt.Sprintf("%s rates %v %v lift %s", g.key, g.rw, g.rwo, fmtPtr(g.lift)))
		want[i] = fmt.Sprintf("%s rates %v %v lift %s", key, m.RateWith, m.RateWithout, fmtPtr(m.Lift))
	}
	for i := len(truth.MicroLift); i < len(gl); i++ {
		got = append(got, gl[i].key)
	}
	c.compare("micro_lift", got, want)

	// rejected messages
	got, want = nil, nil
	c.query("SELECT reason, messages FROM DB.rejected_summary ORDER BY reason", func(r row) error {
		var reason string
		var n uint64
		err := r.Scan(&reason, &n)
		got = append(got, fmt.Sprint(reason, " ", n))
		return err
	})
	reasons := make([]string, 0, len(truth.RejectedReasons))
	for r := range truth.RejectedReasons {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		want = append(want, fmt.Sprint(r, " ", truth.RejectedReasons[r]))
	}
	c.compare("rejected_summary", got, want)
	var events, users, rejected uint64
	c.query("SELECT uniqExact(event_id), uniqExact(user_key) FROM DB.events", func(r row) error { return r.Scan(&events, &users) })
	c.query("SELECT uniqExact(topic, `partition`, `offset`) FROM DB.rejected_events", func(r row) error { return r.Scan(&rejected) })
	c.compare("totals", []string{fmt.Sprint(events, " ", users, " ", rejected)}, []string{fmt.Sprint(truth.Events, " ", truth.Users, " ", truth.Rejected)})
	return c.figures
}
