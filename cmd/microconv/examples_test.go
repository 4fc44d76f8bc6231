package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// examplesDir holds the example rule packs, relative to this package.
var examplesDir = filepath.Join("..", "..", "examples")

// TestExamples runs every example pack as its README says: `rules check`,
// then `rules test` with its events and expect files. Every event of a pack
// must be checked by its expect file, and every rule must tag at least one
// event.
func TestExamples(t *testing.T) {
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	packs := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		packs++
		dir := filepath.Join(examplesDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			rulesPath := filepath.Join(dir, "rules.yaml")
			data, err := os.ReadFile(rulesPath)
			if err != nil {
				t.Fatal(err)
			}
			if first, _, _ := bytes.Cut(data, []byte("\n")); string(first) != "# yaml-language-server: $schema=../../schemas/rules.schema.json" {
				t.Errorf("%s does not start with the yaml-language-server schema line: %q", rulesPath, first)
			}
			if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
				t.Errorf("pack without README.md: %v", err)
			}

			code, out, errOut := runMain("rules", "check", rulesPath)
			if code != 0 || !strings.Contains(out, ": ok: ") {
				t.Fatalf("rules check %s = %d\n%s%s", rulesPath, code, out, errOut)
			}

			code, out, errOut = runMain("rules", "test", rulesPath,
				"--events", filepath.Join(dir, "events.ndjson"),
				"--expect", filepath.Join(dir, "expect.yaml"))
			if code != 0 || errOut != "" {
				t.Fatalf("rules test of pack %s = %d\nstdout:\n%s\nstderr:\n%s", e.Name(), code, out, errOut)
			}
			summary := regexp.MustCompile(`(?m)^(\d+) events: \d+ tagged, \d+ untagged, (\d+) rejected; `).FindStringSubmatch(out)
			if summary == nil {
				t.Fatalf("rules test output has no summary:\n%s", out)
			}
			if want := "expectations: " + summary[1] + " events checked, all as expected\n"; !strings.HasSuffix(out, want) {
				t.Errorf("rules test output does not end with %q (expect.yaml must cover every event):\n%s", want, out)
			}
			if summary[2] == "0" {
				t.Errorf("pack has no malformed message")
			}
			if i := strings.Index(out, "rules that tagged nothing:"); i >= 0 {
				t.Errorf("every rule of a pack must tag a sample event; %s", strings.TrimSpace(out[i:]))
			}
		})
	}
	if packs < 4 {
		t.Fatalf("found %d example packs in %s, want at least 4", packs, examplesDir)
	}
}
