package sink

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Tables written by the sink, in flush order: an event's conversions never
// become visible before the event itself.
const (
	tableEvents = iota
	tableConversions
	tableRejected
	numTables
)

var tableNames = [numTables]string{"events", "conversions", "rejected_events"}

var eventColumns = []string{
	"event_id", "type", "event", "user_key", "session_id", "ts", "ts_ms", "received_at",
	"url", "path", "referrer",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"device", "country", "properties", "topic", "`partition`", "`offset`",
}

var conversionColumns = []string{
	"conversion", "conversion_type", "category", "event_id", "event", "user_key", "session_id",
	"ts", "ts_ms", "value",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"device", "country", "rules_version", "received_at",
}

var rejectedColumns = []string{"raw", "reason", "error", "topic", "`partition`", "`offset`", "received_at"}

// columnBuffers are reused between flushes so that a flush allocates little.
type columnBuffers struct {
	str   [][]string
	i64   [][]int64
	i32   [][]int32
	times [][]time.Time
	f64   []*float64
	f64v  []float64
}

func (cb *columnBuffers) strings(i, n int) []string {
	for len(cb.str) <= i {
		cb.str = append(cb.str, nil)
	}
	cb.str[i] = grow(cb.str[i], n)
	return cb.str[i]
}

func (cb *columnBuffers) int64s(i, n int) []int64 {
	for len(cb.i64) <= i {
		cb.i64 = append(cb.i64, nil)
	}
	cb.i64[i] = grow(cb.i64[i], n)
	return cb.i64[i]
}

func (cb *columnBuffers) int32s(i, n int) []int32 {
	for len(cb.i32) <= i {
		cb.i32 = append(cb.i32, nil)
	}
	cb.i32[i] = grow(cb.i32[i], n)
	return cb.i32[i]
}

func (cb *columnBuffers) timeSlice(i, n int) []time.Time {
	for len(cb.times) <= i {
		cb.times = append(cb.times, nil)
	}
	cb.times[i] = grow(cb.times[i], n)
	return cb.times[i]
}

// release drops references to row strings so that a flushed batch's memory
// can be collected while the buffers stay allocated.
func (cb *columnBuffers) release() {
	for _, s := range cb.str {
		clear(s)
	}
	clear(cb.f64)
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func millisTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func insertQuery(db, table string, cols []string) string {
	return "INSERT INTO " + db + "." + table + " (" + strings.Join(cols, ", ") + ")"
}

// insertTable writes the rows of one table of b in a single INSERT.
func (c *Client) insertTable(ctx context.Context, b *Batch, table int) error {
	var n int
	var cols []string
	switch table {
	case tableEvents:
		n, cols = len(b.Events), eventColumns
	case tableConversions:
		n, cols = len(b.Conversions), conversionColumns
	case tableRejected:
		n, cols = len(b.Rejected), rejectedColumns
	}
	if n == 0 {
		return nil
	}
	batch, err := c.conn.PrepareBatch(ctx, insertQuery(c.db, tableNames[table], cols))
	if err != nil {
		return fmt.Errorf("cannot prepare insert of %d rows into %q: %w", n, tableNames[table], scrub(err, c.cfg.Password))
	}
	defer func() { _ = batch.Abort() }()
	// Column buffers are pooled: one Client may flush from several
	// goroutines (several consumers in one process).
	cb, _ := c.cols.Get().(*columnBuffers)
	if cb == nil {
		cb = new(columnBuffers)
	}
	defer func() {
		cb.release()
		c.cols.Put(cb)
	}()

	var values []any
	switch table {
	case tableEvents:
		values = eventValues(cb, b.Events)
	case tableConversions:
		values = conversionValues(cb, b.Conversions)
	case tableRejected:
		values = rejectedValues(cb, b.Rejected)
	}
	for i, v := range values {
		if err := batch.Column(i).Append(v); err != nil {
			return fmt.Errorf("cannot append column %s of %q: %w", cols[i], tableNames[table], err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("cannot insert %d rows into %q: %w", n, tableNames[table], scrub(err, c.cfg.Password))
	}
	return nil
}

func eventValues(cb *columnBuffers, rows []Event) []any {
	n := len(rows)
	eventID, typ, event, user, session := cb.strings(0, n), cb.strings(1, n), cb.strings(2, n), cb.strings(3, n), cb.strings(4, n)
	url, path, ref := cb.strings(5, n), cb.strings(6, n), cb.strings(7, n)
	us, um, uc, ut, uco := cb.strings(8, n), cb.strings(9, n), cb.strings(10, n), cb.strings(11, n), cb.strings(12, n)
	device, country, props, topic := cb.strings(13, n), cb.strings(14, n), cb.strings(15, n), cb.strings(16, n)
	ts, recv := cb.timeSlice(0, n), cb.timeSlice(1, n)
	tsMS, offset := cb.int64s(0, n), cb.int64s(1, n)
	part := cb.int32s(0, n)
	for i := range rows {
		r := &rows[i]
		eventID[i], typ[i], event[i], user[i], session[i] = r.EventID, r.Type, r.Event, r.UserKey, r.SessionID
		ts[i], tsMS[i], recv[i] = millisTime(r.TSMillis), r.TSMillis, millisTime(r.ReceivedMillis)
		url[i], path[i], ref[i] = r.URL, r.Path, r.Referrer
		us[i], um[i], uc[i], ut[i], uco[i] = r.UTM.Source, r.UTM.Medium, r.UTM.Campaign, r.UTM.Term, r.UTM.Content
		device[i], country[i], props[i], topic[i] = r.Device, r.Country, r.Properties, r.Topic
		part[i], offset[i] = r.Partition, r.Offset
	}
	return []any{eventID, typ, event, user, session, ts, tsMS, recv, url, path, ref, us, um, uc, ut, uco, device, country, props, topic, part, offset}
}

func conversionValues(cb *columnBuffers, rows []Conversion) []any {
	n := len(rows)
	conv, ctype, cat, eventID, event, user, session := cb.strings(0, n), cb.strings(1, n), cb.strings(2, n), cb.strings(3, n), cb.strings(4, n), cb.strings(5, n), cb.strings(6, n)
	us, um, uc, ut, uco := cb.strings(7, n), cb.strings(8, n), cb.strings(9, n), cb.strings(10, n), cb.strings(11, n)
	device, country, version := cb.strings(12, n), cb.strings(13, n), cb.strings(14, n)
	ts, recv := cb.timeSlice(0, n), cb.timeSlice(1, n)
	tsMS := cb.int64s(0, n)
	cb.f64 = grow(cb.f64, n)
	cb.f64v = grow(cb.f64v, n)
	value := cb.f64
	for i := range rows {
		r := &rows[i]
		conv[i], ctype[i], cat[i], eventID[i], event[i], user[i], session[i] = r.Conversion, r.ConversionType, r.Category, r.EventID, r.Event, r.UserKey, r.SessionID
		ts[i], tsMS[i], recv[i] = millisTime(r.TSMillis), r.TSMillis, millisTime(r.ReceivedMillis)
		if r.HasValue {
			cb.f64v[i] = r.Value
			value[i] = &cb.f64v[i]
		} else {
			value[i] = nil
		}
		us[i], um[i], uc[i], ut[i], uco[i] = r.UTM.Source, r.UTM.Medium, r.UTM.Campaign, r.UTM.Term, r.UTM.Content
		device[i], country[i], version[i] = r.Device, r.Country, r.RulesVersion
	}
	return []any{conv, ctype, cat, eventID, event, user, session, ts, tsMS, value, us, um, uc, ut, uco, device, country, version, recv}
}

func rejectedValues(cb *columnBuffers, rows []Rejected) []any {
	n := len(rows)
	raw, reason, errText, topic := cb.strings(0, n), cb.strings(1, n), cb.strings(2, n), cb.strings(3, n)
	part := cb.int32s(0, n)
	offset := cb.int64s(0, n)
	recv := cb.timeSlice(0, n)
	for i := range rows {
		r := &rows[i]
		raw[i], reason[i], errText[i], topic[i] = string(r.Raw), r.Reason, r.Error, r.Topic
		part[i], offset[i], recv[i] = r.Partition, r.Offset, millisTime(r.ReceivedMillis)
	}
	return []any{raw, reason, errText, topic, part, offset, recv}
}
