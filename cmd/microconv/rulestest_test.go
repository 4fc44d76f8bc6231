package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testRules is a small rule file; Nearest output names its lines.
const testRules = `conversions:
  - id: add_to_cart
    value: properties.price
    match:
      event: Product Added
      where: [{path: properties.price, op: gt, value: 0}]
  - id: any_product_event
    category: engagement
    match: {event_regex: '^Product '}
  - id: pricing_page_viewed
    match:
      type: page
      where: [{path: context.page.path, op: prefix, value: /pricing}]
  - id: purchase
    type: macro
    value: properties.revenue
    match: {event: Order Completed}
  - id: big_cart
    match:
      event: Product Added
      where: [{path: properties.price, op: gte, value: 100}]
`

// testEvents: line numbers matter.
const testEvents = `# sample events
{"type":"track","event":"Product Added","userId":"u1","messageId":"m-17","timestamp":"2024-05-01T10:00:00Z","properties":{"price":19.99}}
{"type":"track","event":"Order Completed","userId":"u2","timestamp":"2024-05-01T10:00:01Z","properties":{"revenue":99.5}}

{"type":"page","name":"Pricing","anonymousId":"a-9","messageId":"m-18","timestamp":"2024-05-01T10:00:02Z","context":{"page":{"path":"/prices"}}}
// no user key
{"type":"track","event":"Product Added","messageId":"m-19","timestamp":"2024-05-01T10:00:03Z"}
{"type":"track","event":"Product Added","userId":"u 3","messageId":"m-22","timestamp":"2024-05-01T10:00:04Z","properties":{"price":"150"}}
not json
`

// writeRulesTestFiles writes the rule, events and (if not empty) expect
// files into a temporary directory and returns their paths.
func writeRulesTestFiles(t *testing.T, rulesYAML, events, expect string) (rulesPath, eventsPath, expectPath string) {
	t.Helper()
	dir := t.TempDir()
	rulesPath = filepath.Join(dir, "rules.yaml")
	eventsPath = filepath.Join(dir, "events.ndjson")
	expectPath = filepath.Join(dir, "expect.yaml")
	for path, data := range map[string]string{rulesPath: rulesYAML, eventsPath: events, expectPath: expect} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return rulesPath, eventsPath, expectPath
}

func TestRulesTestOutput(t *testing.T) {
	rulesPath, eventsPath, _ := writeRulesTestFiles(t, testRules, testEvents, "")
	code, out, errOut := runMain("rules", "test", rulesPath, "--events", eventsPath)
	if code != 0 || errOut != "" {
		t.Fatalf("rules test = %d, stderr %q", code, errOut)
	}
	want := `line 2  track "Product Added"  user u1  messageId m-17
  ✓ add_to_cart (micro, process)  value 19.99
  ✓ any_product_event (micro, engagement)
line 3  track "Order Completed"  user u2
  ✓ purchase (macro)  value 99.5
line 5  page "Pricing"  user a-9  messageId m-18
  ✗ no conversion. Nearest: pricing_page_viewed (` + rulesPath + `:10): where[0] context.page.path prefix "/pricing" failed: value is "/prices"
line 7  rejected: missing_user_key: no user key: fields "userId" and "anonymousId" are both absent or empty
line 8  track "Product Added"  user "u 3"  messageId m-22
  ✓ add_to_cart (micro, process)  value 150
  ✓ any_product_event (micro, engagement)
  ✓ big_cart (micro, process)
line 9  rejected: invalid_json: cannot parse JSON: unexpected value found: "not json"; unparsed tail: "not json"
6 events: 3 tagged, 1 untagged, 2 rejected; conversions: add_to_cart 2, any_product_event 2, purchase 1, big_cart 1
rules that tagged nothing: pricing_page_viewed
`
	if out != want {
		t.Fatalf("rules test output:\n%s\nwant:\n%s", out, want)
	}

	// Flags may come before PATH; an events file without events.
	empty := filepath.Join(t.TempDir(), "empty.ndjson")
	if err := os.WriteFile(empty, []byte("# nothing yet\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runMain("rules", "test", "--events", empty, rulesPath)
	if code != 0 || out != "0 events: 0 tagged, 0 untagged, 0 rejected; conversions: none\n" {
		t.Fatalf("rules test of no events = %d, %q", code, out)
	}
}

func TestRulesTestJSON(t *testing.T) {
	rulesPath, eventsPath, expectPath := writeRulesTestFiles(t, testRules, testEvents, "m-17: [add_to_cart, any_product_event]\n")
	code, out, errOut := runMain("rules", "test", rulesPath, "--events", eventsPath, "--json", "--expect", expectPath)
	if code != 0 {
		t.Fatalf("rules test --json = %d, stderr %q", code, errOut)
	}
	// stdout is JSON only; the expectations go to stderr.
	if errOut != "expectations: 1 events checked, all as expected\n" {
		t.Fatalf("rules test --json stderr = %q", errOut)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("rules test --json printed invalid JSON: %v\n%s", err, out)
	}
	if len(got) != 6 {
		t.Fatalf("rules test --json gave %d objects, want 6:\n%s", len(got), out)
	}
	for i, want := range []string{
		`{"line":2,"index":0,"message_id":"m-17","type":"track","event":"Product Added","user_key":"u1","conversions":[{"id":"add_to_cart","type":"micro","category":"process","value":19.99},{"id":"any_product_event","type":"micro","category":"engagement"}]}`,
		`{"line":3,"index":0,"message_id":"","type":"track","event":"Order Completed","user_key":"u2","conversions":[{"id":"purchase","type":"macro","category":"","value":99.5}]}`,
		`{"line":5,"index":0,"message_id":"m-18","type":"page","event":"Pricing","user_key":"a-9","conversions":[],"nearest":{"id":"pricing_page_viewed","file":` + jsonString(rulesPath) + `,"line":10,"failed":"where[0] context.page.path prefix \"/pricing\" failed: value is \"/prices\""}}`,
		`{"line":7,"index":0,"message_id":"m-19","type":"","event":"","user_key":"","conversions":[],"rejected":{"reason":"missing_user_key","detail":"no user key: fields \"userId\" and \"anonymousId\" are both absent or empty"}}`,
	} {
		line, _ := json.Marshal(got[i])
		var w map[string]any
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatal(err)
		}
		wantLine, _ := json.Marshal(w)
		if string(line) != string(wantLine) {
			t.Errorf("object %d:\n\t%s\nwant\n\t%s", i, line, wantLine)
		}
	}
	// One object per line, for grep.
	if lines := strings.Count(out, "\n"); lines != 8 {
		t.Errorf("rules test --json printed %d lines, want 8 (brackets and one per event):\n%s", lines, out)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRulesTestExpect(t *testing.T) {
	f := func(expect string, wantCode int, wantOut, wantErr []string) {
		t.Helper()
		rulesPath, eventsPath, expectPath := writeRulesTestFiles(t, testRules, testEvents, expect)
		code, out, errOut := runMain("rules", "test", rulesPath, "--events", eventsPath, "--expect", expectPath)
		if code != wantCode {
			t.Fatalf("expect file:\n%s\ngave exit %d, want %d; stdout:\n%s\nstderr:\n%s", expect, code, wantCode, out, errOut)
		}
		for _, w := range wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("expect file:\n%s\nstdout lacks %q:\n%s", expect, w, out)
			}
		}
		for _, w := range wantErr {
			if !strings.Contains(errOut, strings.ReplaceAll(w, "EXPECT", expectPath)) {
				t.Errorf("expect file:\n%s\nstderr lacks %q:\n%s", expect, w, errOut)
			}
		}
	}

	// Everything as expected: ids in any order, [] for none, rejections by
	// any reason or by the right one, keys by messageId or line.
	all := `m-17: [any_product_event, add_to_cart]
line 3: [purchase]
m-18: []
m-19: {rejected: missing_user_key}
m-22: [big_cart, add_to_cart, any_product_event]
line 9: rejected
`
	f(all, 0, []string{"\nexpectations: 6 events checked, all as expected\n"}, nil)
	f("line 9: \"rejected: invalid_json\"\n", 0, []string{"expectations: 1 events checked, all as expected"}, nil)
	f("# nothing checked\n", 0, []string{"expectations: 0 events checked, all as expected"}, nil)

	// An unexpected tag.
	f("m-22: [add_to_cart, any_product_event]\n", 1, []string{
		"line 8 (m-22): want [add_to_cart, any_product_event], got [add_to_cart, any_product_event, big_cart]: unexpected big_cart\n",
		"expectations: 1 events checked, 1 not as expected\n",
	}, nil)
	// A missing tag, and both at once.
	f("m-17: [add_to_cart, any_product_event, big_cart]\nline 3: [add_to_cart]\n", 1, []string{
		"line 2 (m-17): want [add_to_cart, any_product_event, big_cart], got [add_to_cart, any_product_event]: missing big_cart\n",
		"line 3: want [add_to_cart], got [purchase]: missing add_to_cart; unexpected purchase\n",
		"expectations: 2 events checked, 2 not as expected\n",
	}, nil)
	// Tags nothing, but should; tags something, but should tag nothing.
	f("m-18: [pricing_page_viewed]\nm-17: []\n", 1, []string{
		"line 2 (m-17): want [], got [add_to_cart, any_product_event]: unexpected add_to_cart, any_product_event\n",
		"line 5 (m-18): want [pricing_page_viewed], got []: missing pricing_page_viewed\n",
	}, nil)
	// Should be rejected, and is not; is rejected, and should not be; rejected for another reason.
	f("m-17: rejected\nm-19: [add_to_cart]\nline 9: {rejected: bad_timestamp}\n", 1, []string{
		"line 2 (m-17): want rejected, got [add_to_cart, any_product_event]\n",
		"line 7 (m-19): want [add_to_cart], got rejected: missing_user_key (no user key: ",
		"line 9: want rejected: bad_timestamp, got rejected: invalid_json (cannot parse JSON: ",
		"expectations: 3 events checked, 3 not as expected\n",
	}, nil)

	// Errors in the expect file: exit 2, each named with its line.
	f("m-17: [add_to_cart, any_product_event]\nm-99: []\nline 4: []\nline 99: []\n", 2, nil, []string{
		`EXPECT:2:1: unknown key "m-99": no event in `,
		`EXPECT:3:1: unknown key "line 4": line 4 of `,
		`EXPECT:4:1: unknown key "line 99": line 99 of `,
		"--expect: 3 error(s)",
	})
	f("m-17: [add_to_crt]\n", 2, nil, []string{`EXPECT:1:8: "add_to_crt" names no conversion of the rules`})
	f("m-17: add_to_cart\n", 2, nil, []string{`EXPECT:1:7: cannot use the scalar "add_to_cart" for "m-17"`, "write [add_to_cart]"})
	f("m-17:\n", 2, nil, []string{`EXPECT:1:6: cannot use null for "m-17"`})
	f("m-19: {rejected: lost}\n", 2, nil, []string{`EXPECT:1:18: unknown rejection reason "lost"; expected one of empty, too_large`})
	f("m-17: []\nline 2: []\n", 2, nil, []string{`EXPECT:2:1: key "line 2" names line 2, which key "m-17" already names`})
	f("- m-17\n", 2, nil, []string{`EXPECT:1:1: cannot use a list as an expect file`})
	f("m-17: [\n", 2, nil, []string{`EXPECT: cannot parse YAML: `})
}

func TestRulesTestUsage(t *testing.T) {
	rulesPath, eventsPath, _ := writeRulesTestFiles(t, testRules, testEvents, "")
	f := func(wantCode int, wantErr string, args ...string) {
		t.Helper()
		code, out, errOut := runMain(append([]string{"rules"}, args...)...)
		if code != wantCode || !strings.Contains(errOut, wantErr) {
			t.Fatalf("rules %q = %d, want %d with %q in stderr; stdout %q, stderr:\n%s", args, code, wantCode, wantErr, out, errOut)
		}
	}
	f(2, "missing PATH", "test")
	f(2, "missing PATH", "test", "--events", eventsPath)
	f(2, "missing required flag --events FILE", "test", rulesPath)
	f(2, "flag provided but not defined: -frobnicate", "test", rulesPath, "--events", eventsPath, "--frobnicate")
	f(2, "flag needs an argument: -events", "test", rulesPath, "--events")
	f(2, `unexpected argument "extra"`, "test", rulesPath, "--events", eventsPath, "extra")
	f(2, "--events: open ", "test", rulesPath, "--events", filepath.Join(t.TempDir(), "none.ndjson"))
	f(2, "--expect: open ", "test", rulesPath, "--events", eventsPath, "--expect", filepath.Join(t.TempDir(), "none.yaml"))
	f(2, `unknown command "frob" (want check or test)`, "frob")
	f(2, "microconv rules test PATH --events FILE", "")
	if code, _, _ := runMain("rules", "test", "-h"); code != 0 {
		t.Fatalf("rules test -h = %d, want 0", code)
	}

	// A broken rule file prints its errors as rules check does, and exits 1.
	bad, _, _ := writeRulesTestFiles(t, "conversions:\n  - id: Bad\n    match: {event: X}\n", "", "")
	f(1, bad+`:2:9: invalid conversion id "Bad"`, "test", bad, "--events", eventsPath)
}
