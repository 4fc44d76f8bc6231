package rules

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/microconv/microconv/internal/yamljson"
)

// Keys allowed at each level, in the order error messages list them.
var (
	topKeys    = []string{"conversions", "funnels"}
	convKeys   = []string{"id", "type", "category", "description", "value", "match"}
	matchKeys  = []string{"event", "event_in", "event_regex", "type", "where"}
	condKeys   = []string{"path", "op", "value", "any", "all", "not"}
	funnelKeys = []string{"id", "window", "steps"}

	// callTypes are the Segment call types a match may name.
	callTypes = []string{"track", "page", "screen", "identify", "group", "alias"}
)

var idRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// convDef and funnelDef keep the YAML nodes that cross-file checks report on.
type convDef struct {
	c  *Conversion
	id *yaml.Node
}

type funnelDef struct {
	f     *Funnel
	id    *yaml.Node
	steps []*yaml.Node
}

// parser turns one file into definitions, collecting every error.
type parser struct {
	file    string
	errs    []*Error
	dropped int // errors not recorded beyond maxErrorsPerFile
	convs   []convDef
	funnels []funnelDef
}

func errorAt(file string, n *yaml.Node, format string, args ...any) *Error {
	e := &Error{File: file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	if len(p.errs) >= maxErrorsPerFile {
		p.dropped++
		return
	}
	p.errs = append(p.errs, errorAt(p.file, n, format, args...))
}

func (p *parser) parse(data []byte) {
	p.parseFile(data)
	if p.dropped > 0 {
		// Placed at the last reported error, so that it sorts after them.
		last := &Error{File: p.file, Msg: fmt.Sprintf("cannot report %d more errors; fix the ones above first", p.dropped)}
		for _, e := range p.errs {
			if e.Line > last.Line || e.Line == last.Line && e.Column > last.Column {
				last.Line, last.Column = e.Line, e.Column
			}
		}
		p.errs = append(p.errs, last)
	}
}

func (p *parser) parseFile(data []byte) {
	if len(data) > maxFileSize {
		p.errorf(nil, "cannot parse rule file of more than %d bytes", maxFileSize)
		return
	}
	doc := p.decode(data)
	if doc == nil || p.rejectAliases(doc) {
		return
	}
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return // an empty document: no rules
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "cannot use %s as the top level of a rule file; expected a mapping with keys %s", yamljson.Describe(root), strings.Join(topKeys, ", "))
		return
	}
	f := p.fields(root, "at the top level", topKeys)
	if n := f["conversions"].val; n != nil && !isNull(n) {
		if p.isList(n, "conversions", "a list of conversions") {
			for _, item := range n.Content {
				p.conversion(item)
			}
		}
	}
	if n := f["funnels"].val; n != nil && !isNull(n) {
		if p.isList(n, "funnels", "a list of funnels") {
			for _, item := range n.Content {
				p.funnel(item)
			}
		}
	}
}

// decode parses YAML into a node tree. It accepts at most one document and
// returns nil for an empty file or after reporting an error.
func (p *parser) decode(data []byte) (doc *yaml.Node) {
	defer func() {
		// The YAML parser must not take the process down on hostile input.
		if r := recover(); r != nil {
			p.errorf(nil, "cannot parse YAML: %v", r)
			doc = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	if err := dec.Decode(&first); err != nil {
		if !errors.Is(err, io.EOF) {
			p.yamlError(err, data)
		}
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			p.yamlError(err, data)
		} else {
			n := &next
			if len(next.Content) > 0 {
				n = next.Content[0]
			}
			p.errorf(n, "cannot use more than one YAML document in a rule file")
		}
		return nil
	}
	return &first
}

var yamlLineRe = regexp.MustCompile(`^line (\d+): `)

// yamlParserProblems are the messages of the YAML parser proper (as opposed
// to its scanner). For these, go.yaml.in/yaml/v3 reports a 0-based line, and
// no line at all for the first line; yamlError corrects that.
var yamlParserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

// yamlError reports an error of the YAML parser ("yaml: line 3: msg") with
// the file name and the 1-based line.
func (p *parser) yamlError(err error, data []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: p.file}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	switch {
	case slices.Contains(yamlParserProblems, msg):
		e.Line++
	case e.Line > 0:
	case isYAMLReaderProblem(msg):
		e.Line = lineOfBadChar(data)
	default:
		// A scanner error on the first line comes without a line number.
		e.Line = 1
	}
	e.Msg = "cannot parse YAML: " + msg
	p.errs = append(p.errs, e)
}

// isYAMLReaderProblem tells whether msg is an error of the YAML reader
// (bad encoding or characters), which comes without a line number.
func isYAMLReaderProblem(msg string) bool {
	for _, prefix := range []string{"control characters are not allowed", "invalid ", "incomplete ", "input error", "expected low surrogate", "unexpected low surrogate"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// lineOfBadChar returns the line of the first byte of UTF-8 data that YAML
// refuses (invalid UTF-8 or a control character), or 0.
func lineOfBadChar(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		switch {
		case r == utf8.RuneError && size == 1,
			r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r >= 0x7f && r <= 0x9f && r != 0x85,
			r == 0xfffe || r == 0xffff:
			return line
		case r == '\n':
			line++
		}
		data = data[size:]
	}
	return 0
}

// rejectAliases reports every alias node. Aliases are never expanded here,
// but rejecting them keeps rule files plain (and billion-laughs files out).
func (p *parser) rejectAliases(root *yaml.Node) bool {
	found := false
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Kind == yaml.AliasNode {
			p.errorf(n, "cannot use YAML alias %q; aliases are not allowed in rule files", "*"+n.Value)
			found = true
			continue
		}
		for i := len(n.Content) - 1; i >= 0; i-- {
			stack = append(stack, n.Content[i])
		}
	}
	return found
}

type field struct {
	key, val *yaml.Node
}

// fields returns the values of mapping m by key, reporting unknown,
// duplicate and non-scalar keys. where is used in errors ("in match").
func (p *parser) fields(m *yaml.Node, where string, allowed []string) map[string]field {
	f := make(map[string]field, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "cannot use %s as a key %s; expected one of %s", yamljson.Describe(k), where, strings.Join(allowed, ", "))
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			p.errorf(k, "unknown key %q %s; expected one of %s", k.Value, where, strings.Join(allowed, ", "))
			continue
		}
		if prev, ok := f[k.Value]; ok {
			p.errorf(k, "duplicate key %q %s; first set at line %d", k.Value, where, prev.key.Line)
			continue
		}
		f[k.Value] = field{key: k, val: v}
	}
	return f
}

func (p *parser) isList(n *yaml.Node, what, expected string) bool {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "cannot use %s as %s; expected %s", yamljson.Describe(n), what, expected)
		return false
	}
	return true
}

// str returns the text of a scalar that must be a non-empty string.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, "cannot use %s as %s; expected a string", yamljson.Describe(n), what)
		return "", false
	}
	if n.Value == "" {
		p.errorf(n, "cannot use an empty string as %s", what)
		return "", false
	}
	return n.Value, true
}

func (p *parser) id(n *yaml.Node, what string) string {
	s, ok := p.str(n, what+" id")
	if !ok {
		return ""
	}
	if len(s) > maxIDLen || !idRe.MatchString(s) {
		p.errorf(n, "invalid %s id %q; an id must match [a-z][a-z0-9_]* and be at most %d characters", what, s, maxIDLen)
		return ""
	}
	return s
}

func (p *parser) conversion(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "cannot use %s as a conversion; expected a mapping with keys %s", yamljson.Describe(n), strings.Join(convKeys, ", "))
		return
	}
	f := p.fields(n, "in conversion", convKeys)
	c := &Conversion{Type: "micro", File: p.file, Line: n.Line}
	idf, ok := f["id"]
	if ok {
		c.ID = p.id(idf.val, "conversion")
	} else {
		p.errorf(n, "missing required key %q in conversion", "id")
	}
	if t, ok := f["type"]; ok {
		if s, ok := p.str(t.val, "conversion type"); ok {
			if s != "micro" && s != "macro" {
				p.errorf(t.val, "unknown conversion type %q; expected micro or macro", s)
			} else {
				c.Type = s
			}
		}
	}
	c.Category = "process"
	if cat, ok := f["category"]; ok {
		if c.Type == "macro" {
			c.Category = ""
			p.errorf(cat.key, "cannot set category on macro conversion %q; category applies to micro conversions only", c.ID)
		} else if s, ok := p.str(cat.val, "category"); ok {
			if s != "process" && s != "engagement" {
				p.errorf(cat.val, "unknown category %q; expected process or engagement", s)
			} else {
				c.Category = s
			}
		}
	} else if c.Type == "macro" {
		c.Category = ""
	}
	if d, ok := f["description"]; ok && !isNull(d.val) {
		if d.val.Kind != yaml.ScalarNode {
			p.errorf(d.val, "cannot use %s as description; expected a string", yamljson.Describe(d.val))
		} else {
			c.Description = d.val.Value
		}
	}
	if v, ok := f["value"]; ok {
		c.m.value = p.path(v.val, "value path")
	}
	if m, ok := f["match"]; ok {
		p.match(m.val, &c.m)
	} else {
		p.errorf(n, "missing required key %q in conversion %q", "match", c.ID)
	}
	p.convs = append(p.convs, convDef{c: c, id: idf.val})
}

// path parses a dotted path such as properties.items.0.price into segments.
func (p *parser) path(n *yaml.Node, what string) []string {
	s, ok := p.str(n, what)
	if !ok {
		return nil
	}
	segs := strings.Split(s, ".")
	if slices.Contains(segs, "") {
		p.errorf(n, "invalid %s %q; expected dot-separated keys such as properties.price", what, s)
		return nil
	}
	return segs
}

func (p *parser) match(n *yaml.Node, m *matcher) {
	if isNull(n) || (n.Kind == yaml.MappingNode && len(n.Content) == 0) {
		p.errorf(n, "cannot use an empty match: it would tag every event; set at least one of %s", strings.Join(matchKeys, ", "))
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "cannot use %s as match; expected a mapping with keys %s", yamljson.Describe(n), strings.Join(matchKeys, ", "))
		return
	}
	f := p.fields(n, "in match", matchKeys)

	// At most one of event, event_in, event_regex: report every one after the first.
	var names []field
	for _, k := range matchKeys[:3] {
		if fv, ok := f[k]; ok {
			names = append(names, fv)
		}
	}
	slices.SortFunc(names, byPosition)
	for i, fv := range names {
		if i > 0 {
			p.errorf(fv.key, "cannot use both %q and %q in match; use at most one of event, event_in, event_regex", names[0].key.Value, fv.key.Value)
			continue
		}
		switch fv.key.Value {
		case "event":
			if s, ok := p.str(fv.val, "event"); ok {
				m.names = []string{s}
			}
		case "event_in":
			m.names = p.eventIn(fv.val)
			m.nameIn = true
		case "event_regex":
			if s, ok := p.str(fv.val, "event_regex"); ok {
				m.nameRe = p.regex(fv.val, s, "event_regex")
			}
		}
	}
	if t, ok := f["type"]; ok {
		if s, ok := p.str(t.val, "match type"); ok {
			if !slices.Contains(callTypes, s) {
				p.errorf(t.val, "unknown call type %q; expected one of %s", s, strings.Join(callTypes, ", "))
			} else {
				m.callType = s
			}
		}
	}
	if w, ok := f["where"]; ok {
		m.where = p.condList(w.val, "where", 0)
	}
}

func (p *parser) eventIn(n *yaml.Node) []string {
	if !p.isList(n, "event_in", "a list of event names") {
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "cannot use an empty list as event_in; expected at least one event name")
		return nil
	}
	var names []string
	for _, item := range n.Content {
		if s, ok := p.str(item, "an event name in event_in"); ok && !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	return names
}

func (p *parser) regex(n *yaml.Node, s, what string) *regexp.Regexp {
	if len(s) > maxRegexLen {
		p.errorf(n, "cannot use %s of %d bytes; the limit is %d bytes", what, len(s), maxRegexLen)
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		p.errorf(n, "cannot compile %s %q: %s", what, s, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return nil
	}
	return re
}

// condList parses a list of conditions that must all hold.
func (p *parser) condList(n *yaml.Node, what string, depth int) []*cond {
	if !p.isList(n, what, "a list of conditions") {
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "cannot use an empty list as %s; expected at least one condition", what)
		return nil
	}
	conds := make([]*cond, 0, len(n.Content))
	for _, item := range n.Content {
		if c := p.cond(item, depth); c != nil {
			conds = append(conds, c)
		}
	}
	return conds
}

// cond parses one condition: a leaf {path, op, value} or a group {any|all|not}.
// depth is the number of groups around it.
func (p *parser) cond(n *yaml.Node, depth int) *cond {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "cannot use %s as a condition; expected a mapping with keys path, op, value or one of any, all, not", yamljson.Describe(n))
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "cannot use an empty condition; expected keys path, op, value or one of any, all, not")
		return nil
	}
	f := p.fields(n, "in condition", condKeys)
	var groups, leaf []field
	for _, k := range condKeys {
		if fv, ok := f[k]; ok {
			if k == "any" || k == "all" || k == "not" {
				groups = append(groups, fv)
			} else {
				leaf = append(leaf, fv)
			}
		}
	}
	if len(groups) == 0 {
		if len(leaf) == 0 {
			return nil // only unknown keys, already reported
		}
		return p.leaf(n, f)
	}
	if len(groups) > 1 || len(leaf) > 0 {
		all := append(groups, leaf...)
		slices.SortFunc(all, byPosition)
		p.errorf(all[1].key, "cannot use %q together with %q in one condition; put each group in its own list item", all[1].key.Value, all[0].key.Value)
		return nil
	}
	g := groups[0]
	if depth >= maxDepth {
		p.errorf(g.key, "cannot nest any/all/not groups more than %d levels deep", maxDepth)
		return nil
	}
	switch g.key.Value {
	case "any":
		return &cond{op: opAny, sub: p.condList(g.val, "any", depth+1)}
	case "all":
		return &cond{op: opAll, sub: p.condList(g.val, "all", depth+1)}
	default: // not: a condition, or a list meaning not(all(list))
		if g.val.Kind == yaml.SequenceNode {
			return &cond{op: opNot, sub: p.condList(g.val, "not", depth+1)}
		}
		c := p.cond(g.val, depth+1)
		if c == nil {
			return nil
		}
		return &cond{op: opNot, sub: []*cond{c}}
	}
}

func (p *parser) leaf(n *yaml.Node, f map[string]field) *cond {
	c := &cond{}
	pf, hasPath := f["path"]
	if hasPath {
		c.path = p.path(pf.val, "path")
	} else {
		p.errorf(n, "missing required key %q in condition", "path")
	}
	of, hasOp := f["op"]
	if !hasOp {
		p.errorf(n, "missing required key %q in condition", "op")
		return nil
	}
	name, ok := p.str(of.val, "op")
	if !ok {
		return nil
	}
	op, ok := opcodes[name]
	if !ok || op >= opAll {
		p.errorf(of.val, "unknown operator %q; expected one of %s", name, validOps)
		return nil
	}
	c.op = op
	vf, hasValue := f["value"]
	switch op {
	case opExists, opNotExists:
		if hasValue {
			p.errorf(vf.key, "cannot use a value with operator %q; it tests presence only", name)
		}
		return c
	}
	if !hasValue {
		p.errorf(n, "missing required key %q for operator %q", "value", name)
		return nil
	}
	v := vf.val
	switch op {
	case opIn, opNotIn:
		if v.Kind != yaml.SequenceNode {
			p.errorf(v, "cannot use %s as the value of operator %q; expected a list", yamljson.Describe(v), name)
			return nil
		}
		if len(v.Content) == 0 {
			p.errorf(v, "cannot use an empty list as the value of operator %q", name)
			return nil
		}
		for _, item := range v.Content {
			if s, ok := p.scalar(item, name); ok {
				c.list = append(c.list, s)
			}
		}
		return c
	}
	s, ok := p.scalar(v, name)
	if !ok {
		return nil
	}
	c.val = s
	switch op {
	case opPrefix, opSuffix, opRegex:
		if s.kind == kindNull {
			p.errorf(v, "cannot use null as the value of operator %q; expected a string", name)
			return nil
		}
		if op == opRegex {
			c.re = p.regex(v, s.text, "regex")
		}
	case opGt, opGte, opLt, opLte:
		if s.kind != kindNumber {
			p.errorf(v, "cannot use %s as the value of operator %q; expected a number", yamljson.Describe(v), name)
			return nil
		}
	}
	return c
}

// scalar converts a YAML scalar into a rule value. op is used in errors.
func (p *parser) scalar(n *yaml.Node, op string) (scalar, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "cannot use %s as a value of operator %q; expected a string, number, bool or null", yamljson.Describe(n), op)
		return scalar{}, false
	}
	s := scalar{text: n.Value}
	switch n.ShortTag() {
	case "!!null":
		s.kind = kindNull
		s.text = ""
	case "!!bool":
		if err := n.Decode(&s.b); err != nil {
			p.errorf(n, "cannot parse bool %q", n.Value)
			return scalar{}, false
		}
		s.kind, s.isBool = kindBool, true
	case "!!int", "!!float":
		if err := n.Decode(&s.num); err != nil {
			p.errorf(n, "cannot parse number %q", n.Value)
			return scalar{}, false
		}
		if math.IsNaN(s.num) {
			p.errorf(n, "cannot use NaN as a value of operator %q", op)
			return scalar{}, false
		}
		s.kind, s.isNum = kindNumber, true
	default: // !!str, !!timestamp and anything else: the text as written
		s.kind = kindString
		s.num, s.isNum = parseNumeric([]byte(s.text))
		if s.text == "true" || s.text == "false" {
			s.b, s.isBool = s.text == "true", true
		}
	}
	s.textb = []byte(s.text)
	return s, true
}

func (p *parser) funnel(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "cannot use %s as a funnel; expected a mapping with keys %s", yamljson.Describe(n), strings.Join(funnelKeys, ", "))
		return
	}
	f := p.fields(n, "in funnel", funnelKeys)
	fn := &Funnel{File: p.file, Line: n.Line}
	d := funnelDef{f: fn}
	if idf, ok := f["id"]; ok {
		d.id = idf.val
		fn.ID = p.id(idf.val, "funnel")
	} else {
		p.errorf(n, "missing required key %q in funnel", "id")
	}
	if w, ok := f["window"]; ok {
		if s, ok := p.str(w.val, "window"); ok {
			if fn.Window, ok = parseWindow(s); !ok {
				p.errorf(w.val, "invalid window %q; expected a positive duration such as 30m, 24h, 7d or 1d12h", s)
			}
		}
	} else {
		p.errorf(n, "missing required key %q in funnel %q", "window", fn.ID)
	}
	if st, ok := f["steps"]; ok {
		if p.isList(st.val, "steps", "a list of conversion ids") {
			if n := len(st.val.Content); n < 2 || n > MaxFunnelSteps {
				p.errorf(st.val, "cannot use %d step(s) in funnel %q; expected 2 to %d", n, fn.ID, MaxFunnelSteps)
			}
			for _, item := range st.val.Content {
				s, ok := p.str(item, "a funnel step")
				if !ok {
					continue
				}
				fn.Steps = append(fn.Steps, s)
				d.steps = append(d.steps, item)
			}
		}
	} else {
		p.errorf(n, "missing required key %q in funnel %q", "steps", fn.ID)
	}
	p.funnels = append(p.funnels, d)
}

// parseWindow parses a Go duration, optionally preceded by a number of days:
// "24h", "90m", "7d", "1d12h".
func parseWindow(s string) (time.Duration, bool) {
	var d time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.ParseUint(s[:i], 10, 64)
		if err != nil || days > uint64(math.MaxInt64/int64(24*time.Hour)) {
			return 0, false
		}
		d = time.Duration(days) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return d, d > 0
		}
	}
	rest, err := time.ParseDuration(s)
	if err != nil || rest < 0 || rest > math.MaxInt64-d {
		return 0, false
	}
	d += rest
	return d, d > 0
}

// byPosition orders fields by where their key is in the file.
func byPosition(a, b field) int {
	if c := cmp.Compare(a.key.Line, b.key.Line); c != 0 {
		return c
	}
	return cmp.Compare(a.key.Column, b.key.Column)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
