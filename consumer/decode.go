package consumer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/rules"
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
)

// Reasons lists every rejection reason (for metrics initialisation and docs).
var Reasons = []string{ReasonEmpty, ReasonTooLarge, ReasonInvalidUTF8, ReasonInvalidJSON, ReasonNotObject,
	ReasonBadField, ReasonMissingEvent, ReasonMissingUserKey, ReasonMissingTS, ReasonBadTS, ReasonTSOutOfRange}

// Rejection says why a message cannot become an event.
type Rejection struct {
	Reason string // one of the Reason* codes
	Detail string // what exactly was wrong, quoting the input
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
	if doc.Type() != fastjson.TypeObject {
		return nil, reject(ReasonNotObject, "message is a JSON %s, not an object", doc.Type())
	}

	// The objects the normalized fields come from must be objects when present.
	for _, k := range [...]string{"properties", "context"} {
		if v := doc.Get(k); v != nil && v.Type() != fastjson.TypeObject && v.Type() != fastjson.TypeNull {
			return nil, reject(ReasonBadField, "field %q is a JSON %s, want an object", k, v.Type())
		}
	}

	typ, rj := optString(doc, "type")
	if rj != nil {
		return nil, rj
	}
	typ = strings.ToLower(typ)
	name, rj := optString(doc, "event")
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
		n, rj := optString(doc, "name")
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

	user, rj := optString(doc, "userId")
	if rj != nil {
		return nil, rj
	}
	if user == "" {
		if user, rj = optString(doc, "anonymousId"); rj != nil {
			return nil, rj
		}
	}
	if user == "" {
		return nil, reject(ReasonMissingUserKey, "no user key: fields \"userId\" and \"anonymousId\" are both absent or empty")
	}

	tsv := doc.Get("timestamp")
	if tsv == nil || tsv.Type() == fastjson.TypeNull {
		return nil, reject(ReasonMissingTS, "no field \"timestamp\"")
	}
	tsb, err := tsv.StringBytes()
	if err != nil {
		return nil, reject(ReasonBadTS, "field \"timestamp\" is a JSON %s, want an RFC 3339 string", tsv.Type())
	}
	ts, err := time.Parse(time.RFC3339Nano, string(tsb))
	if err != nil {
		return nil, reject(ReasonBadTS, "cannot parse timestamp %q as RFC 3339", truncate(string(tsb), 64))
	}
	ms := ts.UnixMilli()
	if ms < minTS || ms >= maxTS {
		return nil, reject(ReasonTSOutOfRange, "timestamp %q is outside [1970-01-01, 2106-01-01)", truncate(string(tsb), 64))
	}

	id, rj := optString(doc, "messageId")
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
	ctx := doc.Get("context")
	props := doc.Get("properties")
	ev.SessionID = firstText(ctx, props, "session_id")
	ev.URL = firstText2(ctx, "page", props, "url")
	ev.Path = firstText2(ctx, "page", props, "path")
	ev.Referrer = firstText2(ctx, "page", props, "referrer")
	if camp := getObj(ctx, "campaign"); camp != nil {
		ev.UTM = sink.UTM{
			Source:   text(camp.Get("source")),
			Medium:   text(camp.Get("medium")),
			Campaign: text(camp.Get("name")),
			Term:     text(camp.Get("term")),
			Content:  text(camp.Get("content")),
		}
	}
	if dev := getObj(ctx, "device"); dev != nil {
		ev.Device = text(dev.Get("type"))
	}
	if loc := getObj(ctx, "location"); loc != nil {
		ev.Country = text(loc.Get("country"))
	}
	if props != nil && props.Type() == fastjson.TypeObject {
		d.buf = props.MarshalTo(d.buf[:0])
		ev.Properties = string(d.buf)
	}
	return doc, nil
}

// optString reads an optional top-level identifier field: a string, or a
// number taken as its JSON text; null and absent give "". Anything else is a
// bad field.
func optString(doc *fastjson.Value, key string) (string, *Rejection) {
	v := doc.Get(key)
	if v == nil {
		return "", nil
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b), nil
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
func text(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return v.String()
	}
	return ""
}

func getObj(v *fastjson.Value, key string) *fastjson.Value {
	if v == nil {
		return nil
	}
	o := v.Get(key)
	if o == nil || o.Type() != fastjson.TypeObject {
		return nil
	}
	return o
}

// firstText returns the first non-empty a.key, b.key.
func firstText(a, b *fastjson.Value, key string) string {
	for _, o := range [...]*fastjson.Value{a, b} {
		if o != nil && o.Type() == fastjson.TypeObject {
			if s := text(o.Get(key)); s != "" {
				return s
			}
		}
	}
	return ""
}

// firstText2 returns ctx.sub.key if non-empty, else props.key.
func firstText2(ctx *fastjson.Value, sub string, props *fastjson.Value, key string) string {
	if s := text(getObj(ctx, sub).Get(key)); s != "" {
		return s
	}
	if props != nil && props.Type() == fastjson.TypeObject {
		return text(props.Get(key))
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

// Decoder turns raw messages into events exactly as the consumer does (for
// tools such as `rules test`). It is not safe for concurrent use.
type Decoder struct {
	d segmentDecoder
}

// NewDecoder returns a Segment decoder; messages larger than maxBytes are
// rejected (0: no limit).
func NewDecoder(maxBytes int) *Decoder { return &Decoder{d: segmentDecoder{maxBytes: maxBytes}} }

// Decode fills ev from raw, as read from topic/partition/offset, and returns
// what the rules see of it (its Doc is valid until the next call), or the
// *Rejection that says why the message would be rejected.
func (d *Decoder) Decode(raw []byte, topic string, partition int32, offset int64, ev *sink.Event) (rules.Event, error) {
	doc, rj := d.d.decode(raw, source{topic: topic, partition: partition, offset: offset}, ev)
	if rj != nil {
		return rules.Event{}, rj
	}
	return rules.Event{Type: ev.Type, Name: ev.Event, Doc: doc}, nil
}
