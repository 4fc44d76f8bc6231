package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wantErr is one expected error: its line (counted by hand in the YAML of
// the test) and a part of its message.
type wantErr struct {
	line int
	msg  string
}

func checkErrors(t *testing.T, name string, err error, want []wantErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %d", name, len(want))
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("%s: got %T (%v), want ErrorList", name, err, err)
	}
	if len(list) != len(want) {
		t.Fatalf("%s: got %d errors, want %d:\n%v", name, len(list), len(want), err)
	}
	for i, w := range want {
		e := list[i]
		if e.File != "f.yaml" || e.Line != w.line || !strings.Contains(e.Msg, w.msg) {
			t.Errorf("%s: error %d is\n\t%v\nwant\n\tf.yaml:%d: …%s…", name, i, e, w.line, w.msg)
		}
	}
}

func TestParseErrors(t *testing.T) {
	deep := "conversions:\n  - id: a\n    match:\n      where: [" +
		strings.Repeat("{not: ", 33) + "{path: x, op: exists}" + strings.Repeat("}", 33) + "]\n"
	notDeep := "conversions:\n  - id: a\n    match:\n      where: [" +
		strings.Repeat("{not: ", 32) + "{path: x, op: exists}" + strings.Repeat("}", 32) + "]\n"
	if _, err := Parse("f.yaml", []byte(notDeep)); err != nil {
		t.Fatalf("32 levels of groups must parse: %v", err)
	}

	for _, tc := range []struct {
		name string
		yaml string
		want []wantErr
	}{
		// Malformed YAML and YAML features that are refused.
		{"malformed yaml", `
conversions:
  - id: a
    match: {event: [A}
`, []wantErr{{4, `cannot parse YAML: did not find expected ',' or ']'`}}},
		{"block mapping without key", "conversions: []\nfunnels: []\n- id: a\n", []wantErr{{3, "cannot parse YAML: did not find expected key"}}},
		{"list then mapping", "- a\nb: 1\n", []wantErr{{2, "cannot parse YAML: did not find expected '-' indicator"}}},
		{"scanner error on line 1", "conversions: @x\n", []wantErr{{1, "cannot parse YAML: found character that cannot start any token"}}},
		{"mapping in plain scalar", "conversions:\n  - id: a\n    match: {event: A}\n    description: a: b\n", []wantErr{{4, "cannot parse YAML: mapping values are not allowed in this context"}}},
		{"control character", "conversions:\n  - id: a\n    description: \x01\n", []wantErr{{3, "cannot parse YAML: control characters are not allowed"}}},
		{"invalid utf-8", "conversions:\n\n  - id: \xff\n", []wantErr{{3, "cannot parse YAML: invalid leading UTF-8 octet"}}},
		{"tab indentation", "conversions:\n\t- id: a\n", []wantErr{{2, "cannot parse YAML: found character that cannot start any token"}}},
		{"alias", `
conversions:
  - &c
    id: a
    match: {event: A}
  - *c
`, []wantErr{{6, `cannot use YAML alias "*c"`}}},
		{"two documents", `
conversions: []
---
funnels: []
`, []wantErr{{4, "cannot use more than one YAML document"}}},
		{"duplicate key", `
conversions:
  - id: a
    match: {event: A}
    id: b
`, []wantErr{{5, `duplicate key "id" in conversion; first set at line 3`}}},

		// Wrong YAML kinds.
		{"top level list", `
- id: a
`, []wantErr{{2, "cannot use a list as the top level of a rule file; expected a mapping"}}},
		{"conversions mapping", `
conversions:
  id: a
`, []wantErr{{3, "cannot use a mapping as conversions; expected a list of conversions"}}},
		{"conversion scalar", `
conversions:
  - add_to_cart
`, []wantErr{{3, `cannot use the scalar "add_to_cart" as a conversion; expected a mapping`}}},
		{"match list", `
conversions:
  - id: a
    match: [event: A]
`, []wantErr{{4, "cannot use a list as match; expected a mapping"}}},
		{"where mapping", `
conversions:
  - id: a
    match:
      where:
        path: x
        op: exists
`, []wantErr{{6, "cannot use a mapping as where; expected a list of conditions"}}},
		{"event_in string", `
conversions:
  - id: a
    match: {event_in: A}
`, []wantErr{{4, `cannot use the scalar "A" as event_in; expected a list of event names`}}},
		{"event list", `
conversions:
  - id: a
    match: {event: [A, B]}
`, []wantErr{{4, "cannot use a list as event; expected a string"}}},
		{"in scalar", `
conversions:
  - id: a
    match:
      where: [{path: x, op: in, value: USD}]
`, []wantErr{{5, `cannot use the scalar "USD" as the value of operator "in"; expected a list`}}},
		{"eq mapping", `
conversions:
  - id: a
    match:
      where:
        - path: x
          op: eq
          value: {a: 1}
`, []wantErr{{8, `cannot use a mapping as a value of operator "eq"`}}},
		{"condition scalar", `
conversions:
  - id: a
    match:
      where: [x]
`, []wantErr{{5, `cannot use the scalar "x" as a condition`}}},
		{"steps scalar", `
conversions:
  - {id: a, match: {event: A}}
funnels:
  - id: f
    window: 1h
    steps: a
`, []wantErr{{7, `cannot use the scalar "a" as steps; expected a list of conversion ids`}}},
		{"description mapping", `
conversions:
  - id: a
    description: {text: x}
    match: {event: A}
`, []wantErr{{4, "cannot use a mapping as description; expected a string"}}},

		// Unknown keys at every level.
		{"unknown top key", `
conversions: []
funnel: []
`, []wantErr{{3, `unknown key "funnel" at the top level; expected one of conversions, funnels`}}},
		{"unknown conversion key", `
conversions:
  - id: a
    descripton: x
    match: {event: A}
`, []wantErr{{4, `unknown key "descripton" in conversion; expected one of id, type, category, description, value, match`}}},
		{"unknown match key", `
conversions:
  - id: a
    match:
      evnt: Product Added
`, []wantErr{{5, `unknown key "evnt" in match; expected one of event, event_in, event_regex, type, where`}}},
		{"unknown condition key", `
conversions:
  - id: a
    match:
      event: A
      where:
        - {path: x, op: exists, valeu: 1}
`, []wantErr{{7, `unknown key "valeu" in condition; expected one of path, op, value, any, all, not`}}},
		{"unknown funnel key", `
conversions:
  - {id: a, match: {event: A}}
  - {id: b, match: {event: B}}
funnels:
  - id: f
    window: 1h
    stepz: [a, b]
`, []wantErr{{6, `missing required key "steps" in funnel "f"`}, {8, `unknown key "stepz" in funnel; expected one of id, window, steps`}}},

		// Operators, values, regexes.
		{"unknown operator", `
conversions:
  - id: a
    match:
      where:
        - path: x
          op: equals
          value: 1
`, []wantErr{{7, `unknown operator "equals"; expected one of eq, ne, in, not_in, contains, prefix, suffix, regex, gt, gte, lt, lte, exists, not_exists`}}},
		{"group name as operator", `
conversions:
  - id: a
    match:
      where: [{path: x, op: any, value: 1}]
`, []wantErr{{5, `unknown operator "any"`}}},
		{"bad event_regex", `
conversions:
  - id: a
    match:
      event_regex: '^Video ('
`, []wantErr{{5, `cannot compile event_regex "^Video (": missing closing )`}}},
		{"bad regex", `
conversions:
  - id: a
    match:
      event: A
      where:
        - {path: context.page.path, op: regex, value: '[a-'}
`, []wantErr{{7, `cannot compile regex "[a-": missing closing ]`}}},
		{"long regex", "conversions:\n  - id: a\n    match:\n      event_regex: '" + strings.Repeat("a", 4097) + "'\n",
			[]wantErr{{4, "cannot use event_regex of 4097 bytes; the limit is 4096 bytes"}}},
		{"gt string", `
conversions:
  - id: a
    match:
      where: [{path: x, op: gt, value: "10"}]
`, []wantErr{{5, `cannot use the scalar "10" as the value of operator "gt"; expected a number`}}},
		{"exists with value", `
conversions:
  - id: a
    match:
      where:
        - path: x
          op: exists
          value: true
`, []wantErr{{8, `cannot use a value with operator "exists"; it tests presence only`}}},
		{"missing value", `
conversions:
  - id: a
    match:
      where:
        - {path: x, op: eq}
`, []wantErr{{6, `missing required key "value" for operator "eq"`}}},
		{"missing path and op", `
conversions:
  - id: a
    match:
      where:
        - value: 1
`, []wantErr{{6, `missing required key "path" in condition`}, {6, `missing required key "op" in condition`}}},
		{"empty in list", `
conversions:
  - id: a
    match:
      where: [{path: x, op: not_in, value: []}]
`, []wantErr{{5, `cannot use an empty list as the value of operator "not_in"`}}},
		{"prefix null", `
conversions:
  - id: a
    match:
      where: [{path: x, op: prefix, value: null}]
`, []wantErr{{5, `cannot use null as the value of operator "prefix"`}}},
		{"nan", `
conversions:
  - id: a
    match:
      where: [{path: x, op: lt, value: .nan}]
`, []wantErr{{5, `cannot use NaN as a value of operator "lt"`}}},
		{"bad path", `
conversions:
  - id: a
    match:
      where: [{path: properties..price, op: exists}]
`, []wantErr{{5, `invalid path "properties..price"; expected dot-separated keys`}}},
		{"bad value path", `
conversions:
  - id: a
    value: properties.
    match: {event: A}
`, []wantErr{{4, `invalid value path "properties."`}}},

		// Groups.
		{"too deep", deep, []wantErr{{4, "cannot nest any/all/not groups more than 32 levels deep"}}},
		{"group with leaf keys", `
conversions:
  - id: a
    match:
      where:
        - any: [{path: x, op: exists}]
          path: y
`, []wantErr{{7, `cannot use "path" together with "any" in one condition`}}},
		{"empty any", `
conversions:
  - id: a
    match:
      where:
        - any: []
`, []wantErr{{6, "cannot use an empty list as any; expected at least one condition"}}},
		{"empty where", `
conversions:
  - id: a
    match:
      event: A
      where: []
`, []wantErr{{6, "cannot use an empty list as where; expected at least one condition"}}},

		// Matches.
		{"empty match", `
conversions:
  - id: a
    match: {}
`, []wantErr{{4, "cannot use an empty match: it would tag every event"}}},
		{"null match", `
conversions:
  - id: a
    match:
  - id: b
    match: {event: B}
`, []wantErr{{4, "cannot use an empty match"}}},
		{"event and event_in", `
conversions:
  - id: a
    match:
      event: A
      type: track
      event_in: [B]
      event_regex: C
`, []wantErr{{7, `cannot use both "event" and "event_in" in match`}, {8, `cannot use both "event" and "event_regex" in match`}}},
		{"unknown call type", `
conversions:
  - id: a
    match: {event: A, type: trak}
`, []wantErr{{4, `unknown call type "trak"; expected one of track, page, screen, identify, group, alias`}}},
		{"empty event", `
conversions:
  - id: a
    match: {event: ""}
`, []wantErr{{4, "cannot use an empty string as event"}}},

		// Conversions: ids, types, categories.
		{"missing id and match", `
conversions:
  - type: micro
`, []wantErr{{3, `missing required key "id" in conversion`}, {3, `missing required key "match" in conversion ""`}}},
		{"missing match", `
conversions:
  - id: a
    description: x
`, []wantErr{{3, `missing required key "match" in conversion "a"`}}},
		{"invalid ids", `
conversions:
  - id: Add_to_cart
    match: {event: A}
  - id: 1st
    match: {event: A}
  - id: add-to-cart
    match: {event: A}
  - id: ` + strings.Repeat("a", 65) + `
    match: {event: A}
  - id: ` + strings.Repeat("a", 64) + `
    match: {event: A}
`, []wantErr{
			{3, `invalid conversion id "Add_to_cart"; an id must match [a-z][a-z0-9_]* and be at most 64 characters`},
			{5, `invalid conversion id "1st"`},
			{7, `invalid conversion id "add-to-cart"`},
			{9, `invalid conversion id "` + strings.Repeat("a", 65) + `"`},
		}},
		{"duplicate id", `
conversions:
  - id: a
    match: {event: A}
  - id: b
    match: {event: B}
  - id: a
    match: {event: C}
`, []wantErr{{7, `duplicate conversion id "a"; first defined at f.yaml:3`}}},
		{"unknown type", `
conversions:
  - id: a
    type: goal
    match: {event: A}
`, []wantErr{{4, `unknown conversion type "goal"; expected micro or macro`}}},
		{"unknown category", `
conversions:
  - id: a
    category: marketing
    match: {event: A}
`, []wantErr{{4, `unknown category "marketing"; expected process or engagement`}}},
		{"category on macro", `
conversions:
  - id: purchase
    type: macro
    category: process
    match: {event: Order Completed}
`, []wantErr{{5, `cannot set category on macro conversion "purchase"; category applies to micro conversions only`}}},

		// Funnels.
		{"unknown step", `
conversions:
  - {id: a, match: {event: A}}
funnels:
  - id: f
    window: 1h
    steps:
      - a
      - b
      - a
`, []wantErr{{9, `funnel "f": step "b" names no conversion`}}},
		{"one step", `
conversions:
  - {id: a, match: {event: A}}
funnels:
  - id: f
    window: 1h
    steps: [a]
`, []wantErr{{7, `cannot use 1 step(s) in funnel "f"; expected 2 to 32`}}},
		{"bad windows", `
conversions:
  - {id: a, match: {event: A}}
funnels:
  - {id: f1, window: 0s, steps: [a, a]}
  - {id: f2, window: -1h, steps: [a, a]}
  - {id: f3, window: soon, steps: [a, a]}
  - {id: f4, window: 7, steps: [a, a]}
  - {id: f5, window: 1.5d, steps: [a, a]}
  - {id: f6, window: 0d, steps: [a, a]}
`, []wantErr{
			{5, `invalid window "0s"; expected a positive duration`},
			{6, `invalid window "-1h"`},
			{7, `invalid window "soon"`},
			{8, `invalid window "7"`},
			{9, `invalid window "1.5d"`},
			{10, `invalid window "0d"`},
		}},
		{"funnel missing keys", `
funnels:
  - id: f
`, []wantErr{{3, `missing required key "window" in funnel "f"`}, {3, `missing required key "steps" in funnel "f"`}}},
		{"duplicate funnel", `
conversions:
  - {id: a, match: {event: A}}
funnels:
  - {id: f, window: 1h, steps: [a, a]}
  - {id: f, window: 2h, steps: [a, a]}
`, []wantErr{{6, `duplicate funnel id "f"; first defined at f.yaml:5`}}},
		{"invalid funnel id", `
conversions:
  - {id: a, match: {event: A}}
funnels:
  - {id: Checkout, window: 1h, steps: [a, a]}
`, []wantErr{{5, `invalid funnel id "Checkout"`}}},

		// Several errors of one file come all at once, in line order.
		{"all errors", `
funnels:
  - {id: f, window: 1h, steps: [a, zzz]}
conversions:
  - id: a
    match: {evnt: A}
  - id: b
    type: macro
    category: engagement
    match: {event: B}
`, []wantErr{
			{3, `funnel "f": step "zzz" names no conversion`},
			{6, `unknown key "evnt" in match`},
			{9, `cannot set category on macro conversion "b"`},
		}},
	} {
		_, err := Parse("f.yaml", []byte(tc.yaml))
		checkErrors(t, tc.name, err, tc.want)
	}
}

func TestParseTooLarge(t *testing.T) {
	data := []byte("conversions: []\n" + strings.Repeat("#", 8<<20))
	_, err := Parse("big.yaml", data)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("got %v, want one error", err)
	}
	if got, want := list[0].Error(), "big.yaml: cannot parse rule file of more than 8388608 bytes"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestParseTooManyErrors(t *testing.T) {
	data := "conversions:\n" + strings.Repeat("  - x\n", 1500)
	_, err := Parse("f.yaml", []byte(data))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1001 {
		t.Fatalf("got %d errors, want 1001", len(list))
	}
	if got, want := list[999].Error(), `f.yaml:1001:5: cannot use the scalar "x" as a conversion; expected a mapping with keys id, type, category, description, value, match`; got != want {
		t.Fatalf("error 999: got %q, want %q", got, want)
	}
	if got, want := list[1000].Error(), "f.yaml:1001:5: cannot report 500 more errors; fix the ones above first"; got != want {
		t.Fatalf("last error: got %q, want %q", got, want)
	}
}

func TestErrorFormat(t *testing.T) {
	f := func(e *Error, want string) {
		t.Helper()
		if got := e.Error(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	f(&Error{File: "a.yaml", Line: 3, Column: 7, Msg: "cannot x"}, "a.yaml:3:7: cannot x")
	f(&Error{File: "a.yaml", Line: 3, Msg: "cannot x"}, "a.yaml:3: cannot x")
	f(&Error{File: "a.yaml", Msg: "cannot x"}, "a.yaml: cannot x")

	_, err := Parse("f.yaml", []byte("conversions:\n  - id: A\n    match: {evnt: x}\n"))
	want := "f.yaml:2:9: invalid conversion id \"A\"; an id must match [a-z][a-z0-9_]* and be at most 64 characters\n" +
		"f.yaml:3:13: unknown key \"evnt\" in match; expected one of event, event_in, event_regex, type, where"
	if err == nil || err.Error() != want {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 {
		t.Fatalf("errors.As(*Error) = %v", e)
	}
}

func TestParseShop(t *testing.T) {
	s, err := Load("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type conv struct {
		id, typ, cat string
		line         int
	}
	want := []conv{
		{"product_viewed", "micro", "process", 3},
		{"add_to_cart", "micro", "process", 9},
		{"checkout_started", "micro", "process", 23},
		{"payment_info_entered", "micro", "process", 30},
		{"newsletter_signup", "micro", "engagement", 37},
		{"pricing_page_viewed", "micro", "engagement", 44},
		{"purchase", "macro", "", 51},
	}
	if len(s.Conversions) != len(want) {
		t.Fatalf("got %d conversions, want %d", len(s.Conversions), len(want))
	}
	for i, w := range want {
		c := s.Conversions[i]
		got := conv{c.ID, c.Type, c.Category, c.Line}
		if got != w || c.File != "testdata/shop.yaml" {
			t.Errorf("conversion %d: got %+v in %s, want %+v", i, got, c.File, w)
		}
		if s.Lookup(w.id) != c {
			t.Errorf("Lookup(%q) does not return conversion %d", w.id, i)
		}
	}
	if s.Lookup("nope") != nil {
		t.Errorf("Lookup of an unknown id must return nil")
	}
	if d := s.Lookup("add_to_cart").Description; d != "Product added to the cart" {
		t.Errorf("description: got %q", d)
	}
	if len(s.Funnels) != 1 {
		t.Fatalf("got %d funnels, want 1", len(s.Funnels))
	}
	fn := s.Funnels[0]
	if fn.ID != "checkout" || fn.Window != 24*time.Hour || fn.Line != 58 ||
		strings.Join(fn.Steps, ",") != "product_viewed,add_to_cart,checkout_started,purchase" {
		t.Errorf("funnel: got %+v", fn)
	}
	if len(s.Version) != 16 || strings.Trim(s.Version, "0123456789abcdef") != "" {
		t.Errorf("version %q is not 16 hex characters", s.Version)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing yet\n", "---\n", "conversions:\nfunnels:\n", "conversions: []\n"} {
		s, err := Parse("f.yaml", []byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if len(s.Conversions) != 0 || len(s.Funnels) != 0 {
			t.Fatalf("Parse(%q): got rules", in)
		}
		if got := s.Match(&Event{Name: "A"}, nil); len(got) != 0 {
			t.Fatalf("empty set matched %v", got)
		}
	}
}

func TestParseWindow(t *testing.T) {
	f := func(in string, want time.Duration) {
		t.Helper()
		got, ok := parseWindow(in)
		if want < 0 {
			if ok {
				t.Fatalf("parseWindow(%q) = %v, want an error", in, got)
			}
			return
		}
		if !ok || got != want {
			t.Fatalf("parseWindow(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	f("24h", 24*time.Hour)
	f("90m", 90*time.Minute)
	f("1h30m", 90*time.Minute)
	f("7d", 7*24*time.Hour)
	f("1d12h", 36*time.Hour)
	f("1d0s", 24*time.Hour)
	f("500ms", 500*time.Millisecond)
	f("0s", -1)
	f("0d", -1)
	f("-1h", -1)
	f("-1d", -1)
	f("1d-1h", -1)
	f("d", -1)
	f("1.5d", -1)
	f("7", -1)
	f("", -1)
	f("1dd", -1)
	f("99999999999d", -1)
	f("106751d23h47m17s", -1)
	f("106751d", 106751*24*time.Hour)
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// b.yaml holds only a funnel whose steps live in a.yml.
	write("b.yaml", `funnels:
  - id: signup
    window: 7d
    steps: [visit, signup]
conversions:
  - id: visit
    match: {type: page}
`)
	write("a.yml", `conversions:
  - id: signup
    type: macro
    match: {event: Signed Up}
`)
	write("notes.txt", "not rules")
	write(".hidden.yaml", "garbage: [")
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("sub.yaml/c.yaml", "garbage: [")

	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range s.Conversions {
		ids = append(ids, c.ID+"@"+filepath.Base(c.File))
	}
	if got := strings.Join(ids, " "); got != "signup@a.yml visit@b.yaml" {
		t.Fatalf("conversions: got %s", got)
	}
	if len(s.Funnels) != 1 || s.Funnels[0].Window != 7*24*time.Hour || s.Funnels[0].File != filepath.Join(dir, "b.yaml") {
		t.Fatalf("funnels: got %+v", s.Funnels)
	}

	// The same id in two files names both places; errors of all files are reported.
	write("c.yaml", `conversions:
  - id: visit
    match: {event: Visit}
  - id: broken
    match: {evnt: X}
`)
	_, err = Load(dir)
	want := filepath.Join(dir, "c.yaml") + `:2:9: duplicate conversion id "visit"; first defined at ` + filepath.Join(dir, "b.yaml") + ":6\n" +
		filepath.Join(dir, "c.yaml") + `:5:13: unknown key "evnt" in match; expected one of event, event_in, event_regex, type, where`
	if err == nil || err.Error() != want {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}

	// Errors are sorted by file, then line.
	write("a.yml", "conversions:\n  - id: Signup\n    match: {}\n")
	_, err = Load(dir)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 5 {
		t.Fatalf("got %v, want 5 errors", err)
	}
	for i, w := range []struct {
		file string
		line int
	}{{"a.yml", 2}, {"a.yml", 3}, {"b.yaml", 4}, {"c.yaml", 2}, {"c.yaml", 5}} {
		if filepath.Base(list[i].File) != w.file || list[i].Line != w.line {
			t.Errorf("error %d: got %v, want %s:%d", i, list[i], w.file, w.line)
		}
	}
	if !strings.Contains(list[2].Msg, `funnel "signup": step "signup" names no conversion`) {
		t.Errorf("error 2: got %v", list[2])
	}
}

func TestLoadErrors(t *testing.T) {
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "README.md"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(empty)
	if want := empty + ": cannot find rule files (*.yaml, *.yml) in directory"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	_, err = Load(filepath.Join(empty, "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want an error wrapping os.ErrNotExist", err)
	}
}
