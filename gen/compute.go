package gen

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/rules"
)

// NoID is the event id the truth gives the message at index i of a stream
// when it has no messageId: every such message is its own event. (The
// consumer derives another id from the Kafka position; only distinctness
// matters, and Generate never gives such an event a time shared with
// another event of its user, where the id would break a tie.)
func NoID(i int) string { return "noid-" + strconv.Itoa(i) }

// Dimensions of the funnel breakdown, in the order of its rows.
var Dimensions = []string{"utm_source", "utm_medium", "utm_campaign", "device", "country"}

// tevent is one distinct accepted event.
type tevent struct {
	id    string
	user  int // index in analysis.users
	ms    int64
	dims  [5]string // in Dimensions order
	convs []int     // indices of the conversions it matched, in set order
}

// analysis is the per-event and per-user state the truth is computed from.
type analysis struct {
	set      *rules.Set
	messages int
	rejected map[string]int
	events   []*tevent
	users    []string
	funnels  []map[int]userFunnel // per funnel of the set: per user index, users with level >= 1
}

// ComputeTruth decodes every message of s as the consumer does, tags the
// accepted events with set and computes every figure of the views.
func ComputeTruth(s *Stream, set *rules.Set) (*Truth, error) {
	a, err := analyze(s, set)
	if err != nil {
		return nil, err
	}
	t := &Truth{
		Seed:            s.Seed,
		Messages:        a.messages,
		RejectedReasons: a.rejected,
		Events:          len(a.events),
		Users:           len(a.users),
		RulesVersion:    set.Version,
		Funnels:         map[string]*FunnelTruth{},
	}
	for _, n := range a.rejected {
		t.Rejected += n
	}
	t.ConversionSummary, t.ConversionDaily = a.conversions()
	for i, f := range set.Funnels {
		t.Funnels[f.ID] = a.funnelTruth(f, a.funnels[i])
	}
	t.MicroLift = a.lift()
	return t, nil
}

// analyze decodes, deduplicates and tags the events and finds every user's
// best attempt in every funnel.
func analyze(s *Stream, set *rules.Set) (*analysis, error) {
	if set == nil {
		return nil, errors.New("cannot compute the truth without rules")
	}
	a := &analysis{set: set, messages: len(s.Messages), rejected: map[string]int{}}
	convIdx := make(map[*rules.Conversion]int, len(set.Conversions))
	for i, c := range set.Conversions {
		convIdx[c] = i
	}
	seen := map[string]bool{}
	userIdx := map[string]int{}
	var p fastjson.Parser
	var matches []rules.Match
	for i, m := range s.Messages {
		d, reason := decide(m.Value)
		if reason != "" {
			a.rejected[reason]++
			continue
		}
		id := d.id
		if id == "" {
			id = NoID(i)
		}
		if seen[id] {
			continue // an upstream duplicate: the first message is the event
		}
		seen[id] = true
		doc, err := p.ParseBytes(m.Value)
		if err != nil {
			return nil, fmt.Errorf("cannot parse message %d with fastjson, though encoding/json accepts it: %w", i, err)
		}
		matches = set.Match(&rules.Event{Type: d.typ, Name: d.name, Doc: doc}, matches[:0])
		u, ok := userIdx[d.userKey]
		if !ok {
			u = len(a.users)
			userIdx[d.userKey] = u
			a.users = append(a.users, d.userKey)
		}
		ev := &tevent{id: id, user: u, ms: d.ms, dims: [5]string{d.source, d.medium, d.campaign, d.device, d.country}}
		for _, mt := range matches {
			ev.convs = append(ev.convs, convIdx[mt.Conversion])
		}
		a.events = append(a.events, ev)
	}
	for _, f := range set.Funnels {
		uf, err := a.funnelUsers(f, convIdx)
		if err != nil {
			return nil, err
		}
		a.funnels = append(a.funnels, uf)
	}
	return a, nil
}

// funnelUsers finds the level and best attempt of every user in f.
func (a *analysis) funnelUsers(f *rules.Funnel, convIdx map[*rules.Conversion]int) (map[int]userFunnel, error) {
	if len(f.Steps) > maxSteps {
		return nil, fmt.Errorf("cannot compute funnel %q: %d steps, at most %d supported", f.ID, len(f.Steps), maxSteps)
	}
	stepMask := make([]uint64, len(a.set.Conversions)) // per conversion: the steps it fills
	for j, id := range f.Steps {
		c := a.set.Lookup(id)
		if c == nil {
			return nil, fmt.Errorf("cannot compute funnel %q: step %q names no conversion", f.ID, id)
		}
		stepMask[convIdx[c]] |= 1 << j
	}
	perUser := map[int][]fev{}
	for _, e := range a.events {
		var mask uint64
		for _, c := range e.convs {
			mask |= stepMask[c]
		}
		if mask != 0 {
			perUser[e.user] = append(perUser[e.user], fev{ts: e.ms, mask: mask, hi: highestStep(mask), ev: e})
		}
	}
	out := map[int]userFunnel{}
	for u, evs := range perUser {
		sortFunnelEvents(evs)
		c := chains{evs: evs, steps: len(f.Steps), window: f.Window.Milliseconds()}
		if r := c.best(); r.level > 0 {
			out[u] = r
		}
	}
	return out, nil
}

func utcDay(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.DateOnly) }

// conversions computes conversion_summary and conversion_daily.
func (a *analysis) conversions() ([]ConversionSummary, []ConversionDaily) {
	convs := a.set.Conversions
	users := make([]map[int]bool, len(convs))
	events := make([]int, len(convs))
	type dayConv struct {
		day  string
		conv int
	}
	dUsers := map[dayConv]map[int]bool{}
	dEvents := map[dayConv]int{}
	for _, e := range a.events {
		for _, c := range e.convs {
			if users[c] == nil {
				users[c] = map[int]bool{}
			}
			users[c][e.user] = true
			events[c]++
			k := dayConv{utcDay(e.ms), c}
			if dUsers[k] == nil {
				dUsers[k] = map[int]bool{}
			}
			dUsers[k][e.user] = true
			dEvents[k]++
		}
	}
	summary := make([]ConversionSummary, len(convs))
	for i, c := range convs {
		summary[i] = ConversionSummary{Conversion: c.ID, ConversionType: c.Type, Category: c.Category, Users: len(users[i]), Events: events[i]}
	}
	keys := make([]dayConv, 0, len(dEvents))
	for k := range dEvents {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y dayConv) int {
		if c := cmp.Compare(x.day, y.day); c != 0 {
			return c
		}
		return cmp.Compare(x.conv, y.conv)
	})
	daily := make([]ConversionDaily, 0, len(keys))
	for _, k := range keys {
		c := convs[k.conv]
		daily = append(daily, ConversionDaily{Day: k.day, Conversion: c.ID, ConversionType: c.Type, Users: len(dUsers[k]), Events: dEvents[k]})
	}
	return summary, daily
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// funnelTruth aggregates the users' best attempts of one funnel.
func (a *analysis) funnelTruth(f *rules.Funnel, users map[int]userFunnel) *FunnelTruth {
	n := len(f.Steps)
	ft := &FunnelTruth{WindowMS: f.Window.Milliseconds(), Breakdown: []FunnelByDim{}, Daily: []FunnelDaily{}}
	// Users in a fixed order, so that float sums do not depend on map order.
	order := make([]int, 0, len(users))
	for u := range users {
		order = append(order, u)
	}
	slices.Sort(order)

	counts := func(filter func(userFunnel) bool) []int {
		c := make([]int, n)
		for _, u := range order {
			r := users[u]
			if filter(r) {
				for k := 0; k < r.level; k++ {
					c[k]++
				}
			}
		}
		return c
	}
	all := counts(func(userFunnel) bool { return true })
	for k := 0; k < n; k++ {
		st := FunnelStep{Step: k + 1, Name: f.Steps[k], Users: all[k], FromPrevious: 1, FromStart: ratio(all[k], all[0])}
		if k > 0 {
			st.FromPrevious = ratio(all[k], all[k-1])
		}
		ft.Steps = append(ft.Steps, st)
	}

	for di, dim := range Dimensions {
		var values []string
		seen := map[string]bool{}
		for _, u := range order {
			if v := users[u].start.dims[di]; !seen[v] {
				seen[v] = true
				values = append(values, v)
			}
		}
		slices.Sort(values) // bytewise
		for _, v := range values {
			c := counts(func(r userFunnel) bool { return r.start.dims[di] == v })
			for k := 0; k < n; k++ {
				row := FunnelByDim{Dimension: dim, Value: v, Step: k + 1, Name: f.Steps[k], Users: c[k], FromPrevious: 1, FromStart: ratio(c[k], c[0])}
				if k > 0 {
					row.FromPrevious = ratio(c[k], c[k-1])
				}
				ft.Breakdown = append(ft.Breakdown, row)
			}
		}
	}

	var days []string
	seenDay := map[string]bool{}
	for _, u := range order {
		if d := utcDay(users[u].start.ms); !seenDay[d] {
			seenDay[d] = true
			days = append(days, d)
		}
	}
	slices.Sort(days)
	for _, d := range days {
		c := counts(func(r userFunnel) bool { return utcDay(r.start.ms) == d })
		for k := 0; k < n; k++ {
			ft.Daily = append(ft.Daily, FunnelDaily{Day: d, Step: k + 1, Users: c[k], FromStart: ratio(c[k], c[0])})
		}
	}

	for k := 0; k < n; k++ {
		var ds []float64
		for _, u := range order {
			if r := users[u]; r.level > k {
				ds = append(ds, float64(r.reach[k]-r.reach[0])/1000)
			}
		}
		ft.Times = append(ft.Times, timing(k+1, ds))
	}
	return ft
}

// timing summarises the seconds from step 1: mean, median (mean of the two
// middle values when their number is even), p90 by nearest rank.
func timing(step int, ds []float64) FunnelTiming {
	t := FunnelTiming{Step: step, Users: len(ds)}
	n := len(ds)
	if n == 0 {
		return t
	}
	slices.Sort(ds)
	var sum float64
	for _, d := range ds {
		sum += d
	}
	avg := sum / float64(n)
	med := ds[n/2]
	if n%2 == 0 {
		med = (ds[n/2-1] + ds[n/2]) / 2
	}
	p90 := ds[(9*n+9)/10-1]
	t.AvgSeconds, t.MedianSeconds, t.P90Seconds = &avg, &med, &p90
	return t
}

// lift computes micro_lift over the population of every user key.
func (a *analysis) lift() []MicroLift {
	convs := a.set.Conversions
	nu := len(a.users)
	first := make([][]int64, len(convs)) // per conversion, per user: first time, MaxInt64 when none
	last := make([][]int64, len(convs))  // per conversion, per user: last time, MinInt64 when none
	for i := range convs {
		first[i] = make([]int64, nu)
		last[i] = make([]int64, nu)
		for u := 0; u < nu; u++ {
			first[i][u], last[i][u] = math.MaxInt64, math.MinInt64
		}
	}
	for _, e := range a.events {
		for _, c := range e.convs {
			first[c][e.user] = min(first[c][e.user], e.ms)
			last[c][e.user] = max(last[c][e.user], e.ms)
		}
	}
	out := []MicroLift{}
	for mi, m := range convs {
		if m.Type != "micro" {
			continue
		}
		for Mi, M := range convs {
			if M.Type != "macro" {
				continue
			}
			row := MicroLift{Micro: m.ID, Macro: M.ID}
			for u := 0; u < nu; u++ {
				hasM := last[Mi][u] != math.MinInt64
				if first[mi][u] != math.MaxInt64 {
					row.UsersWith++
					if hasM && last[Mi][u] >= first[mi][u] {
						row.ConvertedWith++
					}
				} else {
					row.UsersWithout++
					if hasM {
						row.ConvertedWithout++
					}
				}
			}
			row.RateWith = ratio(row.ConvertedWith, row.UsersWith)
			row.RateWithout = ratio(row.ConvertedWithout, row.UsersWithout)
			if row.RateWithout != 0 {
				l := row.RateWith / row.RateWithout
				row.Lift = &l
			}
			out = append(out, row)
		}
	}
	return out
}
