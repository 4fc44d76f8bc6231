package rules

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// nearestRules is a small shop: line numbers matter for the tests below.
const nearestRules = `conversions:
  - id: add_to_cart
    value: properties.price
    match:
      event: Product Added
      type: track
      where:
        - {path: properties.price, op: gt, value: 0}
        - any:
            - {path: properties.currency, op: eq, value: USD}
            - {path: properties.currency, op: in, value: [EUR, GBP]}
  - id: pricing_page_viewed
    match:
      type: page
      where: [{path: context.page.path, op: prefix, value: /pricing}]
  - id: video_played
    category: engagement
    match:
      event_regex: '^Video '
      where: [{path: properties.position, op: gte, value: 30}]
  - id: signup
    match:
      event_in: [Signed Up, Account Created]
      where:
        - {path: properties.plan, op: exists}
        - not: {path: properties.email, op: suffix, value: "@example.com"}
  - id: purchase
    type: macro
    match: {event: Order Completed}
`

// TestNearest checks which rule is nearest to an event that matches nothing
// and how its first failing constraint is described.
func TestNearest(t *testing.T) {
	s := mustParse(t, nearestRules)
	f := func(eventJSON, wantID, wantFailed string) {
		t.Helper()
		x, ok := s.Nearest(mustEvent(t, eventJSON))
		if wantID == "" {
			if ok {
				t.Fatalf("Nearest(%s) = %s (%s), want none", eventJSON, x.Conversion.ID, x.Failed)
			}
			return
		}
		if !ok {
			t.Fatalf("Nearest(%s): none, want %s", eventJSON, wantID)
		}
		if x.Conversion.ID != wantID || x.Failed != wantFailed {
			t.Fatalf("Nearest(%s) =\n\t%s: %s\nwant\n\t%s: %s", eventJSON, x.Conversion.ID, x.Failed, wantID, wantFailed)
		}
	}

	// The name holds: the rule naming the event wins, first failing where reported.
	f(`{"type":"track","event":"Product Added","properties":{"price":0,"currency":"USD"}}`,
		"add_to_cart", `where[0] properties.price gt 0 failed: value is 0`)
	f(`{"type":"track","event":"Product Added","properties":{"currency":"USD"}}`,
		"add_to_cart", `where[0] properties.price gt 0 failed: value is missing`)
	f(`{"type":"track","event":"Product Added","properties":{"price":"free","currency":"USD"}}`,
		"add_to_cart", `where[0] properties.price gt 0 failed: value is "free"`)
	f(`{"type":"track","event":"Product Added","properties":{"price":null,"currency":"USD"}}`,
		"add_to_cart", `where[0] properties.price gt 0 failed: value is null`)
	f(`{"type":"track","event":"Product Added","properties":{"price":5,"currency":"JPY"}}`,
		"add_to_cart", `where[1] any failed: where[1].any[0] properties.currency eq "USD" failed: value is "JPY"; where[1].any[1] properties.currency in ["EUR", "GBP"] failed: value is "JPY"`)
	// The type is the first constraint to fail after the name.
	f(`{"type":"screen","event":"Product Added","properties":{"price":5,"currency":"USD"}}`,
		"add_to_cart", `type "track" failed: type is "screen"`)
	// No rule names the event: type page holds for pricing_page_viewed only.
	f(`{"type":"page","name":"Pricing","context":{"page":{"path":"/prices"}}}`,
		"pricing_page_viewed", `where[0] context.page.path prefix "/pricing" failed: value is "/prices"`)
	f(`{"type":"page","name":"Pricing"}`,
		"pricing_page_viewed", `where[0] context.page.path prefix "/pricing" failed: value is missing`)
	// A typo in the event name: add_to_cart's type and conditions hold.
	f(`{"type":"track","event":"Product added","properties":{"price":5,"currency":"USD"}}`,
		"add_to_cart", `event "Product Added" failed: event is "Product added"`)
	// event_regex and event_in.
	f(`{"type":"track","event":"Video Playback Started","properties":{"position":12.5}}`,
		"video_played", `where[0] properties.position gte 30 failed: value is 12.5`)
	f(`{"type":"screen","event":"video playback","properties":{"position":40}}`,
		"video_played", `event_regex "^Video " failed: event is "video playback"`)
	// … but as a track call, add_to_cart's type holds, which outweighs conditions.
	f(`{"type":"track","event":"video playback","properties":{"position":40}}`,
		"add_to_cart", `event "Product Added" failed: event is "video playback"`)
	f(`{"type":"track","event":"Signed Up","properties":{"plan":"pro","email":"qa@example.com"}}`,
		"signup", `where[1] not failed: where[1].not[0] properties.email suffix "@example.com" holds: value is "qa@example.com"`)
	f(`{"type":"track","event":"Account Created","properties":{"plan":null}}`,
		"signup", `where[0] properties.plan exists failed: value is null`)
	f(`{"type":"screen","event":"Signup","properties":{"plan":"pro"}}`,
		"signup", `event_in ["Signed Up", "Account Created"] failed: event is "Signup"`)
	// Little in common with any rule: signup's `not` condition holds.
	f(`{"type":"identify"}`, "signup", `event_in ["Signed Up", "Account Created"] failed: event is ""`)
	// Nothing in common: the fewest failing constraints win (purchase fails
	// its name only).
	f(`{"type":"identify","properties":{"email":"a@example.com"}}`, "purchase", `event "Order Completed" failed: event is ""`)
	// An object or array value is shown as JSON.
	f(`{"type":"track","event":"Product Added","properties":{"price":{"amount":5},"currency":"USD"}}`,
		"add_to_cart", `where[0] properties.price gt 0 failed: value is {"amount":5}`)
	// Long values are cut.
	f(`{"type":"page","context":{"page":{"path":"/`+strings.Repeat("x", 200)+`"}}}`,
		"pricing_page_viewed", `where[0] context.page.path prefix "/pricing" failed: value is "/`+strings.Repeat("x", 99)+`…"`)

	// Matching every rule leaves none to be nearest.
	one := mustParse(t, "conversions:\n  - id: a\n    match: {event: A}\n")
	if x, ok := one.Nearest(mustEvent(t, `{"event":"A"}`)); ok {
		t.Fatalf("Nearest of a matching event = %s", x.Conversion.ID)
	}
	if _, ok := (&Set{}).Nearest(mustEvent(t, `{"event":"A"}`)); ok {
		t.Fatalf("Nearest in an empty set found a rule")
	}
}

// TestNearestOrder checks the tie-breaks of Nearest: name, type, where
// conditions held, fewest failing, rule order.
func TestNearestOrder(t *testing.T) {
	f := func(rulesYAML, eventJSON, wantID string) {
		t.Helper()
		x, ok := mustParse(t, rulesYAML).Nearest(mustEvent(t, eventJSON))
		if !ok || x.Conversion.ID != wantID {
			t.Fatalf("Nearest(%s) = %v %q (%s), want %s", eventJSON, ok, x.Conversion.ID, x.Failed, wantID)
		}
	}
	rule := func(id, match string) string { return "  - id: " + id + "\n    match: " + match + "\n" }
	// The name outweighs the type and any number of conditions.
	f("conversions:\n"+
		rule("by_type", `{type: track, where: [{path: a, op: exists}, {path: b, op: exists}, {path: c, op: eq, value: 1}]}`)+
		rule("by_name", `{event: E, where: [{path: c, op: eq, value: 1}]}`),
		`{"type":"track","event":"E","a":1,"b":1,"c":2}`, "by_name")
	// The type outweighs conditions.
	f("conversions:\n"+
		rule("by_where", `{where: [{path: a, op: exists}, {path: b, op: exists}, {path: c, op: eq, value: 1}]}`)+
		rule("by_type", `{type: track, where: [{path: c, op: eq, value: 1}]}`),
		`{"type":"track","event":"E","a":1,"b":1,"c":2}`, "by_type")
	// More conditions holding wins.
	f("conversions:\n"+
		rule("one", `{event: E, where: [{path: a, op: exists}, {path: c, op: eq, value: 1}]}`)+
		rule("two", `{event: E, where: [{path: a, op: exists}, {path: b, op: exists}, {path: c, op: eq, value: 1}]}`),
		`{"type":"track","event":"E","a":1,"b":1,"c":2}`, "two")
	// Equal conditions holding: fewer failing wins.
	f("conversions:\n"+
		rule("two_fail", `{event: E, where: [{path: a, op: exists}, {path: x, op: exists}, {path: y, op: exists}]}`)+
		rule("one_fail", `{event: E, where: [{path: a, op: exists}, {path: x, op: exists}]}`),
		`{"type":"track","event":"E","a":1}`, "one_fail")
	// A full tie: rule order.
	f("conversions:\n"+
		rule("first", `{event: E, where: [{path: x, op: exists}]}`)+
		rule("second", `{event: E, where: [{path: y, op: exists}]}`),
		`{"type":"track","event":"E"}`, "first")
	// A rule without a name constraint does not count as its name holding.
	f("conversions:\n"+
		rule("unnamed", `{where: [{path: x, op: exists}]}`)+
		rule("named", `{event: E, where: [{path: y, op: exists}]}`),
		`{"type":"track","event":"E"}`, "named")
}

// TestExplainGroups checks the words for failing nested groups.
func TestExplainGroups(t *testing.T) {
	f := func(where, eventJSON, want string) {
		t.Helper()
		s := mustParse(t, "conversions:\n  - id: r\n    match:\n      where:\n        - {path: ok, op: exists}\n        - "+where+"\n")
		xs := s.Explain(mustEvent(t, eventJSON))
		if len(xs) != 1 || xs[0].Matched || xs[0].Failed != want {
			t.Fatalf("Explain(%s) with %s:\n\tgot  %q\n\twant %q", eventJSON, where, xs[0].Failed, want)
		}
	}
	f(`{all: [{path: a, op: eq, value: 1}, {path: b, op: ne, value: x}]}`, `{"ok":1,"a":1,"b":"x"}`,
		`where[1].all[1] b ne "x" failed: value is "x"`)
	f(`{any: [{path: a, op: lt, value: 1}, {all: [{path: b, op: exists}, {path: c, op: not_exists}]}]}`, `{"ok":1,"a":3,"b":"x","c":true}`,
		`where[1] any failed: where[1].any[0] a lt 1 failed: value is 3; where[1].any[1].all[1] c not_exists failed: value is true`)
	f(`{not: [{path: a, op: regex, value: '^x+$'}, {path: b, op: contains, value: 7}]}`, `{"ok":1,"a":"xx","b":[1,7]}`,
		`where[1] not failed: where[1].not[0] a regex "^x+$" holds: value is "xx"; where[1].not[1] b contains 7 holds: value is [1,7]`)
	f(`{not: {any: [{path: a, op: eq, value: null}, {path: b, op: eq, value: true}]}}`, `{"ok":1,"a":1,"b":true}`,
		`where[1] not failed: where[1].not[0].any[1] b eq true holds: value is true`)
	f(`{not: {not: {path: a, op: suffix, value: z}}}`, `{"ok":1,"a":"q"}`,
		`where[1] not failed: where[1].not[0].not[0] a suffix "z" failed: value is "q"`)
	f(`{path: items.0.sku, op: not_in, value: [1, "2", true, null]}`, `{"ok":1,"items":[{"sku":"2"}]}`,
		`where[1] items.0.sku not_in [1, "2", true, null] failed: value is "2"`)
}

// TestExplainAgreesWithMatch checks that Explain's Matched is exactly what
// Match returns, over the reference rule set and the shop events.
func TestExplainAgreesWithMatch(t *testing.T) {
	data, err := os.ReadFile("testdata/reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, string(data))
	events := []string{
		`{"type":"track","event":"Product Added","properties":{"price":19.99,"currency":"USD","quantity":6}}`,
		`{"type":"track","event":"Product Added","properties":{"price":0,"currency":"USD"}}`,
		`{"type":"track","event":"Order Completed","properties":{"revenue":300,"coupon":"X"}}`,
		`{"type":"page","name":"Pricing","context":{"page":{"path":"/pricing/teams"},"campaign":{"medium":"cpc"}}}`,
		`{"type":"page","context":{"page":{"path":"/blog/2024/x"}}}`,
		`{"type":"screen","name":"Settings Privacy"}`,
		`{"type":"track","event":"Payment Info Entered","properties":{"payment_method":"test"}}`,
		`{"type":"track","event":"Checkout Step Viewed","properties":{"step":1}}`,
		`{"type":"identify","traits":{"email":"a@b.c"}}`,
		`{}`,
	}
	for _, e := range events {
		ev := mustEvent(t, e)
		want := matchIDs(s.Match(ev, nil))
		got := []string{}
		for _, x := range s.Explain(ev) {
			if x.Matched {
				got = append(got, x.Conversion.ID)
				if x.Failed != "" || x.Failing != 0 {
					t.Errorf("%s: %s matched but Failed = %q", e, x.Conversion.ID, x.Failed)
				}
			} else if x.Failed == "" || x.Failing == 0 {
				t.Errorf("%s: %s did not match but Failed is empty", e, x.Conversion.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: Explain matched %v, Match %v", e, got, want)
		}
	}
	// A nil event or a nil document: every path is missing.
	if xs := s.Explain(nil); len(xs) != len(s.Conversions) {
		t.Fatalf("Explain(nil) gave %d explanations", len(xs))
	}
	var doc *fastjson.Value
	if x, ok := s.Nearest(&Event{Type: "track", Name: "Product Added", Doc: doc}); !ok || !strings.Contains(x.Failed, "value is missing") {
		t.Fatalf("Nearest with a nil document = %v %q", ok, x.Failed)
	}
}

// FuzzExplain checks on any JSON that Explain agrees with Match, that every
// rule that does not match says why, and that Nearest is one of those.
func FuzzExplain(f *testing.F) {
	s, err := Parse("fuzz.yaml", []byte(nearestRules+`  - id: groups
    match:
      where:
        - any:
            - {path: properties.a, op: contains, value: x}
            - all: [{path: properties.b, op: lt, value: 3}, {path: properties.c, op: not_exists}]
        - not: [{path: properties.d, op: regex, value: '^a+$'}, {path: properties.e.0, op: in, value: [1, "1", true, null]}]
        - not: {any: [{path: properties.f, op: suffix, value: z}, {path: properties.g, op: lte, value: 0}]}
`))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range referenceEvents {
		f.Add(e)
	}
	f.Add(`{"type":"track","event":"Product Added","properties":{"price":5,"currency":"JPY","a":["x"],"b":"2","d":"aa","e":[1],"f":"zz","g":-1}}`)
	f.Add(`{"type":"page","context":{"page":{"path":"/pricing"}}}`)
	f.Add(`[1,2]`)
	f.Fuzz(func(t *testing.T, js string) {
		doc, err := fastjson.Parse(js)
		if err != nil {
			return
		}
		ev := &Event{Type: string(doc.GetStringBytes("type")), Name: string(doc.GetStringBytes("event")), Doc: doc}
		matched := matchIDs(s.Match(ev, nil))
		var explained []string
		unmatched := 0
		for _, x := range s.Explain(ev) {
			if x.Matched {
				explained = append(explained, x.Conversion.ID)
				continue
			}
			unmatched++
			if x.Failed == "" || x.Failing == 0 {
				t.Fatalf("%s: %s does not match but gives no reason", js, x.Conversion.ID)
			}
		}
		if !slices.Equal(explained, matched) && !(len(explained) == 0 && len(matched) == 0) {
			t.Fatalf("%s: Explain matched %v, Match %v", js, explained, matched)
		}
		x, ok := s.Nearest(ev)
		if ok != (unmatched > 0) || ok && (x.Matched || x.Failed == "") {
			t.Fatalf("%s: Nearest = %v %+v with %d rules unmatched", js, ok, x, unmatched)
		}
	})
}
