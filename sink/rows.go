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

// Batch accumulates rows for one flush. Rows are added with AddEvent,
// AddConversion and AddRejected, which encode them at once (see columns.go);
// tools and tests may instead fill the Events, Conversions and Rejected
// slices, which are encoded (and emptied) when the batch is flushed or
// measured. A Batch remembers which tables a partly failed flush already
// wrote, so that a retry does not write them again. A Batch is not safe for
// concurrent use.
type Batch struct {
	Events      []Event
	Conversions []Conversion
	Rejected    []Rejected
	// Urgent marks the last batch of a burst (the consumer flushes it
	// because the partitions are drained, not because it is full): its
	// events go as two INSERTs in parallel, finishing sooner on a
	// multi-core server at the cost of one more part.
	Urgent bool

	tables [numTables]tableBlock
	done   [numTables]bool
}

// stage encodes the rows of the slices.
func (b *Batch) stage() {
	for i := range b.Events {
		b.AddEvent(&b.Events[i])
	}
	for i := range b.Conversions {
		b.AddConversion(&b.Conversions[i])
	}
	for i := range b.Rejected {
		b.AddRejected(&b.Rejected[i])
	}
	b.clearSlices()
}

func (b *Batch) clearSlices() {
	clear(b.Events)
	clear(b.Conversions)
	clear(b.Rejected)
	b.Events = b.Events[:0]
	b.Conversions = b.Conversions[:0]
	b.Rejected = b.Rejected[:0]
}

// tableRows is the number of rows of table t.
func (b *Batch) tableRows(t int) int {
	n := b.tables[t].rows
	switch t {
	case tableEvents:
		n += len(b.Events)
	case tableConversions:
		n += len(b.Conversions)
	default:
		n += len(b.Rejected)
	}
	return n
}

// Len is the number of rows in the largest table of the batch: the figure
// compared with the batch size limit.
func (b *Batch) Len() int {
	return max(b.tableRows(tableEvents), b.tableRows(tableConversions), b.tableRows(tableRejected))
}

// Rows is the total number of rows in the batch.
func (b *Batch) Rows() int {
	return b.tableRows(tableEvents) + b.tableRows(tableConversions) + b.tableRows(tableRejected)
}

// Counts is the number of rows of each table.
func (b *Batch) Counts() (events, conversions, rejected int) {
	return b.tableRows(tableEvents), b.tableRows(tableConversions), b.tableRows(tableRejected)
}

// Bytes is the size of the encoded rows (rows still in the slices are not
// counted): the figure compared with the batch byte limit.
func (b *Batch) Bytes() int {
	return b.tables[tableEvents].size() + b.tables[tableConversions].size() + b.tables[tableRejected].size()
}

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	b.clearSlices()
	for t := range b.tables {
		b.tables[t].reset()
	}
	b.done = [numTables]bool{}
	b.Urgent = false
}
