package sink

// UTM holds the campaign fields of an event (context.campaign in Segment).
type UTM struct {
	Source, Medium, Campaign, Term, Content string
}

// Event is one accepted input event: a row of the events table.
type Event struct {
	EventID    string
	Type       string
	Event      string
	UserKey    string
	SessionID  string
	TSMillis   int64 // event time, Unix milliseconds
	URL        string
	Path       string
	Referrer   string
	UTM        UTM
	Device     string
	Country    string
	Properties string // JSON text of the properties object, "" when absent
	Topic      string
	Partition  int32
	Offset     int64
	// ReceivedMillis is when microconv read the message, Unix milliseconds.
	ReceivedMillis int64
}

// Conversion is one (conversion rule, event) match: a row of the conversions table.
type Conversion struct {
	Conversion     string
	ConversionType string // micro | macro
	Category       string // process | engagement for micro, "" for macro
	EventID        string
	Event          string
	UserKey        string
	SessionID      string
	TSMillis       int64
	Value          float64
	HasValue       bool // false stores NULL
	UTM            UTM
	Device         string
	Country        string
	RulesVersion   string
	ReceivedMillis int64
}

// Rejected is a message that could not become an event: a row of rejected_events.
type Rejected struct {
	Raw            []byte
	Reason         string // short, low-cardinality code, e.g. invalid_json
	Error          string // human-readable detail
	Topic          string
	Partition      int32
	Offset         int64
	ReceivedMillis int64
}

// Batch accumulates rows for one flush. It remembers which tables a partly
// failed flush already wrote, so that a retry does not write them again.
// A Batch is not safe for concurrent use.
type Batch struct {
	Events      []Event
	Conversions []Conversion
	Rejected    []Rejected

	done [numTables]bool
}

// Len is the number of rows in the largest table of the batch: the figure
// compared with the batch size limit.
func (b *Batch) Len() int {
	return max(len(b.Events), len(b.Conversions), len(b.Rejected))
}

// Rows is the total number of rows in the batch.
func (b *Batch) Rows() int {
	return len(b.Events) + len(b.Conversions) + len(b.Rejected)
}

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	clear(b.Events)
	clear(b.Conversions)
	clear(b.Rejected)
	b.Events = b.Events[:0]
	b.Conversions = b.Conversions[:0]
	b.Rejected = b.Rejected[:0]
	b.done = [numTables]bool{}
}
