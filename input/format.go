package input

import (
	"fmt"

	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// Source says where a message was read: it feeds deterministic event ids and
// the topic/partition/offset columns.
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Decoded is one event of a message: its row, and what the rules see of it
// (Doc stays valid until the Format decodes the next message).
type Decoded struct {
	Event sink.Event
	Rule  rules.Event
}

// Format turns one Kafka message into events. A message may carry several
// events (GA4's events[]); each gets its own deterministic event id. A
// Format keeps parser state between calls: one per goroutine.
type Format interface {
	// Decode appends the events of raw to dst[:0]'s memory and returns
	// them, or the rejection that says why the message cannot be used.
	Decode(raw []byte, src Source, dst []Decoded) ([]Decoded, *Rejection)
}

// Config chooses and configures the input format.
type Config struct {
	// Name: segment (default), snowplow, ga4 or mapping (a custom shape
	// described by MappingFile).
	Name string
	// MappingFile: YAML field mapping (MICROCONV_INPUT_MAPPING); required
	// for "mapping", optional overrides for the presets that support it.
	MappingFile string
	// MaxMessageBytes: larger messages are rejected as too_large.
	MaxMessageBytes int
	// SchemaRegistryURL enables Avro messages in the Confluent wire format
	// (magic byte, 4-byte schema id), decoded with schemas fetched once from
	// a Confluent-compatible registry; empty: JSON only.
	SchemaRegistryURL      string
	SchemaRegistryUsername string
	SchemaRegistryPassword string // never logged
}

// formatFactories holds the known formats; each file of a format registers
// itself here. A factory validates the configuration (reading files, e.g.
// the mapping) and returns a constructor of per-goroutine Formats.
var formatFactories = map[string]func(cfg Config) (func() Format, error){
	"segment": func(cfg Config) (func() Format, error) {
		return func() Format { return &segmentFormat{dec: segmentDecoder{maxBytes: cfg.MaxMessageBytes}} }, nil
	},
}

// NewFormat validates cfg and returns a constructor of Formats.
func NewFormat(cfg Config) (func() Format, error) {
	name := cfg.Name
	if name == "" {
		name = "segment"
	}
	f, ok := formatFactories[name]
	if !ok {
		return nil, fmt.Errorf("cannot use input format %q: unknown", name)
	}
	newFormat, err := f(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.SchemaRegistryURL != "" {
		return newAvroFormat(cfg, newFormat)
	}
	return newFormat, nil
}

// segmentFormat is the Segment-spec JSON format: one event per message.
type segmentFormat struct {
	dec segmentDecoder
}

// Borrower is a Format that can return strings pointing into its own
// memory (valid until its next Decode) instead of copies.
type Borrower interface{ BorrowStrings() }

func (f *segmentFormat) BorrowStrings() { f.dec.borrow = true }

func (f *segmentFormat) Decode(raw []byte, src Source, dst []Decoded) ([]Decoded, *Rejection) {
	// Reuse dst's first element: its rules.Event keeps scratch memory.
	if cap(dst) > 0 {
		dst = dst[:1]
	} else {
		dst = append(dst[:0], Decoded{})
	}
	d := &dst[0]
	if rj := f.dec.decode(raw, source{topic: src.Topic, partition: src.Partition, offset: src.Offset}, &d.Event, &d.Rule); rj != nil {
		return dst[:0], rj
	}
	return dst, nil
}
