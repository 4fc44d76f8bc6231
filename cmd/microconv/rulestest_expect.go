package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/internal/yamljson"
	"github.com/microconv/microconv/rules"
)

// expectation is one entry of an --expect file: what the events it names
// (by messageId or event id, "line N" or "line N event M") must give.
type expectation struct {
	key      string
	results  []*testResult // the events the key names
	rejected bool          // the events must be rejected …
	reason   string        // … for this reason ("" for any)
	ids      []string      // else: exactly these conversions, in the order written
}

var lineKeyRe = regexp.MustCompile(`^line ([0-9]+)(?: event ([0-9]+))?$`)

// parseExpect reads an expect file: a YAML mapping from an event key (the
// message's messageId or the event id a message gives; "line N" for every
// event of line N; "line N event M" for the M-th, 1-based) to the list of
// conversion ids the event must tag ([] for none), or to `rejected`,
// `rejected: REASON` (a string) or {rejected: REASON}. Every key must name an event of the events file
// and every id a conversion. It returns every problem as file:line:col: msg.
func parseExpect(name string, data []byte, eventsName string, set *rules.Set, results []*testResult) ([]expectation, []string) {
	var errs []string
	errorf := func(n *yaml.Node, format string, args ...any) {
		pos := name
		if n != nil {
			pos = fmt.Sprintf("%s:%d:%d", name, n.Line, n.Column)
		}
		errs = append(errs, pos+": "+fmt.Sprintf(format, args...))
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file expects nothing
		}
		errorf(nil, "cannot parse YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, errs
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		errorf(root, "cannot use %s as an expect file; expected a mapping from messageId or \"line N\" to a list of conversion ids", yamljson.Describe(root))
		return nil, errs
	}

	byLine := make(map[int][]*testResult, len(results))
	byID := make(map[string][]*testResult)
	for _, r := range results {
		byLine[r.Line] = append(byLine[r.Line], r)
		if r.MessageID != "" {
			byID[r.MessageID] = append(byID[r.MessageID], r)
		}
	}
	keyOf := make(map[*testResult]string) // event → the key that names it
	var exps []expectation
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			errorf(k, "cannot use %s as a key; expected a messageId or \"line N\"", yamljson.Describe(k))
			continue
		}
		e := expectation{key: k.Value}
		if m := lineKeyRe.FindStringSubmatch(k.Value); m != nil {
			n, _ := strconv.Atoi(m[1])
			rs := byLine[n]
			if len(rs) == 0 {
				errorf(k, "unknown key %q: line %d of %s holds no event", k.Value, n, eventsName)
				continue
			}
			if m[2] != "" {
				ev, _ := strconv.Atoi(m[2])
				if ev < 1 || ev > len(rs) || rs[0].Rejected != nil {
					errorf(k, "unknown key %q: line %d of %s holds %d event(s)", k.Value, n, eventsName, len(rs))
					continue
				}
				rs = rs[ev-1 : ev]
			}
			e.results = rs
		} else if rs := byID[k.Value]; len(rs) > 0 {
			e.results = rs
		} else {
			errorf(k, "unknown key %q: no event in %s has this messageId", k.Value, eventsName)
			continue
		}
		dup := false
		for _, r := range e.results {
			if prev, ok := keyOf[r]; ok {
				errorf(k, "key %q names %s, which key %q already names", k.Value, r.label(), prev)
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		for _, r := range e.results {
			keyOf[r] = k.Value
		}
		if !parseExpectValue(v, &e, set, errorf) {
			continue
		}
		exps = append(exps, e)
	}
	return exps, errs
}

// parseExpectValue reads what an event must give into e.
func parseExpectValue(v *yaml.Node, e *expectation, set *rules.Set, errorf func(*yaml.Node, string, ...any)) bool {
	const want = "expected a list of conversion ids ([] for none), rejected, or rejected: REASON"
	switch v.Kind {
	case yaml.SequenceNode:
		e.ids = []string{}
		ok := true
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode || item.ShortTag() == "!!null" {
				errorf(item, "cannot use %s as a conversion id", yamljson.Describe(item))
				ok = false
				continue
			}
			if set.Lookup(item.Value) == nil {
				errorf(item, "%q names no conversion of the rules", item.Value)
				ok = false
				continue
			}
			if !slices.Contains(e.ids, item.Value) {
				e.ids = append(e.ids, item.Value)
			}
		}
		return ok
	case yaml.ScalarNode:
		if v.ShortTag() == "!!str" {
			if v.Value == "rejected" {
				e.rejected = true
				return true
			}
			if reason, ok := strings.CutPrefix(v.Value, "rejected:"); ok {
				return setExpectReason(v, e, strings.TrimSpace(reason), errorf)
			}
			if set.Lookup(v.Value) != nil {
				errorf(v, "cannot use the scalar %q for %q; %s: write [%s]", v.Value, e.key, want, v.Value)
				return false
			}
		}
		errorf(v, "cannot use %s for %q; %s", yamljson.Describe(v), e.key, want)
		return false
	case yaml.MappingNode:
		if len(v.Content) == 2 && v.Content[0].Value == "rejected" && v.Content[1].Kind == yaml.ScalarNode {
			r := v.Content[1]
			if r.ShortTag() == "!!null" {
				e.rejected = true
				return true
			}
			return setExpectReason(r, e, r.Value, errorf)
		}
	}
	errorf(v, "cannot use %s for %q; %s", yamljson.Describe(v), e.key, want)
	return false
}

func setExpectReason(n *yaml.Node, e *expectation, reason string, errorf func(*yaml.Node, string, ...any)) bool {
	if !slices.Contains(input.Reasons, reason) {
		errorf(n, "unknown rejection reason %q; expected one of %s", reason, strings.Join(input.Reasons, ", "))
		return false
	}
	e.rejected, e.reason = true, reason
	return true
}

// checkExpectations compares the results with the expectations and returns
// one line per event that is not as expected, in event order, and how many
// events were checked:
//
//	line 7 (m-22): want [add_to_cart], got [add_to_cart, big_cart]: unexpected big_cart
func checkExpectations(exps []expectation, results []*testResult) (mismatches []string, checked int) {
	type check struct {
		e *expectation
		r *testResult
	}
	var checks []check
	for i := range exps {
		for _, r := range exps[i].results {
			checks = append(checks, check{&exps[i], r})
		}
	}
	slices.SortFunc(checks, func(a, b check) int {
		if a.r.Line != b.r.Line {
			return a.r.Line - b.r.Line
		}
		return a.r.Index - b.r.Index
	})
	for _, c := range checks {
		if diff := expectDiff(c.e, c.r); diff != "" {
			id := ""
			if c.r.MessageID != "" {
				id = " (" + c.r.MessageID + ")"
			}
			mismatches = append(mismatches, fmt.Sprintf("%s%s: %s", c.r.label(), id, diff))
		}
	}
	return mismatches, len(checks)
}

// expectDiff says how r differs from e: "" when it does not.
func expectDiff(e *expectation, r *testResult) string {
	want := "[" + strings.Join(e.ids, ", ") + "]"
	if e.rejected {
		want = "rejected"
		if e.reason != "" {
			want += ": " + e.reason
		}
	}
	if r.Rejected != nil {
		got := "rejected: " + r.Rejected.Reason + " (" + r.Rejected.Detail + ")"
		if e.rejected && (e.reason == "" || e.reason == r.Rejected.Reason) {
			return ""
		}
		return "want " + want + ", got " + got
	}
	got := make([]string, len(r.Conversions))
	for i, m := range r.Conversions {
		got[i] = m.ID
	}
	gotText := "[" + strings.Join(got, ", ") + "]"
	if e.rejected {
		return "want " + want + ", got " + gotText
	}
	var missing, unexpected []string
	for _, id := range e.ids {
		if !slices.Contains(got, id) {
			missing = append(missing, id)
		}
	}
	for _, id := range got {
		if !slices.Contains(e.ids, id) {
			unexpected = append(unexpected, id)
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if len(unexpected) > 0 {
		parts = append(parts, "unexpected "+strings.Join(unexpected, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return "want " + want + ", got " + gotText + ": " + strings.Join(parts, "; ")
}
