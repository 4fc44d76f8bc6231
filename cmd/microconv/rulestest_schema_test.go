package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/testkit/segtest"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/schemas"
)

// TestRulesSchemaValidFiles checks that every rule file of the project — the
// example packs, rules/testdata, the test and generator rule packs — parses
// and validates against the JSON Schema.
func TestRulesSchemaValidFiles(t *testing.T) {
	files := map[string]string{"segtest.Rules": segtest.Rules, "gen.DefaultRules": gen.DefaultRules}
	paths, _ := filepath.Glob(filepath.Join(examplesDir, "*", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("..", "..", "rules", "testdata", "*.yaml"))
	paths = append(paths, more...)
	for _, p := range paths {
		if filepath.Base(p) == "expect.yaml" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = string(data)
	}
	if len(files) < 8 {
		t.Fatalf("found only %d rule files: %v", len(files), paths)
	}
	for name, data := range files {
		if _, err := rules.Parse(name, []byte(data)); err != nil {
			t.Errorf("%s does not parse: %v", name, err)
		}
		if errs := validateRuleSchema(rules.File{Name: name, Data: []byte(data)}); len(errs) > 0 {
			t.Errorf("%s does not validate against the schema:\n%v", name, errs)
		}
	}
}

// TestRulesSchemaAgreesWithParser checks, file by file, that the parser and
// the JSON Schema accept and refuse the same rule files.
func TestRulesSchemaAgreesWithParser(t *testing.T) {
	f := func(yamlText string, valid bool) {
		t.Helper()
		_, perr := rules.Parse("f.yaml", []byte(yamlText))
		serrs := validateRuleSchema(rules.File{Name: "f.yaml", Data: []byte(yamlText)})
		if (perr == nil) != valid {
			t.Errorf("parser: valid = %v, want %v:\n%s\n%v", perr == nil, valid, yamlText, perr)
		}
		if (len(serrs) == 0) != valid {
			t.Errorf("schema: valid = %v, want %v:\n%s\n%v", len(serrs) == 0, valid, yamlText, serrs)
		}
	}
	conv := func(match string) string { return "conversions:\n  - id: a\n    match: " + match + "\n" }
	where := func(conds string) string { return conv("{event: X, where: [" + conds + "]}") }

	// Accepted by both.
	f("", true)
	f("# only a comment\n", true)
	f("conversions:\nfunnels:\n", true)
	f("conversions: []\nfunnels: []\n", true)
	f(conv("{event: X}"), true)
	f(conv("{event: 404}"), true) // an unquoted number is read as its text
	f(conv("{event_in: [A, B, A]}"), true)
	f(conv("{event_regex: '^Video '}"), true)
	f(conv("{type: page}"), true)
	f("conversions:\n  - id: a\n    type: macro\n    description: ~\n    value: properties.revenue\n    match: {event: X}\n", true)
	f("conversions:\n  - id: a\n    type: micro\n    category: engagement\n    description: 2024\n    match: {event: X}\n", true)
	f("conversions:\n  - id: "+strings.Repeat("a", 64)+"\n    match: {event: X}\n", true)
	f(where("{path: p, op: eq, value: null}, {path: q, op: ne, value: 1.5}, {path: r, op: contains, value: true}"), true)
	f(where("{path: p, op: in, value: [a, 1, true, null]}, {path: q, op: not_in, value: [x]}"), true)
	f(where("{path: p, op: prefix, value: /x}, {path: q, op: suffix, value: 5}, {path: r, op: regex, value: '^a'}"), true)
	f(where("{path: p, op: gt, value: 0}, {path: q, op: gte, value: -1.5}, {path: r, op: lt, value: 1e3}, {path: s, op: lte, value: 0x10}"), true)
	f(where("{path: p, op: exists}, {path: items.0.sku, op: not_exists}"), true)
	f(where("{any: [{path: p, op: exists}, {all: [{path: q, op: exists}, {not: {path: r, op: eq, value: 1}}]}]}"), true)
	f(where("{not: [{path: p, op: exists}, {path: q, op: exists}]}"), true)
	for _, w := range []string{"30m", "24h", "7d", "1d12h", "1h30m", "90s", "1.5h", "2d"} {
		f("conversions:\n  - id: a\n    match: {event: X}\nfunnels:\n  - id: f\n    window: "+w+"\n    steps: [a, a]\n", true)
	}

	// Refused by both.
	f("- a\n", false)
	f("rules: []\n", false)                                                       // unknown top-level key
	f("conversions:\n  - id: a\n    colour: red\n    match: {event: X}\n", false) // unknown conversion key
	f(conv("{event: X, name: Y}"), false)                                         // unknown match key
	f(where("{path: p, op: eq, value: 1, note: x}"), false)                       // unknown condition key
	f(where("{path: p, op: bigger, value: 1}"), false)                            // bad op
	f(where("{path: p, op: EQ, value: 1}"), false)
	f("conversions:\n  - id: Add-To-Cart\n    match: {event: X}\n", false) // bad id
	f("conversions:\n  - id: 1st\n    match: {event: X}\n", false)
	f("conversions:\n  - id: "+strings.Repeat("a", 65)+"\n    match: {event: X}\n", false)
	f("conversions:\n  - match: {event: X}\n", false) // no id
	f("conversions:\n  - id: a\n", false)             // no match
	f("conversions:\n  - id: a\n    type: goal\n    match: {event: X}\n", false)
	f("conversions:\n  - id: a\n    category: fun\n    match: {event: X}\n", false)
	f("conversions:\n  - id: a\n    type: macro\n    category: process\n    match: {event: X}\n", false) // category on macro
	f("conversions:\n  - id: a\n    type: macro\n    category: engagement\n    match: {event: X}\n", false)
	f("conversions:\n  - id: a\n    description: [x]\n    match: {event: X}\n", false)
	f("conversions:\n  - id: a\n    value: properties..revenue\n    match: {event: X}\n", false)
	f(conv("{}"), false)
	f(conv("~"), false)
	f(conv("{event: ''}"), false)
	f(conv("{event: X, event_in: [Y]}"), false)
	f(conv("{event_in: [Y], event_regex: Z}"), false)
	f(conv("{event_in: []}"), false)
	f(conv("{type: click}"), false)
	f(conv("{event: X, where: []}"), false)
	f(where("{path: p, op: exists, value: 1}"), false)
	f(where("{path: p, op: in, value: x}"), false)
	f(where("{path: p, op: in, value: []}"), false)
	f(where("{path: p, op: gt, value: '5'}"), false)
	f(where("{path: p, op: gt}"), false)
	f(where("{path: p, op: prefix, value: null}"), false)
	f(where("{path: p}"), false)
	f(where("{op: exists}"), false)
	f(where("{}"), false)
	f(where("{path: p, any: [{path: q, op: exists}]}"), false)
	f(where("{any: [{path: q, op: exists}], all: [{path: q, op: exists}]}"), false)
	f(where("{any: []}"), false)
	f(where("{not: []}"), false)
	f(where("{not: {path: q, op: bad}}"), false)
	f(where("{path: p, op: eq, value: {a: 1}}"), false)
	f("funnels:\n  - id: f\n    window: 1h\n    steps: [a, b]\n  - {id: g}\n", false)
	for _, w := range []string{"1 day", "24", "1w", "-1h", "d", "h"} {
		f("conversions:\n  - id: a\n    match: {event: X}\nfunnels:\n  - id: f\n    window: "+w+"\n    steps: [a, a]\n", false)
	}
	f("conversions:\n  - id: a\n    match: {event: X}\nfunnels:\n  - id: f\n    window: 1h\n    steps: [a]\n", false)
	f("conversions:\n  - id: a\n    match: {event: X}\nfunnels:\n  - id: f\n    window: 1h\n    steps: ["+strings.Repeat("a, ", 32)+"a]\n", false)
	f("conversions:\n  - id: a\n    match: {event: X}\nfunnels:\n  - id: F\n    window: 1h\n    steps: [a, a]\n", false)
}

// TestRulesSchemaErrors checks where and how schema violations are reported.
func TestRulesSchemaErrors(t *testing.T) {
	f := func(yamlText string, want ...string) {
		t.Helper()
		errs := validateRuleSchema(rules.File{Name: "f.yaml", Data: []byte(yamlText)})
		if len(errs) != len(want) {
			t.Fatalf("%s: got %d errors, want %d:\n%v", yamlText, len(errs), len(want), errs)
		}
		for i, w := range want {
			if got := errs[i].Error(); got != w {
				t.Errorf("error %d:\n\tgot  %s\n\twant %s", i, got, w)
			}
		}
	}
	f("conversions:\n  - id: a\n    match: {event: X}\n    colour: red\n",
		`f.yaml:4:5: schema: at /conversions/0/colour: unknown key "colour"`)
	f("conversions:\n  - id: a\n    match:\n      event: X\n      where: [{path: p, op: bigger, value: 1}]\n",
		`f.yaml:5:29: schema: at /conversions/0/match/where/0/op: value must be one of 'eq', 'ne', 'in', 'not_in', 'contains', 'prefix', 'suffix', 'regex', 'gt', 'gte', 'lt', 'lte', 'exists', 'not_exists'`)
	f("conversions:\n  - id: Add-To-Cart\n    match: {event: X}\n",
		`f.yaml:2:9: schema: at /conversions/0/id: "Add-To-Cart" does not match pattern ^[a-z][a-z0-9_]*$`)
	f("conversions:\n  - id: a\n    type: macro\n    category: process\n    match: {event: X}\n",
		`f.yaml:4:5: schema: at /conversions/0/category: key "category" is not allowed on a macro conversion; category applies to micro conversions only`)
	f("conversions:\n  - id: a\n    match: {where: [{not: {path: q, op: exists, value: 1}}]}\n",
		`f.yaml:3:49: schema: at /conversions/0/match/where/0/not/value: key "value" is not allowed with operators exists and not_exists`)
	f("funnels:\n  - id: f\n    window: 1 day\n    steps: [a]\n",
		`f.yaml:3:13: schema: at /funnels/0/window: invalid window "1 day"; expected a positive duration such as 30m, 24h, 7d or 1d12h`,
		`f.yaml:4:12: schema: at /funnels/0/steps: minItems: got 1, want 2`)
	f("conversions: 5\n", `f.yaml:1:14: schema: at /conversions: got number, want null or array`)
	f("[]\n", `f.yaml:1:1: schema: at /: got array, want null or object`)
}

// TestRulesCheckSchema checks that `rules check` reports what the parser
// accepts but the schema does not: an id written as an unquoted bool, which
// editors flag and the parser reads as the text "true".
func TestRulesCheckSchema(t *testing.T) {
	dir := t.TempDir()
	good := "conversions:\n  - id: ok\n    match: {event: X}\n"
	bad := "conversions:\n  - id: true\n    match: {event: X}\n"
	for name, data := range map[string]string{"a.yaml": good, "b.yaml": bad} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rules.Load(dir); err != nil {
		t.Fatalf("the parser refuses the files: %v", err)
	}
	code, out, errOut := runMain("rules", "check", dir)
	want := filepath.Join(dir, "b.yaml") + ":2:9: schema: at /conversions/0/id: got boolean, want string\n1 error(s)\n"
	if code != 1 || out != "" || errOut != want {
		t.Fatalf("rules check = %d, stdout %q, stderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}
	code, out, _ = runMain("rules", "check", filepath.Join(dir, "a.yaml"))
	if code != 0 || !strings.Contains(out, "ok: 1 conversions") {
		t.Fatalf("rules check a.yaml = %d, %q", code, out)
	}
}

// TestRulesSchemaDocumented checks that every property of the schema has a
// description (its own or its $ref's), for editors.
func TestRulesSchemaDocumented(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(schemas.RulesJSONSchema, &schema); err != nil {
		t.Fatal(err)
	}
	defs := schema["$defs"].(map[string]any)
	described := func(s map[string]any) bool {
		if d, ok := s["description"].(string); ok && d != "" {
			return true
		}
		if ref, ok := s["$ref"].(string); ok {
			def, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			d, _ := def["description"].(string)
			return d != ""
		}
		return false
	}
	var walk func(where string, s map[string]any)
	walk = func(where string, s map[string]any) {
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			ps, ok := p.(map[string]any)
			if !ok {
				continue // false: a forbidden key
			}
			if !described(ps) {
				t.Errorf("schema property %s.%s has no description", where, name)
			}
			walk(where+"."+name, ps)
		}
	}
	walk("(root)", schema)
	for name, d := range defs {
		walk("$defs."+name, d.(map[string]any))
	}
}
