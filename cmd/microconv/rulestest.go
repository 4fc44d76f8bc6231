package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/internal/config"
	"github.com/microconv/microconv/rules"
)

const rulesTestUsage = "usage: microconv rules test PATH --events FILE [--expect FILE] [--json] [--input NAME] [--mapping FILE]"

// rulesTestFlags are the arguments of `microconv rules test`.
type rulesTestFlags struct {
	path    string // rule file or directory
	events  string // NDJSON of input messages
	expect  string // YAML expectations; "" for none
	json    bool
	input   string // input format (MICROCONV_INPUT)
	mapping string // mapping file (MICROCONV_INPUT_MAPPING)
}

// parseRulesTestFlags reads PATH and the flags, which may come before or
// after it.
func parseRulesTestFlags(args []string, stderr io.Writer) (rulesTestFlags, error) {
	var f rulesTestFlags
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.events, "events", "", "messages to test, one JSON object per line, in the input format (`FILE`; required)")
	fs.StringVar(&f.expect, "expect", "", "YAML `FILE` mapping messageId (event id), \"line N\" or \"line N event M\" to the conversion ids the event must tag")
	fs.BoolVar(&f.json, "json", false, "print a JSON array, one object per event, instead of text")
	fs.StringVar(&f.input, "input", os.Getenv("MICROCONV_INPUT"), "input format of the messages: segment, ga4, mapping … (`NAME`; overrides MICROCONV_INPUT; default segment)")
	fs.StringVar(&f.mapping, "mapping", os.Getenv("MICROCONV_INPUT_MAPPING"), "input mapping `FILE` for --input mapping, or overrides of a preset (overrides MICROCONV_INPUT_MAPPING)")
	fs.Usage = func() {
		fmt.Fprint(stderr, rulesTestUsage+"\n\nRun sample events through rule files and show what each one tags, as the consumer would.\n\n")
		fs.PrintDefaults()
	}
	var paths []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return f, err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		paths = append(paths, rest[0])
		rest = rest[1:]
	}
	var err error
	switch {
	case len(paths) == 0:
		err = errors.New("missing PATH, the rule file or directory to test")
	case len(paths) > 1:
		err = fmt.Errorf("unexpected argument %q; give one PATH", paths[1])
	case f.events == "":
		err = errors.New("missing required flag --events FILE")
	}
	if err != nil {
		fs.Usage()
		return f, err
	}
	f.path = paths[0]
	return f, nil
}

// testResult is what one event of the events file gave (or one line, when
// rejected); it is also the JSON printed by --json.
type testResult struct {
	Line int `json:"line"`
	// Index is the event's position in its message (0-based; 0 for
	// formats with one event per message).
	Index       int            `json:"index"`
	MessageID   string         `json:"message_id"`
	Type        string         `json:"type"`
	Event       string         `json:"event"`
	UserKey     string         `json:"user_key"`
	Conversions []testMatch    `json:"conversions"`
	Rejected    *testRejection `json:"rejected,omitempty"`
	Nearest     *testNearest   `json:"nearest,omitempty"`

	of int // events of the line
}

// label names the event in output and messages: "line 4", or "line 4
// event 2/3" for the second of three events of a line (1-based).
func (r *testResult) label() string {
	if r.of > 1 {
		return fmt.Sprintf("line %d event %d/%d", r.Line, r.Index+1, r.of)
	}
	return "line " + strconv.Itoa(r.Line)
}

type testMatch struct {
	ID       string   `json:"id"`
	Type     string   `json:"type"`
	Category string   `json:"category"`
	Value    *float64 `json:"value,omitempty"`
	inf      string   // ±Inf, which JSON cannot hold, for text output
}

type testRejection struct {
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type testNearest struct {
	ID     string `json:"id"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Failed string `json:"failed"`
}

// rulesTest is `microconv rules test`: 0 when every expectation holds, 1
// when one does not or the rules are broken, 2 for usage errors and
// unreadable or invalid events and expect files.
func rulesTest(args []string, stdout, stderr io.Writer) int {
	f, err := parseRulesTestFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "microconv rules test: %v\n", err) // after the usage
		return 2
	}
	newFormat, err := input.NewFormat(input.Config{Name: f.input, MappingFile: f.mapping, MaxMessageBytes: config.DefaultMaxMessageBytes})
	if err != nil {
		fmt.Fprintf(stderr, "microconv rules test: %v\n", err)
		return 2
	}
	set, err := rules.Load(f.path)
	if err != nil {
		printRuleErrors(stderr, err)
		return 1
	}
	data, err := os.ReadFile(f.events)
	if err != nil {
		fmt.Fprintf(stderr, "microconv rules test: --events: %v\n", err)
		return 2
	}
	segment := f.input == "" || f.input == "segment"
	results := runTestEvents(set, newFormat(), segment, data)
	idLabel := "messageId"
	if !segment {
		idLabel = "event_id"
	}

	var exps []expectation
	if f.expect != "" {
		expData, err := os.ReadFile(f.expect)
		if err != nil {
			fmt.Fprintf(stderr, "microconv rules test: --expect: %v\n", err)
			return 2
		}
		var errs []string
		exps, errs = parseExpect(f.expect, expData, f.events, set, results)
		if len(errs) > 0 {
			for _, e := range errs {
				fmt.Fprintln(stderr, e)
			}
			fmt.Fprintf(stderr, "microconv rules test: --expect: %d error(s)\n", len(errs))
			return 2
		}
	}

	report := stdout
	if f.json {
		if err := writeTestJSON(stdout, results); err != nil {
			fmt.Fprintf(stderr, "microconv rules test: %v\n", err)
			return 1
		}
		report = stderr // stdout holds JSON only
	} else {
		writeTestText(stdout, set, results, idLabel)
	}
	if f.expect == "" {
		return 0
	}
	mismatches, checked := checkExpectations(exps, results)
	for _, m := range mismatches {
		fmt.Fprintln(report, m)
	}
	if len(mismatches) > 0 {
		fmt.Fprintf(report, "expectations: %d events checked, %d not as expected\n", checked, len(mismatches))
		return 1
	}
	fmt.Fprintf(report, "expectations: %d events checked, all as expected\n", checked)
	return 0
}

// runTestEvents decodes every line of an NDJSON file as the consumer would
// (topic "rules-test", partition 0, offset = line number) and matches each
// of its events. Blank lines and lines starting with # or // are skipped.
// segment says the format is Segment's, whose messageId names a rejected
// message too.
func runTestEvents(set *rules.Set, format input.Format, segment bool, data []byte) []*testResult {
	var p fastjson.Parser
	var results []*testResult
	var matches []rules.Match
	var decoded []input.Decoded
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line = bytes.TrimSuffix(line, []byte("\r"))
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 || trimmed[0] == '#' || bytes.HasPrefix(trimmed, []byte("//")) {
			continue
		}
		src := input.Source{Topic: "rules-test", Partition: 0, Offset: int64(n)}
		var rj *input.Rejection
		decoded, rj = format.Decode(line, src, decoded)
		if rj != nil {
			r := &testResult{Line: n, Conversions: []testMatch{}, of: 1}
			results = append(results, r)
			r.Rejected = &testRejection{Reason: rj.Reason, Detail: rj.Detail}
			if segment {
				if doc, err := p.ParseBytes(line); err == nil { // for expectations keyed by messageId
					r.MessageID = testMessageID(doc)
				}
			}
			continue
		}
		for k := range decoded {
			d := &decoded[k]
			r := &testResult{Line: n, Index: k, Conversions: []testMatch{}, of: len(decoded)}
			results = append(results, r)
			// The id the message gives; "" when microconv derived it.
			if id := d.Event.EventID; !input.DerivedID(id, src, k) {
				r.MessageID = id
			}
			r.Type, r.Event, r.UserKey = d.Event.Type, d.Event.Event, d.Event.UserKey
			matches = set.Match(&d.Rule, matches[:0])
			for _, m := range matches {
				tm := testMatch{ID: m.Conversion.ID, Type: m.Conversion.Type, Category: m.Conversion.Category}
				if m.HasValue {
					if math.IsInf(m.Value, 0) {
						tm.inf = strconv.FormatFloat(m.Value, 'g', -1, 64)
					} else {
						v := m.Value
						tm.Value = &v
					}
				}
				r.Conversions = append(r.Conversions, tm)
			}
			if len(matches) == 0 {
				if x, ok := set.Nearest(&d.Rule); ok {
					r.Nearest = &testNearest{ID: x.Conversion.ID, File: x.Conversion.File, Line: x.Conversion.Line, Failed: x.Failed}
				}
			}
		}
	}
	return results
}

// testMessageID reads messageId as the decoder does: a string, or a number as
// its JSON text; "" when absent (the event id is then a hash).
func testMessageID(doc *fastjson.Value) string {
	v := doc.Get("messageId")
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNumber:
		return v.String()
	}
	return ""
}

// writeTestText prints one block per event and a summary:
//
//	line 3  track "Product Added"  user u1  messageId m-17
//	  ✓ add_to_cart (micro, process)  value 19.99
//	line 5  page "Pricing"  user a-9
//	  ✗ no conversion. Nearest: pricing_page_viewed (rules.yaml:14): where[0] … failed: value is "/prices"
//	line 6  rejected: missing_user_key: no user key: …
//	line 7 event 2/3  track "add_to_cart"  user u-1  event_id m-1#1
//	4 events: 2 tagged, 1 untagged, 1 rejected; conversions: add_to_cart 1, purchase 1
//
// idLabel names the event id: messageId for Segment, event_id otherwise.
func writeTestText(w io.Writer, set *rules.Set, results []*testResult, idLabel string) {
	var b strings.Builder
	tagged, untagged, rejected := 0, 0, 0
	counts := make(map[string]int)
	for _, r := range results {
		b.WriteString(r.label())
		b.WriteString("  ")
		if r.Rejected != nil {
			rejected++
			fmt.Fprintf(&b, "rejected: %s: %s\n", r.Rejected.Reason, r.Rejected.Detail)
			continue
		}
		fmt.Fprintf(&b, "%s %s  user %s", r.Type, strconv.Quote(r.Event), testPlain(r.UserKey))
		if r.MessageID != "" {
			fmt.Fprintf(&b, "  %s %s", idLabel, testPlain(r.MessageID))
		}
		b.WriteByte('\n')
		if len(r.Conversions) == 0 {
			untagged++
			b.WriteString("  ✗ no conversion")
			if n := r.Nearest; n != nil {
				fmt.Fprintf(&b, ". Nearest: %s (%s:%d): %s", n.ID, n.File, n.Line, n.Failed)
			}
			b.WriteByte('\n')
			continue
		}
		tagged++
		for _, m := range r.Conversions {
			counts[m.ID]++
			kind := m.Type
			if m.Category != "" {
				kind += ", " + m.Category
			}
			fmt.Fprintf(&b, "  ✓ %s (%s)", m.ID, kind)
			switch {
			case m.Value != nil:
				fmt.Fprintf(&b, "  value %s", testFormatValue(*m.Value))
			case m.inf != "":
				fmt.Fprintf(&b, "  value %s", m.inf)
			}
			b.WriteByte('\n')
		}
	}
	fmt.Fprintf(&b, "%d events: %d tagged, %d untagged, %d rejected; conversions: ", len(results), tagged, untagged, rejected)
	var seen, unseen []string
	for _, c := range set.Conversions {
		if n := counts[c.ID]; n > 0 {
			seen = append(seen, c.ID+" "+strconv.Itoa(n))
		} else {
			unseen = append(unseen, c.ID)
		}
	}
	if len(seen) == 0 {
		b.WriteString("none")
	}
	b.WriteString(strings.Join(seen, ", "))
	b.WriteByte('\n')
	if len(results) > 0 && len(unseen) > 0 {
		fmt.Fprintf(&b, "rules that tagged nothing: %s\n", strings.Join(unseen, ", "))
	}
	io.WriteString(w, b.String())
}

// writeTestJSON prints a JSON array with one object per event, one per line.
func writeTestJSON(w io.Writer, results []*testResult) error {
	var b bytes.Buffer
	b.WriteString("[")
	for i, r := range results {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n  ")
		line, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("cannot encode the result of line %d as JSON: %w", r.Line, err)
		}
		b.Write(line)
	}
	if len(results) > 0 {
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	_, err := w.Write(b.Bytes())
	return err
}

// testFormatValue prints a conversion value without exponent up to 1e21.
func testFormatValue(v float64) string {
	if math.Abs(v) < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// testPlain prints an id as it is when that is unambiguous, else quoted.
func testPlain(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' }) {
		return strconv.Quote(s)
	}
	return s
}
