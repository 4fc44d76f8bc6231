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
// AddConversion and AddRejected, which encode them at once (see columns.go).
// A Batch remembers which tables a partly failed flush already wrote, so
// that a retry does not write them again. A Batch is not safe for
// concurrent use.
type Batch struct {
	// Urgent marks the last batch of a burst (the consumer flushes it
	// because the partitions are drained, not because it is full): its
	// events go as two INSERTs in parallel, finishing sooner on a
	// multi-core server at the cost of one more part.
	Urgent bool
	// Trigger says why the batch is flushed (rows, bytes, wait, quiet,
	// shutdown, rebalance, retry): a flush that writes it counts it in
	// microconv_sink_flushes_total.
	Trigger string

	tables [numTables]tableBlock
	done   [numTables]bool
}

// Len is the number of rows in the largest table of the batch: the figure
// compared with the batch size limit.
func (b *Batch) Len() int {
	return max(b.tables[tableEvents].rows, b.tables[tableConversions].rows, b.tables[tableRejected].rows)
}

// Rows is the total number of rows in the batch.
func (b *Batch) Rows() int {
	return b.tables[tableEvents].rows + b.tables[tableConversions].rows + b.tables[tableRejected].rows
}

// Counts is the number of rows of each table.
func (b *Batch) Counts() (events, conversions, rejected int) {
	return b.tables[tableEvents].rows, b.tables[tableConversions].rows, b.tables[tableRejected].rows
}

// Bytes is the size of the encoded rows: the figure compared with the batch
// byte limit.
func (b *Batch) Bytes() int {
	return b.tables[tableEvents].size() + b.tables[tableConversions].size() + b.tables[tableRejected].size()
}

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	for t := range b.tables {
		b.tables[t].reset()
	}
	b.done = [numTables]bool{}
	b.Urgent = false
	b.Trigger = ""
}
