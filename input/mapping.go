package input

import (
	"fmt"
	"strings"
)

// A mapping says where each normalized field of an event comes from in a
// custom JSON shape (MICROCONV_INPUT=mapping), or is a preset such as GA4.
// It is loaded from YAML (mapping_load.go), compiled once, shared read-only
// by every goroutine's Format (mapping_format.go).

// mappingField identifies a normalized field, in the order the decoder
// checks them (see mappingFormat.event).
type mappingField int

const (
	mfProperties mappingField = iota
	mfType
	mfEvent
	mfUserKey
	mfTimestamp
	mfEventID
	mfSessionID
	mfURL
	mfPath
	mfReferrer
	mfUTMSource
	mfUTMMedium
	mfUTMCampaign
	mfUTMTerm
	mfUTMContent
	mfDevice
	mfCountry
	numMappingFields
)

// mappingFieldNames are the keys of a mapping file, by field.
var mappingFieldNames = [numMappingFields]string{
	mfProperties:  "properties",
	mfType:        "type",
	mfEvent:       "event",
	mfUserKey:     "user_key",
	mfTimestamp:   "timestamp",
	mfEventID:     "event_id",
	mfSessionID:   "session_id",
	mfURL:         "url",
	mfPath:        "path",
	mfReferrer:    "referrer",
	mfUTMSource:   "utm_source",
	mfUTMMedium:   "utm_medium",
	mfUTMCampaign: "utm_campaign",
	mfUTMTerm:     "utm_term",
	mfUTMContent:  "utm_content",
	mfDevice:      "device",
	mfCountry:     "country",
}

// mappingInterned are the low-cardinality fields whose strings are interned.
var mappingInterned = [numMappingFields]bool{
	mfType: true, mfEvent: true, mfUTMSource: true, mfUTMMedium: true, mfUTMCampaign: true,
	mfDevice: true, mfCountry: true,
}

// mappingIdent are the identifier fields: a string or a number; a bool is
// a bad field, as in the Segment decoder.
var mappingIdent = [numMappingFields]bool{mfType: true, mfEvent: true, mfUserKey: true, mfEventID: true}

// mappingPath is one dotted path, split once.
type mappingPath struct {
	text string
	segs []string
}

func newMappingPath(s string) mappingPath {
	return mappingPath{text: s, segs: strings.Split(s, ".")}
}

// fieldSpec is the compiled mapping of one field.
type fieldSpec struct {
	set      bool          // the mapping names the field
	paths    []mappingPath // tried in order
	konst    string        // {const: ...}
	hasConst bool
	format   tsFormat          // timestamp only
	valueMap map[string]string // {map: ...}; nil for none
	def      string            // {default: ...}
	hasDef   bool
}

// pathList is the paths as a readable list for rejection details:
// "ts", "sent_at".
func (s *fieldSpec) pathList() string {
	var b strings.Builder
	for i, p := range s.paths {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", p.text)
	}
	return b.String()
}

// mapping is a compiled mapping file (or preset).
type mapping struct {
	name   string // the file, or "preset ga4": for messages
	fields [numMappingFields]fieldSpec
	// events, when set, is the path of the array of events of a message.
	events mappingPath
	multi  bool
	// docSkip is the top-level key left out of per-event documents: the
	// events array's, when its path has one segment.
	docSkip string
}

// override returns a copy of m with the fields that o sets replaced.
func (m *mapping) override(o *mapping) *mapping {
	out := *m
	out.name = o.name
	for i := range o.fields {
		if o.fields[i].set {
			out.fields[i] = o.fields[i]
		}
	}
	if o.multi {
		out.events, out.multi, out.docSkip = o.events, o.multi, o.docSkip
	}
	return &out
}

// mappingPresets are the built-in mappings, by the name MICROCONV_INPUT and
// a mapping file's `preset:` give them. Each is a mapping file itself.
var mappingPresets = map[string]string{}

// newMappingFactory returns the factory of a format that is a mapping:
// preset "" is the custom mapping of cfg.MappingFile (required); a preset
// is the built-in mapping, overridden field by field by cfg.MappingFile
// when set.
func newMappingFactory(preset string) func(cfg Config) (func() Format, error) {
	return func(cfg Config) (func() Format, error) {
		var m *mapping
		var err error
		switch {
		case preset == "" && cfg.MappingFile == "":
			return nil, fmt.Errorf("cannot use input format %q without a mapping file: set MICROCONV_INPUT_MAPPING", "mapping")
		case preset == "":
			m, err = loadMappingFile(cfg.MappingFile, "")
		case cfg.MappingFile == "":
			m, err = presetMapping(preset)
		default:
			m, err = loadMappingFile(cfg.MappingFile, preset)
		}
		if err != nil {
			return nil, err
		}
		maxBytes := cfg.MaxMessageBytes
		return func() Format { return newMappingFormat(m, maxBytes) }, nil
	}
}

func init() {
	formatFactories["mapping"] = newMappingFactory("")
}
