package rules

import (
	"errors"
	"math"
	"os"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/internal/rawjson"
)

// FuzzParse checks that Parse never panics and that every failure is an
// ErrorList of *Error, each naming the file.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/shop.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("conversions:\n  - id: a\n    match: {evnt: A}\n"))
	f.Add([]byte("conversions:\n  - &c {id: a, match: {event: A}}\n  - *c\n"))
	f.Add([]byte("conversions: [{id: a, match: {where: [{not: [{any: [{path: x.0, op: in, value: [1, null, true]}]}]}]}}]\nfunnels: [{id: f, window: 1d12h, steps: [a, a]}]\n"))
	f.Add([]byte("conversions:\n  - id: a\n    match: {event_regex: '(', where: [{path: a, op: regex, value: '[x'}]}\n"))
	f.Add([]byte("a: [\n"))
	f.Add([]byte("--- 1\n--- 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err == nil {
			if s == nil || len(s.Version) != 16 {
				t.Fatalf("no error, but set %v", s)
			}
			for _, c := range s.Conversions {
				if s.Lookup(c.ID) != c {
					t.Fatalf("Lookup(%q) does not return the conversion", c.ID)
				}
			}
			// Whatever was accepted must match without panicking.
			doc := fastjson.MustParse(`{"type":"track","event":"A","properties":{"price":5,"tags":["a"],"s":"x"}}`)
			s.Match(&Event{Type: "track", Name: "A", Doc: doc}, nil)
			return
		}
		if s != nil {
			t.Fatalf("got a set and an error")
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("got %T %v, want a non-empty ErrorList", err, err)
		}
		for _, e := range list {
			if e == nil || e.File != "fuzz.yaml" || e.Msg == "" || e.Line < 0 || e.Column < 0 {
				t.Fatalf("bad error %#v", e)
			}
		}
	})
}

// FuzzMatch checks that matching any JSON against a fixed rule set that
// uses every operator never panics.
func FuzzMatch(f *testing.F) {
	const rules = `
conversions:
  - id: all_ops
    match:
      where:
        - any:
            - {path: properties.a, op: eq, value: x}
            - {path: properties.a, op: eq, value: 1}
            - {path: properties.a, op: eq, value: true}
            - {path: properties.a, op: eq, value: null}
            - {path: properties.a, op: ne, value: "2"}
            - {path: properties.b, op: in, value: [x, 1, false, null]}
            - {path: properties.b, op: not_in, value: [y]}
            - {path: properties.c, op: contains, value: x}
            - {path: properties.c, op: contains, value: 3}
            - {path: properties.d, op: prefix, value: /p}
            - {path: properties.d, op: suffix, value: .pdf}
            - {path: properties.d, op: regex, value: '^a+$'}
            - {path: properties.e.0.f, op: gt, value: 1}
            - {path: properties.e.1, op: gte, value: -1}
            - {path: properties.e.2, op: lt, value: 1e10}
            - {path: properties.e.3, op: lte, value: 0}
            - {path: properties.g, op: exists}
            - {path: properties.g, op: not_exists}
            - not: [{path: a.b.c.d, op: exists}, {path: a, op: eq, value: 1}]
  - id: named
    value: properties.revenue
    match: {event_in: [A, B], type: track}
  - id: regex_name
    value: properties
    match: {event_regex: '^(A|Video)'}
`
	s, err := Parse("fuzz.yaml", []byte(rules))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range referenceEvents {
		f.Add(e)
	}
	f.Add(`{"type":"track","event":"A","properties":{"a":"x","b":null,"c":[1,"3",null],"d":"/p.pdf","e":[{"f":"2"},"-1",1e400,"0"],"g":null,"revenue":"12.5"}}`)
	f.Add(`{"event":"\u0041","properties":{"\u0061":"\ud800"}}`)
	f.Add(`[1,2,3]`)
	f.Add(`"x"`)
	f.Add(`null`)
	// One Event reused through Reset for every input, as the consumer does:
	// paths resolved for an earlier document must not leak into a later one.
	var reused Event
	var tape rawjson.Tape
	f.Fuzz(func(t *testing.T, js string) {
		raw := rawEvent(js)
		doc, err := fastjson.Parse(js)
		if err != nil {
			if raw != nil {
				t.Fatalf("rawjson accepts %q, fastjson does not: %v", js, err)
			}
			return
		}
		ev := &Event{Type: string(doc.GetStringBytes("type")), Name: string(doc.GetStringBytes("event")), Doc: doc}
		ms := s.Match(ev, nil)
		for _, m := range ms {
			if m.Conversion == nil {
				t.Fatalf("match without conversion")
			}
		}
		// The same event again gives the same result (matching has no state).
		if again := s.Match(ev, nil); len(again) != len(ms) {
			t.Fatalf("second match differs: %d vs %d", len(again), len(ms))
		}
		// The document as text matches exactly as the parsed one.
		if raw != nil {
			rms := s.Match(raw, nil)
			sameMatches(t, js, "Raw", rms, ms)
			// And on a tape, through a reused Event.
			var sc rawjson.Scanner
			if _, ok := sc.SkipTape(raw.Raw, 0, &tape); !ok {
				t.Fatalf("%s: SkipTape refuses what Skip accepts", js)
			}
			reused.Reset(raw.Raw, &tape)
			reused.Type, reused.Name = ev.Type, ev.Name
			sameMatches(t, js, "Tape", s.Match(&reused, nil), ms)
		}
	})
}

// sameMatches fails unless got (matched on the document held as what)
// equals want (matched on its fastjson parse), values bit for bit.
func sameMatches(t *testing.T, js, what string, got, want []Match) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %s matches %v, Doc matches %v", js, what, matchIDs(got), matchIDs(want))
	}
	for i := range want {
		a, b := want[i], got[i]
		if a.Conversion != b.Conversion || a.HasValue != b.HasValue || math.Float64bits(a.Value) != math.Float64bits(b.Value) {
			t.Fatalf("%s: match %d: Doc %+v, %s %+v", js, i, a, what, b)
		}
	}
}
