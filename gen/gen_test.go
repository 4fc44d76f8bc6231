package gen

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/microconv/microconv/rules"
)

func defaultSet(t testing.TB) *rules.Set {
	t.Helper()
	set, err := rules.Parse("default.yaml", []byte(DefaultRules))
	if err != nil {
		t.Fatalf("cannot parse DefaultRules: %v", err)
	}
	return set
}

var (
	stdOnce   sync.Once
	stdStream *Stream
)

// standard is the stream most properties are checked on: the defaults.
func standard() *Stream {
	stdOnce.Do(func() { stdStream = Generate(Options{Seed: 1}) })
	return stdStream
}

func TestDefaultRules(t *testing.T) {
	set := defaultSet(t)
	want := []string{"product_viewed", "add_to_cart", "checkout_started", "payment_info_entered", "purchase", "big_purchase",
		"signed_up", "trial_started", "subscription_started", "newsletter_signup", "article_read", "video_watched_half",
		"pricing_page_viewed", "wishlist_added", "recommendation_clicked"}
	for _, id := range want {
		if set.Lookup(id) == nil {
			t.Errorf("DefaultRules lacks %s", id)
		}
	}
	for id, typ := range map[string]string{"purchase": "macro", "big_purchase": "macro", "subscription_started": "macro", "newsletter_signup": "micro"} {
		if c := set.Lookup(id); c != nil && c.Type != typ {
			t.Errorf("%s is %s, want %s", id, c.Type, typ)
		}
	}
	for _, id := range []string{"newsletter_signup", "article_read", "video_watched_half", "wishlist_added", "recommendation_clicked"} {
		if c := set.Lookup(id); c != nil && c.Category != "engagement" {
			t.Errorf("%s is %s, want engagement", id, c.Category)
		}
	}
	funnels := map[string]string{}
	for _, f := range set.Funnels {
		funnels[f.ID] = fmt.Sprint(f.Window, f.Steps)
	}
	wantF := map[string]string{
		"checkout":    "24h0m0s [product_viewed add_to_cart checkout_started payment_info_entered purchase]",
		"saas":        "168h0m0s [signed_up trial_started subscription_started]",
		"content":     "1h0m0s [article_read newsletter_signup]",
		"pages_twice": "24h0m0s [pricing_page_viewed pricing_page_viewed signed_up]",
	}
	if fmt.Sprint(funnels) != fmt.Sprint(wantF) {
		t.Fatalf("funnels = %v, want %v", funnels, wantF)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a := Generate(Options{Seed: 42, Users: 300})
	b := Generate(Options{Seed: 42, Users: 300})
	c := Generate(Options{Seed: 43, Users: 300})
	same := func(x, y *Stream) bool {
		if len(x.Messages) != len(y.Messages) {
			return false
		}
		for i := range x.Messages {
			if !bytes.Equal(x.Messages[i].Value, y.Messages[i].Value) || !bytes.Equal(x.Messages[i].Key, y.Messages[i].Key) {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Fatal("two streams of seed 42 differ")
	}
	if same(a, c) {
		t.Fatal("seeds 42 and 43 give the same stream")
	}
	set := defaultSet(t)
	var ta, tb bytes.Buffer
	for _, x := range []struct {
		s *Stream
		w *bytes.Buffer
	}{{a, &ta}, {b, &tb}} {
		tr, err := ComputeTruth(x.s, set)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteTruth(x.w, tr); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(ta.Bytes(), tb.Bytes()) {
		t.Fatal("the truths of two equal streams differ")
	}
}

// TestMessagesDecodeAsGenerated checks the generator against the rules of
// acceptance: every malformed message is rejected for the reason it was made
// for, every event decodes to what was generated.
func TestMessagesDecodeAsGenerated(t *testing.T) {
	s := standard()
	ids := map[string]int{}
	reasons := map[string]int{}
	noID, keyChanged := 0, 0
	personKeys := map[int]map[string]bool{}
	for i, m := range s.Messages {
		if len(m.Value) == 0 || bytes.ContainsAny(m.Value, "\r\n") {
			t.Fatalf("message %d is empty or holds a newline: %q", i, m.Value)
		}
		d, reason := decide(m.Value)
		if m.Event == nil {
			if reason != m.Reason || reason == "" {
				t.Errorf("malformed message %q: decided %q, made for %q", m.Value, reason, m.Reason)
			}
			if m.Key != nil {
				t.Errorf("malformed message %d has a key", i)
			}
			reasons[reason]++
			continue
		}
		e := m.Event
		if reason != "" {
			t.Fatalf("message %d %s rejected: %s", i, m.Value, reason)
		}
		got := fmt.Sprint(d.id, d.userKey, d.ms, d.source, d.medium, d.campaign, d.device, d.country)
		want := fmt.Sprint(e.MessageID, e.UserKey(), e.Millis(), e.Campaign.Source, e.Campaign.Medium, e.Campaign.Name, e.Device, e.Country)
		if got != want {
			t.Fatalf("message %d %s decodes to %s, generated as %s", i, m.Value, got, want)
		}
		if string(m.Key) != e.UserKey() {
			t.Fatalf("message %d has key %q, want %q", i, m.Key, e.UserKey())
		}
		if e.MessageID == "" {
			noID++
		} else {
			ids[e.MessageID]++
		}
		if personKeys[e.person] == nil {
			personKeys[e.person] = map[string]bool{}
		}
		personKeys[e.person][e.UserKey()] = true
	}
	for _, r := range []string{ReasonInvalidJSON, ReasonNotObject, ReasonMissingEvent, ReasonMissingUserKey, ReasonMissingTS, ReasonBadTS, ReasonTSOutOfRange, ReasonInvalidUTF8, ReasonBadField} {
		if reasons[r] == 0 {
			t.Errorf("no malformed message of kind %s", r)
		}
	}
	if n := reasons[ReasonEmpty] + reasons[ReasonTooLarge]; n != 0 {
		t.Errorf("%d empty or too large messages", n)
	}
	dups := 0
	for _, n := range ids {
		dups += n - 1
	}
	for _, keys := range personKeys {
		if len(keys) > 1 {
			keyChanged++
		}
	}
	t.Logf("%d messages: %d duplicates, %d without messageId, %d people identified mid-way", len(s.Messages), dups, noID, keyChanged)
	if dups < 100 || noID < 100 || keyChanged < 20 {
		t.Fatalf("too few duplicates (%d), messages without messageId (%d) or people identified mid-way (%d)", dups, noID, keyChanged)
	}
}

func TestDuplicatesAreExact(t *testing.T) {
	first := map[string][]byte{}
	laterPos := 0
	for i, m := range standard().Messages {
		if m.Event == nil || m.Event.MessageID == "" {
			continue
		}
		if v, ok := first[m.Event.MessageID]; ok {
			if !bytes.Equal(v, m.Value) {
				t.Fatalf("duplicate %s differs: %s vs %s", m.Event.MessageID, v, m.Value)
			}
			laterPos = i
			continue
		}
		first[m.Event.MessageID] = m.Value
	}
	if laterPos == 0 {
		t.Fatal("no duplicate")
	}
}

func TestStreamProperties(t *testing.T) {
	s := standard()
	set := defaultSet(t)
	tr, err := ComputeTruth(s, set)
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, m := range s.Messages {
		if m.Event == nil {
			rejected++
		}
	}
	if tr.Messages != len(s.Messages) || tr.Rejected != rejected || rejected != DefaultMalformed {
		t.Fatalf("truth: %d messages, %d rejected; stream: %d, %d", tr.Messages, tr.Rejected, len(s.Messages), rejected)
	}
	if tr.Events >= tr.Messages-tr.Rejected {
		t.Fatalf("%d events from %d accepted messages: no duplicate folded", tr.Events, tr.Messages-tr.Rejected)
	}
	for _, f := range set.Funnels {
		steps := tr.Funnels[f.ID].Steps
		for k := 1; k < len(steps); k++ {
			if steps[k].Users >= steps[k-1].Users {
				t.Errorf("funnel %s: no drop-off at step %d: %d then %d users", f.ID, k+1, steps[k-1].Users, steps[k].Users)
			}
		}
		if last := steps[len(steps)-1].Users; last < 10 {
			t.Errorf("funnel %s: %d users at the last step", f.ID, last)
		}
		t.Logf("funnel %s: %v", f.ID, stepUsers(tr, f.ID))
	}
	matched := 0
	for _, c := range tr.ConversionSummary {
		if c.Events > 0 {
			matched++
		}
	}
	if matched != len(set.Conversions)-2 || tr.ConversionSummary[12].Conversion != "demo_requested" || tr.ConversionSummary[12].Events != 0 {
		t.Errorf("%d of %d conversions matched; want all but demo_requested and contract_signed", matched, len(set.Conversions))
	}
	days := map[string]bool{}
	for _, d := range tr.ConversionDaily {
		days[d.Day] = true
	}
	if len(days) != DefaultDays {
		t.Errorf("events on %d days, want %d", len(days), DefaultDays)
	}
	nullLift, nonNull := 0, 0
	for _, l := range tr.MicroLift {
		if l.Lift == nil {
			nullLift++
		} else {
			nonNull++
		}
	}
	if nullLift == 0 || nonNull == 0 {
		t.Errorf("lift: %d null, %d not null; want both", nullLift, nonNull)
	}
	for _, f := range tr.Funnels {
		dims := map[string]int{}
		for _, r := range f.Breakdown {
			if r.Step == 1 {
				dims[r.Dimension]++
			}
		}
		for _, d := range Dimensions {
			if dims[d] < 2 {
				t.Errorf("breakdown by %s has %d values", d, dims[d])
			}
		}
	}
}

// TestRepeatedStepStopsAtOne: in pages_twice, people who viewed one pricing
// page and signed up within the day stay at step 1.
func TestRepeatedStepStopsAtOne(t *testing.T) {
	set := defaultSet(t)
	a, err := analyze(standard(), set)
	if err != nil {
		t.Fatal(err)
	}
	fi := slices.IndexFunc(set.Funnels, func(f *rules.Funnel) bool { return f.ID == "pages_twice" })
	pricing := slices.IndexFunc(set.Conversions, func(c *rules.Conversion) bool { return c.ID == "pricing_page_viewed" })
	signed := slices.IndexFunc(set.Conversions, func(c *rules.Conversion) bool { return c.ID == "signed_up" })
	type userEvents struct{ pricing, signed []int64 }
	per := map[int]*userEvents{}
	for _, e := range a.events {
		for _, c := range e.convs {
			if c == pricing || c == signed {
				if per[e.user] == nil {
					per[e.user] = &userEvents{}
				}
				if c == pricing {
					per[e.user].pricing = append(per[e.user].pricing, e.ms)
				} else {
					per[e.user].signed = append(per[e.user].signed, e.ms)
				}
			}
		}
	}
	stopped := 0
	for u, r := range a.funnels[fi] {
		ue := per[u]
		if r.level != 1 || len(ue.pricing) != 1 {
			continue
		}
		for _, s := range ue.signed {
			if s >= ue.pricing[0] && s-ue.pricing[0] <= 86_400_000 {
				stopped++ // would be level 3 if one event could fill two steps
				break
			}
		}
	}
	if stopped < 5 {
		t.Fatalf("%d people stopped at step 1 of pages_twice by the distinct-event rule, want at least 5", stopped)
	}
}

// scenarioLevels is, per scripted user key, the level it must reach in each
// default funnel (absent: 0), worked out by hand from scenarios.
var scenarioLevels = map[string]map[string]int{
	"edge-same_second":            {"checkout": 5},
	"edge-same_ms":                {"checkout": 5},
	"edge-window_exact":           {"checkout": 5},
	"edge-window_over":            {"checkout": 4},
	"edge-window_submilli":        {"checkout": 5},
	"edge-cart_before_view":       {"checkout": 1},
	"edge-checkout_before_cart":   {"checkout": 2},
	"edge-same_second_reversed":   {"checkout": 1},
	"edge-second_attempt":         {"checkout": 5},
	"edge-tie_attempts":           {"checkout": 3},
	"edge-same_ms_starts":         {"checkout": 3},
	"edge-express_only":           {"checkout": 3},
	"edge-express_then_payment":   {"checkout": 5},
	"edge-express_same_ms":        {"checkout": 5},
	"edge-identified_midway":      {"checkout": 2},
	"edge-identified_midway-user": {},
	"4711":                        {"checkout": 2},
	"edge-free_sample":            {"checkout": 1},
	"edge-resent":                 {"checkout": 2},
	"edge-no_message_id":          {"checkout": 5},
	"edge-type_variants":          {"checkout": 2},
	"edge-pricing_once":           {"pages_twice": 1, "saas": 1},
	"edge-pricing_twice_same_ms":  {"pages_twice": 3, "saas": 1},
	"edge-pricing_window":         {"pages_twice": 2, "saas": 1},
	"edge-saas_exact":             {"saas": 3},
	"edge-saas_over":              {"saas": 2},
	"edge-trial_before_signup":    {"saas": 1},
	"edge-content_exact":          {"content": 2},
	"edge-content_over":           {"content": 1},
	"edge-content_retry":          {"content": 2},
	"edge-newsletter_first":       {"content": 1},
}

func TestScenarios(t *testing.T) {
	set := defaultSet(t)
	s := Generate(Options{Seed: 3, Users: len(scenarios), Dups: -1, NoIDShare: -1, Malformed: -1})
	a, err := analyze(s, set)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.users) != len(scenarioLevels) {
		t.Errorf("%d user keys, want %d: %v", len(a.users), len(scenarioLevels), a.users)
	}
	for u, key := range a.users {
		want, ok := scenarioLevels[key]
		if !ok {
			t.Errorf("unexpected user key %q", key)
			continue
		}
		for fi, f := range set.Funnels {
			if got := a.funnels[fi][u].level; got != want[f.ID] {
				t.Errorf("%s: level %d in %s, want %d", key, got, f.ID, want[f.ID])
			}
		}
	}
	start := func(fi int, key string) userFunnel { return bestOf(a, fi, key) }
	if b := start(0, "edge-second_attempt"); b.start == nil || b.start.dims[0] != "facebook" || b.start.dims[3] != "desktop" {
		t.Errorf("second_attempt starts from %+v, want the facebook desktop visit", b.start)
	}
	if b := start(0, "edge-tie_attempts"); b.start == nil || b.start.dims[0] != "newsletter" {
		t.Errorf("tie_attempts starts from %+v, want the first (newsletter) attempt", b.start)
	}
	if b := start(0, "edge-same_ms_starts"); b.start == nil || b.start.id != "edge-tie-a" || b.start.dims[0] != "facebook" {
		t.Errorf("same_ms_starts starts from %+v, want edge-tie-a (facebook)", b.start)
	}
	if b := start(2, "edge-content_retry"); b.start == nil || b.start.dims[0] != "newsletter" || b.reach[1]-b.reach[0] != 30*60_000 {
		t.Errorf("content_retry: %+v, want the second read (newsletter), 30 min to the signup", b)
	}
	if b := start(0, "edge-window_submilli"); b.level != 5 || b.reach[4]-b.reach[0] != 86_400_000 {
		t.Errorf("window_submilli: %+v, want 24h exactly to the purchase", b)
	}
	if b := start(0, "edge-same_second"); fmt.Sprint(diffs(b.reach)) != "[0 150 400 650 999]" {
		t.Errorf("same_second reach times %v, want [0 150 400 650 999]", diffs(b.reach))
	}
	// "149.90" as a string is a big_purchase.
	tr, err := ComputeTruth(s, set)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tr.ConversionSummary {
		if c.Conversion == "big_purchase" && c.Users != 2 { // free_sample (149.90 as a string), express_only (120)
			t.Errorf("big_purchase users = %d, want 2", c.Users)
		}
	}
}

func diffs(ts []int64) []int64 {
	out := make([]int64, len(ts))
	for i := range ts {
		out[i] = ts[i] - ts[0]
	}
	return out
}

func TestFewUsers(t *testing.T) {
	for _, n := range []int{1, 5} {
		s := Generate(Options{Seed: 9, Users: n, Malformed: -1, Dups: -1})
		tr, err := ComputeTruth(s, defaultSet(t))
		if err != nil {
			t.Fatal(err)
		}
		if tr.Rejected != 0 || tr.Messages != len(s.Messages) || tr.Users < n {
			t.Fatalf("%d users: %+v", n, tr)
		}
	}
}
