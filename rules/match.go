package rules

import (
	"regexp"
)

// matcher is the compiled `match:` and `value:` of a conversion.
type matcher struct {
	names    []string       // event or event_in; nil when the name is not constrained by them
	nameIn   bool           // names came from event_in (for explanations only)
	nameRe   *regexp.Regexp // event_regex
	callType string         // type; "" for any
	where    []*cond        // all must hold
	value    []string       // value path; nil for none
}

// match tells whether ev satisfies everything but the event name list,
// which the index has already checked.
func (m *matcher) match(ev *Event) bool {
	if m.callType != "" && ev.Type != m.callType {
		return false
	}
	if m.nameRe != nil && !m.nameRe.MatchString(ev.Name) {
		return false
	}
	return evalAll(m.where, ev)
}

// buildIndex fills byName and unnamed so that Match looks at the rules that
// can match an event name only, in Conversions order.
func (s *Set) buildIndex() {
	named := make(map[string][]int)
	var unnamed []int
	for i, c := range s.Conversions {
		if c.m.names == nil {
			unnamed = append(unnamed, i)
			continue
		}
		for _, name := range c.m.names { // deduplicated at parse
			named[name] = append(named[name], i)
		}
	}
	for _, i := range unnamed {
		s.unnamed = append(s.unnamed, s.Conversions[i])
	}
	s.byName = make(map[string][]*Conversion, len(named))
	for name, idx := range named {
		list := make([]*Conversion, 0, len(idx)+len(unnamed))
		a, b := idx, unnamed
		for len(a) > 0 || len(b) > 0 {
			if len(b) == 0 || (len(a) > 0 && a[0] < b[0]) {
				list = append(list, s.Conversions[a[0]])
				a = a[1:]
			} else {
				list = append(list, s.Conversions[b[0]])
				b = b[1:]
			}
		}
		s.byName[name] = list
	}
}

// Match appends to dst every conversion that ev matches, in Conversions
// order, and returns the extended slice. It does not allocate when dst has
// room for the matches. A conversion with a value path gets the number found
// there (a JSON number, or a string that parses as a number) with HasValue
// set; see [Match].
//
// Match is safe for concurrent use on one Set, with a distinct Event per
// goroutine.
func (s *Set) Match(ev *Event, dst []Match) []Match {
	if ev == nil {
		return dst
	}
	list, ok := s.byName[ev.Name]
	if !ok {
		list = s.unnamed
	}
	for _, c := range list {
		if !c.m.match(ev) {
			continue
		}
		m := Match{Conversion: c}
		if c.m.value != nil {
			m.Value, m.HasValue = numeric(ev.lookup(c.m.value))
		}
		dst = append(dst, m)
	}
	return dst
}
