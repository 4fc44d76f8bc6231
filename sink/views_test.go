package sink

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/microconv/microconv/internal/testkit/chtest"
)

const t0 = int64(1_700_000_000_000) // 2023-11-14T22:13:20Z

type ev struct {
	user, id string
	ms       int64
	convs    []string
	utm      string
}

// load writes one conversion row per (event, conversion) and one event row
// per event, twice (a re-delivered batch must change nothing).
func load(t *testing.T, c *Client, types map[string]string, evs []ev) {
	t.Helper()
	var b Batch
	for round := 0; round < 2; round++ {
		for _, e := range evs {
			b.AddEvent(&Event{EventID: e.id, Event: "x", UserKey: e.user, TSMillis: e.ms})
			for _, cv := range e.convs {
				b.AddConversion(&Conversion{Conversion: cv, ConversionType: types[cv], EventID: e.id,
					UserKey: e.user, TSMillis: e.ms, UTM: UTM{Source: e.utm}})
			}
		}
		if err := c.Flush(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
	}
}

func rows(t *testing.T, e *chtest.Engine, db, q string) string {
	t.Helper()
	return e.Rows(t, strings.ReplaceAll(q, "DB.", db+"."))
}

func expect(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got:\n%s\nwant:\n%s", what, got, want)
	}
}

// Hand-computed funnel cases: window inclusive, millisecond order, ties,
// out of order, several attempts, one event matching two steps, duplicates,
// a repeated step.
func TestFunnelViews(t *testing.T) {
	chtest.Each(t, func(t *testing.T, e *chtest.Engine) {
		c, db := openTest(t, e)
		ctx := context.Background()
		if err := c.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		types := map[string]string{"a": "micro", "b": "micro", "c": "macro"}
		rs := RuleSet{Version: "v1",
			Rules: []Rule{{ID: "a", Type: "micro", Category: "process"}, {ID: "b", Type: "micro", Category: "process"}, {ID: "c", Type: "macro"}},
			Funnels: []Funnel{
				{ID: "f", Window: time.Second, Steps: []string{"a", "b", "c"}},
				{ID: "g", Window: time.Hour, Steps: []string{"a", "a", "b"}},
			}}
		if _, err := c.PutRules(ctx, rs); err != nil {
			t.Fatal(err)
		}
		day2 := t0 + 2*86_400_000
		load(t, c, types, []ev{
			// u1: window exactly 1000 ms: inside.
			{"u1", "u1a", t0 + 1000, []string{"a"}, "x"}, {"u1", "u1b", t0 + 1500, []string{"b"}, "x"}, {"u1", "u1c", t0 + 2000, []string{"c"}, "x"},
			// u2: c 1 ms outside the window.
			{"u2", "u2a", t0 + 1000, []string{"a"}, "x"}, {"u2", "u2b", t0 + 1500, []string{"b"}, "x"}, {"u2", "u2c", t0 + 2001, []string{"c"}, "x"},
			// u3: b before a.
			{"u3", "u3b", t0 + 500, []string{"b"}, "x"}, {"u3", "u3a", t0 + 1000, []string{"a"}, "x"}, {"u3", "u3c", t0 + 1200, []string{"c"}, "x"},
			// u4: same second, b 200 ms before a.
			{"u4", "u4a", t0 + 5300, []string{"a"}, "x"}, {"u4", "u4b", t0 + 5100, []string{"b"}, "x"}, {"u4", "u4c", t0 + 5400, []string{"c"}, "x"},
			// u5: all three in the same millisecond.
			{"u5", "u5c", t0 + 1000, []string{"c"}, "x"}, {"u5", "u5b", t0 + 1000, []string{"b"}, "x"}, {"u5", "u5a", t0 + 1000, []string{"a"}, "x"},
			// u6: a first attempt stuck at b, a second one two days later completes.
			{"u6", "u6a1", t0 + 1000, []string{"a"}, "old"}, {"u6", "u6b1", t0 + 1500, []string{"b"}, "old"},
			{"u6", "u6a2", day2, []string{"a"}, "new"}, {"u6", "u6b2", day2 + 100, []string{"b"}, "new"}, {"u6", "u6c2", day2 + 200, []string{"c"}, "new"},
			// u7: one event matching a and b fills one step only.
			{"u7", "u7e", t0 + 1000, []string{"a", "b"}, "x"},
			// u8: b 100 ms after a.
			{"u8", "u8a", t0 + 1000, []string{"a"}, "x"}, {"u8", "u8b", t0 + 1100, []string{"b"}, "x"},
			// u9: no step 1.
			{"u9", "u9b", t0 + 1000, []string{"b"}, "x"}, {"u9", "u9c", t0 + 1100, []string{"c"}, "x"},
			// u10: two a's then b (funnel g reaches 3); u11: one a then b (g stops at 1).
			{"u10", "u10a1", t0 + 1, []string{"a"}, "x"}, {"u10", "u10a2", t0 + 2, []string{"a"}, "x"}, {"u10", "u10b", t0 + 3, []string{"b"}, "x"},
			{"u11", "u11a", t0 + 1, []string{"a"}, "x"}, {"u11", "u11b", t0 + 2, []string{"b"}, "x"},
		})
		// f: step 1: u1 u2 u3 u4 u5 u6 u7 u8 u10 u11 = 10; step 2: u1 u2 u5 u6 u8 u10 u11 = 7; step 3: u1 u5 u6 = 3.
		expect(t, "funnel_f", rows(t, e, db, "SELECT toString(step), name, toString(users), toString(round(from_previous, 6)), toString(round(from_start, 6)) FROM DB.funnel_f"),
			"1 a 10 1 1\n2 b 7 0.7 0.7\n3 c 3 0.428571 0.3")
		// g = [a, a, b]: every user with an a reaches 1; u6 (a, a, b within 1 h? no: two days apart) ...
		// u6: a@t0+1000, a@day2: 2 days > 1 h, so a, a fails; level 1. u10: 3. Others 1.
		expect(t, "funnel_g", rows(t, e, db, "SELECT toString(step), name, toString(users) FROM DB.funnel_g"),
			"1 a 10\n2 a 1\n3 b 1")
		expect(t, "funnel_f_users levels", rows(t, e, db, "SELECT user_key, toString(level), toString(start_ms - 1700000000000) FROM DB.funnel_f_users ORDER BY user_key"),
			"u1 3 1000\nu10 2 1\nu11 2 1\nu2 2 1000\nu3 1 1000\nu4 1 5300\nu5 3 1000\nu6 3 172800000\nu7 1 1000\nu8 2 1000")
		// Times, step 2 durations: u1 .5, u2 .5, u5 0, u6 .1, u8 .1, u10 .002, u11 .001
		// sorted: 0 .001 .002 .1 .1 .5 .5: avg 1.203/7, median .1, p90 rank (63+9)/10 = 7 → .5
		// step 3: u1 1, u5 0, u6 .2: avg .4, median .2, p90 rank 3 → 1.
		expect(t, "funnel_f_times", rows(t, e, db, "SELECT toString(step), toString(users), toString(round(avg_seconds, 6)), toString(median_seconds), toString(p90_seconds) FROM DB.funnel_f_times"),
			fmt.Sprintf("1 10 0 0 0\n2 7 %v 0.1 0.5\n3 3 0.4 0.2 1", roundTo(1.203/7, 6)))
		expect(t, "funnel_f_breakdown utm_source", rows(t, e, db, "SELECT value, toString(step), toString(users) FROM DB.funnel_f_breakdown WHERE dimension = 'utm_source'"),
			"new 1 1\nnew 2 1\nnew 3 1\nx 1 9\nx 2 6\nx 3 2")
		expect(t, "funnel_f_breakdown dimensions", rows(t, e, db, "SELECT DISTINCT dimension FROM DB.funnel_f_breakdown"),
			"utm_source\nutm_medium\nutm_campaign\ndevice\ncountry")
		expect(t, "funnel_f_daily", rows(t, e, db, "SELECT toString(day), toString(step), toString(users), toString(round(from_start, 6)) FROM DB.funnel_f_daily"),
			"2023-11-14 1 9 1\n2023-11-14 2 6 0.666667\n2023-11-14 3 2 0.222222\n2023-11-16 1 1 1\n2023-11-16 2 1 1\n2023-11-16 3 1 1")

		// Same millisecond, events that can fill two steps each: the one that
		// can only serve the earlier step goes first (h: 3 steps, not 2).
		rs.Rules = append(rs.Rules, Rule{ID: "p", Type: "micro"}, Rule{ID: "q", Type: "micro"}, Rule{ID: "r", Type: "micro"})
		rs.Funnels = append(rs.Funnels, Funnel{ID: "h", Window: time.Hour, Steps: []string{"p", "q", "r"}})
		rs.Version = "v1b"
		if _, err := c.PutRules(ctx, rs); err != nil {
			t.Fatal(err)
		}
		load(t, c, map[string]string{"p": "micro", "q": "micro", "r": "micro"}, []ev{
			{"h1", "z", t0, []string{"p"}, ""}, {"h1", "a", t0 + 5, []string{"q", "r"}, ""}, {"h1", "b", t0 + 5, []string{"p", "q"}, ""},
		})
		expect(t, "funnel_h", rows(t, e, db, "SELECT toString(users) FROM DB.funnel_h"), "1\n1\n1")
		rs.Funnels = rs.Funnels[:2]

		// Removing funnel g drops its views; funnel f's stay as they are.
		rs.Version, rs.Funnels = "v2", rs.Funnels[:1]
		if _, err := c.PutRules(ctx, rs); err != nil {
			t.Fatal(err)
		}
		expect(t, "views after removing g", rows(t, e, db, "SELECT name FROM system.tables WHERE database = '"+db+"' AND name LIKE 'funnel%' ORDER BY name"),
			"funnel_f\nfunnel_f_breakdown\nfunnel_f_daily\nfunnel_f_times\nfunnel_f_users")
		// Idempotent: the same rules again change no view.
		n, err := c.syncViews(ctx, mustViews(t, c, rs.Funnels), isFunnelView)
		if err != nil || n != 0 {
			t.Fatalf("second sync changed %d views (err %v), want 0", n, err)
		}
	})
}

func roundTo(f float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(f*p+0.5)) / p
}

func mustViews(t *testing.T, c *Client, fs []Funnel) []view {
	t.Helper()
	var out []view
	for _, f := range fs {
		v, err := c.funnelViews(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v...)
	}
	return out
}

// micro_lift and conversion_daily on a hand-computed population.
func TestLiftAndDailyViews(t *testing.T) {
	chtest.Each(t, func(t *testing.T, e *chtest.Engine) {
		c, db := openTest(t, e)
		ctx := context.Background()
		if err := c.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		types := map[string]string{"x": "micro", "z": "micro", "y": "macro", "w": "macro"}
		if _, err := c.PutRules(ctx, RuleSet{Version: "v1", Rules: []Rule{
			{ID: "x", Type: "micro", Category: "process"}, {ID: "y", Type: "macro"},
			{ID: "z", Type: "micro", Category: "engagement"}, {ID: "w", Type: "macro"}}}); err != nil {
			t.Fatal(err)
		}
		day := int64(86_400_000)
		load(t, c, types, []ev{
			{"p1", "p1x", t0 + 100, []string{"x"}, ""}, {"p1", "p1y", t0 + 200, []string{"y"}, ""}, // converted after x
			{"p2", "p2x", t0 + 300, []string{"x"}, ""}, {"p2", "p2y", t0 + 100, []string{"y"}, ""}, // y before x
			{"p3", "p3y", t0 + 50, []string{"y"}, ""}, // converted without x
			{"p4", "p4e", t0 + 50, nil, ""},           // population only
			{"p5", "p5x1", t0 + 10, []string{"x"}, ""}, {"p5", "p5x2", t0 + day, []string{"x"}, ""}, {"p5", "p5y", t0 + 20, []string{"y"}, ""},
		})
		expect(t, "micro_lift", rows(t, e, db, `SELECT micro, macro, toString(users_with), toString(converted_with), toString(users_without), toString(converted_without),
			toString(round(rate_with, 6)), toString(round(rate_without, 6)), ifNull(toString(round(lift, 6)), 'NULL') FROM DB.micro_lift`),
			"x y 3 2 2 1 0.666667 0.5 1.333333\n"+
				"x w 3 0 2 0 0 0 NULL\n"+
				"z y 0 0 5 4 0 0.8 0\n"+
				"z w 0 0 5 0 0 0 NULL")
		expect(t, "conversion_daily", rows(t, e, db, "SELECT toString(day), conversion, conversion_type, toString(users), toString(events) FROM DB.conversion_daily"),
			"2023-11-14 x micro 3 3\n2023-11-14 y macro 4 4\n2023-11-15 x micro 1 1")
	})
}

// Every identifier from configuration or rules is validated before it
// reaches SQL, and every value travels as data: injection through each one
// is refused or stored verbatim, and no table is harmed.
func TestInjection(t *testing.T) {
	chtest.Each(t, func(t *testing.T, e *chtest.Engine) {
		c, db := openTest(t, e)
		ctx := context.Background()
		if err := c.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		evil := "x'); DROP TABLE " + db + ".events; --"
		// Database names: refused by Validate (and so by Open).
		for _, name := range []string{evil, "a`b", "db; DROP DATABASE default", "../x"} {
			cfg := Config{Addr: []string{e.Addr}, Database: name}
			if _, err := Open(ctx, cfg, zerolog.Nop(), nil); err == nil {
				t.Errorf("Open accepted database %q", name)
			}
		}
		// Funnel ids and steps are spliced into view names and SQL: refused.
		for _, f := range []Funnel{
			{ID: evil, Window: time.Hour, Steps: []string{"a", "b"}},
			{ID: "ok", Window: time.Hour, Steps: []string{"a", evil}},
			{ID: "Upper", Window: time.Hour, Steps: []string{"a", "b"}},
			{ID: "ok", Window: time.Hour, Steps: []string{"a", "b'"}},
		} {
			if _, err := c.PutRules(ctx, RuleSet{Version: "evil-" + f.ID + f.Steps[1], Rules: []Rule{{ID: "a", Type: "micro"}}, Funnels: []Funnel{f}}); err == nil {
				t.Errorf("PutRules accepted funnel %q steps %q", f.ID, f.Steps)
			}
		}
		// Rule ids and descriptions, and event fields, are values: stored as is.
		if _, err := c.PutRules(ctx, RuleSet{Version: "v-values", Rules: []Rule{{ID: evil, Type: "micro", Description: `it's "quoted" \ and ` + evil}}}); err != nil {
			t.Fatal(err)
		}
		var b Batch
		b.AddEvent(&Event{EventID: evil, Event: evil, UserKey: evil, TSMillis: t0, Properties: `{"q":"'; DROP"}`})
		b.AddConversion(&Conversion{Conversion: evil, EventID: evil, UserKey: evil, TSMillis: t0})
		if err := c.Flush(ctx, &b); err != nil {
			t.Fatal(err)
		}
		expect(t, "stored verbatim", rows(t, e, db, "SELECT event, user_key FROM DB.events"), evil+" "+evil)
		expect(t, "description verbatim", rows(t, e, db, "SELECT description FROM DB.conversion_rules WHERE version = 'v-values'"), `it's "quoted" \ and `+evil)
		expect(t, "summary of the evil rule", rows(t, e, db, "SELECT conversion, toString(users) FROM DB.conversion_summary"), evil+" 1")
		expect(t, "tables intact", rows(t, e, db, "SELECT name FROM system.tables WHERE database = '"+db+"' AND name IN ('events', 'conversions') ORDER BY name"), "conversions\nevents")
	})
}

// A server re-reads a view's SQL from its metadata when it restarts (or the
// view is attached again): every view must still parse and answer then. On
// 18.16 a subquery alias equal to a column alias (micro_lift's "lift") made
// the re-read view look for a table of that name.
func TestViewsSurviveReattach(t *testing.T) {
	chtest.Each(t, func(t *testing.T, e *chtest.Engine) {
		c, db := openTest(t, e)
		ctx := context.Background()
		if err := c.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		rs := abRules()
		if _, err := c.PutRules(ctx, rs); err != nil {
			t.Fatal(err)
		}
		load(t, c, map[string]string{"a": "micro", "b": "macro"}, []ev{{"u1", "e1", t0, []string{"a"}, "x"}, {"u1", "e2", t0 + 1, []string{"b"}, "x"}})
		views := e.Query(t, "SELECT name FROM system.tables WHERE database = '"+db+"' AND engine = 'View' ORDER BY name")
		if len(views) != 9 {
			t.Fatalf("%d views, want 9: %q", len(views), views)
		}
		for _, v := range views {
			e.Exec(t, "DETACH TABLE "+db+"."+v[0])
			e.Exec(t, "ATTACH TABLE "+db+"."+v[0])
		}
		for _, v := range views {
			if _, err := e.TryQuery("SELECT count() FROM " + db + "." + v[0]); err != nil {
				t.Errorf("view %s after ATTACH: %v", v[0], err)
			}
		}
		expect(t, "micro_lift after ATTACH", rows(t, e, db, "SELECT micro, macro, toString(users_with), toString(converted_with) FROM DB.micro_lift"), "a b 1 1")
	})
}
