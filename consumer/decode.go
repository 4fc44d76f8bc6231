package consumer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/sink"
)

// Rejection reasons: short, stable codes stored in rejected_events.reason and
// used as the reason label of microconv_consumer_events_rejected_total.
const (
	ReasonEmpty          = "empty"
	ReasonTooLarge       = "too_large"
	ReasonInvalidUTF8    = "invalid_utf8"
	ReasonInvalidJSON    = "invalid_json"
	ReasonNotObject      = "not_object"
	ReasonBadField       = "bad_field"
	ReasonMissingEvent   = "missing_event"
	ReasonMissingUserKey = "missing_user_key"
	ReasonMissingTS      = "missing_timestamp"
	ReasonBadTS          = "bad_timestamp"
	ReasonTSOutOfRange   = "timestamp_out_of_range"
	ReasonUnknownSchema  = "unknown_schema" // Avro: the schema registry has no schema with the message's id
	ReasonInvalidAvro    = "invalid_avro"   // Avro: the datum does not decode with its schema, or the schema is unusable
)

// Reasons lists every rejection reason (for metrics initialisation and docs).
var Reasons = []string{ReasonEmpty, ReasonTooLarge, ReasonInvalidUTF8, ReasonInvalidJSON, ReasonNotObject,
	ReasonBadField, ReasonMissingEvent, ReasonMissingUserKey, ReasonMissingTS, ReasonBadTS, ReasonTSOutOfRange,
	ReasonUnknownSchema, ReasonInvalidAvro}

// Rejection says why a message cannot become an event.
type Rejection struct {
	Reason string // one of the Reason* codes; "" when Retry is set
	Detail string // what exactly was wrong, quoting the input
	// Retry: the message cannot be decoded now for a reason that is not its
	// own (the schema registry is unreachable). It is not rejected: the
	// partition backs off and decodes the same message again.
	Retry bool
}

func (r *Rejection) Error() string { return r.Reason + ": " + r.Detail }

func reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Timestamps outside [1970-01-01, 2106-01-01) cannot be stored in a
// ClickHouse DateTime and are rejected.
var (
	minTS = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxTS = time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
)

// source identifies a message for the deterministic event id and for rows.
type source struct {
	topic     string
	partition int32
	offset    int64
}

// segmentDecoder decodes Segment-spec JSON. It keeps a parser between calls,
// so one decoder must not be used by two goroutines; the returned document is
// valid until the next call.
type segmentDecoder struct {
	p        fastjson.Parser
	maxBytes int
	buf      []byte
	intern   map[string]string
	// borrow: strings that are not interned point into the parser's memory
	// instead of being copied; they are valid until the next decode. The
	// consumer's workers copy each row into the batch before decoding the
	// next message, so they borrow and allocate nothing per event.
	borrow bool
}

// maxInterned bounds the strings a decoder keeps for reuse.
const maxInterned = 8192

// str returns b as a string; low-cardinality values (event names, types,
// campaigns, devices, countries) are interned, so that a stream of them
// allocates nothing after the first occurrence.
func (d *segmentDecoder) str(b []byte, intern bool) string {
	if len(b) == 0 {
		return ""
	}
	if !intern {
		if d.borrow {
			return unsafe.String(unsafe.SliceData(b), len(b))
		}
		return string(b)
	}
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.intern == nil {
		d.intern = make(map[string]string, 256)
	}
	if len(d.intern) < maxInterned {
		d.intern[s] = s
	}
	return s
}

// fields are the top-level members the decoder reads, found in one pass
// over the object (the first occurrence of a duplicate key wins, as with
// fastjson's Get, which the rules use).
type fields struct {
	typ, event, name, userID, anonID, timestamp, messageID, context, properties *fastjson.Value
}

func (f *fields) visit(key []byte, v *fastjson.Value) {
	var dst **fastjson.Value
	switch string(key) {
	case "type":
		dst = &f.typ
	case "event":
		dst = &f.event
	case "name":
		dst = &f.name
	case "userId":
		dst = &f.userID
	case "anonymousId":
		dst = &f.anonID
	case "timestamp":
		dst = &f.timestamp
	case "messageId":
		dst = &f.messageID
	case "context":
		dst = &f.context
	case "properties":
		dst = &f.properties
	default:
		return
	}
	if *dst == nil {
		*dst = v
	}
}

// decode fills ev from raw and returns the parsed document for rule matching,
// or why the message is rejected.
func (d *segmentDecoder) decode(raw []byte, src source, ev *sink.Event) (*fastjson.Value, *Rejection) {
	if len(raw) == 0 {
		return nil, reject(ReasonEmpty, "empty message")
	}
	if d.maxBytes > 0 && len(raw) > d.maxBytes {
		return nil, reject(ReasonTooLarge, "message of %d bytes exceeds the limit of %d bytes", len(raw), d.maxBytes)
	}
	if !validText(raw) {
		if !utf8.Valid(raw) {
			return nil, reject(ReasonInvalidUTF8, "message is not valid UTF-8")
		}
		return nil, reject(ReasonInvalidJSON, "cannot parse JSON: a string holds a raw control character (RFC 8259 requires it escaped)")
	}
	doc, err := d.p.ParseBytes(raw)
	if err != nil {
		return nil, reject(ReasonInvalidJSON, "cannot parse JSON: %s", truncate(strings.TrimPrefix(err.Error(), "cannot parse JSON: "), 200))
	}
	obj, err := doc.Object()
	if err != nil {
		return nil, reject(ReasonNotObject, "message is a JSON %s, not an object", doc.Type())
	}
	var f fields
	obj.Visit(f.visit)

	// The objects the normalized fields come from must be objects when present.
	for _, c := range [...]struct {
		k string
		v *fastjson.Value
	}{{"properties", f.properties}, {"context", f.context}} {
		if c.v != nil && c.v.Type() != fastjson.TypeObject && c.v.Type() != fastjson.TypeNull {
			return nil, reject(ReasonBadField, "field %q is a JSON %s, want an object", c.k, c.v.Type())
		}
	}

	typ, rj := d.optString(f.typ, "type", true)
	if rj != nil {
		return nil, rj
	}
	if hasUpper(typ) {
		typ = strings.ToLower(typ)
	}
	name, rj := d.optString(f.event, "event", true)
	if rj != nil {
		return nil, rj
	}
	switch typ {
	case "":
		// Not a Segment call type: a message with an event name is a track.
		if name == "" {
			return nil, reject(ReasonMissingEvent, "no event name: fields \"type\" and \"event\" are both absent or empty")
		}
		typ = "track"
	case "track":
		if name == "" {
			return nil, reject(ReasonMissingEvent, "track call without an event name (field \"event\")")
		}
	case "page", "screen":
		n, rj := d.optString(f.name, "name", true)
		if rj != nil {
			return nil, rj
		}
		switch {
		case n != "":
			name = n
		case name == "":
			name = typ
		}
	default:
		// identify, group, alias and other calls: the call type names the event.
		if name == "" {
			name = typ
		}
	}

	user, rj := d.optString(f.userID, "userId", false)
	if rj != nil {
		return nil, rj
	}
	if user == "" {
		if user, rj = d.optString(f.anonID, "anonymousId", false); rj != nil {
			return nil, rj
		}
	}
	if user == "" {
		return nil, reject(ReasonMissingUserKey, "no user key: fields \"userId\" and \"anonymousId\" are both absent or empty")
	}

	tsv := f.timestamp
	if tsv == nil || tsv.Type() == fastjson.TypeNull {
		return nil, reject(ReasonMissingTS, "no field \"timestamp\"")
	}
	tsb, err := tsv.StringBytes()
	if err != nil {
		return nil, reject(ReasonBadTS, "field \"timestamp\" is a JSON %s, want an RFC 3339 string", tsv.Type())
	}
	ms, ok := parseTimestamp(tsb)
	if !ok {
		return nil, reject(ReasonBadTS, "cannot parse timestamp %q as RFC 3339", truncate(string(tsb), 64))
	}
	if ms < minTS || ms >= maxTS {
		return nil, reject(ReasonTSOutOfRange, "timestamp %q is outside [1970-01-01, 2106-01-01)", truncate(string(tsb), 64))
	}

	id, rj := d.optString(f.messageID, "messageId", false)
	if rj != nil {
		return nil, rj
	}
	if id == "" {
		id = hashID(src)
	}

	*ev = sink.Event{
		EventID:   id,
		Type:      typ,
		Event:     name,
		UserKey:   user,
		TSMillis:  ms,
		Topic:     src.topic,
		Partition: src.partition,
		Offset:    src.offset,
	}
	props := f.properties
	if props != nil && props.Type() != fastjson.TypeObject {
		props = nil
	}
	if ctx := f.context; ctx != nil && ctx.Type() == fastjson.TypeObject {
		d.context(ctx, ev)
	}
	if props != nil {
		if ev.SessionID == "" {
			ev.SessionID = d.text(props.Get("session_id"), false)
		}
		if ev.URL == "" {
			ev.URL = d.text(props.Get("url"), false)
		}
		if ev.Path == "" {
			ev.Path = d.text(props.Get("path"), false)
		}
		if ev.Referrer == "" {
			ev.Referrer = d.text(props.Get("referrer"), false)
		}
		d.buf = appendJSON(d.buf[:0], props)
		if d.borrow {
			ev.Properties = unsafe.String(unsafe.SliceData(d.buf), len(d.buf))
		} else {
			ev.Properties = string(d.buf)
		}
	}
	return doc, nil
}

// context reads the normalized fields of the context object in one pass.
func (d *segmentDecoder) context(ctx *fastjson.Value, ev *sink.Event) {
	o, _ := ctx.Object()
	var session, page, campaign, device, location *fastjson.Value
	o.Visit(func(key []byte, v *fastjson.Value) {
		var dst **fastjson.Value
		switch string(key) {
		case "session_id":
			dst = &session
		case "page":
			dst = &page
		case "campaign":
			dst = &campaign
		case "device":
			dst = &device
		case "location":
			dst = &location
		default:
			return
		}
		if *dst == nil {
			*dst = v
		}
	})
	ev.SessionID = d.text(session, false)
	if page != nil && page.Type() == fastjson.TypeObject {
		ev.URL = d.text(page.Get("url"), false)
		ev.Path = d.text(page.Get("path"), false)
		ev.Referrer = d.text(page.Get("referrer"), false)
	}
	if campaign != nil && campaign.Type() == fastjson.TypeObject {
		ev.UTM = sink.UTM{
			Source:   d.text(campaign.Get("source"), true),
			Medium:   d.text(campaign.Get("medium"), true),
			Campaign: d.text(campaign.Get("name"), true),
			Term:     d.text(campaign.Get("term"), false),
			Content:  d.text(campaign.Get("content"), false),
		}
	}
	if device != nil && device.Type() == fastjson.TypeObject {
		ev.Device = d.text(device.Get("type"), true)
	}
	if location != nil && location.Type() == fastjson.TypeObject {
		ev.Country = d.text(location.Get("country"), true)
	}
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return true
		}
	}
	return false
}

// optString reads an optional top-level identifier field: a string, or a
// number taken as its JSON text; null and absent give "". Anything else is a
// bad field.
func (d *segmentDecoder) optString(v *fastjson.Value, key string, intern bool) (string, *Rejection) {
	if v == nil {
		return "", nil
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return d.str(b, intern), nil
	case fastjson.TypeNumber:
		return v.String(), nil
	case fastjson.TypeNull:
		return "", nil
	default:
		return "", reject(ReasonBadField, "field %q is a JSON %s, want a string", key, v.Type())
	}
}

// text renders a scalar for a normalized column: strings as they are,
// numbers and booleans as their JSON text, anything else as "".
func (d *segmentDecoder) text(v *fastjson.Value, intern bool) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return d.str(b, intern)
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return v.String()
	}
	return ""
}

// hashID is the event id of a message without messageId: the same message
// (topic, partition, offset) always gets the same id, so a re-delivery is
// recognised as a duplicate.
func hashID(src source) string {
	h := sha256.New()
	var b [32]byte
	buf := append(b[:0], src.topic...)
	buf = append(buf, '/')
	buf = strconv.AppendInt(buf, int64(src.partition), 10)
	buf = append(buf, '/')
	buf = strconv.AppendInt(buf, src.offset, 10)
	h.Write(buf)
	sum := h.Sum(nil)
	return "k" + hex.EncodeToString(sum[:16])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Do not cut a UTF-8 sequence in half.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// HashID is the event id given to the index-th event of a message without
// an id of its own: the same message always gives the same ids.
func HashID(src Source, index int) string {
	if index == 0 {
		return hashID(source{topic: src.Topic, partition: src.Partition, offset: src.Offset})
	}
	return hashID(source{topic: src.Topic + "#" + strconv.Itoa(index), partition: src.Partition, offset: src.Offset})
}
