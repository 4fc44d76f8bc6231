package rules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/internal/rawjson"
)

// specRule is a rule of a simple shape, so that the test can evaluate it
// directly, without the package: a name constraint of some kind, an optional
// call type and an optional equality on properties.<key>.
type specRule struct {
	id     string
	names  []string // event (one) or event_in (several)
	prefix string   // event_regex '^prefix'
	typ    string
	key    string // "" for no where
	val    int
}

func (r *specRule) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - id: %s\n    match:\n", r.id)
	switch {
	case len(r.names) == 1:
		fmt.Fprintf(&b, "      event: %q\n", r.names[0])
	case len(r.names) > 1:
		fmt.Fprintf(&b, "      event_in: [%q", r.names[0])
		for _, n := range r.names[1:] {
			fmt.Fprintf(&b, ", %q", n)
		}
		b.WriteString("]\n")
	case r.prefix != "":
		fmt.Fprintf(&b, "      event_regex: '^%s'\n", r.prefix)
	}
	if r.typ != "" {
		fmt.Fprintf(&b, "      type: %s\n", r.typ)
	}
	if r.key != "" {
		fmt.Fprintf(&b, "      where: [{path: properties.%s, op: eq, value: %d}]\n", r.key, r.val)
	}
	return b.String()
}

// match is the reference evaluator: a plain reading of the rule.
func (r *specRule) match(typ, name string, props map[string]int) bool {
	if len(r.names) > 0 && !slices.Contains(r.names, name) {
		return false
	}
	if r.prefix != "" && !strings.HasPrefix(name, r.prefix) {
		return false
	}
	if r.typ != "" && r.typ != typ {
		return false
	}
	if r.key != "" {
		v, ok := props[r.key]
		if !ok || v != r.val {
			return false
		}
	}
	return true
}

func randomSpecRules(rng *rand.Rand, n int) []specRule {
	types := []string{"", "", "track", "page"}
	rules := make([]specRule, n)
	for i := range rules {
		r := specRule{id: fmt.Sprintf("r%d", i), typ: types[rng.IntN(len(types))]}
		switch k := rng.IntN(10); {
		case k < 6:
			r.names = []string{fmt.Sprintf("Event %d", rng.IntN(400))}
		case k < 8:
			for range 2 + rng.IntN(3) {
				name := fmt.Sprintf("Event %d", rng.IntN(400))
				if !slices.Contains(r.names, name) {
					r.names = append(r.names, name)
				}
			}
		case k < 9:
			r.prefix = fmt.Sprintf("Event %d", rng.IntN(40))
		}
		if len(r.names) == 0 && r.prefix == "" && r.typ == "" || rng.IntN(2) == 0 {
			r.key, r.val = fmt.Sprintf("k%d", rng.IntN(5)), rng.IntN(3)
		}
		rules[i] = r
	}
	return rules
}

// TestIndexMatchesLinear checks the name index against a linear evaluation
// of 1000 rules, most of them on names unrelated to a given event.
func TestIndexMatchesLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	specs := randomSpecRules(rng, 1000)
	var y strings.Builder
	y.WriteString("conversions:\n")
	for i := range specs {
		y.WriteString(specs[i].yaml())
	}
	s := mustParse(t, y.String())
	if len(s.Conversions) != len(specs) {
		t.Fatalf("got %d conversions, want %d", len(s.Conversions), len(specs))
	}

	types := []string{"track", "page", "screen", "identify"}
	var dst []Match
	var reused Event
	var tape rawjson.Tape
	matched := 0
	for i := range 20000 {
		typ := types[rng.IntN(len(types))]
		name := fmt.Sprintf("Event %d", rng.IntN(450)) // some names no rule knows
		if i%10 == 0 {
			name = fmt.Sprintf("Other %d", i)
		}
		props := map[string]int{}
		for k := range 5 {
			if rng.IntN(2) == 0 {
				props[fmt.Sprintf("k%d", k)] = rng.IntN(3)
			}
		}
		var js strings.Builder
		fmt.Fprintf(&js, `{"type":%q,"event":%q,"properties":{`, typ, name)
		first := true
		for k, v := range props {
			if !first {
				js.WriteByte(',')
			}
			first = false
			fmt.Fprintf(&js, "%q:%d", k, v)
		}
		js.WriteString("}}")
		doc, err := fastjson.Parse(js.String())
		if err != nil {
			t.Fatal(err)
		}

		var want []string
		for j := range specs {
			if specs[j].match(typ, name, props) {
				want = append(want, specs[j].id)
			}
		}
		dst = s.Match(&Event{Type: typ, Name: name, Doc: doc}, dst[:0])
		got := matchIDs(dst)
		if !slices.Equal(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Fatalf("event %s: got %v, want %v", js.String(), got, want)
		}
		// The text on a tape, through one Event reused for every event.
		text := []byte(js.String())
		var sc rawjson.Scanner
		if _, ok := sc.SkipTape(text, 0, &tape); !ok {
			t.Fatalf("SkipTape refuses %s", text)
		}
		reused.Reset(text, &tape)
		reused.Type, reused.Name = typ, name
		dst = s.Match(&reused, dst[:0])
		if got := matchIDs(dst); !slices.Equal(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Fatalf("event %s on a tape: got %v, want %v", text, got, want)
		}
		matched += len(want)
	}
	if matched < 1000 {
		t.Fatalf("only %d matches in all; the test does not exercise the index", matched)
	}
}

// unrelatedRules returns n rules on event names no reference event has.
func unrelatedRules(n int) string {
	var b strings.Builder
	b.WriteString("conversions:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: unrelated_%d\n    match:\n      event: Unrelated Event %d\n      where: [{path: properties.price, op: gt, value: %d}]\n", i, i, i)
	}
	return b.String()
}
