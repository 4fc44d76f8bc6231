package input

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/microconv/microconv/rules"
)

// Every e-commerce v2 example of the Segment spec (segmentio/segment-docs
// src/connections/spec/ecommerce/v2.md @747b35d8f, CC BY 4.0; in
// testdata/segment/ with its license) decodes, keeps its properties, and is
// tagged by a rule on its event name — and by no other.
func TestSegmentEcommerceExamples(t *testing.T) {
	data, err := os.ReadFile("testdata/segment/segment_ecommerce_v2_examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range all {
		if !strings.HasPrefix(k, "_") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) < 27 {
		t.Fatalf("found %d examples, want the spec's 27 or more", len(names))
	}
	id := func(name string) string {
		return strings.Trim(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return '_'
		}, name), "_")
	}
	var y strings.Builder
	y.WriteString("conversions:\n")
	for _, n := range names {
		fmt.Fprintf(&y, "  - id: %s\n    match: {event: %q, type: track}\n", id(n), n)
	}
	set, err := rules.Parse("ecommerce.yaml", []byte(y.String()))
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	f := &segmentFormat{dec: segmentDecoder{maxBytes: 1 << 20}}
	for i, n := range names {
		var ex map[string]any
		if err := json.Unmarshal(all[n], &ex); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		// The spec's examples are analytics.track() calls: Segment adds the
		// user, the id and the time.
		ex["userId"], ex["messageId"], ex["timestamp"] = "u1", fmt.Sprint("m-", i), "2024-05-01T10:00:00.000Z"
		raw, _ := json.Marshal(ex)
		out, rj := f.Decode(raw, Source{Topic: "t", Offset: int64(i)}, nil)
		if rj != nil {
			t.Fatalf("%s: rejected: %v", n, rj)
		}
		if len(out) != 1 || out[0].Event.Event != n || out[0].Event.Type != "track" {
			t.Fatalf("%s: decoded %+v", n, out)
		}
		var props, want any
		if err := json.Unmarshal([]byte(out[0].Event.Properties), &props); err != nil {
			t.Fatalf("%s: properties %q are not JSON", n, out[0].Event.Properties)
		}
		wb, _ := json.Marshal(ex["properties"])
		_ = json.Unmarshal(wb, &want)
		if !reflect.DeepEqual(props, want) {
			t.Errorf("%s: properties %v, want %v", n, props, want)
		}
		m := set.Match(&out[0].Rule, nil)
		if len(m) != 1 || m[0].Conversion.ID != id(n) {
			var got []string
			for _, x := range m {
				got = append(got, x.Conversion.ID)
			}
			t.Errorf("%s: tagged %v, want [%s]", n, got, id(n))
		}
	}
}
