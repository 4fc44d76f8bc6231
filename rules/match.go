package rules

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// matcher is the compiled `match:` and `value:` of a conversion.
type matcher struct {
	names    []string       // event or event_in; nil when the name is not constrained by them
	nameIn   bool           // names came from event_in (for explanations only)
	nameRe   *regexp.Regexp // event_regex
	callType string         // type; "" for any
	where    []*cond        // all must hold
	value    []string       // value path; nil for none
	valueID  int32          // value's id in the set's paths
}

// match tells whether ev satisfies everything but the name constraints
// (event, event_in, event_regex), which the index has already checked.
func (m *matcher) match(ev *Event) bool {
	if m.callType != "" && ev.Type != m.callType {
		return false
	}
	return evalAll(m.where, ev)
}

// nameHolds tells whether the event name satisfies m's name constraints.
func (m *matcher) nameHolds(name string) bool {
	if m.names != nil && !slices.Contains(m.names, name) {
		return false
	}
	return m.nameRe == nil || m.nameRe.MatchString(name)
}

// maxOtherNames bounds the names not named by any rule whose candidate
// rules a Set caches; past it, their regexes run for every event.
const maxOtherNames = 4096

// buildIndex fills names and unnamed so that Match looks at the rules that
// can match an event name only, in Conversions order.
func (s *Set) buildIndex() {
	names := make(map[string][]*Conversion)
	for _, c := range s.Conversions {
		if c.m.names == nil {
			s.unnamed = append(s.unnamed, c)
			s.unnamedRe = s.unnamedRe || c.m.nameRe != nil
			continue
		}
		for _, name := range c.m.names {
			names[name] = nil
		}
	}
	for name := range names {
		names[name] = s.filter(s.Conversions, name)
	}
	s.nNamed = len(names)
	s.names.Store(&names)
}

// filter returns the conversions of list whose name constraints name
// satisfies.
func (s *Set) filter(list []*Conversion, name string) []*Conversion {
	var out []*Conversion
	for _, c := range list {
		if c.m.nameHolds(name) {
			out = append(out, c)
		}
	}
	return out
}

// candidates returns the conversions whose name constraints ev's name
// satisfies, in Conversions order.
func (s *Set) candidates(ev *Event) []*Conversion {
	p := s.names.Load()
	if p == nil {
		return nil // the zero Set has no rules
	}
	names := *p
	if list, ok := names[ev.Name]; ok {
		return list
	}
	if !s.unnamedRe {
		return s.unnamed
	}
	list := s.filter(s.unnamed, ev.Name)
	if len(names) < s.nNamed+maxOtherNames {
		s.namesMu.Lock()
		defer s.namesMu.Unlock()
		old := *s.names.Load()
		m := maps.Clone(old)
		m[strings.Clone(ev.Name)] = list
		s.names.Store(&m)
	}
	return list
}

// Match appends to dst every conversion that ev matches, in Conversions
// order, and returns the extended slice. It does not allocate when dst has
// room for the matches (but once per event name that no rule names, when
// rules without a name have event_regex). A conversion with a value path
// gets the number found there (a JSON number, or a string that parses as a
// number) with HasValue set; see [Match].
//
// Match is safe for concurrent use on one Set, with a distinct Event per
// goroutine.
func (s *Set) Match(ev *Event, dst []Match) []Match {
	if ev == nil {
		return dst
	}
	ev.use(s)
	for _, c := range s.candidates(ev) {
		if !c.m.match(ev) {
			continue
		}
		m := Match{Conversion: c}
		if c.m.value != nil {
			m.Value, m.HasValue = numeric(ev.get(c.m.value, c.m.valueID))
		}
		dst = append(dst, m)
	}
	return dst
}
