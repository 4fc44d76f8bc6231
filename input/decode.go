package input

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

	"github.com/microconv/microconv/internal/rawjson"
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
	pp       fastjson.Parser // properties that must be re-written (fast path)
	buf      []byte
	arena    []byte // unescaped strings of the fast path, reset per message
	tape     rawjson.Tape
	fvs      [nFields]*fastjson.Value // the slots of the fastjson path
	intern   interner
	// borrow: strings that are not interned point into the parser's memory
	// instead of being copied; they are valid until the next decode. The
	// consumer's workers copy each row into the batch before decoding the
	// next message, so they borrow and allocate nothing per event.
	borrow bool
	// slow disables the fast path (tests compare the two).
	slow bool
}

// maxInterned bounds the strings a decoder keeps for reuse.
const maxInterned = 8192

// interner keeps one copy of each low-cardinality string (event names,
// types, campaigns, devices, countries), so that a stream of them
// allocates nothing after the first occurrence; at most maxInterned.
type interner struct{ m map[string]string }

func (in *interner) str(b []byte) string {
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string, 256)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

// str returns b as a string, interned when asked.
func (d *segmentDecoder) str(b []byte, intern bool) string {
	switch {
	case len(b) == 0:
		return ""
	case d.borrow:
		// A view costs nothing: interning would only add a map lookup.
		return unsafe.String(unsafe.SliceData(b), len(b))
	case intern:
		return d.intern.str(b)
	}
	return string(b)
}

// jfield is a JSON value of a message, as read by either path: fastjson's
// tree (fv) or rawjson's text (raw). Both nil: absent.
type jfield struct {
	fv   *fastjson.Value
	raw  []byte
	node rawjson.Node // raw's place on the decoder's tape, when recorded
}

func (f jfield) present() bool { return f.fv != nil || f.raw != nil }

func (f jfield) typ() fastjson.Type {
	if f.fv != nil {
		return f.fv.Type()
	}
	return rawjson.Type(f.raw)
}

// stringBytes returns the unescaped bytes of a JSON string.
func (d *segmentDecoder) stringBytes(f jfield) []byte {
	if f.fv != nil {
		b, _ := f.fv.StringBytes()
		return b
	}
	if f.node.Valid() && f.node.Plain() {
		return f.raw[1 : len(f.raw)-1] // no escapes: the content as it is
	}
	var b []byte
	b, d.arena = rawjson.String(d.arena, f.raw)
	return b
}

// numberText returns the text of a JSON number or boolean.
func (d *segmentDecoder) numberText(f jfield) string {
	if f.fv != nil {
		return f.fv.String()
	}
	return d.str(f.raw, false)
}

// Field slots: every value the Segment decoder reads, found in one pass
// over the document. Under each object the first occurrence of a key wins
// (as with fastjson's Get, which the rules use), and an object's members
// are read only when it is an object.
const (
	fType = iota
	fEvent
	fName
	fUserID
	fAnonID
	fTimestamp
	fMessageID
	fContext
	fProperties
	fCtxSession // context.session_id
	fCtxPage
	fCtxCampaign
	fCtxDevice
	fCtxLocation
	fPageURL // context.page.url
	fPagePath
	fPageReferrer
	fUTMSource // context.campaign.source
	fUTMMedium
	fUTMCampaign
	fUTMTerm
	fUTMContent
	fDevice  // context.device.type
	fCountry // context.location.country
	fPropURL // properties.url
	fPropPath
	fPropReferrer
	fPropSession
	nFields

	fRoot = -1 // the parent of the top-level members
)

// slotOf is the slot of the member key of the object in slot parent, or
// -1 when the decoder does not read it.
func slotOf(parent int, key []byte) int {
	switch parent {
	case fRoot:
		switch string(key) {
		case "type":
			return fType
		case "event":
			return fEvent
		case "name":
			return fName
		case "userId":
			return fUserID
		case "anonymousId":
			return fAnonID
		case "timestamp":
			return fTimestamp
		case "messageId":
			return fMessageID
		case "context":
			return fContext
		case "properties":
			return fProperties
		}
	case fContext:
		switch string(key) {
		case "session_id":
			return fCtxSession
		case "page":
			return fCtxPage
		case "campaign":
			return fCtxCampaign
		case "device":
			return fCtxDevice
		case "location":
			return fCtxLocation
		}
	case fCtxPage, fProperties:
		base := fPageURL
		if parent == fProperties {
			base = fPropURL
		}
		switch string(key) {
		case "url":
			return base
		case "path":
			return base + 1
		case "referrer":
			return base + 2
		case "session_id":
			if parent == fProperties {
				return fPropSession
			}
		}
	case fCtxCampaign:
		switch string(key) {
		case "source":
			return fUTMSource
		case "medium":
			return fUTMMedium
		case "name":
			return fUTMCampaign
		case "term":
			return fUTMTerm
		case "content":
			return fUTMContent
		}
	case fCtxDevice:
		if string(key) == "type" {
			return fDevice
		}
	case fCtxLocation:
		if string(key) == "country" {
			return fCountry
		}
	}
	return -1
}

// hasSlots reports whether the decoder reads members of the object in slot s.
func hasSlots(s int) bool {
	switch s {
	case fContext, fProperties, fCtxPage, fCtxCampaign, fCtxDevice, fCtxLocation:
		return true
	}
	return false
}

// fields are the values of the slots: tape entries (fast path) or
// fastjson values.
type fields struct {
	tape *rawjson.Tape
	at   [nFields]int32 // tape entry + 1; 0: absent
	fv   *[nFields]*fastjson.Value
}

// get returns the value in slot s (absent: not present()).
func (f *fields) get(s int) jfield {
	if f.fv != nil {
		if v := f.fv[s]; v != nil {
			return jfield{fv: v}
		}
		return jfield{}
	}
	if f.at[s] == 0 {
		return jfield{}
	}
	n := f.tape.Node(int(f.at[s] - 1))
	return jfield{raw: n.Value(), node: n}
}

// walkTape fills the slots under the taped object n (slot parent).
func (f *fields) walkTape(n rawjson.Node, parent int) {
	for it := n.Members(); ; {
		key, c, ok := it.Next()
		if !ok {
			return
		}
		s := slotOf(parent, key)
		if s < 0 || f.at[s] != 0 {
			continue
		}
		f.at[s] = int32(c.Index() + 1)
		if hasSlots(s) {
			f.walkTape(c, s) // yields nothing unless c is an object
		}
	}
}

// walkDoc fills the slots under the fastjson object o (slot parent).
func (f *fields) walkDoc(o *fastjson.Object, parent int) {
	o.Visit(func(key []byte, v *fastjson.Value) {
		s := slotOf(parent, key)
		if s < 0 || f.fv[s] != nil {
			return
		}
		f.fv[s] = v
		if hasSlots(s) && v.Type() == fastjson.TypeObject {
			c, _ := v.Object()
			f.walkDoc(c, s)
		}
	})
}

// plainString returns the content of the string in slot s when it is on
// the tape without escapes (the common case, read without a jfield);
// absent is true when the tape has no value in slot s.
func (f *fields) plainString(s int) (b []byte, ok, absent bool) {
	if f.fv != nil {
		return nil, false, false
	}
	if f.at[s] == 0 {
		return nil, false, true
	}
	n := f.tape.Node(int(f.at[s] - 1))
	if v := n.Value(); len(v) >= 2 && v[0] == '"' && n.Plain() {
		return v[1 : len(v)-1], true, false
	}
	return nil, false, false
}

// slotText is textField of slot s.
func (d *segmentDecoder) slotText(f *fields, s int, intern bool) string {
	b, ok, absent := f.plainString(s)
	switch {
	case ok:
		return d.str(b, intern)
	case absent:
		return ""
	}
	return d.textField(f.get(s), intern)
}

// slotOpt is optField of slot s.
func (d *segmentDecoder) slotOpt(f *fields, s int, key string, intern bool) (string, *Rejection) {
	b, ok, absent := f.plainString(s)
	switch {
	case ok:
		return d.str(b, intern), nil
	case absent:
		return "", nil
	}
	return d.optField(f.get(s), key, intern)
}

// scan is the fast path: one strict pass over raw (rawjson) that validates
// it, records its objects' members on d's tape, then the slots from the
// tape. ok is false when raw is not an object rawjson accepts, or not
// valid UTF-8; the caller then checks and parses it with fastjson, which
// decides.
func (d *segmentDecoder) scan(raw []byte, f *fields) (obj []byte, ok bool) {
	var sc rawjson.Scanner
	start := rawjson.SkipWS(raw, 0)
	if start >= len(raw) || raw[start] != '{' {
		return nil, false
	}
	end, ok := sc.SkipTape(raw, start, &d.tape)
	if !ok || rawjson.SkipWS(raw, end) != len(raw) || sc.High && !utf8.Valid(raw) {
		return nil, false
	}
	f.tape = &d.tape
	f.walkTape(d.tape.Node(rawjson.Root), fRoot)
	return raw[start:end], true
}

// decode fills ev from raw and sets what the rules read of it in rev (its
// text, or its fastjson parse), or returns why the message is rejected.
func (d *segmentDecoder) decode(raw []byte, src source, ev *sink.Event, rev *rules.Event) *Rejection {
	if len(raw) == 0 {
		return reject(ReasonEmpty, "empty message")
	}
	if d.maxBytes > 0 && len(raw) > d.maxBytes {
		return reject(ReasonTooLarge, "message of %d bytes exceeds the limit of %d bytes", len(raw), d.maxBytes)
	}
	d.arena = d.arena[:0]
	var f fields
	var obj []byte
	fast := false
	if !d.slow {
		// Text the fast path accepts is valid UTF-8 without raw control
		// characters in strings: validText would pass it.
		obj, fast = d.scan(raw, &f)
	}
	if fast {
		rev.Reset(obj, &d.tape)
	} else {
		if !validText(raw) {
			if !utf8.Valid(raw) {
				return reject(ReasonInvalidUTF8, "message is not valid UTF-8")
			}
			return reject(ReasonInvalidJSON, "cannot parse JSON: a string holds a raw control character (RFC 8259 requires it escaped)")
		}
		doc, err := d.p.ParseBytes(raw)
		if err != nil {
			return reject(ReasonInvalidJSON, "cannot parse JSON: %s", truncate(strings.TrimPrefix(err.Error(), "cannot parse JSON: "), 200))
		}
		o, err := doc.Object()
		if err != nil {
			return reject(ReasonNotObject, "message is a JSON %s, not an object", doc.Type())
		}
		clear(d.fvs[:])
		f = fields{fv: &d.fvs}
		f.walkDoc(o, fRoot)
		rev.Reset(nil, nil)
		rev.Doc = doc
	}
	if rj := d.fill(&f, src, ev); rj != nil {
		rev.Reset(nil, nil)
		return rj
	}
	rev.Type, rev.Name = ev.Type, ev.Event
	return nil
}

// fill reads the event from the slots.
func (d *segmentDecoder) fill(f *fields, src source, ev *sink.Event) *Rejection {
	// The objects the normalized fields come from must be objects when present.
	props, ctx := f.get(fProperties), f.get(fContext)
	for _, c := range [...]struct {
		k string
		v jfield
	}{{"properties", props}, {"context", ctx}} {
		if c.v.present() && c.v.typ() != fastjson.TypeObject && c.v.typ() != fastjson.TypeNull {
			return reject(ReasonBadField, "field %q is a JSON %s, want an object", c.k, c.v.typ())
		}
	}

	typ, rj := d.slotOpt(f, fType, "type", true)
	if rj != nil {
		return rj
	}
	if hasUpper(typ) {
		typ = strings.ToLower(typ)
	}
	name, rj := d.slotOpt(f, fEvent, "event", true)
	if rj != nil {
		return rj
	}
	switch typ {
	case "":
		// Not a Segment call type: a message with an event name is a track.
		if name == "" {
			return reject(ReasonMissingEvent, "no event name: fields \"type\" and \"event\" are both absent or empty")
		}
		typ = "track"
	case "track":
		if name == "" {
			return reject(ReasonMissingEvent, "track call without an event name (field \"event\")")
		}
	case "page", "screen":
		n, rj := d.slotOpt(f, fName, "name", true)
		if rj != nil {
			return rj
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

	user, rj := d.slotOpt(f, fUserID, "userId", false)
	if rj != nil {
		return rj
	}
	if user == "" {
		if user, rj = d.slotOpt(f, fAnonID, "anonymousId", false); rj != nil {
			return rj
		}
	}
	if user == "" {
		return reject(ReasonMissingUserKey, "no user key: fields \"userId\" and \"anonymousId\" are both absent or empty")
	}

	tsv := f.get(fTimestamp)
	if !tsv.present() || tsv.typ() == fastjson.TypeNull {
		return reject(ReasonMissingTS, "no field \"timestamp\"")
	}
	if tsv.typ() != fastjson.TypeString {
		return reject(ReasonBadTS, "field \"timestamp\" is a JSON %s, want an RFC 3339 string", tsv.typ())
	}
	tsb := d.stringBytes(tsv)
	ms, ok := parseTimestamp(tsb)
	if !ok {
		return reject(ReasonBadTS, "cannot parse timestamp %q as RFC 3339", truncate(string(tsb), 64))
	}
	if ms < minTS || ms >= maxTS {
		return reject(ReasonTSOutOfRange, "timestamp %q is outside [1970-01-01, 2106-01-01)", truncate(string(tsb), 64))
	}

	id, rj := d.slotOpt(f, fMessageID, "messageId", false)
	if rj != nil {
		return rj
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
	// The slots under context and properties are empty unless they are
	// objects (the walks only enter objects).
	ev.SessionID = d.slotText(f, fCtxSession, false)
	ev.URL = d.slotText(f, fPageURL, false)
	ev.Path = d.slotText(f, fPagePath, false)
	ev.Referrer = d.slotText(f, fPageReferrer, false)
	ev.UTM = sink.UTM{
		Source:   d.slotText(f, fUTMSource, true),
		Medium:   d.slotText(f, fUTMMedium, true),
		Campaign: d.slotText(f, fUTMCampaign, true),
		Term:     d.slotText(f, fUTMTerm, false),
		Content:  d.slotText(f, fUTMContent, false),
	}
	ev.Device = d.slotText(f, fDevice, true)
	ev.Country = d.slotText(f, fCountry, true)
	if props.present() && props.typ() == fastjson.TypeObject {
		if ev.SessionID == "" {
			ev.SessionID = d.slotText(f, fPropSession, false)
		}
		if ev.URL == "" {
			ev.URL = d.slotText(f, fPropURL, false)
		}
		if ev.Path == "" {
			ev.Path = d.slotText(f, fPropPath, false)
		}
		if ev.Referrer == "" {
			ev.Referrer = d.slotText(f, fPropReferrer, false)
		}
		ev.Properties = d.propertiesText(props)
	}
	return nil
}

// propertiesText is the JSON text stored in events.properties: compact,
// strings re-quoted (appendJSON). Text from the fast path that is already
// in that form (the tape marks it Plain: no whitespace outside strings, no
// escapes) is used as it is.
func (d *segmentDecoder) propertiesText(props jfield) string {
	if props.node.Valid() && props.node.Plain() {
		return d.str(props.raw, false)
	}
	v := props.fv
	if v == nil {
		var err error
		if v, err = d.pp.ParseBytes(props.raw); err != nil {
			return "" // not reached: rawjson accepted the text
		}
	}
	d.buf = appendJSON(d.buf[:0], v)
	return d.str(d.buf, false)
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
func (d *segmentDecoder) optField(v jfield, key string, intern bool) (string, *Rejection) {
	if !v.present() {
		return "", nil
	}
	switch t := v.typ(); t {
	case fastjson.TypeString:
		return d.str(d.stringBytes(v), intern), nil
	case fastjson.TypeNumber:
		return d.numberText(v), nil
	case fastjson.TypeNull:
		return "", nil
	default:
		return "", reject(ReasonBadField, "field %q is a JSON %s, want a string", key, t)
	}
}

// text renders a scalar for a normalized column: strings as they are,
// numbers and booleans as their JSON text, anything else as "".
func (d *segmentDecoder) textField(v jfield, intern bool) string {
	if !v.present() {
		return ""
	}
	switch v.typ() {
	case fastjson.TypeString:
		return d.str(d.stringBytes(v), intern)
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return d.numberText(v)
	}
	return ""
}

// optString and text are optField and textField for fastjson values.
func (d *segmentDecoder) optString(v *fastjson.Value, key string, intern bool) (string, *Rejection) {
	return d.optField(jfield{fv: v}, key, intern)
}

func (d *segmentDecoder) text(v *fastjson.Value, intern bool) string {
	return d.textField(jfield{fv: v}, intern)
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
