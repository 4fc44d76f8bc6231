package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"

	"github.com/microconv/microconv/internal/yamljson"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/schemas"
)

const rulesUsage = `usage: microconv rules check PATH
       microconv rules test PATH --events FILE [--expect FILE] [--json] [--input NAME] [--mapping FILE]`

func cmdRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, rulesUsage)
		return 2
	}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: microconv rules check PATH")
			return 2
		}
		return rulesCheck(args[1], stdout, stderr)
	case "test":
		return rulesTest(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "microconv rules: unknown command %q (want check or test)\n%s\n", args[0], rulesUsage)
		return 2
	}
}

// rulesCheck prints every error of the rule file or directory at path, one
// per line as file:line:col: message, and exits 1; or a summary and 0. A
// set that parses is also validated, file by file, against the JSON Schema
// of rule files (schemas/rules.schema.json), so that what editors accept and
// what microconv accepts stay the same.
func rulesCheck(path string, stdout, stderr io.Writer) int {
	files, err := rules.ReadFiles(path)
	if err != nil {
		printRuleErrors(stderr, err)
		return 1
	}
	set, err := rules.ParseFiles(files)
	if err != nil {
		printRuleErrors(stderr, err)
		return 1
	}
	var errs rules.ErrorList
	for _, f := range files {
		errs = append(errs, validateRuleSchema(f)...)
	}
	if len(errs) > 0 {
		printRuleErrors(stderr, errs)
		return 1
	}
	micro, macro := 0, 0
	for _, c := range set.Conversions {
		if c.Type == "macro" {
			macro++
		} else {
			micro++
		}
	}
	fmt.Fprintf(stdout, "%s: ok: %d conversions (%d micro, %d macro), %d funnels, version %s\n",
		path, len(set.Conversions), micro, macro, len(set.Funnels), set.Version)
	return 0
}

func printRuleErrors(w io.Writer, err error) {
	var list rules.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(w, e.Error())
		}
		fmt.Fprintf(w, "%d error(s)\n", len(list))
		return
	}
	fmt.Fprintln(w, err.Error())
}

// rulesSchema is the compiled JSON Schema of rule files.
var rulesSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return yamljson.CompileSchema("rules.schema.json", schemas.RulesJSONSchema, "the rule file JSON Schema")
})

// validateRuleSchema validates one rule file (YAML read as JSON) against the
// rule file JSON Schema. Each violation is an Error at the YAML line and
// column of the value (or of the key, for a key that is not allowed), its
// message naming the JSON pointer of the instance.
func validateRuleSchema(f rules.File) rules.ErrorList {
	sch, err := rulesSchema()
	if err != nil {
		return rules.ErrorList{{File: f.Name, Msg: err.Error()}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(f.Data, &doc); err != nil {
		return rules.ErrorList{{File: f.Name, Msg: "cannot parse YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file
	}
	pos := yamljson.New(0)
	inst := pos.Convert(doc.Content[0], "")
	err = sch.Validate(inst)
	var verr *jsonschema.ValidationError
	if err == nil || !errors.As(err, &verr) {
		if err != nil {
			return rules.ErrorList{{File: f.Name, Msg: "cannot validate against the JSON Schema: " + err.Error()}}
		}
		return nil
	}
	var errs rules.ErrorList
	seen := map[string]bool{}
	add := func(n *yaml.Node, ptr, msg string) {
		if ptr == "" {
			ptr = "/"
		}
		e := &rules.Error{File: f.Name, Msg: "schema: at " + ptr + ": " + msg}
		if n != nil {
			e.Line, e.Column = n.Line, n.Column
		}
		if k := e.Error(); !seen[k] {
			seen[k] = true
			errs = append(errs, e)
		}
	}
	yamljson.Leaves(verr, func(e *jsonschema.ValidationError, ptr string) {
		switch k := e.ErrorKind.(type) {
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				child := ptr + "/" + yamljson.EscapePointer(p)
				add(pos.Keys[child], child, fmt.Sprintf("unknown key %q", p))
			}
		case *kind.FalseSchema:
			add(pos.Keys[ptr], ptr, notAllowed(e.InstanceLocation))
		case *kind.Pattern:
			msg := fmt.Sprintf("%q does not match pattern %s", k.Got, k.Want)
			if strings.HasSuffix(ptr, "/window") { // the pattern is unreadable
				msg = fmt.Sprintf("invalid window %q; expected a positive duration such as 30m, 24h, 7d or 1d12h", k.Got)
			}
			add(pos.Values[ptr], ptr, msg)
		default:
			msg := "invalid"
			if out := e.BasicOutput(); out.Error != nil {
				msg = out.Error.String()
			}
			add(pos.Values[ptr], ptr, msg)
		}
	})
	// The validator's causes come in no fixed order: report by position.
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Line != errs[j].Line {
			return errs[i].Line < errs[j].Line
		}
		if errs[i].Column != errs[j].Column {
			return errs[i].Column < errs[j].Column
		}
		return errs[i].Msg < errs[j].Msg
	})
	return errs
}

// notAllowed explains a key that the schema forbids where it is.
func notAllowed(loc []string) string {
	if len(loc) == 0 {
		return "not allowed here"
	}
	key := loc[len(loc)-1]
	switch key {
	case "category":
		return fmt.Sprintf("key %q is not allowed on a macro conversion; category applies to micro conversions only", key)
	case "value":
		return fmt.Sprintf("key %q is not allowed with operators exists and not_exists", key)
	case "event_in", "event_regex":
		return fmt.Sprintf("key %q is not allowed here; use at most one of event, event_in, event_regex", key)
	}
	return fmt.Sprintf("key %q is not allowed here", key)
}
