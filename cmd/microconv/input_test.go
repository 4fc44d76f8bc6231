package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/internal/config"
	"github.com/microconv/microconv/rules"
)

// decodedStream is what the consumer makes of a shape, as the views see it.
type decodedStream struct {
	rejected map[string]int
	// per event id: the normalized fields the views use and the conversions
	// tagged (ids the message gives; position-derived ids are counted only).
	events  map[string]string
	derived int
	// per conversion: distinct users and event ids (conversion_summary).
	users, ids map[string]map[string]bool
}

func decodeShape(t *testing.T, shape inputShape, msgs []shapeMessage, partitions int) *decodedStream {
	t.Helper()
	dir := t.TempDir()
	cfg := input.Config{Name: shape.name, MaxMessageBytes: config.DefaultMaxMessageBytes}
	if shape.mapping != "" {
		cfg.MappingFile = filepath.Join(dir, "mapping.yaml")
		if err := os.WriteFile(cfg.MappingFile, []byte(shape.mapping), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	newFormat, err := input.NewFormat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Parse(shape.name+".yaml", []byte(shape.rules))
	if err != nil {
		t.Fatalf("%s rules: %v", shape.name, err)
	}
	f := newFormat()
	ds := &decodedStream{rejected: map[string]int{}, events: map[string]string{}, users: map[string]map[string]bool{}, ids: map[string]map[string]bool{}}
	offsets := map[int32]int64{}
	var dst []input.Decoded
	for i, m := range msgs {
		p := partitionOf(m.key, i, partitions)
		src := input.Source{Topic: shape.name, Partition: p, Offset: offsets[p]}
		offsets[p]++
		var rj *input.Rejection
		dst, rj = f.Decode(m.value, src, dst)
		if rj != nil {
			if rj.Reason != m.reason {
				t.Fatalf("%s message %d rejected as %s (%s), written as %q: %s", shape.name, i, rj.Reason, rj.Detail, m.reason, m.value)
			}
			ds.rejected[rj.Reason]++
			continue
		}
		if m.reason != "" || len(dst) != m.events {
			t.Fatalf("%s message %d gave %d events, written with %d (reason %q): %s", shape.name, i, len(dst), m.events, m.reason, m.value)
		}
		for k := range dst {
			e := &dst[k].Event
			var convs []string
			for _, mt := range set.Match(&dst[k].Rule, nil) {
				convs = append(convs, mt.Conversion.ID)
				if ds.users[mt.Conversion.ID] == nil {
					ds.users[mt.Conversion.ID], ds.ids[mt.Conversion.ID] = map[string]bool{}, map[string]bool{}
				}
				ds.users[mt.Conversion.ID][e.UserKey] = true
				ds.ids[mt.Conversion.ID][e.EventID] = true
			}
			if input.DerivedID(e.EventID, src, k) {
				ds.derived++
				continue
			}
			row := fmt.Sprintf("user=%s ts=%d utm=%s/%s/%s device=%s country=%s url=%s path=%s ref=%s convs=%v",
				e.UserKey, e.TSMillis, e.UTM.Source, e.UTM.Medium, e.UTM.Campaign, e.Device, e.Country, e.URL, e.Path, e.Referrer, convs)
			if prev, dup := ds.events[e.EventID]; dup && prev != row {
				t.Fatalf("%s: duplicates of %s differ:\n%s\n%s", shape.name, e.EventID, prev, row)
			}
			ds.events[e.EventID] = row
		}
	}
	return ds
}

func inputShapes(t testing.TB) []inputShape {
	return []inputShape{
		{name: "segment", rules: gen.DefaultRules},
		{name: "ga4", rules: shapeRules(t, "ga4")},
		{name: "mapping", mapping: customMapping, rules: shapeRules(t, "mapping")},
	}
}

// TestInputFormatsAgree decodes one generated stream written as Segment,
// GA4 and custom-mapping messages, in process: the same events with the
// same fields and tags, the same rejections, and conversion_summary's
// figures equal to the truth. TestInputEndToEnd checks the same through
// Kafka and ClickHouse.
func TestInputFormatsAgree(t *testing.T) {
	s := gen.Generate(gen.Options{Seed: 5, Users: 600})
	set, err := rules.Parse("gen.yaml", []byte(gen.DefaultRules))
	if err != nil {
		t.Fatal(err)
	}
	truth, err := gen.ComputeTruth(s, set)
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string][]shapeMessage{"segment": toSegment(s), "ga4": toGA4(t, s, 4), "mapping": toCustom(t, s)}
	perSize := map[int]int{}
	for _, m := range msgs["ga4"] {
		perSize[m.events]++
	}
	if perSize[3] < 100 || perSize[4] < 100 || perSize[5] != 0 {
		t.Fatalf("GA4 messages per number of events: %v; want many of 3 and 4, none of 5", perSize)
	}
	var ref *decodedStream
	for _, shape := range inputShapes(t) {
		ds := decodeShape(t, shape, msgs[shape.name], 3)
		var got, want []string
		for _, c := range set.Conversions {
			got = append(got, fmt.Sprint(c.ID, " ", len(ds.users[c.ID]), " ", len(ds.ids[c.ID])))
		}
		for _, c := range truth.ConversionSummary {
			want = append(want, fmt.Sprint(c.Conversion, " ", c.Users, " ", c.Events))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: conversion summary\n got %v\nwant %v", shape.name, got, want)
		}
		if fmt.Sprint(ds.rejected) != fmt.Sprint(truth.RejectedReasons) {
			t.Errorf("%s: rejected %v, want %v", shape.name, ds.rejected, truth.RejectedReasons)
		}
		if ref == nil {
			ref = ds
			continue
		}
		if ds.derived != ref.derived || len(ds.events) != len(ref.events) {
			t.Errorf("%s: %d events with ids and %d with derived ids, segment %d and %d", shape.name, len(ds.events), ds.derived, len(ref.events), ref.derived)
		}
		n := 0
		for id, want := range ref.events {
			if got := ds.events[id]; got != want && n < 5 {
				n++
				t.Errorf("%s: event %s\n got %s\nwant %s", shape.name, id, got, want)
			}
		}
	}
	if len(ref.events) < 1000 || ref.derived == 0 {
		t.Fatalf("too small a stream: %d events with ids, %d without", len(ref.events), ref.derived)
	}
}

// ga4TestEvents: line 2 holds three events, line 3 one, line 4 is broken.
const ga4TestEvents = `# GA4 messages
{"client_id":"c1","user_id":"u1","timestamp_micros":"1709000000000000","user_properties":{"plan":"pro"},"events":[{"name":"view_item","params":{"event_id":"g-1","value":10}},{"name":"add_to_cart","params":{"event_id":"g-2","value":30.5}},{"name":"add_to_cart","params":{"value":0}}]}
{"client_id":"c2","message_id":"M7","timestamp_micros":1709000001000000,"events":[{"name":"page_view","params":{"page_location":"https://shop.example/pricing"}}]}
{"client_id":"c3","timestamp_micros":1709000002000000,"events":[]}
`

const ga4TestRules = `conversions:
  - id: add_to_cart
    value: params.value
    match:
      event: add_to_cart
      where: [{path: params.value, op: gt, value: 0}, {path: user_properties.plan, op: eq, value: pro}]
  - id: item_viewed
    category: engagement
    match: {event: view_item}
  - id: pricing_page_viewed
    match:
      type: page
      where: [{path: params.page_location, op: contains, value: /pricing}]
`

func TestRulesTestInputGA4(t *testing.T) {
	rulesPath, eventsPath, _ := writeRulesTestFiles(t, ga4TestRules, ga4TestEvents, "")
	code, out, errOut := runMain("rules", "test", rulesPath, "--events", eventsPath, "--input", "ga4")
	if code != 0 || errOut != "" {
		t.Fatalf("rules test --input ga4 = %d, stderr %q", code, errOut)
	}
	want := `line 2 event 1/3  track "view_item"  user u1  event_id g-1
  ✓ item_viewed (micro, engagement)
line 2 event 2/3  track "add_to_cart"  user u1  event_id g-2
  ✓ add_to_cart (micro, process)  value 30.5
line 2 event 3/3  track "add_to_cart"  user u1
  ✗ no conversion. Nearest: add_to_cart (` + rulesPath + `:2): where[0] params.value gt 0 failed: value is 0
line 3  page "page_view"  user c2  event_id M7#0
  ✓ pricing_page_viewed (micro, process)
line 4  rejected: missing_event: no events: the array at "events" is empty
5 events: 3 tagged, 1 untagged, 1 rejected; conversions: add_to_cart 1, item_viewed 1, pricing_page_viewed 1
`
	if out != want {
		t.Fatalf("rules test --input ga4:\n%s\nwant:\n%s", out, want)
	}

	// --json: one object per event, with its index in the message.
	code, out, _ = runMain("rules", "test", rulesPath, "--events", eventsPath, "--input", "ga4", "--json")
	if code != 0 {
		t.Fatalf("rules test --json = %d", code)
	}
	var got []struct {
		Line      int    `json:"line"`
		Index     int    `json:"index"`
		MessageID string `json:"message_id"`
		Event     string `json:"event"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	var rows []string
	for _, g := range got {
		rows = append(rows, fmt.Sprintf("%d.%d %s %s", g.Line, g.Index, g.MessageID, g.Event))
	}
	if w := "2.0 g-1 view_item|2.1 g-2 add_to_cart|2.2  add_to_cart|3.0 M7#0 page_view|4.0  "; strings.Join(rows, "|") != w {
		t.Fatalf("--json rows %q, want %q", strings.Join(rows, "|"), w)
	}

	// --expect: event ids, "line N event M", "line N" for every event of a line.
	f := func(expect string, wantCode int, wantOut ...string) {
		t.Helper()
		_, _, expectPath := writeRulesTestFiles(t, ga4TestRules, ga4TestEvents, expect)
		code, out, errOut := runMain("rules", "test", rulesPath, "--events", eventsPath, "--input", "ga4", "--expect", expectPath)
		if code != wantCode {
			t.Fatalf("expect:\n%s\nexit %d, want %d\n%s%s", expect, code, wantCode, out, errOut)
		}
		for _, w := range wantOut {
			if !strings.Contains(out+errOut, strings.ReplaceAll(w, "EXPECT", expectPath)) {
				t.Errorf("expect:\n%s\noutput lacks %q:\n%s%s", expect, w, out, errOut)
			}
		}
	}
	f("g-1: [item_viewed]\ng-2: [add_to_cart]\nline 2 event 3: []\nM7#0: [pricing_page_viewed]\nline 4: {rejected: missing_event}\n", 0,
		"expectations: 5 events checked, all as expected")
	f("line 3: [pricing_page_viewed]\n", 0, "expectations: 1 events checked, all as expected")
	// "line N" names every event of the line: each must give the list.
	f("line 2: [add_to_cart]\n", 1,
		"line 2 event 1/3 (g-1): want [add_to_cart], got [item_viewed]: missing add_to_cart; unexpected item_viewed\n",
		"line 2 event 3/3: want [add_to_cart], got []: missing add_to_cart\n",
		"expectations: 3 events checked, 2 not as expected")
	f("line 2 event 4: []\nline 4 event 1: []\n", 2,
		`EXPECT:1:1: unknown key "line 2 event 4": line 2 of `, "holds 3 event(s)",
		`EXPECT:2:1: unknown key "line 4 event 1": line 4 of `)
	f("g-2: [add_to_cart]\nline 2: []\n", 2, `EXPECT:2:1: key "line 2" names line 2 event 2/3, which key "g-2" already names`)
}

func TestRulesTestInputMapping(t *testing.T) {
	dir := t.TempDir()
	mappingPath := filepath.Join(dir, "shop.mapping.yaml")
	if err := os.WriteFile(mappingPath, []byte(customMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	events := `{"eid":"c-1","kind":"TRACK","action":"Product Added","who":{"id":42},"at_ms":"1772445600000","payload":{"price":19.99}}
{"action":"Product Added","who":{"anon":"a-1"},"at_ms":"1772445600001","payload":{"price":0}}
{"action":"Product Added","who":{"anon":"a-1"},"at_ms":"2026-03-02T10:00:00Z"}
`
	rulesPath, eventsPath, _ := writeRulesTestFiles(t, shapeRules(t, "mapping"), events, "")
	code, out, errOut := runMain("rules", "test", rulesPath, "--events", eventsPath, "--input", "mapping", "--mapping", mappingPath)
	if code != 0 || errOut != "" {
		t.Fatalf("rules test --input mapping = %d, stderr %q", code, errOut)
	}
	for _, w := range []string{
		"line 1  track \"Product Added\"  user 42  event_id c-1\n  ✓ add_to_cart (micro, process)  value 19.99\n",
		"line 2  track \"Product Added\"  user a-1\n  ✗ no conversion. Nearest: add_to_cart (" + rulesPath + ":10): where[0] payload.price gt 0 failed: value is 0\n",
		"line 3  rejected: bad_timestamp: cannot parse timestamp \"2026-03-02T10:00:00Z\" at \"at_ms\" as unix_ms\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	// The environment chooses the format; flags override it.
	t.Setenv("MICROCONV_INPUT", "mapping")
	t.Setenv("MICROCONV_INPUT_MAPPING", mappingPath)
	if code, out2, _ := runMain("rules", "test", rulesPath, "--events", eventsPath); code != 0 || out2 != out {
		t.Fatalf("rules test with MICROCONV_INPUT=mapping = %d:\n%s", code, out2)
	}
	if code, out2, _ := runMain("rules", "test", rulesPath, "--events", eventsPath, "--input", "segment"); code != 0 || !strings.Contains(out2, "line 1  rejected: missing_event") {
		t.Fatalf("rules test --input segment over MICROCONV_INPUT = %d:\n%s", code, out2)
	}
}

// A bad input configuration is a usage error (exit 2) that names the file,
// line and key.
func TestRulesTestInputErrors(t *testing.T) {
	rulesPath, eventsPath, _ := writeRulesTestFiles(t, testRules, testEvents, "")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("event: action\nuser_key: who\ntimestamp: {path: at, format: epoch}\nurl: {const: x, path: y}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := func(wantErr []string, args ...string) {
		t.Helper()
		code, out, errOut := runMain(append([]string{"rules", "test", rulesPath, "--events", eventsPath}, args...)...)
		if code != 2 {
			t.Fatalf("rules test %q = %d, want 2; stdout %q", args, code, out)
		}
		for _, w := range wantErr {
			if !strings.Contains(errOut, w) {
				t.Errorf("rules test %q: stderr lacks %q:\n%s", args, w, errOut)
			}
		}
	}
	f([]string{"microconv rules test: cannot load the input mapping " + bad + " (2 errors):\n",
		bad + `:3:31: key "timestamp.format": unknown timestamp format "epoch"; expected rfc3339, unix_s, unix_ms, unix_us, unix_ns or auto` + "\n",
		bad + `:4:17: key "url.path": not allowed together with const` + "\n"},
		"--input", "mapping", "--mapping", bad)
	f([]string{`cannot use input format "mapping" without a mapping file: set MICROCONV_INPUT_MAPPING`}, "--input", "mapping")
	f([]string{`cannot use input format "gaa4": unknown`}, "--input", "gaa4")
	f([]string{"cannot read the input mapping: open "}, "--input", "ga4", "--mapping", filepath.Join(t.TempDir(), "none.yaml"))
}
