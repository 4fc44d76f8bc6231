package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExampleMappings runs examples/mappings as its README says: the same
// events in the Segment shape, in a custom shape read with a mapping file
// and as GA4 messages (with and without overrides of the preset), each with
// its rule file, all against the one expect.yaml. Every event must be
// checked, every rule must tag an event, and the three shapes must give the
// same conversions. (TestExamples runs the Segment part as a rule pack.)
func TestExampleMappings(t *testing.T) {
	dir := filepath.Join(examplesDir, "mappings")
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, name := range []string{"shop/mapping.yaml", "ga4/overrides.yaml", "shop/rules.yaml", "ga4/rules.yaml"} {
		data, err := os.ReadFile(p(name))
		if err != nil {
			t.Fatal(err)
		}
		schema := "rules.schema.json"
		if !strings.HasSuffix(name, "rules.yaml") {
			schema = "mapping.schema.json"
		}
		if first, _, _ := bytes.Cut(data, []byte("\n")); string(first) != "# yaml-language-server: $schema=../../../schemas/"+schema {
			t.Errorf("%s does not start with the yaml-language-server line for %s: %q", name, schema, first)
		}
	}
	summaryRe := regexp.MustCompile(`(?m)^(\d+) events: \d+ tagged, \d+ untagged, (\d+) rejected; conversions: (.*)$`)
	var conversions []string
	for _, c := range []struct {
		name string
		args []string
	}{
		{"segment", []string{p("rules.yaml"), "--events", p("events.ndjson"), "--input", "segment"}},
		{"mapping", []string{p("shop/rules.yaml"), "--events", p("shop/events.ndjson"), "--input", "mapping", "--mapping", p("shop/mapping.yaml")}},
		{"ga4", []string{p("ga4/rules.yaml"), "--events", p("ga4/events.ndjson"), "--input", "ga4"}},
		{"ga4 with overrides", []string{p("ga4/rules.yaml"), "--events", p("ga4/events.ndjson"), "--input", "ga4", "--mapping", p("ga4/overrides.yaml")}},
		{"mapping with preset ga4", []string{p("ga4/rules.yaml"), "--events", p("ga4/events.ndjson"), "--input", "mapping", "--mapping", p("ga4/overrides.yaml")}},
	} {
		if code, out, errOut := runMain("rules", "check", c.args[0]); code != 0 {
			t.Fatalf("rules check %s = %d\n%s%s", c.args[0], code, out, errOut)
		}
		code, out, errOut := runMain(append([]string{"rules", "test", "--expect", p("expect.yaml")}, c.args...)...)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: rules test = %d\nstdout:\n%s\nstderr:\n%s", c.name, code, out, errOut)
		}
		m := summaryRe.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no summary:\n%s", c.name, out)
		}
		if want := "expectations: " + m[1] + " events checked, all as expected\n"; !strings.HasSuffix(out, want) {
			t.Errorf("%s: output does not end with %q (expect.yaml must cover every event):\n%s", c.name, want, out)
		}
		if m[2] != "2" || strings.Contains(out, "rules that tagged nothing") {
			t.Errorf("%s: want 2 rejected messages and every rule tagging:\n%s", c.name, out)
		}
		conversions = append(conversions, m[3])
	}
	for i, c := range conversions {
		if c != conversions[0] {
			t.Errorf("run %d tags %q, the Segment run %q", i, c, conversions[0])
		}
	}
}
