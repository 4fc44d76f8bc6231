package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/segtest"
)

func runMain(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := mainWith(args, nil, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(segtest.Rules), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain("rules", "check", good)
	if code != 0 || !strings.Contains(out, "9 conversions (7 micro, 2 macro), 1 funnels") {
		t.Fatalf("rules check good = %d, %q, %q", code, out, errOut)
	}

	bad := filepath.Join(dir, "bad.yaml")
	src := "conversions:\n" +
		"  - id: Add-To-Cart\n" + // line 2: invalid id
		"    match: {event: X}\n" +
		"  - id: ok\n" +
		"    match:\n" +
		"      event: Y\n" +
		"      where: [{path: properties.x, op: bigger, value: 1}]\n" + // line 7: unknown operator
		"funnels:\n" +
		"  - id: f\n" +
		"    window: 1h\n" +
		"    steps: [ok, missing]\n" // line 11: unknown step
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runMain("rules", "check", bad)
	if code != 1 {
		t.Fatalf("rules check bad = %d, want 1; stdout %q", code, out)
	}
	for _, want := range []string{bad + ":2:", `"Add-To-Cart"`, bad + ":7:", `"bigger"`, bad + ":11:", `"missing"`, "3 error(s)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("rules check output lacks %q:\n%s", want, errOut)
		}
	}
	if code, _, errOut := runMain("rules", "check", filepath.Join(dir, "nope.yaml")); code != 1 || !strings.Contains(errOut, "nope.yaml") {
		t.Fatalf("rules check of a missing file = %d, %q", code, errOut)
	}
	if code, _, _ := runMain("rules"); code != 2 {
		t.Fatalf("rules without subcommand = %d, want 2", code)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, errOut := runMain("frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command = %d, %q", code, errOut)
	}
	if code, out, _ := runMain("version"); code != 0 || !strings.HasPrefix(out, "microconv ") {
		t.Fatalf("version = %d, %q", code, out)
	}
}

// The demo end to end (embedded Kafka, generator, consumer, the test
// ClickHouse): it exits 0 only when every reported figure equals the truth.
func TestDemo(t *testing.T) {
	addr := chtest.Addr(t)
	db := chtest.Database(t) // dropped and re-created by the demo
	var stdout, stderr bytes.Buffer
	code := mainWith([]string{"demo", "--users", "400", "--database", db}, []string{"MICROCONV_CLICKHOUSE_ADDR=" + addr}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"Funnel checkout (window 24h)", "Funnel saas (window 7d)", "Conversions (conversion_summary", "Top micro-conversions by lift", "Rejected: 40 messages", "figures above equal the ground truth", "%"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout.String())
		}
	}
}
