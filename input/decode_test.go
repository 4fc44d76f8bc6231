package input

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

var testSrc = source{topic: "clicks", partition: 3, offset: 42}

func TestDecodeSegment(t *testing.T) {
	f := func(raw string, want sink.Event) {
		t.Helper()
		var d segmentDecoder
		var got sink.Event
		doc, rj := decodeBoth(t, &d, []byte(raw), testSrc, &got)
		if rj != nil {
			t.Fatalf("decode(%s) rejected: %v", raw, rj)
		}
		if doc.Doc == nil && doc.Raw == nil {
			t.Fatalf("decode(%s) returned no document", raw)
		}
		want.Topic, want.Partition, want.Offset = "clicks", 3, 42
		if got != want {
			t.Fatalf("decode(%s)\n got %+v\nwant %+v", raw, got, want)
		}
	}
	// 2024-01-02T03:04:05.678Z = 1704164645678 ms.
	f(`{"type":"track","event":"Product Added","messageId":"m1","userId":"u1","anonymousId":"a1","timestamp":"2024-01-02T03:04:05.678Z","properties":{"price":9.5,"session_id":"s-prop"}}`,
		sink.Event{EventID: "m1", Type: "track", Event: "Product Added", UserKey: "u1", TSMillis: 1704164645678, SessionID: "s-prop", Properties: `{"price":9.5,"session_id":"s-prop"}`})
	// anonymousId when userId is empty or null; sub-millisecond digits are truncated; offsets honoured.
	f(`{"type":"track","event":"E","messageId":"m2","userId":"","anonymousId":"a1","timestamp":"2024-01-02T04:04:05.6789+01:00"}`,
		sink.Event{EventID: "m2", Type: "track", Event: "E", UserKey: "a1", TSMillis: 1704164645678})
	f(`{"type":"track","event":"E","messageId":"m3","userId":null,"anonymousId":"a1","timestamp":"2024-01-02T03:04:05Z"}`,
		sink.Event{EventID: "m3", Type: "track", Event: "E", UserKey: "a1", TSMillis: 1704164645000})
	// numeric user ids keep their JSON text
	f(`{"type":"track","event":"E","messageId":"m4","userId":12345,"timestamp":"2024-01-02T03:04:05Z"}`,
		sink.Event{EventID: "m4", Type: "track", Event: "E", UserKey: "12345", TSMillis: 1704164645000})
	// page: name is the event; without a name the event is "page"; context fields
	f(`{"type":"page","name":"Pricing","messageId":"m5","anonymousId":"a","timestamp":"2024-01-02T03:04:05Z",
	    "context":{"session_id":"s1","page":{"url":"https://x/pricing","path":"/pricing","referrer":"https://g"},
	    "campaign":{"source":"g","medium":"cpc","name":"spring","term":"shoes","content":"ad1"},
	    "device":{"type":"mobile"},"location":{"country":"FR"}},"properties":{"path":"/other"}}`,
		sink.Event{EventID: "m5", Type: "page", Event: "Pricing", UserKey: "a", TSMillis: 1704164645000, SessionID: "s1",
			URL: "https://x/pricing", Path: "/pricing", Referrer: "https://g",
			UTM:    sink.UTM{Source: "g", Medium: "cpc", Campaign: "spring", Term: "shoes", Content: "ad1"},
			Device: "mobile", Country: "FR", Properties: `{"path":"/other"}`})
	f(`{"type":"page","messageId":"m6","anonymousId":"a","timestamp":"2024-01-02T03:04:05Z","properties":{"url":"https://p","path":"/p","referrer":"r"}}`,
		sink.Event{EventID: "m6", Type: "page", Event: "page", UserKey: "a", TSMillis: 1704164645000, URL: "https://p", Path: "/p", Referrer: "r", Properties: `{"url":"https://p","path":"/p","referrer":"r"}`})
	f(`{"type":"screen","messageId":"m7","anonymousId":"a","timestamp":"2024-01-02T03:04:05Z"}`,
		sink.Event{EventID: "m7", Type: "screen", Event: "screen", UserKey: "a", TSMillis: 1704164645000})
	// identify: the call type names the event; type is case-insensitive
	f(`{"type":"Identify","messageId":"m8","userId":"u","timestamp":"2024-01-02T03:04:05Z","traits":{"email":"x"}}`,
		sink.Event{EventID: "m8", Type: "identify", Event: "identify", UserKey: "u", TSMillis: 1704164645000})
	// no type but an event: a track call
	f(`{"event":"E","messageId":"m9","userId":"u","timestamp":"2024-01-02T03:04:05Z"}`,
		sink.Event{EventID: "m9", Type: "track", Event: "E", UserKey: "u", TSMillis: 1704164645000})
	// under each object the first occurrence of a key wins, and a member
	// that is not an object gives none of the fields under it: context.page
	// is a string first (so the URL comes from properties), the second
	// context is ignored, campaign.source is the first one
	f(`{"type":"page","messageId":"m11","anonymousId":"a","timestamp":"2024-01-02T03:04:05Z",
	    "context":{"page":"x","page":{"url":"u2"},"campaign":{"source":"s1","source":"s2"},"device":{"type":"tv","type":"pc"},"location":7},
	    "properties":{"url":"pu","session_id":"ps","path":null},"context":{"session_id":"late"},"type":"track"}`,
		sink.Event{EventID: "m11", Type: "page", Event: "page", UserKey: "a", TSMillis: 1704164645000, SessionID: "ps",
			URL: "pu", UTM: sink.UTM{Source: "s1"}, Device: "tv", Properties: `{"url":"pu","session_id":"ps","path":null}`})
	// numbers and booleans in text fields keep their JSON text; objects and arrays give ""
	f(`{"event":"E","messageId":"m12","userId":"u","timestamp":"2024-01-02T03:04:05Z",
	    "context":{"session_id":17,"page":{"url":true,"path":["/a"],"referrer":{"x":1}},"location":{"country":false}}}`,
		sink.Event{EventID: "m12", Type: "track", Event: "E", UserKey: "u", TSMillis: 1704164645000, SessionID: "17", URL: "true", Country: "false"})
	// escaped strings are unescaped
	f(`{"type":"track","event":"Caf\u00e9 \"Visited\"","messageId":"m10","userId":"u","timestamp":"2024-01-02T03:04:05Z"}`,
		sink.Event{EventID: "m10", Type: "track", Event: `Café "Visited"`, UserKey: "u", TSMillis: 1704164645000})
}

// Without messageId the id is a hash of topic/partition/offset: the same
// message always gets the same id, another message another id.
func TestDecodeDeterministicID(t *testing.T) {
	raw := []byte(`{"type":"track","event":"E","userId":"u","timestamp":"2024-01-02T03:04:05Z"}`)
	id := func(src source) string {
		var d segmentDecoder
		var ev sink.Event
		if _, rj := decodeBoth(t, &d, raw, src, &ev); rj != nil {
			t.Fatal(rj)
		}
		return ev.EventID
	}
	a := id(source{"t", 0, 5})
	if a == "" || a != id(source{"t", 0, 5}) {
		t.Fatalf("id not deterministic: %q", a)
	}
	for _, other := range []source{{"t", 0, 6}, {"t", 1, 5}, {"u", 0, 5}, {"t0", 0, 5}} {
		if id(other) == a {
			t.Fatalf("id of %+v equals id of t/0/5", other)
		}
	}
	// Separators cannot be confused: topic "t/1" partition 2 ≠ topic "t" partition 12.
	if id(source{"t/1", 2, 3}) == id(source{"t", 12, 3}) {
		t.Fatal("ids collide across topic/partition boundaries")
	}
}

func TestDecodeRejects(t *testing.T) {
	f := func(raw, reason, detail string) {
		t.Helper()
		d := segmentDecoder{maxBytes: 200}
		var ev sink.Event
		_, rj := decodeBoth(t, &d, []byte(raw), testSrc, &ev)
		if rj == nil {
			t.Fatalf("decode(%q) accepted, want rejection %s", raw, reason)
		}
		if rj.Reason != reason {
			t.Fatalf("decode(%q) reason %s (%s), want %s", raw, rj.Reason, rj.Detail, reason)
		}
		if !strings.Contains(rj.Detail, detail) {
			t.Fatalf("decode(%q) detail %q, want it to contain %q", raw, rj.Detail, detail)
		}
	}
	ok := `"userId":"u","timestamp":"2024-01-02T03:04:05Z"`
	f(``, ReasonEmpty, "empty")
	f(`{"event":"`+strings.Repeat("x", 300)+`",`+ok+`}`, ReasonTooLarge, "exceeds the limit of 200 bytes")
	f("{\"event\":\"\xff\","+ok+"}", ReasonInvalidUTF8, "UTF-8")
	f(`{"event":"E",`, ReasonInvalidJSON, "cannot parse JSON")
	f(`{"event":"E"} trailing`, ReasonInvalidJSON, "cannot parse JSON")
	f(`"just a string"`, ReasonNotObject, "string")
	f(`[{"event":"E"}]`, ReasonNotObject, "array")
	f(`null`, ReasonNotObject, "null")
	f(`{"type":"track",`+ok+`}`, ReasonMissingEvent, `"event"`)
	f(`{"type":"track","event":"",`+ok+`}`, ReasonMissingEvent, `"event"`)
	f(`{`+ok+`}`, ReasonMissingEvent, "no event name")
	f(`{"event":"E","timestamp":"2024-01-02T03:04:05Z"}`, ReasonMissingUserKey, "userId")
	f(`{"event":"E","userId":"","anonymousId":"","timestamp":"2024-01-02T03:04:05Z"}`, ReasonMissingUserKey, "anonymousId")
	f(`{"event":"E","userId":"u"}`, ReasonMissingTS, "timestamp")
	f(`{"event":"E","userId":"u","timestamp":null}`, ReasonMissingTS, "timestamp")
	f(`{"event":"E","userId":"u","timestamp":"soon"}`, ReasonBadTS, `"soon"`)
	f(`{"event":"E","userId":"u","timestamp":"2024-01-02 03:04:05"}`, ReasonBadTS, "RFC 3339")
	f(`{"event":"E","userId":"u","timestamp":"2024-13-02T03:04:05Z"}`, ReasonBadTS, "RFC 3339")
	f(`{"event":"E","userId":"u","timestamp":1704164645}`, ReasonBadTS, "number")
	f(`{"event":"E","userId":"u","timestamp":"1969-12-31T23:59:59Z"}`, ReasonTSOutOfRange, "outside")
	f(`{"event":"E","userId":"u","timestamp":"2106-01-01T00:00:00Z"}`, ReasonTSOutOfRange, "outside")
	f(`{"event":"E","userId":{"id":1},"timestamp":"2024-01-02T03:04:05Z"}`, ReasonBadField, `"userId"`)
	f(`{"event":["E"],`+ok+`}`, ReasonBadField, `"event"`)
	f(`{"event":"E","messageId":{},`+ok+`}`, ReasonBadField, `"messageId"`)
	f(`{"event":"E","properties":[1],`+ok+`}`, ReasonBadField, `"properties"`)
	f(`{"event":"E","context":"x",`+ok+`}`, ReasonBadField, `"context"`)
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"track","event":"Product Added","messageId":"m1","userId":"u1","timestamp":"2024-01-02T03:04:05.678Z","properties":{"price":9.5}}`))
	f.Add([]byte(`{"type":"page","anonymousId":"a","timestamp":"2024-01-02T03:04:05Z","context":{"page":{"path":"/x"},"campaign":{"source":1}}}`))
	f.Add([]byte(`{"event":"E","userId":12,"timestamp":"2024-01-02T03:04:05+01:00","context":{"location":null}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"a":{"b":{"c":[1,2,{"d":"\u00e9"}]}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := segmentDecoder{maxBytes: 1 << 16}
		var ev sink.Event
		doc, rj := decodeBoth(t, &d, raw, testSrc, &ev)
		if rj != nil {
			if doc.Doc != nil || doc.Raw != nil || rj.Reason == "" || rj.Detail == "" {
				t.Fatalf("rejection without reason or with a document: %+v", rj)
			}
			return
		}
		if ev.EventID == "" || ev.Event == "" || ev.UserKey == "" || ev.Type == "" {
			t.Fatalf("accepted event lacks a required field: %+v", ev)
		}
		if ev.TSMillis < minTS || ev.TSMillis >= maxTS {
			t.Fatalf("accepted out-of-range timestamp %d", ev.TSMillis)
		}
	})
}

// Abusive input shapes: each is rejected with a reason, never a crash.
func TestDecodeAbuse(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100000) + `1` + strings.Repeat(`}`, 100000)
	deepArr := `{"event":"E","userId":"u","timestamp":"2024-01-02T03:04:05Z","properties":{"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}`
	huge := `{"event":"E","userId":"u","timestamp":"2024-01-02T03:04:05Z","properties":{"blob":"` + strings.Repeat("x", 2<<20) + `"}}`
	f := func(name, raw, reason string) {
		t.Helper()
		d := segmentDecoder{maxBytes: 1 << 20}
		var ev sink.Event
		_, rj := decodeBoth(t, &d, []byte(raw), testSrc, &ev)
		if rj == nil || rj.Reason != reason {
			t.Fatalf("%s: got %v, want rejection %s", name, rj, reason)
		}
	}
	f("deeply nested object", deep, ReasonInvalidJSON)
	d := segmentDecoder{maxBytes: 64 << 20}
	var ev sink.Event
	if _, rj := decodeBoth(t, &d, []byte(deep), testSrc, &ev); rj == nil || rj.Reason != ReasonInvalidJSON {
		t.Fatalf("deep nesting under the size limit: got %v, want invalid_json", rj)
	}
	if _, rj := decodeBoth(t, &d, []byte(deepArr), testSrc, &ev); rj == nil || rj.Reason != ReasonInvalidJSON {
		t.Fatalf("deeply nested arrays: got %v, want invalid_json", rj)
	}
	f("2 MiB message", huge, ReasonTooLarge)
	f("numbers as strings in timestamp", `{"event":"E","userId":"u","timestamp":"1704164645"}`, ReasonBadTS)
	f("timestamp as number", `{"event":"E","userId":"u","timestamp":1704164645000}`, ReasonBadTS)
	f("far future", `{"event":"E","userId":"u","timestamp":"9999-12-31T23:59:59Z"}`, ReasonTSOutOfRange)
	f("array where the message belongs", `[{"event":"E","userId":"u","timestamp":"2024-01-02T03:04:05Z"}]`, ReasonNotObject)
	f("context as array", `{"event":"E","userId":"u","timestamp":"2024-01-02T03:04:05Z","context":[]}`, ReasonBadField)
	f("null event", `{"event":null,"userId":"u","timestamp":"2024-01-02T03:04:05Z"}`, ReasonMissingEvent)
	f("null everything", `{"event":null,"userId":null,"anonymousId":null,"timestamp":null}`, ReasonMissingEvent)
	f("NUL bytes", "{\"event\":\"E\x00\",\"userId\":\"u\",\"timestamp\":\"2024-01-02T03:04:05Z\"}", ReasonInvalidJSON)
}

func TestValidText(t *testing.T) {
	f := func(raw string, want bool) {
		t.Helper()
		if got := validText([]byte(raw)); got != want {
			t.Fatalf("validText(%q) = %v, want %v", raw, got, want)
		}
	}
	f(`{"a":"b"}`, true)
	f("{\n\t\"a\" :\r\n \"b\"}", true) // whitespace controls outside strings
	f("{\"a\":\"b\tc\"}", false)       // a raw tab inside a string
	f("{\"a\":\"b\\tc\"}", true)       // an escaped one
	f("{\"a\":\"\\\\\"}\t", true)      // escaped backslash, then whitespace
	f("{\"a\":\"x\x00\"}", false)      // NUL inside a string
	f("{\"a\":\"é ü 日本\"}", true)      // UTF-8
	f("{\"a\":\"\xff\"}", false)       // invalid UTF-8
	f("{\"long\":\""+strings.Repeat("abcdefgh", 20)+"\x01\"}", false)
	f("{\"long\":\""+strings.Repeat("abcdefgh", 20)+"\"}", true)
	f("{\"k\":\"\x7f\"}", true) // DEL is not a control character for JSON
}

func FuzzValidText(f *testing.F) {
	f.Add([]byte(`{"a":"b\tc"}`))
	f.Add([]byte("{\"a\":\"\\\"\x01\"}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Reference: byte by byte.
		want := utf8.Valid(raw)
		in, esc := false, false
		for _, b := range raw {
			switch {
			case esc:
				esc = false
			case in && b == '\\':
				esc = true
			case b == '"':
				in = !in
			case in && b < 0x20:
				want = false
			}
		}
		if got := validText(raw); got != want {
			t.Fatalf("validText(%q) = %v, want %v", raw, got, want)
		}
	})
}

// decodeBoth decodes raw with d, and again with the fast path off, and
// fails unless both give the same event or the same rejection, and the
// same conversions under the reference rule sets.
func decodeBoth(t testing.TB, d *segmentDecoder, raw []byte, src source, ev *sink.Event) (*rules.Event, *Rejection) {
	t.Helper()
	var rev rules.Event
	rj := d.decode(raw, src, ev, &rev)
	got := *ev
	slow := segmentDecoder{maxBytes: d.maxBytes, slow: true}
	var want sink.Event
	var wrev rules.Event
	wrj := slow.decode(raw, src, &want, &wrev)
	switch {
	case (rj == nil) != (wrj == nil):
		t.Fatalf("decode(%q): fast path %v, fastjson %v", raw, rj, wrj)
	case rj != nil && (rj.Reason != wrj.Reason || rj.Detail != wrj.Detail):
		t.Fatalf("decode(%q): fast path rejects with %v, fastjson with %v", raw, rj, wrj)
	case rj == nil && got != want:
		t.Fatalf("decode(%q):\nfast path %+v\n fastjson %+v", raw, got, want)
	}
	if rj == nil {
		for _, set := range diffRuleSets(t) {
			a, b := matchSummary(set.Match(&rev, nil)), matchSummary(set.Match(&wrev, nil))
			if a != b {
				t.Fatalf("decode(%q): fast path matches %s, fastjson %s", raw, a, b)
			}
		}
	}
	return &rev, rj
}

func matchSummary(ms []rules.Match) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s=%v/%x ", m.Conversion.ID, m.HasValue, math.Float64bits(m.Value))
	}
	return b.String()
}

var diffRules struct {
	once sync.Once
	sets []*rules.Set
}

// diffRuleSets are the generator's rule pack and one using every operator.
func diffRuleSets(t testing.TB) []*rules.Set {
	diffRules.once.Do(func() {
		for _, y := range []string{gen.DefaultRules, `
conversions:
  - id: ops
    value: properties.revenue
    match:
      where:
        - any:
            - {path: properties.a, op: eq, value: x}
            - {path: properties.a, op: eq, value: 1}
            - {path: properties.b, op: in, value: [x, 1, false, null]}
            - {path: properties.c, op: contains, value: x}
            - {path: context.page.path, op: prefix, value: /p}
            - {path: properties.e.0.f, op: gt, value: 1}
            - {path: properties.g, op: exists}
            - {path: event, op: regex, value: '^[A-Z]'}
  - id: all_events
    value: properties.price
    match: {event_regex: '.'}
`} {
			s, err := rules.Parse("diff.yaml", []byte(y))
			if err != nil {
				panic(err)
			}
			diffRules.sets = append(diffRules.sets, s)
		}
	})
	return diffRules.sets
}

// The fast path and fastjson agree on every generated message (all the
// generator's shapes and malformed kinds).
func TestDecodeFastPathAgrees(t *testing.T) {
	s := gen.Generate(gen.Options{Seed: 3, Users: 300})
	fast := 0
	for i, m := range s.Messages {
		var d segmentDecoder
		var ev sink.Event
		rev, rj := decodeBoth(t, &d, m.Value, source{"t", 0, int64(i)}, &ev)
		if rj == nil && rev.Raw != nil {
			fast++
		}
	}
	if fast < len(s.Messages)*9/10 {
		t.Fatalf("fast path took %d of %d messages, want most", fast, len(s.Messages))
	}
}
