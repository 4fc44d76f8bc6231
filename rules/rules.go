package rules

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/internal/rawjson"
)

// Limits that guard against abusive or broken rule files.
const (
	// maxFileSize is the largest rule file Parse accepts. Real rule files are
	// kilobytes; 8 MiB leaves room for generated ones.
	maxFileSize = 8 << 20
	// maxDepth is how deeply any/all/not groups may nest. Analysts need a few
	// levels; 32 keeps evaluation and parsing recursion shallow.
	maxDepth = 32
	// maxRegexLen is the longest event_regex or regex value, in bytes.
	maxRegexLen = 4 << 10
	// maxIDLen is the longest conversion or funnel id.
	maxIDLen = 64
	// maxErrorsPerFile is how many errors of one file are reported; past it
	// they are counted only, so that a garbage file cannot exhaust memory.
	maxErrorsPerFile = 1000
)

// MaxFunnelSteps is the most steps a funnel may have: each step is a bit of
// a 64-bit mask in the funnel views' SQL and adds a stage to it.
const MaxFunnelSteps = 32

// Event is what rules see of one input event. `where` and `value` paths
// resolve against Raw when it is set, else against Doc; both nil means every
// path is missing.
//
// An Event is read and written (scratch memory) during Match, and fastjson
// values are not safe for concurrent use: one Event must not be matched from
// several goroutines at once.
type Event struct {
	Type string          // normalized call type: track, page, screen, identify, ...
	Name string          // normalized event name
	Doc  *fastjson.Value // the message, parsed
	// Raw is the message's JSON text, accepted by rawjson.Skip (strict JSON,
	// no escaped object keys): paths are resolved by scanning it, with the
	// same results as fastjson's Get on its parse.
	Raw []byte
	// Tape, when set, is Raw validated onto a rawjson.Tape: paths resolve
	// through its recorded members instead of scanning Raw.
	Tape *rawjson.Tape

	scratch []byte // unescaped strings of the current lookup

	// The paths of the set last matched, resolved in this document (see
	// use): ev.pset's paths, valid in slots of the current epoch.
	pset   *Set
	ptape  *rawjson.Tape
	praw   []byte
	pcache []pathSlot
	epoch  uint32
}

// Reset points ev at the JSON text raw (nil: no document), keeping its
// memory for reuse; Type, Name and Doc are cleared. Reusing an Event
// through Reset is what lets it keep the paths the rules read resolved
// once per document.
func (ev *Event) Reset(raw []byte, tape *rawjson.Tape) {
	ev.Type, ev.Name, ev.Doc, ev.Raw, ev.Tape = "", "", nil, raw, tape
	ev.scratch = ev.scratch[:0]
	ev.ptape, ev.praw = tape, raw
	ev.newEpoch()
}

// Conversion is one compiled conversion rule.
type Conversion struct {
	ID          string
	Type        string // "micro" or "macro"
	Category    string // "process" or "engagement" for a micro conversion, "" for a macro one
	Description string
	File        string // file where the conversion is defined
	Line        int    // line of the conversion in File

	m matcher
}

// Funnel is an ordered list of conversions that a user completes within Window.
type Funnel struct {
	ID     string
	Window time.Duration
	Steps  []string // conversion ids, in order; at least 2; may repeat
	File   string   // file where the funnel is defined
	Line   int      // line of the funnel in File
}

// Match is one conversion that an event matched.
type Match struct {
	Conversion *Conversion
	// Value is the number found at the conversion's `value:` path; HasValue
	// is false when the conversion has no value path or the path holds
	// neither a JSON number nor a string that parses as a number.
	Value    float64
	HasValue bool
}

// Set is a compiled, validated set of rules. It is immutable (its exported
// slices must not be modified) and safe for concurrent use by many goroutines.
type Set struct {
	Conversions []*Conversion // in load order: files sorted by name, then order in the file
	Funnels     []*Funnel     // in load order
	// Version is 16 hex characters identifying the semantic content of the
	// set: ids, types, categories, descriptions, matchers, value paths and
	// funnels. It does not depend on file names, the order of conversions or
	// funnels, key order, comments, quoting or whitespace.
	Version string

	byID    map[string]*Conversion
	unnamed []*Conversion // rules without an event or event_in constraint, in Conversions order
	// names holds, per event name, the rules whose name constraints
	// (event, event_in, event_regex) that name satisfies, in Conversions
	// order: every name a rule names (nNamed of them), and names seen that
	// no rule names when some unnamed rule has an event_regex (names are
	// few, regexes cost more than a lookup; at most maxOtherNames of them).
	// Read without a lock, replaced whole under namesMu.
	names     atomic.Pointer[map[string][]*Conversion]
	namesMu   sync.Mutex
	nNamed    int
	unnamedRe bool
	paths     []pathStep // interned condition and value paths (internPaths)
}

// File is the content of one rule file; Name is used in errors.
type File struct {
	Name string
	Data []byte
}

// Parse parses, validates and compiles one rule file. name is used in errors.
// On failure the error is an ErrorList.
func Parse(name string, data []byte) (*Set, error) {
	return ParseFiles([]File{{Name: name, Data: data}})
}

// ParseFiles parses, validates and compiles several rule files as one set.
// Files are taken in order of Name. Conversion ids and funnel ids are unique
// across all files; funnel steps may name a conversion of any file. On
// failure the error is an ErrorList holding every problem of every file.
func ParseFiles(files []File) (*Set, error) {
	sorted := slices.Clone(files)
	slices.SortStableFunc(sorted, func(a, b File) int { return strings.Compare(a.Name, b.Name) })

	var errs ErrorList
	var convs []convDef
	var funnels []funnelDef
	for _, f := range sorted {
		p := &parser{file: f.Name}
		p.parse(f.Data)
		errs = append(errs, p.errs...)
		convs = append(convs, p.convs...)
		funnels = append(funnels, p.funnels...)
	}

	s := &Set{byID: make(map[string]*Conversion, len(convs))}
	for _, d := range convs {
		if d.c.ID == "" {
			continue // invalid id, already reported
		}
		if first, ok := s.byID[d.c.ID]; ok {
			errs = append(errs, errorAt(d.c.File, d.id, "duplicate conversion id %q; first defined at %s:%d", d.c.ID, first.File, first.Line))
			continue
		}
		s.byID[d.c.ID] = d.c
		s.Conversions = append(s.Conversions, d.c)
	}
	funnelIDs := make(map[string]*Funnel, len(funnels))
	for _, d := range funnels {
		for i, step := range d.f.Steps {
			if _, ok := s.byID[step]; !ok && step != "" {
				errs = append(errs, errorAt(d.f.File, d.steps[i], "funnel %q: step %q names no conversion", d.f.ID, step))
			}
		}
		if d.f.ID == "" {
			continue
		}
		if first, ok := funnelIDs[d.f.ID]; ok {
			errs = append(errs, errorAt(d.f.File, d.id, "duplicate funnel id %q; first defined at %s:%d", d.f.ID, first.File, first.Line))
			continue
		}
		funnelIDs[d.f.ID] = d.f
		s.Funnels = append(s.Funnels, d.f)
	}
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	s.buildIndex()
	s.internPaths()
	s.Version = version(s.Conversions, s.Funnels)
	return s, nil
}

// Load reads rules from path: a single file, or every *.yaml and *.yml file
// directly in a directory (not recursive; names starting with "." are
// skipped; files taken in order of name). A directory without rule files is
// an error. Invalid rules give an ErrorList; failing to read gives an error
// wrapping the *fs.PathError. Load is ReadFiles followed by ParseFiles.
func Load(path string) (*Set, error) {
	files, err := ReadFiles(path)
	if err != nil {
		return nil, err
	}
	return ParseFiles(files)
}

// readFile reads at most maxFileSize+1 bytes, enough for Parse to report a
// file that is too large without reading all of it.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load rules: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot load rules: cannot read %q: %w", path, err)
	}
	return data, nil
}

// Lookup returns the conversion with the given id, or nil.
func (s *Set) Lookup(id string) *Conversion {
	return s.byID[id]
}
