package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Explanation tells how one conversion rule fares against one event. It is
// for tools such as `microconv rules test`, which show an analyst why an
// event tags nothing; computing it allocates.
//
// A rule's constraints are, in this order: its event-name constraint
// (event, event_in or event_regex), its type, and each condition of its
// where list (where[0], where[1] …). A rule without a name or type
// constraint has no such constraint: it neither holds nor fails.
type Explanation struct {
	Conversion *Conversion
	Matched    bool // every constraint holds: Set.Match tags the event with Conversion

	NameHolds bool // the rule has an event, event_in or event_regex constraint and it holds
	TypeHolds bool // the rule has a type constraint and it holds
	WhereHeld int  // how many top-level where conditions hold
	Failing   int  // how many constraints fail: name, type and top-level where conditions

	// Failed is the first constraint that fails, in words, with the value
	// the event has there; "" when Matched. For example:
	//
	//	event "Product Added" failed: event is "Product added"
	//	type "page" failed: type is "track"
	//	where[0] context.page.path prefix "/pricing" failed: value is "/prices"
	//	where[1].all[0] properties.price gt 0 failed: value is missing
	//
	// Conditions inside groups are named by position: where[1].any[0],
	// where[2].not[0] (also for `not:` with a single condition). A failing
	// any lists why each of its conditions fails; a failing not lists why
	// its conditions hold.
	Failed string
}

// Explain tells, for every conversion of s in Conversions order, whether ev
// matches it and, if not, which constraint fails first and how close it came.
// Matched is true for exactly the conversions Set.Match returns.
func (s *Set) Explain(ev *Event) []Explanation {
	if ev == nil {
		ev = &Event{}
	}
	out := make([]Explanation, len(s.Conversions))
	for i, c := range s.Conversions {
		out[i] = c.m.explain(ev)
		out[i].Conversion = c
	}
	return out
}

// Nearest returns the conversion rule that ev comes closest to matching
// without matching it, with the first constraint that fails; ok is false when
// ev matches every rule or s has none.
//
// Nearest is the rule that is best by these criteria, each deciding only
// when the ones before tie:
//
//  1. its event-name constraint (event, event_in, event_regex) is present and holds;
//  2. its type constraint is present and holds;
//  3. the most top-level where conditions hold;
//  4. the fewest constraints fail (name, type, each top-level where condition);
//  5. it comes first in Conversions order.
//
// So a rule naming the event but wanting a larger price beats a rule for
// another event; for an event name that no rule names (a typo, say), the
// rule whose type and conditions fit best wins, and its Failed shows the
// expected name next to the actual one.
func (s *Set) Nearest(ev *Event) (nearest Explanation, ok bool) {
	for _, x := range s.Explain(ev) {
		if x.Matched {
			continue
		}
		if !ok || closer(&x, &nearest) {
			nearest, ok = x, true
		}
	}
	return nearest, ok
}

// closer tells whether a is strictly nearer to matching than b (criteria 1-4
// of Nearest; the rule order decides otherwise).
func closer(a, b *Explanation) bool {
	if a.NameHolds != b.NameHolds {
		return a.NameHolds
	}
	if a.TypeHolds != b.TypeHolds {
		return a.TypeHolds
	}
	if a.WhereHeld != b.WhereHeld {
		return a.WhereHeld > b.WhereHeld
	}
	return a.Failing < b.Failing
}

// explain evaluates every constraint of m on ev, without stopping at the
// first that fails. It agrees with the index plus match: the index admits
// an event whose name is in names (or any name when names is nil).
func (m *matcher) explain(ev *Event) Explanation {
	if ev.Raw != nil {
		// Explanations quote values as fastjson renders them.
		var p fastjson.Parser
		doc, err := p.ParseBytes(ev.Raw)
		if err != nil {
			doc = nil
		}
		ev = &Event{Type: ev.Type, Name: ev.Name, Doc: doc}
	}
	var x Explanation
	fail := func(why string) {
		x.Failing++
		if x.Failed == "" {
			x.Failed = why
		}
	}
	switch {
	case m.names != nil:
		if slices.Contains(m.names, ev.Name) {
			x.NameHolds = true
		} else if m.nameIn {
			fail(fmt.Sprintf("event_in %s failed: event is %s", quoteList(m.names), quote(ev.Name)))
		} else {
			fail(fmt.Sprintf("event %s failed: event is %s", quote(m.names[0]), quote(ev.Name)))
		}
	case m.nameRe != nil:
		if m.nameRe.MatchString(ev.Name) {
			x.NameHolds = true
		} else {
			fail(fmt.Sprintf("event_regex %s failed: event is %s", quote(m.nameRe.String()), quote(ev.Name)))
		}
	}
	if m.callType != "" {
		if ev.Type == m.callType {
			x.TypeHolds = true
		} else {
			fail(fmt.Sprintf("type %s failed: type is %s", quote(m.callType), quote(ev.Type)))
		}
	}
	for i, c := range m.where {
		name := "where[" + strconv.Itoa(i) + "]"
		if c.eval(ev) {
			x.WhereHeld++
		} else {
			fail(c.why(ev, name))
		}
	}
	x.Matched = x.Failing == 0
	return x
}

// why says why c, named name ("where[1].any[0]"), fails on doc.
func (c *cond) why(doc *Event, name string) string {
	switch c.op {
	case opAll:
		for i, s := range c.sub {
			if !s.eval(doc) {
				return s.why(doc, subName(name, "all", i))
			}
		}
	case opAny:
		parts := make([]string, len(c.sub))
		for i, s := range c.sub {
			parts[i] = s.why(doc, subName(name, "any", i))
		}
		return name + " any failed: " + strings.Join(parts, "; ")
	case opNot:
		parts := make([]string, len(c.sub))
		for i, s := range c.sub {
			parts[i] = s.holds(doc, subName(name, "not", i))
		}
		return name + " not failed: " + strings.Join(parts, "; ")
	}
	return name + " " + c.String() + " failed: value is " + describeValue(doc.Doc.Get(c.path...))
}

// holds says why c, named name, holds on doc.
func (c *cond) holds(doc *Event, name string) string {
	switch c.op {
	case opAll:
		parts := make([]string, len(c.sub))
		for i, s := range c.sub {
			parts[i] = s.holds(doc, subName(name, "all", i))
		}
		return strings.Join(parts, "; ")
	case opAny:
		for i, s := range c.sub {
			if s.eval(doc) {
				return s.holds(doc, subName(name, "any", i))
			}
		}
	case opNot:
		for i, s := range c.sub {
			if !s.eval(doc) {
				return s.why(doc, subName(name, "not", i))
			}
		}
	}
	return name + " " + c.String() + " holds: value is " + describeValue(doc.Doc.Get(c.path...))
}

func subName(name, group string, i int) string {
	return name + "." + group + "[" + strconv.Itoa(i) + "]"
}

// String renders a condition as "path op value", values as written in the
// rule: strings quoted, lists in brackets. Groups render as their operator.
func (c *cond) String() string {
	switch c.op {
	case opAll, opAny, opNot:
		return opNames[c.op]
	case opExists, opNotExists:
		return strings.Join(c.path, ".") + " " + opNames[c.op]
	case opIn, opNotIn:
		parts := make([]string, len(c.list))
		for i := range c.list {
			parts[i] = c.list[i].String()
		}
		return strings.Join(c.path, ".") + " " + opNames[c.op] + " [" + strings.Join(parts, ", ") + "]"
	}
	return strings.Join(c.path, ".") + " " + opNames[c.op] + " " + c.val.String()
}

// String renders a rule value: a string quoted, anything else as written.
func (s *scalar) String() string {
	switch s.kind {
	case kindString:
		return quote(s.text)
	case kindNull:
		return "null"
	}
	return s.text
}

// maxShown is how many bytes of an event's value an explanation quotes.
const maxShown = 100

// describeValue renders what an event has at a path: missing, null, a
// string quoted, a number or bool as in the JSON, an object or array as
// JSON text, cut at maxShown bytes.
func describeValue(v *fastjson.Value) string {
	if v == nil {
		return "missing"
	}
	if v.Type() == fastjson.TypeString {
		b, _ := v.StringBytes()
		return quote(string(b))
	}
	return cut(v.String())
}

func quote(s string) string {
	return strconv.Quote(cut(s))
}

func quoteList(list []string) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = quote(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// cut shortens s to at most maxShown bytes, without splitting a UTF-8
// sequence, marking the cut with "…".
func cut(s string) string {
	if len(s) <= maxShown {
		return s
	}
	n := maxShown
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
