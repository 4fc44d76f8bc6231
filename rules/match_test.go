package rules

import (
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/internal/rawjson"
)

func mustParse(t testing.TB, rulesYAML string) *Set {
	t.Helper()
	s, err := Parse("test.yaml", []byte(rulesYAML))
	if err != nil {
		t.Fatalf("cannot parse rules:\n%s\n%v", rulesYAML, err)
	}
	return s
}

// mustEvent builds an Event the way a Segment decoder would: type from
// "type", name from "event", else "name".
func mustEvent(t testing.TB, eventJSON string) *Event {
	t.Helper()
	doc, err := fastjson.Parse(eventJSON)
	if err != nil {
		t.Fatalf("cannot parse event %s: %v", eventJSON, err)
	}
	return eventOf(doc)
}

func eventOf(doc *fastjson.Value) *Event {
	name := string(doc.GetStringBytes("event"))
	if name == "" {
		name = string(doc.GetStringBytes("name"))
	}
	return &Event{Type: string(doc.GetStringBytes("type")), Name: name, Doc: doc}
}

// rawEvent is the Event of eventJSON with Raw set, nil when rawjson does
// not accept the text.
func rawEvent(eventJSON string) *Event {
	b := []byte(eventJSON)
	i := rawjson.SkipWS(b, 0)
	end, ok := rawjson.Skip(b, i)
	if !ok || rawjson.SkipWS(b, end) != len(b) {
		return nil
	}
	ev := eventOf(fastjson.MustParse(eventJSON))
	return &Event{Type: ev.Type, Name: ev.Name, Raw: b[i:end]}
}

func matchIDs(ms []Match) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.Conversion.ID)
	}
	return ids
}

// TestMatchOperators checks every operator with one condition on the JSON doc.
func TestMatchOperators(t *testing.T) {
	f := func(condition, eventJSON string, want bool) {
		t.Helper()
		s := mustParse(t, "conversions:\n  - id: r\n    match:\n      where:\n        - "+condition+"\n")
		got := len(s.Match(mustEvent(t, eventJSON), nil)) == 1
		if got != want {
			t.Fatalf("%s on %s: got %v, want %v", condition, eventJSON, got, want)
		}
		// The same with the document as text (the consumer's fast path).
		if ev := rawEvent(eventJSON); ev != nil {
			if got := len(s.Match(ev, nil)) == 1; got != want {
				t.Fatalf("%s on %s as Raw: got %v, want %v", condition, eventJSON, got, want)
			}
		}
	}

	// eq: strings byte-equal, numbers numerically, with coercions.
	f(`{path: p.c, op: eq, value: USD}`, `{"p":{"c":"USD"}}`, true)
	f(`{path: p.c, op: eq, value: USD}`, `{"p":{"c":"usd"}}`, false)
	f(`{path: p.c, op: eq, value: USD}`, `{"p":{"c":"USD "}}`, false)
	f(`{path: p.c, op: eq, value: ""}`, `{"p":{"c":""}}`, true)
	f(`{path: p.c, op: eq, value: "\u00e9"}`, `{"p":{"c":"\u00e9"}}`, true)
	f(`{path: p.c, op: eq, value: "a\"b"}`, `{"p":{"c":"a\"b"}}`, true)
	f(`{path: p.n, op: eq, value: 5}`, `{"p":{"n":5}}`, true)
	f(`{path: p.n, op: eq, value: 5}`, `{"p":{"n":5.0}}`, true)
	f(`{path: p.n, op: eq, value: 5}`, `{"p":{"n":5e0}}`, true)
	f(`{path: p.n, op: eq, value: 5.5}`, `{"p":{"n":5}}`, false)
	f(`{path: p.n, op: eq, value: 0x10}`, `{"p":{"n":16}}`, true)
	f(`{path: p.n, op: eq, value: 5}`, `{"p":{"n":"5"}}`, true) // rule number vs numeric string
	f(`{path: p.n, op: eq, value: 5}`, `{"p":{"n":"5.00"}}`, true)
	f(`{path: p.n, op: eq, value: 5}`, `{"p":{"n":" 5"}}`, false) // not a number
	f(`{path: p.n, op: eq, value: 5}`, `{"p":{"n":"five"}}`, false)
	f(`{path: p.n, op: eq, value: "5"}`, `{"p":{"n":5}}`, true) // rule numeric string vs number
	f(`{path: p.n, op: eq, value: "5.0"}`, `{"p":{"n":5}}`, true)
	f(`{path: p.n, op: eq, value: "5"}`, `{"p":{"n":"5.0"}}`, false) // string vs string: bytes
	f(`{path: p.n, op: eq, value: "abc"}`, `{"p":{"n":5}}`, false)
	f(`{path: p.b, op: eq, value: true}`, `{"p":{"b":true}}`, true)
	f(`{path: p.b, op: eq, value: true}`, `{"p":{"b":false}}`, false)
	f(`{path: p.b, op: eq, value: false}`, `{"p":{"b":false}}`, true)
	f(`{path: p.b, op: eq, value: true}`, `{"p":{"b":"true"}}`, true)
	f(`{path: p.b, op: eq, value: false}`, `{"p":{"b":"false"}}`, true)
	f(`{path: p.b, op: eq, value: true}`, `{"p":{"b":"True"}}`, false)
	f(`{path: p.b, op: eq, value: true}`, `{"p":{"b":1}}`, false)
	f(`{path: p.b, op: eq, value: "true"}`, `{"p":{"b":true}}`, true)
	f(`{path: p.b, op: eq, value: "false"}`, `{"p":{"b":true}}`, false)
	f(`{path: p.x, op: eq, value: null}`, `{"p":{"x":null}}`, true)
	f(`{path: p.x, op: eq, value: ~}`, `{"p":{"x":null}}`, true)
	f(`{path: p.x, op: eq, value: null}`, `{"p":{}}`, false)
	f(`{path: p.x, op: eq, value: null}`, `{"p":{"x":""}}`, false)
	f(`{path: p.x, op: eq, value: null}`, `{"p":{"x":0}}`, false)
	f(`{path: p.x, op: eq, value: ""}`, `{"p":{"x":null}}`, false)
	f(`{path: p, op: eq, value: "{}"}`, `{"p":{}}`, false) // objects equal nothing
	f(`{path: p, op: eq, value: "[]"}`, `{"p":[]}`, false)

	// ne is not(eq): true when missing or null.
	f(`{path: p.c, op: ne, value: USD}`, `{"p":{"c":"EUR"}}`, true)
	f(`{path: p.c, op: ne, value: USD}`, `{"p":{"c":"USD"}}`, false)
	f(`{path: p.c, op: ne, value: USD}`, `{"p":{}}`, true)
	f(`{path: p.c, op: ne, value: USD}`, `{"p":{"c":null}}`, true)
	f(`{path: p.c, op: ne, value: null}`, `{"p":{"c":null}}`, false)
	f(`{path: p.c, op: ne, value: null}`, `{"p":{"c":1}}`, true)
	f(`{path: p.n, op: ne, value: 5}`, `{"p":{"n":"5"}}`, false)

	// in / not_in.
	f(`{path: p.c, op: in, value: [EUR, GBP]}`, `{"p":{"c":"GBP"}}`, true)
	f(`{path: p.c, op: in, value: [EUR, GBP]}`, `{"p":{"c":"USD"}}`, false)
	f(`{path: p.c, op: in, value: [EUR, GBP]}`, `{}`, false)
	f(`{path: p.c, op: in, value: [1, 2, 3]}`, `{"p":{"c":2}}`, true)
	f(`{path: p.c, op: in, value: [1, 2, 3]}`, `{"p":{"c":"3"}}`, true)
	f(`{path: p.c, op: in, value: [a, null]}`, `{"p":{"c":null}}`, true)
	f(`{path: p.c, op: in, value: [a, true]}`, `{"p":{"c":true}}`, true)
	f(`{path: p.c, op: not_in, value: [EUR, GBP]}`, `{"p":{"c":"USD"}}`, true)
	f(`{path: p.c, op: not_in, value: [EUR, GBP]}`, `{"p":{"c":"EUR"}}`, false)
	f(`{path: p.c, op: not_in, value: [EUR, GBP]}`, `{}`, true)
	f(`{path: p.c, op: not_in, value: [EUR, GBP]}`, `{"p":{"c":null}}`, true)

	// contains: substring of a string, element of an array.
	f(`{path: p.u, op: contains, value: utm_}`, `{"p":{"u":"/?utm_source=x"}}`, true)
	f(`{path: p.u, op: contains, value: utm_}`, `{"p":{"u":"/?UTM_source=x"}}`, false)
	f(`{path: p.u, op: contains, value: ""}`, `{"p":{"u":"x"}}`, true)
	f(`{path: p.u, op: contains, value: 42}`, `{"p":{"u":"order-42"}}`, true) // the value's text
	f(`{path: p.t, op: contains, value: sale}`, `{"p":{"t":["new","sale"]}}`, true)
	f(`{path: p.t, op: contains, value: sal}`, `{"p":{"t":["new","sale"]}}`, false)
	f(`{path: p.t, op: contains, value: 3}`, `{"p":{"t":[1,2,3]}}`, true)
	f(`{path: p.t, op: contains, value: 3}`, `{"p":{"t":["3"]}}`, true)
	f(`{path: p.t, op: contains, value: null}`, `{"p":{"t":[1,null]}}`, true)
	f(`{path: p.t, op: contains, value: null}`, `{"p":{"t":"null"}}`, false)
	f(`{path: p.t, op: contains, value: x}`, `{"p":{"t":{"x":1}}}`, false)
	f(`{path: p.t, op: contains, value: x}`, `{"p":{"t":null}}`, false)
	f(`{path: p.t, op: contains, value: x}`, `{}`, false)

	// prefix / suffix: strings only.
	f(`{path: c.page.path, op: prefix, value: /pricing}`, `{"c":{"page":{"path":"/pricing/teams"}}}`, true)
	f(`{path: c.page.path, op: prefix, value: /pricing}`, `{"c":{"page":{"path":"/en/pricing"}}}`, false)
	f(`{path: c.page.path, op: suffix, value: .pdf}`, `{"c":{"page":{"path":"/a/b.pdf"}}}`, true)
	f(`{path: c.page.path, op: suffix, value: .pdf}`, `{"c":{"page":{"path":"/a/b.pdf?x"}}}`, false)
	f(`{path: p.n, op: prefix, value: 12}`, `{"p":{"n":123}}`, false) // numbers are not strings
	f(`{path: p.n, op: prefix, value: 12}`, `{"p":{"n":"123"}}`, true)
	f(`{path: p.n, op: suffix, value: x}`, `{}`, false)

	// regex: unanchored RE2 on strings.
	f(`{path: p.s, op: regex, value: 'vid(eo)?'}`, `{"p":{"s":"my video"}}`, true)
	f(`{path: p.s, op: regex, value: '^vid'}`, `{"p":{"s":"my video"}}`, false)
	f(`{path: p.s, op: regex, value: '(?i)^MY'}`, `{"p":{"s":"my video"}}`, true)
	f(`{path: p.s, op: regex, value: '\d+'}`, `{"p":{"s":123}}`, false)
	f(`{path: p.s, op: regex, value: '.*'}`, `{}`, false)
	f(`{path: p.s, op: regex, value: '.*'}`, `{"p":{"s":null}}`, false)

	// gt / gte / lt / lte: numbers and numeric strings.
	f(`{path: p.n, op: gt, value: 0}`, `{"p":{"n":0.01}}`, true)
	f(`{path: p.n, op: gt, value: 0}`, `{"p":{"n":0}}`, false)
	f(`{path: p.n, op: gt, value: 0}`, `{"p":{"n":-1}}`, false)
	f(`{path: p.n, op: gt, value: 0}`, `{"p":{"n":"19.99"}}`, true)
	f(`{path: p.n, op: gt, value: 0}`, `{"p":{"n":"1e3"}}`, true)
	f(`{path: p.n, op: gt, value: 0}`, `{"p":{"n":"$19.99"}}`, false)
	f(`{path: p.n, op: gt, value: 0}`, `{"p":{"n":true}}`, false)
	f(`{path: p.n, op: gt, value: 0}`, `{"p":{"n":null}}`, false)
	f(`{path: p.n, op: gt, value: 0}`, `{"p":{"n":[1]}}`, false)
	f(`{path: p.n, op: gt, value: 0}`, `{}`, false)
	f(`{path: p.n, op: gte, value: 10}`, `{"p":{"n":10}}`, true)
	f(`{path: p.n, op: gte, value: 10}`, `{"p":{"n":9.999}}`, false)
	f(`{path: p.n, op: lt, value: -1.5}`, `{"p":{"n":-2}}`, true)
	f(`{path: p.n, op: lt, value: -1.5}`, `{"p":{"n":-1.5}}`, false)
	f(`{path: p.n, op: lte, value: -1.5}`, `{"p":{"n":"-1.5"}}`, true)
	f(`{path: p.n, op: lte, value: 1e3}`, `{"p":{"n":1000}}`, true)
	f(`{path: p.n, op: lt, value: .inf}`, `{"p":{"n":1e308}}`, true)

	// exists / not_exists: null counts as absent.
	f(`{path: p.x, op: exists}`, `{"p":{"x":0}}`, true)
	f(`{path: p.x, op: exists}`, `{"p":{"x":""}}`, true)
	f(`{path: p.x, op: exists}`, `{"p":{"x":false}}`, true)
	f(`{path: p.x, op: exists}`, `{"p":{"x":{}}}`, true)
	f(`{path: p.x, op: exists}`, `{"p":{"x":null}}`, false)
	f(`{path: p.x, op: exists}`, `{"p":{}}`, false)
	f(`{path: p.x, op: exists}`, `{"p":"x"}`, false) // cannot descend into a string
	f(`{path: p.x, op: not_exists}`, `{"p":{}}`, true)
	f(`{path: p.x, op: not_exists}`, `{"p":{"x":null}}`, true)
	f(`{path: p.x, op: not_exists}`, `{"p":{"x":1}}`, false)

	// Paths: array indexes, deep paths, top-level keys.
	f(`{path: p.items.0.sku, op: eq, value: A1}`, `{"p":{"items":[{"sku":"A1"},{"sku":"B2"}]}}`, true)
	f(`{path: p.items.1.sku, op: eq, value: A1}`, `{"p":{"items":[{"sku":"A1"},{"sku":"B2"}]}}`, false)
	f(`{path: p.items.2.sku, op: exists}`, `{"p":{"items":[{"sku":"A1"},{"sku":"B2"}]}}`, false)
	f(`{path: p.items.-1.sku, op: exists}`, `{"p":{"items":[{"sku":"A1"}]}}`, false)
	f(`{path: userId, op: exists}`, `{"userId":"u1"}`, true)
	f(`{path: a.b.c.d.e, op: eq, value: 1}`, `{"a":{"b":{"c":{"d":{"e":1}}}}}`, true)
	f(`{path: a.b.c.d.e, op: ne, value: 1}`, `{"a":{"b":1}}`, true)
	f(`{path: 'p.a b', op: eq, value: 1}`, `{"p":{"a b":1}}`, true)
	f(`{path: p.k, op: eq, value: v}`, `{"p":{"\u006b":"v"}}`, true)   // escaped key
	f(`{path: p.k, op: eq, value: "é"}`, `{"p":{"k":"\u00e9"}}`, true) // escaped value
}

func TestMatchGroups(t *testing.T) {
	f := func(where, eventJSON string, want bool) {
		t.Helper()
		s := mustParse(t, "conversions:\n  - id: r\n    match:\n      where: "+where+"\n")
		got := len(s.Match(mustEvent(t, eventJSON), nil)) == 1
		if got != want {
			t.Fatalf("where %s on %s: got %v, want %v", where, eventJSON, got, want)
		}
	}
	a := `{path: a, op: exists}`
	b := `{path: b, op: exists}`
	c := `{path: c, op: exists}`

	// The where list: all must hold.
	f(`[`+a+`, `+b+`]`, `{"a":1,"b":1}`, true)
	f(`[`+a+`, `+b+`]`, `{"a":1}`, false)
	// any.
	f(`[{any: [`+a+`, `+b+`]}]`, `{"b":1}`, true)
	f(`[{any: [`+a+`, `+b+`]}]`, `{"c":1}`, false)
	// all.
	f(`[{all: [`+a+`, `+b+`]}]`, `{"a":1,"b":1}`, true)
	f(`[{all: [`+a+`, `+b+`]}]`, `{"b":1}`, false)
	// not with one condition, and with a list: not(all(list)).
	f(`[{not: `+a+`}]`, `{"b":1}`, true)
	f(`[{not: `+a+`}]`, `{"a":1}`, false)
	f(`[{not: [`+a+`, `+b+`]}]`, `{"a":1}`, true)
	f(`[{not: [`+a+`, `+b+`]}]`, `{"a":1,"b":1}`, false)
	f(`[{not: {not: `+a+`}}]`, `{"a":1}`, true)
	f(`[{not: {any: [`+a+`, `+b+`]}}]`, `{"c":1}`, true)
	f(`[{not: {any: [`+a+`, `+b+`]}}]`, `{"b":1}`, false)
	// Nested: a and (b or not c).
	nested := `[` + a + `, {any: [` + b + `, {not: ` + c + `}]}]`
	f(nested, `{"a":1}`, true)
	f(nested, `{"a":1,"c":1}`, false)
	f(nested, `{"a":1,"b":1,"c":1}`, true)
	f(nested, `{"b":1}`, false)
	// Deep nesting evaluates.
	deep := `[` + strings.Repeat(`{not: `, 32) + a + strings.Repeat(`}`, 32) + `]`
	f(deep, `{"a":1}`, true)
	f(deep, `{}`, false)
}

func TestMatchEventAndType(t *testing.T) {
	const rules = `
conversions:
  - id: by_name
    match: {event: Product Added}
  - id: by_list
    match: {event_in: [Video Started, Video Completed, Video Started]}
  - id: by_regex
    match: {event_regex: '^Video '}
  - id: by_type
    match: {type: page}
  - id: name_and_type
    match: {event: Product Added, type: screen}
  - id: regex_and_where
    match:
      event_regex: 'Added$'
      where: [{path: properties.price, op: gt, value: 100}]
`
	s := mustParse(t, rules)
	f := func(eventJSON string, want ...string) {
		t.Helper()
		got := matchIDs(s.Match(mustEvent(t, eventJSON), nil))
		if !slices.Equal(got, want) {
			t.Fatalf("%s: got %v, want %v", eventJSON, got, want)
		}
	}
	f(`{"type":"track","event":"Product Added"}`, "by_name")
	f(`{"type":"screen","event":"Product Added"}`, "by_name", "name_and_type")
	f(`{"type":"track","event":"Product Added","properties":{"price":150}}`, "by_name", "regex_and_where")
	f(`{"type":"track","event":"product added"}`)
	f(`{"type":"track","event":"Product Added "}`)
	f(`{"type":"track","event":"Video Started"}`, "by_list", "by_regex")
	f(`{"type":"track","event":"Video Completed"}`, "by_list", "by_regex")
	f(`{"type":"track","event":"Video Paused"}`, "by_regex")
	f(`{"type":"track","event":"My Video Paused"}`)
	f(`{"type":"page","name":"Pricing"}`, "by_type")
	f(`{"type":"page","name":"Video Tour"}`, "by_regex", "by_type")
	f(`{"type":"page","name":"Product Added"}`, "by_name", "by_type")
	f(`{"type":"identify"}`)

	// An Event without a Doc: every path is missing.
	if got := matchIDs(s.Match(&Event{Type: "page", Name: "x"}, nil)); !slices.Equal(got, []string{"by_type"}) {
		t.Fatalf("nil Doc: got %v", got)
	}
	if got := s.Match(nil, nil); len(got) != 0 {
		t.Fatalf("nil event: got %v", got)
	}
}

func TestMatchShop(t *testing.T) {
	s, err := Load("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := func(eventJSON string, want ...string) {
		t.Helper()
		got := matchIDs(s.Match(mustEvent(t, eventJSON), nil))
		if !slices.Equal(got, want) {
			t.Fatalf("%s: got %v, want %v", eventJSON, got, want)
		}
	}
	f(`{"type":"track","event":"Product Viewed","properties":{"sku":"A1"}}`, "product_viewed")
	f(`{"type":"page","event":"Product Viewed"}`) // type must be track
	f(`{"type":"track","event":"Product Added","properties":{"price":19.99,"currency":"USD"}}`, "add_to_cart")
	f(`{"type":"track","event":"Product Added","properties":{"price":"19.99","currency":"GBP"}}`, "add_to_cart")
	f(`{"type":"track","event":"Product Added","properties":{"price":19.99,"currency":"JPY"}}`)
	f(`{"type":"track","event":"Product Added","properties":{"price":0,"currency":"USD"}}`)
	f(`{"type":"track","event":"Product Added","properties":{"currency":"USD"}}`)
	f(`{"type":"track","event":"Checkout Started","properties":{"step":1}}`, "checkout_started")
	f(`{"type":"track","event":"Checkout Step Viewed","properties":{"step":1}}`, "checkout_started")
	f(`{"type":"track","event":"Checkout Step Viewed","properties":{"step":2}}`)
	f(`{"type":"track","event":"Payment Info Entered","properties":{"payment_method":"card"}}`, "payment_info_entered")
	f(`{"type":"track","event":"Payment Info Entered"}`, "payment_info_entered")
	f(`{"type":"track","event":"Payment Info Entered","properties":{"payment_method":"test"}}`)
	f(`{"type":"track","event":"Form Submitted","properties":{"form_id":"newsletter"}}`, "newsletter_signup")
	f(`{"type":"track","event":"Form Submitted","properties":{"form_id":"contact"}}`)
	f(`{"type":"page","name":"Pricing","context":{"page":{"path":"/pricing/enterprise"}}}`, "pricing_page_viewed")
	f(`{"type":"page","name":"Docs","context":{"page":{"path":"/docs"}}}`)
	f(`{"type":"track","event":"Order Completed","properties":{"revenue":99.5}}`, "purchase")
	// A page named like a track event matches both kinds of rules, in file order.
	f(`{"type":"page","name":"Order Completed","context":{"page":{"path":"/pricing"}}}`, "pricing_page_viewed", "purchase")
}

func TestMatchSeveralInOrder(t *testing.T) {
	const rules = `
conversions:
  - id: any_track
    match: {type: track}
  - id: signup
    match: {event: Signed Up}
  - id: regex_up
    match: {event_regex: 'Up$'}
  - id: signup_pro
    type: macro
    match:
      event_in: [Signed Up]
      where: [{path: properties.plan, op: eq, value: pro}]
  - id: other
    match: {event: Logged In}
  - id: plan_set
    match:
      where: [{path: properties.plan, op: exists}]
`
	s := mustParse(t, rules)
	f := func(eventJSON string, want ...string) {
		t.Helper()
		got := matchIDs(s.Match(mustEvent(t, eventJSON), nil))
		if !slices.Equal(got, want) {
			t.Fatalf("%s: got %v, want %v", eventJSON, got, want)
		}
	}
	f(`{"type":"track","event":"Signed Up","properties":{"plan":"pro"}}`, "any_track", "signup", "regex_up", "signup_pro", "plan_set")
	f(`{"type":"track","event":"Signed Up","properties":{"plan":"free"}}`, "any_track", "signup", "regex_up", "plan_set")
	f(`{"type":"identify","event":"Signed Up"}`, "signup", "regex_up")
	f(`{"type":"track","event":"Logged In"}`, "any_track", "other")
	f(`{"type":"track","event":"Woke Up","properties":{"plan":"x"}}`, "any_track", "regex_up", "plan_set")

	// Match appends to dst.
	dst := []Match{{}}
	dst = s.Match(mustEvent(t, `{"type":"track","event":"Logged In"}`), dst)
	if len(dst) != 3 || dst[0].Conversion != nil || dst[2].Conversion.ID != "other" {
		t.Fatalf("Match must append to dst: got %v", dst)
	}
}

func TestMatchValue(t *testing.T) {
	f := func(eventJSON string, want float64, wantHas bool) {
		t.Helper()
		s := mustParse(t, "conversions:\n  - id: r\n    value: properties.revenue\n    match: {type: track}\n")
		ms := s.Match(mustEvent(t, eventJSON), nil)
		if len(ms) != 1 {
			t.Fatalf("%s: got %d matches, want 1", eventJSON, len(ms))
		}
		m := ms[0]
		if m.HasValue != wantHas || m.Value != want {
			t.Fatalf("%s: got value %v (has %v), want %v (has %v)", eventJSON, m.Value, m.HasValue, want, wantHas)
		}
	}
	f(`{"type":"track","properties":{"revenue":99.5}}`, 99.5, true)
	f(`{"type":"track","properties":{"revenue":-3}}`, -3, true)
	f(`{"type":"track","properties":{"revenue":0}}`, 0, true)
	f(`{"type":"track","properties":{"revenue":"12.30"}}`, 12.3, true)
	f(`{"type":"track","properties":{"revenue":"1e2"}}`, 100, true)
	f(`{"type":"track","properties":{"revenue":"12,30"}}`, 0, false)
	f(`{"type":"track","properties":{"revenue":"$5"}}`, 0, false)
	f(`{"type":"track","properties":{"revenue":""}}`, 0, false)
	f(`{"type":"track","properties":{"revenue":true}}`, 0, false)
	f(`{"type":"track","properties":{"revenue":null}}`, 0, false)
	f(`{"type":"track","properties":{"revenue":{"amount":1}}}`, 0, false)
	f(`{"type":"track","properties":{}}`, 0, false)
	f(`{"type":"track"}`, 0, false)
	f(`{"type":"track","properties":{"revenue":"1e999"}}`, math.Inf(1), true)

	// Without a value path there is never a value.
	s := mustParse(t, "conversions:\n  - id: r\n    match: {type: track}\n")
	if ms := s.Match(mustEvent(t, `{"type":"track","properties":{"revenue":1}}`), nil); ms[0].HasValue {
		t.Fatalf("got a value without a value path: %+v", ms[0])
	}
}

func TestParseNumeric(t *testing.T) {
	f := func(in string, want float64, wantOK bool) {
		t.Helper()
		got, ok := parseNumeric([]byte(in))
		if ok != wantOK || (ok && got != want) {
			t.Fatalf("parseNumeric(%q) = %v, %v; want %v, %v", in, got, ok, want, wantOK)
		}
	}
	f("0", 0, true)
	f("42", 42, true)
	f("-1.5", -1.5, true)
	f("+2", 2, true)
	f(".5", 0.5, true)
	f("5.", 5, true)
	f("1e3", 1000, true)
	f("1E-2", 0.01, true)
	f("007", 7, true)
	f("", 0, false)
	f("-", 0, false)
	f(".", 0, false)
	f("e3", 0, false)
	f("1e", 0, false)
	f("1e+", 0, false)
	f(" 1", 0, false)
	f("1 ", 0, false)
	f("0x10", 0, false)
	f("1_000", 0, false)
	f("Inf", 0, false)
	f("NaN", 0, false)
	f("1,5", 0, false)
}

// TestMatchAllocs checks that Match does not allocate with a prepared dst.
func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes Match allocate")
	}
	data, err := os.ReadFile("testdata/reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse("reference.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var events []*Event
	for _, e := range referenceEvents {
		events = append(events, mustEvent(t, e))
	}
	dst := make([]Match, 0, len(s.Conversions))
	matched := 0
	allocs := testing.AllocsPerRun(100, func() {
		for _, ev := range events {
			dst = s.Match(ev, dst[:0])
			matched += len(dst)
		}
	})
	if allocs != 0 {
		t.Fatalf("Match allocated %v times per run, want 0", allocs)
	}
	if matched == 0 {
		t.Fatalf("the reference events matched nothing")
	}
}

// TestMatchConcurrent runs Match from many goroutines on one Set; run with -race.
func TestMatchConcurrent(t *testing.T) {
	s, err := Load("testdata/reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]string, len(referenceEvents))
	for i, e := range referenceEvents {
		want[i] = matchIDs(s.Match(mustEvent(t, e), nil))
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var p fastjson.Parser
			dst := make([]Match, 0, 16)
			for range 50 {
				for i, e := range referenceEvents {
					doc, err := p.Parse(e)
					if err != nil {
						t.Error(err)
						return
					}
					dst = s.Match(eventOf(doc), dst[:0])
					if got := matchIDs(dst); !slices.Equal(got, want[i]) {
						t.Errorf("event %d: got %v, want %v", i, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
