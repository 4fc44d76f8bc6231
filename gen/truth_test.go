package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/microconv/microconv/rules"
)

// Hand-written tiny streams whose figures are worked out by hand.

const tinyRules = `conversions:
  - id: a
    match: {event: A}
  - id: b
    match: {event_in: [B, BC]}
  - id: c
    match: {event_in: [C, BC]}
  - id: never
    match: {event: Never}
  - id: m
    type: macro
    match: {event: M}
  - id: m_never
    type: macro
    match: {event: Nothing}
funnels:
  - id: abc
    window: 1h
    steps: [a, b, c]
  - id: aac
    window: 1h
    steps: [a, a, c]
`

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// msg renders a track call: id "" means no messageId; at is the offset from
// t0; extra is appended inside the object (e.g. `,"context":{...}`).
func msg(id, user, event string, at time.Duration, extra string) string {
	idPart := ""
	if id != "" {
		idPart = fmt.Sprintf(`"messageId":%q,`, id)
	}
	return fmt.Sprintf(`{%s"type":"track","event":%q,"userId":%q,"timestamp":%q%s}`,
		idPart, event, user, t0.Add(at).Format(time.RFC3339Nano), extra)
}

func tiny(t *testing.T, ruleYAML string, msgs ...string) (*Truth, *analysis) {
	t.Helper()
	set, err := rules.Parse("tiny.yaml", []byte(ruleYAML))
	if err != nil {
		t.Fatalf("cannot parse rules: %v", err)
	}
	s := &Stream{Seed: 7}
	for _, m := range msgs {
		s.Messages = append(s.Messages, Message{Value: []byte(m)})
	}
	a, err := analyze(s, set)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ComputeTruth(s, set)
	if err != nil {
		t.Fatal(err)
	}
	return tr, a
}

// level returns the level of user in the funnel at index fi of the set.
func level(a *analysis, fi int, user string) int {
	for u, k := range a.users {
		if k == user {
			return a.funnels[fi][u].level
		}
	}
	return 0
}

func bestOf(a *analysis, fi int, user string) userFunnel {
	for u, k := range a.users {
		if k == user {
			return a.funnels[fi][u]
		}
	}
	return userFunnel{}
}

func stepUsers(tr *Truth, funnel string) []int {
	var out []int
	for _, s := range tr.Funnels[funnel].Steps {
		out = append(out, s.Users)
	}
	return out
}

func f64(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func timesOf(tr *Truth, funnel string) string {
	var parts []string
	for _, x := range tr.Funnels[funnel].Times {
		parts = append(parts, fmt.Sprintf("%d:%d/%s/%s/%s", x.Step, x.Users, f64(x.AvgSeconds), f64(x.MedianSeconds), f64(x.P90Seconds)))
	}
	return strings.Join(parts, " ")
}

const (
	abc = 0 // funnel indices in tinyRules
	aac = 1
)

func TestFunnelSameMillisecond(t *testing.T) {
	tr, a := tiny(t, tinyRules,
		msg("1", "u", "C", 0, ""),
		msg("2", "u", "B", 0, ""),
		msg("3", "u", "A", 0, ""),
	)
	if got := level(a, abc, "u"); got != 3 {
		t.Fatalf("level = %d, want 3: equal times are in order whatever the arrival", got)
	}
	if got, want := timesOf(tr, "abc"), "1:1/0/0/0 2:1/0/0/0 3:1/0/0/0"; got != want {
		t.Fatalf("times = %s, want %s", got, want)
	}
}

func TestFunnelMillisecondsInOneSecond(t *testing.T) {
	_, a := tiny(t, tinyRules,
		msg("1", "u", "B", 100*ms, ""),
		msg("2", "u", "A", 900*ms, ""),
		msg("3", "u", "C", 999*ms, ""),
	)
	if got := level(a, abc, "u"); got != 1 {
		t.Fatalf("level = %d, want 1: B is 800ms before A in the same second", got)
	}
}

func TestFunnelWindowInclusive(t *testing.T) {
	tr, a := tiny(t, tinyRules,
		msg("1", "in", "A", 0, ""),
		msg("2", "in", "B", 10*mins, ""),
		msg("3", "in", "C", hour, ""),
		msg("4", "out", "A", 0, ""),
		msg("5", "out", "B", 10*mins, ""),
		msg("6", "out", "C", hour+ms, ""),
	)
	if got := level(a, abc, "in"); got != 3 {
		t.Fatalf("level at exactly 1h = %d, want 3", got)
	}
	if got := level(a, abc, "out"); got != 2 {
		t.Fatalf("level at 1h + 1ms = %d, want 2", got)
	}
	if got := fmt.Sprint(stepUsers(tr, "abc")); got != "[2 2 1]" {
		t.Fatalf("steps = %s, want [2 2 1]", got)
	}
	// step 2: both at 600s; step 3: only "in", at 3600s.
	if got, want := timesOf(tr, "abc"), "1:2/0/0/0 2:2/600/600/600 3:1/3600/3600/3600"; got != want {
		t.Fatalf("times = %s, want %s", got, want)
	}
	st := tr.Funnels["abc"].Steps
	if st[0].FromPrevious != 1 || st[1].FromPrevious != 1 || st[2].FromPrevious != 0.5 || st[2].FromStart != 0.5 {
		t.Fatalf("rates = %+v", st)
	}
}

func TestFunnelSubMillisecondTruncated(t *testing.T) {
	// 1h + 0.9ms is kept as 1h: the decoder truncates to the millisecond.
	_, a := tiny(t, tinyRules,
		msg("1", "u", "A", 0, ""),
		msg("2", "u", "B", mins, ""),
		msg("3", "u", "C", hour+900*time.Microsecond, ""),
	)
	if got := level(a, abc, "u"); got != 3 {
		t.Fatalf("level = %d, want 3", got)
	}
}

func TestFunnelOutOfOrder(t *testing.T) {
	_, a := tiny(t, tinyRules,
		msg("1", "u", "B", 0, ""),
		msg("2", "u", "A", sec, ""),
		msg("3", "u", "C", 2*sec, ""),
	)
	if got := level(a, abc, "u"); got != 1 {
		t.Fatalf("level = %d, want 1: step 2 came before step 1", got)
	}
}

func TestFunnelSecondAttemptBetter(t *testing.T) {
	google := `,"context":{"campaign":{"source":"google","medium":"cpc"},"device":{"type":"mobile"}}`
	bing := `,"context":{"campaign":{"source":"bing","medium":"cpc","name":"brand"},"location":{"country":"FR"}}`
	tr, a := tiny(t, tinyRules,
		msg("1", "u", "A", 0, google),
		msg("2", "u", "B", mins, google),
		msg("3", "u", "A", 2*hour, bing),
		msg("4", "u", "B", 2*hour+mins, bing),
		msg("5", "u", "C", 2*hour+2*mins, bing),
		msg("6", "u", "C", 3*hour+30*mins, google), // a C the first attempt cannot reach (window)
	)
	b := bestOf(a, abc, "u")
	if b.level != 3 || b.start.id != "3" {
		t.Fatalf("best = level %d from %q, want 3 from the second A", b.level, b.start.id)
	}
	if got, want := timesOf(tr, "abc"), "1:1/0/0/0 2:1/60/60/60 3:1/120/120/120"; got != want {
		t.Fatalf("times = %s, want %s", got, want)
	}
	var bd []string
	for _, r := range tr.Funnels["abc"].Breakdown {
		if r.Step == 1 {
			bd = append(bd, r.Dimension+"="+r.Value)
		}
	}
	if got, want := strings.Join(bd, " "), "utm_source=bing utm_medium=cpc utm_campaign=brand device= country=FR"; got != want {
		t.Fatalf("breakdown starts = %s, want %s", got, want)
	}
	d := tr.Funnels["abc"].Daily
	if len(d) != 3 || d[0].Day != "2026-03-02" || d[2].Users != 1 || d[2].FromStart != 1 {
		t.Fatalf("daily = %+v", d)
	}
}

func TestFunnelFirstOfEqualAttempts(t *testing.T) {
	tr, a := tiny(t, tinyRules,
		msg("1", "u", "A", 0, `,"context":{"device":{"type":"tablet"}}`),
		msg("2", "u", "B", mins, ""),
		msg("3", "u", "A", 3*hour, `,"context":{"device":{"type":"desktop"}}`),
		msg("4", "u", "B", 3*hour+10*mins, ""),
	)
	if b := bestOf(a, abc, "u"); b.level != 2 || b.start.id != "1" {
		t.Fatalf("best = level %d from %q, want 2 from the first A", b.level, b.start.id)
	}
	if got := timesOf(tr, "abc"); got != "1:1/0/0/0 2:1/60/60/60 3:0/null/null/null" {
		t.Fatalf("times = %s", got)
	}
}

func TestFunnelTieOnTimeTakesSmallerID(t *testing.T) {
	tr, _ := tiny(t, tinyRules,
		msg("b", "u", "A", 0, `,"context":{"device":{"type":"mobile"}}`),
		msg("a", "u", "A", 0, `,"context":{"device":{"type":"desktop"}}`),
		msg("c", "u", "B", sec, ""),
	)
	for _, r := range tr.Funnels["abc"].Breakdown {
		if r.Dimension == "device" && r.Step == 1 && r.Value != "desktop" {
			t.Fatalf("device of the start = %q, want desktop (event id a < b)", r.Value)
		}
	}
}

func TestFunnelEventMatchingTwoSteps(t *testing.T) {
	_, a := tiny(t, tinyRules,
		msg("1", "one", "A", 0, ""),
		msg("2", "one", "BC", mins, ""), // b or c, not both
		msg("3", "two", "A", 0, ""),
		msg("4", "two", "BC", mins, ""),
		msg("5", "two", "C", mins, ""), // the same ms: BC fills b, C fills c
	)
	if got := level(a, abc, "one"); got != 2 {
		t.Fatalf("level of one = %d, want 2", got)
	}
	if got := level(a, abc, "two"); got != 3 {
		t.Fatalf("level of two = %d, want 3", got)
	}
}

// TestFunnelNotGreedy: taking, for each step, the first unused event in the
// funnel order (time, number of steps, id) reaches 2 here; the longest
// chain is 3.
func TestFunnelNotGreedy(t *testing.T) {
	const r = `conversions:
  - {id: p, match: {event_in: [S, PQ]}}
  - {id: q, match: {event_in: [PQ, QR]}}
  - {id: r, match: {event_in: [QR]}}
funnels:
  - {id: pqr, window: 1h, steps: [p, q, r]}
`
	tr, a := tiny(t, r,
		msg("z", "u", "S", 0, ""),
		msg("a", "u", "QR", 5*ms, ""), // first in order for q (id a < b), but needed for r
		msg("b", "u", "PQ", 5*ms, ""),
	)
	if got := level(a, 0, "u"); got != 3 {
		t.Fatalf("level = %d, want 3 (S, PQ as q, QR as r)", got)
	}
	if got, want := timesOf(tr, "pqr"), "1:1/0/0/0 2:1/0.005/0.005/0.005 3:1/0.005/0.005/0.005"; got != want {
		t.Fatalf("times = %s, want %s", got, want)
	}
}

// TestFunnelReachTimes: the time of a step is the earliest any chain from
// the best start fills it at.
func TestFunnelReachTimes(t *testing.T) {
	tr, a := tiny(t, tinyRules,
		msg("1", "u", "A", 0, ""),
		msg("2", "u", "B", 10*sec, ""),
		msg("3", "u", "BC", 20*sec, ""), // c after B (or b before C)
		msg("4", "u", "C", 40*sec, ""),
	)
	b := bestOf(a, abc, "u")
	base := t0.UnixMilli()
	if got, want := fmt.Sprint(b.level, b.reach[1]-base, b.reach[2]-base), "3 10000 20000"; got != want {
		t.Fatalf("level, t2, t3 = %s, want %s", got, want)
	}
	if got, want := timesOf(tr, "abc"), "1:1/0/0/0 2:1/10/10/10 3:1/20/20/20"; got != want {
		t.Fatalf("times = %s, want %s", got, want)
	}
}

func TestFunnelRepeatedStep(t *testing.T) {
	tr, a := tiny(t, tinyRules,
		msg("1", "once", "A", 0, ""),
		msg("2", "once", "C", mins, ""),
		msg("3", "twice", "A", 0, ""),
		msg("4", "twice", "A", 0, ""),
		msg("5", "twice", "C", mins, ""),
	)
	if got := level(a, aac, "once"); got != 1 {
		t.Fatalf("level of once = %d, want 1: one event does not fill two steps", got)
	}
	if got := level(a, aac, "twice"); got != 3 {
		t.Fatalf("level of twice = %d, want 3", got)
	}
	if got := fmt.Sprint(stepUsers(tr, "aac")); got != "[2 1 1]" {
		t.Fatalf("steps = %s", got)
	}
}

func TestDuplicatesAndMissingIDs(t *testing.T) {
	a1 := msg("x", "dup", "A", 0, "")
	n1 := msg("", "noid", "A", 0, "")
	tr, a := tiny(t, tinyRules,
		a1, a1, // one event sent twice
		msg("y", "dup", "C", mins, ""),
		n1, n1, // no messageId: two events
		msg("", "noid", "C", mins, ""),
	)
	if tr.Events != 5 || tr.Messages != 6 || tr.Users != 2 || tr.Rejected != 0 {
		t.Fatalf("events %d messages %d users %d rejected %d, want 5 6 2 0", tr.Events, tr.Messages, tr.Users, tr.Rejected)
	}
	if got := level(a, aac, "dup"); got != 1 {
		t.Fatalf("level of dup = %d, want 1: a re-sent message is one event", got)
	}
	if got := level(a, aac, "noid"); got != 3 {
		t.Fatalf("level of noid = %d, want 3: messages without messageId are distinct events", got)
	}
	if s := tr.ConversionSummary[0]; s.Conversion != "a" || s.Users != 2 || s.Events != 3 {
		t.Fatalf("summary of a = %+v, want 2 users 3 events", s)
	}
}

func TestDuplicatesDisagreeFirstWins(t *testing.T) {
	tr, _ := tiny(t, tinyRules,
		`{"type":"track","event":"Oops","userId":"u1","timestamp":"bad","messageId":"x"}`, // rejected: not the event
		msg("x", "u1", "A", 0, ""),
		msg("x", "u2", "M", hour, ""),
	)
	if tr.Rejected != 1 || tr.Events != 1 || tr.Users != 1 {
		t.Fatalf("rejected %d events %d users %d, want 1 1 1", tr.Rejected, tr.Events, tr.Users)
	}
	if s := tr.ConversionSummary[0]; s.Users != 1 || s.Events != 1 {
		t.Fatalf("summary of a = %+v", s)
	}
}

func TestConversionDaily(t *testing.T) {
	base := 14*hour - ms // 23:59:59.999
	tr, _ := tiny(t, tinyRules,
		msg("1", "u", "A", base, ""),
		msg("2", "u", "A", base+ms, ""),
		msg("3", "v", "A", base+2*ms, ""),
		msg("4", "v", "M", base+3*ms, ""),
	)
	var got []string
	for _, d := range tr.ConversionDaily {
		got = append(got, fmt.Sprintf("%s %s %s %d %d", d.Day, d.Conversion, d.ConversionType, d.Users, d.Events))
	}
	want := "2026-03-02 a micro 1 1|2026-03-03 a micro 2 2|2026-03-03 m macro 1 1"
	if strings.Join(got, "|") != want {
		t.Fatalf("daily = %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestMicroLift(t *testing.T) {
	tr, _ := tiny(t, tinyRules,
		msg("1", "u1", "A", 0, ""),
		msg("2", "u1", "M", 0, ""), // same ms as the first a: converted
		msg("3", "u2", "M", 0, ""),
		msg("4", "u2", "A", sec, ""), // M only before a: not converted
		msg("5", "u3", "M", 0, ""),
		msg("6", "u4", "A", 0, ""),
		msg("7", "u5", "Other", 0, ""),
	)
	rows := map[string]MicroLift{}
	for _, r := range tr.MicroLift {
		rows[r.Micro+"/"+r.Macro] = r
	}
	if len(tr.MicroLift) != 8 { // micros a, b, c, never × macros m, m_never
		t.Fatalf("%d lift rows, want 8", len(tr.MicroLift))
	}
	f := func(key string, with, convWith, without, convWithout int, rateWith, rateWithout float64, lift string) {
		t.Helper()
		r := rows[key]
		got := fmt.Sprintf("%d %d %d %d %.6f %.6f %s", r.UsersWith, r.ConvertedWith, r.UsersWithout, r.ConvertedWithout, r.RateWith, r.RateWithout, f64(r.Lift))
		want := fmt.Sprintf("%d %d %d %d %.6f %.6f %s", with, convWith, without, convWithout, rateWith, rateWithout, lift)
		if got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	f("a/m", 3, 1, 2, 1, 1./3, 0.5, fmt.Sprint(1./3/0.5))
	f("never/m", 0, 0, 5, 3, 0, 0.6, "0")
	f("a/m_never", 3, 0, 2, 0, 0, 0, "null")
	if tr.Users != 5 {
		t.Fatalf("population = %d, want 5", tr.Users)
	}
}

func TestTiming(t *testing.T) {
	f := func(ds []float64, want string) {
		t.Helper()
		x := timing(2, ds)
		if got := fmt.Sprintf("%d %s %s %s", x.Users, f64(x.AvgSeconds), f64(x.MedianSeconds), f64(x.P90Seconds)); got != want {
			t.Errorf("timing(%v) = %s, want %s", ds, got, want)
		}
	}
	f(nil, "0 null null null")
	f([]float64{5}, "1 5 5 5")
	f([]float64{10, 1, 3, 2}, "4 4 2.5 10")                      // p90 rank (36+9)/10 = 4
	f([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "10 5.5 5.5 9")  // rank 9
	f([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, "11 6 6 10") // rank 10
}

func TestDecide(t *testing.T) {
	f := func(raw, want string) {
		t.Helper()
		d, reason := decide([]byte(raw))
		got := reason
		if reason == "" {
			got = fmt.Sprintf("%s|%s|%s|%d|%s", d.typ, d.name, d.userKey, d.ms, d.id)
		}
		if got != want {
			t.Errorf("decide(%q) = %q, want %q", raw, got, want)
		}
	}
	const ts = `"timestamp":"2026-03-02T10:00:00.123456Z"`
	const msText = "1772445600123"
	f(``, ReasonEmpty)
	f(strings.Repeat(" ", maxMessageBytes+1), ReasonTooLarge)
	f("{\"event\":\"\xff\"}", ReasonInvalidUTF8)
	f(`{"a":1}}`, ReasonInvalidJSON)
	f(`[]`, ReasonNotObject)
	f(`{"event":"A","userId":"u",`+ts+`,"context":[1]}`, ReasonBadField)
	f(`{"event":"A","userId":"u",`+ts+`,"properties":null}`, "track|A|u|"+msText+"|")
	f(`{"type":"TRACK","event":7,"userId":42,`+ts+`,"messageId":1e3}`, "track|7|42|"+msText+"|1e3")
	f(`{"type":"page","anonymousId":"a",`+ts+`}`, "page|page|a|"+msText+"|")
	f(`{"type":"page","event":"E","name":"",`+ts+`,"anonymousId":"a"}`, "page|E|a|"+msText+"|")
	f(`{"type":"screen","name":"Home","anonymousId":"a",`+ts+`}`, "screen|Home|a|"+msText+"|")
	f(`{"type":"identify","userId":"u","anonymousId":"a",`+ts+`}`, "identify|identify|u|"+msText+"|")
	f(`{"type":"track","userId":"u",`+ts+`}`, ReasonMissingEvent)
	f(`{"userId":"u",`+ts+`}`, ReasonMissingEvent)
	f(`{"event":"A","userId":"","anonymousId":"",`+ts+`}`, ReasonMissingUserKey)
	f(`{"event":"A","userId":"","anonymousId":[1],`+ts+`}`, ReasonBadField)
	f(`{"event":"A","userId":"u","anonymousId":[1],`+ts+`}`, "track|A|u|"+msText+"|") // anonymousId unread
	f(`{"event":"A","userId":"u"}`, ReasonMissingTS)
	f(`{"event":"A","userId":"u","messageId":{}}`, ReasonMissingTS) // timestamp before messageId
	f(`{"event":"A","userId":"u","timestamp":5}`, ReasonBadTS)
	f(`{"event":"A","userId":"u","timestamp":"2026-03-02"}`, ReasonBadTS)
	f(`{"event":"A","userId":"u","timestamp":"1969-12-31T23:59:59.999Z"}`, ReasonTSOutOfRange)
	f(`{"event":"A","userId":"u","timestamp":"1970-01-01T00:00:00Z"}`, "track|A|u|0|")
	f(`{"event":"A","userId":"u","timestamp":"2105-12-31T23:59:59.999Z"}`, "track|A|u|4291747199999|")
	f(`{"event":"A","userId":"u","timestamp":"2106-01-01T00:00:00Z"}`, ReasonTSOutOfRange)
	f(`{"event":"A","userId":"u",`+ts+`,"messageId":true}`, ReasonBadField)
	f(`{"event":"A","userId":"u","timestamp":"2026-03-02T12:00:00.5+02:00"}`, "track|A|u|1772445600500|")
}

func TestTruthRoundTrip(t *testing.T) {
	tr, _ := tiny(t, tinyRules,
		msg("1", "u", "A", 0, ""),
		msg("2", "u", "B", sec, ""),
		`not json`,
	)
	var b1, b2 bytes.Buffer
	if err := WriteTruth(&b1, tr); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTruth(bytes.NewReader(b1.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteTruth(&b2, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Fatalf("truth changed through a round trip:\n%s\n%s", b1.String(), b2.String())
	}
	// The shape the views are compared with: nulls for unreached steps, numbers for rates.
	var raw map[string]any
	if err := json.Unmarshal(b1.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	times := raw["funnels"].(map[string]any)["abc"].(map[string]any)["times"].([]any)
	if last := times[2].(map[string]any); last["avg_seconds"] != nil || last["users"] != 0. {
		t.Fatalf("unreached step times = %v, want users 0 and nulls", last)
	}
	for _, k := range []string{"seed", "messages", "rejected", "events", "users", "rules_version", "conversion_summary", "conversion_daily", "funnels", "micro_lift"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("truth lacks %q", k)
		}
	}
	if math.IsNaN(tr.Funnels["abc"].Steps[2].FromPrevious) {
		t.Fatal("NaN rate")
	}
}
