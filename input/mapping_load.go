package input

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"

	"github.com/microconv/microconv/internal/yamljson"
	"github.com/microconv/microconv/schemas"
)

// maxMappingFileSize bounds a mapping file: real ones are a few hundred bytes.
const maxMappingFileSize = 1 << 20

// MappingError lists every problem of a mapping file, each as
// file:line:col: message.
type MappingError struct {
	File   string
	Errors []string
}

func (e *MappingError) Error() string {
	if len(e.Errors) == 1 {
		return "cannot load the input mapping: " + e.Errors[0]
	}
	return fmt.Sprintf("cannot load the input mapping %s (%d errors):\n%s", e.File, len(e.Errors), strings.Join(e.Errors, "\n"))
}

// loadMappingFile reads, validates and compiles a mapping file. preset,
// when not "", is the preset the file overrides (MICROCONV_INPUT=ga4): the
// file may then omit the required fields, as with `preset: ga4`.
func loadMappingFile(path, preset string) (*mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the input mapping: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMappingFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the input mapping: %w", err)
	}
	if len(data) > maxMappingFileSize {
		return nil, &MappingError{File: path, Errors: []string{fmt.Sprintf("%s: larger than %d bytes", path, maxMappingFileSize)}}
	}
	return parseMapping(path, data, preset)
}

// mappingSchema is the compiled JSON Schema of mapping files.
var mappingSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return yamljson.CompileSchema("mapping.schema.json", schemas.MappingJSONSchema, "the mapping JSON Schema")
})

// parseMapping validates data (YAML) against the mapping JSON Schema and
// compiles it; name is used in errors. See loadMappingFile for preset.
func parseMapping(name string, data []byte, preset string) (*mapping, error) {
	ml := &mappingLoader{file: name, pos: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		ml.errorf(nil, "cannot parse YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, ml.err()
	}
	if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].ShortTag() == "!!null") {
		ml.errorf(nil, "empty mapping; expected a mapping of fields (event, user_key, timestamp, …) to paths")
		return nil, ml.err()
	}
	root := doc.Content[0]
	// Aliases expand: a small file could stand for an exponential tree.
	yd := yamljson.New(maxMappingNodes)
	inst := yd.Convert(root, "")
	ml.pos, ml.keys = yd.Values, yd.Keys
	if yd.Truncated != nil {
		ml.errorf(yd.Truncated, "more than %d values (aliases expanded); a mapping needs a few dozen", maxMappingNodes)
	}
	for _, d := range yd.Dups {
		ml.errorf(d.Key, "key %q appears twice (first at line %d)", d.Key.Value, d.First.Line)
	}
	if len(ml.errs) > 0 {
		return nil, ml.err()
	}
	obj, isObj := inst.(map[string]any)
	if preset != "" && isObj {
		if p, ok := obj["preset"]; ok && p != preset {
			ml.errorf(ml.pos["/preset"], "key \"preset\": %s is not %q, the preset MICROCONV_INPUT names", describeNode(ml.pos["/preset"]), preset)
			return nil, ml.err()
		}
		obj["preset"] = preset
	}
	sch, err := mappingSchema()
	if err != nil {
		return nil, err
	}
	if err := sch.Validate(inst); err != nil {
		var verr *jsonschema.ValidationError
		if !errors.As(err, &verr) {
			ml.errorf(nil, "cannot validate against the JSON Schema: %v", err)
			return nil, ml.err()
		}
		ml.schemaErrors(verr)
		return nil, ml.err()
	}
	m := ml.compile(obj)
	if p, ok := obj["preset"].(string); ok {
		base, err := presetMapping(p)
		if err != nil {
			return nil, err
		}
		m = base.override(m)
	}
	return m, nil
}

// presetMapping returns the compiled built-in mapping name.
func presetMapping(name string) (*mapping, error) {
	p, ok := compiledPresets()[name]
	if !ok {
		return nil, fmt.Errorf("cannot use mapping preset %q: unknown", name)
	}
	return p.m, p.err
}

type compiledPreset struct {
	m   *mapping
	err error
}

// compiledPresets compiles every preset once (a broken preset is a bug,
// reported by every use of it and by the tests).
func compiledPresets() map[string]compiledPreset {
	presetsOnce.Do(func() {
		presets = make(map[string]compiledPreset, len(mappingPresets))
		for n, src := range mappingPresets {
			m, err := parseMapping("preset "+n, []byte(src), "")
			presets[n] = compiledPreset{m, err}
		}
	})
	return presets
}

var (
	presetsOnce sync.Once
	presets     map[string]compiledPreset
)

// mappingLoader holds the positions of a mapping file's YAML nodes by JSON
// pointer, and its errors.
type mappingLoader struct {
	file string
	pos  map[string]*yaml.Node // the node of each value
	keys map[string]*yaml.Node // the key node of each mapping member
	errs []mappingErr
}

// maxMappingNodes bounds the values of a mapping file, aliases expanded.
const maxMappingNodes = 100_000

type mappingErr struct {
	line, col int
	msg       string
}

func (ml *mappingLoader) errorf(n *yaml.Node, format string, args ...any) {
	e := mappingErr{msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.line, e.col = n.Line, n.Column
	}
	if !slices.Contains(ml.errs, e) {
		ml.errs = append(ml.errs, e)
	}
}

func (ml *mappingLoader) err() error {
	// The validator's causes come in no fixed order: report by position.
	sort.SliceStable(ml.errs, func(i, j int) bool {
		a, b := ml.errs[i], ml.errs[j]
		if a.line != b.line {
			return a.line < b.line
		}
		if a.col != b.col {
			return a.col < b.col
		}
		return a.msg < b.msg
	})
	e := &MappingError{File: ml.file}
	for _, x := range ml.errs {
		if x.line > 0 {
			e.Errors = append(e.Errors, fmt.Sprintf("%s:%d:%d: %s", ml.file, x.line, x.col, x.msg))
		} else {
			e.Errors = append(e.Errors, fmt.Sprintf("%s: %s", ml.file, x.msg))
		}
	}
	return e
}

// fieldKeys are the keys a field's {…} form allows, for error messages.
func fieldKeys(field string) string {
	switch field {
	case "timestamp":
		return "path, format"
	case "event_id", "properties":
		return "path"
	}
	return "path, map, default, const"
}

// schemaErrors turns the validator's leaf errors into messages at the
// YAML position of the value (or of the key, for a key not allowed), each
// naming the key.
func (ml *mappingLoader) schemaErrors(verr *jsonschema.ValidationError) {
	yamljson.Leaves(verr, func(e *jsonschema.ValidationError, ptr string) {
		loc := e.InstanceLocation
		field := ""
		if len(loc) > 0 {
			field = loc[0]
		}
		where := "key " + strconv.Quote(strings.Join(loc, "."))
		switch k := e.ErrorKind.(type) {
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				child := ptr + "/" + yamljson.EscapePointer(p)
				if len(loc) == 0 {
					hint := ""
					if near := nearestKey(p); near != "" {
						hint = fmt.Sprintf(" (did you mean %q?)", near)
					}
					ml.errorf(ml.keys[child], "unknown key %q%s; expected a field (%s), events or preset", p, hint, strings.Join(mappingKeyOrder, ", "))
				} else {
					ml.errorf(ml.keys[child], "unknown key %q in the mapping of %q; expected %s", p, field, fieldKeys(field))
				}
			}
		case *kind.Required:
			for _, p := range k.Missing {
				if len(loc) == 0 {
					ml.errorf(ml.pos[""], "missing required field %q", p)
				} else if n := ml.pos[ptr]; n == nil || len(n.Content) > 0 {
					ml.errorf(ml.pos[ptr], "%s: missing key %q (or use const)", where, p)
				}
			}
		case *kind.FalseSchema:
			ml.errorf(ml.keys[ptr], "%s: not allowed together with const", where)
		case *kind.Enum:
			switch {
			case len(loc) == 2 && loc[1] == "format":
				ml.errorf(ml.pos[ptr], "%s: unknown timestamp format %s; expected rfc3339, unix_s, unix_ms, unix_us, unix_ns or auto", where, describeNode(ml.pos[ptr]))
			case len(loc) == 1 && loc[0] == "preset":
				ml.errorf(ml.pos[ptr], "%s: unknown preset %s; expected ga4", where, describeNode(ml.pos[ptr]))
			default:
				ml.errorf(ml.pos[ptr], "%s: %s", where, basicMessage(e))
			}
		case *kind.Pattern:
			ml.errorf(ml.pos[ptr], "%s: invalid path %q; expected dotted keys, none empty (user.id, items.0.sku)", where, k.Got)
		case *kind.MinItems:
			ml.errorf(ml.pos[ptr], "%s: empty list of paths", where)
		case *kind.MinProperties:
			ml.errorf(ml.pos[ptr], "%s: empty mapping; expected %s", where, fieldKeys(field))
		case *kind.Type:
			ml.errorf(ml.pos[ptr], "%s: cannot use %s; %s", where, describeNode(ml.pos[ptr]), typeHint(loc))
		default:
			ml.errorf(ml.pos[ptr], "%s: %s", where, basicMessage(e))
		}
	})
}

// mappingKeyOrder lists the fields in the order the README documents them.
var mappingKeyOrder = []string{"event_id", "type", "event", "user_key", "timestamp", "session_id", "url", "path", "referrer",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "device", "country", "properties"}

// nearestKey is the field or top-level key within two edits of k, if any.
func nearestKey(k string) string {
	best, bestD := "", 3
	for _, c := range slices.Concat(mappingKeyOrder, []string{"events", "preset"}) {
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// typeHint says what a value at loc may be.
func typeHint(loc []string) string {
	switch {
	case len(loc) == 0:
		return "expected a mapping of fields to paths"
	case len(loc) == 1 && loc[0] == "events":
		return "expected a path"
	case len(loc) == 1:
		return fmt.Sprintf("expected a path, a list of paths or {%s: …}", fieldKeys(loc[0]))
	case loc[len(loc)-1] == "const" || loc[len(loc)-1] == "default" || (len(loc) == 3 && loc[1] == "map"):
		return "expected a string, number or bool"
	case loc[len(loc)-1] == "map":
		return "expected a mapping {from: to}"
	}
	return "expected a path or a list of paths"
}

func basicMessage(e *jsonschema.ValidationError) string {
	if out := e.BasicOutput(); out.Error != nil {
		return out.Error.String()
	}
	return "invalid"
}

// describeNode names a value for a message: a scalar as its quoted text
// ("unknown preset \"ga5\""), anything else as yamljson.Describe does.
func describeNode(n *yaml.Node) string {
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		return strconv.Quote(n.Value)
	}
	return yamljson.Describe(n)
}

// compile builds the mapping of a validated instance.
func (ml *mappingLoader) compile(obj map[string]any) *mapping {
	m := &mapping{name: ml.file}
	if ev, ok := obj["events"].(string); ok {
		m.events, m.multi = newMappingPath(ev), true
		if len(m.events.segs) == 1 {
			m.docSkip = ev
		}
	}
	for i, name := range mappingFieldNames {
		v, ok := obj[name]
		if !ok {
			continue
		}
		s := &m.fields[i]
		s.set = true
		switch x := v.(type) {
		case string:
			s.paths = []mappingPath{newMappingPath(x)}
		case []any:
			s.paths = pathsOf(x)
		case map[string]any:
			switch p := x["path"].(type) {
			case string:
				s.paths = []mappingPath{newMappingPath(p)}
			case []any:
				s.paths = pathsOf(p)
			}
			if c, ok := x["const"]; ok {
				s.konst, s.hasConst = scalarText(c), true
			}
			if d, ok := x["default"]; ok {
				s.def, s.hasDef = scalarText(d), true
			}
			if mp, ok := x["map"].(map[string]any); ok {
				s.valueMap = make(map[string]string, len(mp))
				for k, to := range mp {
					s.valueMap[k] = scalarText(to)
				}
			}
			if f, ok := x["format"].(string); ok {
				s.format = tsFormats[f]
			}
		}
		if mappingField(i) == mfType {
			// Types are compared lower-cased, as Segment's.
			s.konst, s.def = strings.ToLower(s.konst), strings.ToLower(s.def)
			for k, to := range s.valueMap {
				s.valueMap[k] = strings.ToLower(to)
			}
		}
	}
	return m
}

func pathsOf(a []any) []mappingPath {
	out := make([]mappingPath, 0, len(a))
	for _, p := range a {
		if s, ok := p.(string); ok {
			out = append(out, newMappingPath(s))
		}
	}
	return out
}

// scalarText is a YAML scalar as the text a column holds.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}
