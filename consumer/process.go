package consumer

import (
	"bytes"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// maxStoredRaw bounds the raw bytes kept in rejected_events for a message
// rejected as too large; the DLQ gets the whole message.
const maxStoredRaw = 64 << 10

// worker turns one message at a time into rows. Each partition reader has
// its own worker, so decoding runs in parallel across partitions.
type worker struct {
	format  input.Format
	metrics *Metrics
	matches []rules.Match

	// counters caches the conversion counter of each rule of set: a
	// labelled lookup per match costs more than the rest of the tagging.
	set      *rules.Set
	counters map[*rules.Conversion]prometheus.Counter

	// Output of the last process call: the events (decoded, when not
	// rejected) and their matches. Rows are built from them as they are
	// added to a batch: copying rows of strings here would cost write
	// barriers for nothing.
	decoded []input.Decoded
	nEvents int
	convs   []convMatch
	hasRej  bool
	rej     sink.Rejected
	dlqMsg  *kafka.Message
	// retry: the format could not decode the message for a reason that is
	// not the message's (input.Rejection.Retry); nothing was produced and the
	// caller must process the same message again later. retryErr says why.
	retry    bool
	retryErr string
}

// Processor decodes and tags messages exactly as the consumer's partition
// workers do, on the caller's goroutine: tools use it to measure or replay
// that work alone. It is not safe for concurrent use.
type Processor struct{ w worker }

// NewProcessor returns a Processor for the input format cfg.
func NewProcessor(cfg input.Config) (*Processor, error) {
	newFormat, err := input.NewFormat(cfg)
	if err != nil {
		return nil, err
	}
	return &Processor{w: *newWorker(newFormat(), NewMetrics(nil))}, nil
}

// newWorker returns a worker decoding with format. The worker copies every
// row into the batch before it decodes the next message, so the format may
// lend it strings instead of allocating them.
func newWorker(format input.Format, metrics *Metrics) *worker {
	if b, ok := format.(input.Borrower); ok {
		b.BorrowStrings()
	}
	return &worker{format: format, metrics: metrics}
}

// Process appends the rows of msg, tagged with set and received at now
// (Unix ms), to b. A message the format must retry (a schema registry that
// cannot be reached) adds nothing.
func (p *Processor) Process(msg *kafka.Message, set *rules.Set, now int64, b *sink.Batch) {
	p.w.process(msg, set, now)
	p.w.addRows(b)
}

// process decodes and tags msg with set. now is the receive time (Unix ms).
func (w *worker) process(msg *kafka.Message, set *rules.Set, now int64) {
	w.hasRej, w.dlqMsg, w.retry, w.retryErr = false, nil, false, ""
	clear(w.convs)
	w.convs = w.convs[:0]
	w.nEvents = 0
	src := input.Source{Topic: msg.Topic, Partition: int32(msg.Partition), Offset: msg.Offset}

	var rj *input.Rejection
	w.decoded, rj = w.format.Decode(msg.Value, src, w.decoded)
	if rj != nil && rj.Retry {
		w.retry, w.retryErr = true, rj.Detail
		return
	}
	if rj != nil {
		raw := msg.Value
		if rj.Reason == input.ReasonTooLarge && len(raw) > maxStoredRaw {
			raw = raw[:maxStoredRaw]
		}
		w.hasRej = true
		w.rej = sink.Rejected{
			Raw:            raw,
			Reason:         rj.Reason,
			Error:          rj.Detail,
			Topic:          msg.Topic,
			Partition:      int32(msg.Partition),
			Offset:         msg.Offset,
			ReceivedMillis: now,
		}
		w.metrics.Rejected.WithLabelValues(rj.Reason).Inc()
		w.dlqMsg = dlqMessage(msg, rj)
		return
	}
	if set != w.set {
		w.set = set
		w.counters = make(map[*rules.Conversion]prometheus.Counter, len(set.Conversions))
	}
	for i := range w.decoded {
		d := &w.decoded[i]
		d.Event.ReceivedMillis = now
		w.matches = set.Match(&d.Rule, w.matches[:0])
		for _, m := range w.matches {
			conv := m.Conversion
			w.convs = append(w.convs, convMatch{event: i, conv: conv, value: m.Value, hasValue: m.HasValue})
			ctr := w.counters[conv]
			if ctr == nil {
				ctr = w.metrics.Conversions.WithLabelValues(conv.ID, conv.Type)
				w.counters[conv] = ctr
			}
			ctr.Inc()
		}
	}
	w.nEvents = len(w.decoded)
}

// convMatch is a conversion of an event of the last message.
type convMatch struct {
	event    int // index in decoded
	conv     *rules.Conversion
	value    float64
	hasValue bool
}

// addRows adds the rows of the last message to b (events, conversions,
// the rejection).
func (w *worker) addRows(b *sink.Batch) {
	for i := range w.nEvents {
		b.AddEvent(&w.decoded[i].Event)
	}
	for _, m := range w.convs {
		ev := &w.decoded[m.event].Event
		cv := sink.Conversion{
			Conversion:     m.conv.ID,
			ConversionType: m.conv.Type,
			Category:       m.conv.Category,
			EventID:        ev.EventID,
			Event:          ev.Event,
			UserKey:        ev.UserKey,
			SessionID:      ev.SessionID,
			TSMillis:       ev.TSMillis,
			Value:          m.value,
			HasValue:       m.hasValue,
			UTM:            ev.UTM,
			Device:         ev.Device,
			Country:        ev.Country,
			RulesVersion:   w.set.Version,
			ReceivedMillis: ev.ReceivedMillis,
		}
		b.AddConversion(&cv)
	}
	if w.hasRej {
		b.AddRejected(&w.rej)
	}
}

// dlqMessage is what the DLQ topic receives for a rejected message: the
// original key and value (copied: the fetcher reuses msg's memory once the
// message is handled, and the DLQ is written at the next flush), with where
// it came from and why in headers.
func dlqMessage(msg *kafka.Message, rj *input.Rejection) *kafka.Message {
	headers := make([]kafka.Header, 0, len(msg.Headers)+5)
	headers = append(headers, msg.Headers...)
	headers = append(headers,
		kafka.Header{Key: "microconv-reason", Value: []byte(rj.Reason)},
		kafka.Header{Key: "microconv-error", Value: []byte(rj.Detail)},
		kafka.Header{Key: "microconv-topic", Value: []byte(msg.Topic)},
		kafka.Header{Key: "microconv-partition", Value: []byte(itoa(int32(msg.Partition)))},
		kafka.Header{Key: "microconv-offset", Value: []byte(itoa64(msg.Offset))},
	)
	return &kafka.Message{Key: bytes.Clone(msg.Key), Value: bytes.Clone(msg.Value), Headers: headers}
}
