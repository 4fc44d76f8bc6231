package input

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// mappingFormat decodes messages with a mapping. It keeps a parser, an
// arena for per-event documents and interned strings between calls: one
// per goroutine.
//
// A message is accepted or rejected as a whole. Checks, in order:
//
//  1. the message: empty, too_large, invalid_utf8, invalid_json, not_object;
//  2. with `events`: the array — absent, null or empty is missing_event, not
//     an array bad_field — and each element must be an object (bad_field);
//  3. each event in turn, its fields in this order: properties (an object,
//     else bad_field), type, event (bad_field, then missing_event),
//     user_key (bad_field, then missing_user_key), timestamp
//     (missing_timestamp, bad_timestamp, timestamp_out_of_range), event_id,
//     then session_id, url, path, referrer, utm_*, device, country
//     (bad_field).
//
// A value is "empty" when absent, null or "": the next path is tried. A
// value found is used as it is: an object or array where a string belongs
// is bad_field, naming the path, even when a later path would hold one.
type mappingFormat struct {
	m        *mapping
	maxBytes int
	p        fastjson.Parser
	arena    fastjson.Arena
	intern   interner
	buf      []byte // properties JSON, numbers' text
	idBuf    []byte
	// The last value each field was read from, and the text it gave: the
	// events of one message share the message's fields (user key, device,
	// country …), which are then converted once. Cleared per message, as
	// the parser reuses its values.
	lastV [numMappingFields]*fastjson.Value
	lastS [numMappingFields]string
}

func newMappingFormat(m *mapping, maxBytes int) *mappingFormat {
	return &mappingFormat{m: m, maxBytes: maxBytes}
}

// str returns b as a string, interned when asked.
func (f *mappingFormat) str(b []byte, intern bool) string {
	switch {
	case len(b) == 0:
		return ""
	case intern:
		return f.intern.str(b)
	}
	return string(b)
}

// mappingEvent is where one event's fields are read.
type mappingEvent struct {
	doc   *fastjson.Value // the document paths resolve against (and rules see)
	elem  *fastjson.Value // the element of `events`; nil for a single-event message
	index int
	array string // the events path, for rejection details; "" for a single-event message
}

// label prefixes rejection details: "events.2: " for an element of events.
func (ev *mappingEvent) label() string {
	if ev.array == "" {
		return ""
	}
	return ev.array + "." + strconv.Itoa(ev.index) + ": "
}

func (f *mappingFormat) Decode(raw []byte, src Source, dst []Decoded) ([]Decoded, *Rejection) {
	dst = dst[:0]
	if len(raw) == 0 {
		return dst, reject(ReasonEmpty, "empty message")
	}
	if f.maxBytes > 0 && len(raw) > f.maxBytes {
		return dst, reject(ReasonTooLarge, "message of %d bytes exceeds the limit of %d bytes", len(raw), f.maxBytes)
	}
	if !validText(raw) {
		if !utf8.Valid(raw) {
			return dst, reject(ReasonInvalidUTF8, "message is not valid UTF-8")
		}
		return dst, reject(ReasonInvalidJSON, "cannot parse JSON: a string holds a raw control character (RFC 8259 requires it escaped)")
	}
	doc, err := f.p.ParseBytes(raw)
	if err != nil {
		return dst, reject(ReasonInvalidJSON, "cannot parse JSON: %s", truncate(strings.TrimPrefix(err.Error(), "cannot parse JSON: "), 200))
	}
	msg, err := doc.Object()
	if err != nil {
		return dst, reject(ReasonNotObject, "message is a JSON %s, not an object", doc.Type())
	}
	clear(f.lastV[:])
	m := f.m
	if !m.multi {
		dst = append(dst, Decoded{})
		if rj := f.event(mappingEvent{doc: doc}, src, &dst[0].Event); rj != nil {
			return dst[:0], rj
		}
		dst[0].Rule = rules.Event{Type: dst[0].Event.Type, Name: dst[0].Event.Event, Doc: doc}
		return dst, nil
	}

	arr := doc.Get(m.events.segs...)
	if arr == nil || arr.Type() == fastjson.TypeNull {
		return dst, reject(ReasonMissingEvent, "no events: path %q is absent", m.events.text)
	}
	elems, err := arr.Array()
	if err != nil {
		return dst, reject(ReasonBadField, "path %q is a JSON %s, want an array of events", m.events.text, arr.Type())
	}
	if len(elems) == 0 {
		return dst, reject(ReasonMissingEvent, "no events: the array at %q is empty", m.events.text)
	}
	for i, e := range elems {
		if e.Type() != fastjson.TypeObject {
			return dst, reject(ReasonBadField, "%s.%d is a JSON %s, want an object", m.events.text, i, e.Type())
		}
	}
	f.arena.Reset()
	for i, e := range elems {
		dst = append(dst, Decoded{})
		d := &dst[len(dst)-1]
		ev := mappingEvent{doc: f.eventDoc(msg, e), elem: e, index: i, array: m.events.text}
		if rj := f.event(ev, src, &d.Event); rj != nil {
			return dst[:0], rj
		}
		d.Rule = rules.Event{Type: d.Event.Type, Name: d.Event.Event, Doc: ev.doc}
	}
	return dst, nil
}

// eventDoc builds the document of one element of `events`: the element's
// keys, then the message's top-level keys that the element does not have
// (but the events array's own). Values are shared, not copied; the
// document lives in the arena until the next message.
func (f *mappingFormat) eventDoc(msg *fastjson.Object, elem *fastjson.Value) *fastjson.Value {
	doc := f.arena.NewObject()
	o, _ := doc.Object()
	eo, _ := elem.Object()
	eo.Visit(func(k []byte, v *fastjson.Value) {
		if ks := b2sMapping(k); o.Get(ks) == nil { // the first of duplicate keys wins, as with Get
			o.Set(ks, v)
		}
	})
	skip := f.m.docSkip
	msg.Visit(func(k []byte, v *fastjson.Value) {
		if ks := b2sMapping(k); ks != skip && o.Get(ks) == nil {
			o.Set(ks, v)
		}
	})
	return doc
}

// b2sMapping views a key of a parsed object as a string: the bytes are the
// parser's, valid as long as the document.
func b2sMapping(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// lookup returns the first non-empty value of spec's paths in doc, and the
// path it was found at.
func lookup(spec *fieldSpec, doc *fastjson.Value) (*fastjson.Value, *mappingPath) {
	for i := range spec.paths {
		p := &spec.paths[i]
		v := doc.Get(p.segs...)
		if v == nil {
			continue
		}
		switch v.Type() {
		case fastjson.TypeNull:
			continue
		case fastjson.TypeString:
			if b, _ := v.StringBytes(); len(b) == 0 {
				continue
			}
		}
		return v, p
	}
	return nil, nil
}

// text resolves a scalar field: the value of the first non-empty path
// (strings as they are, numbers as their JSON text, bools — but for
// identifiers — as true/false), translated by map/default, or the const, or
// the default; "" when nothing gives one.
func (f *mappingFormat) text(id mappingField, ev *mappingEvent) (string, *mappingPath, *Rejection) {
	spec := &f.m.fields[id]
	if spec.hasConst {
		return spec.konst, nil, nil
	}
	v, p := lookup(spec, ev.doc)
	if v == nil {
		return spec.def, nil, nil
	}
	if v == f.lastV[id] {
		return f.lastS[id], p, nil
	}
	s, rj := f.convert(id, spec, v, p, ev)
	if rj == nil {
		f.lastV[id], f.lastS[id] = v, s
	}
	return s, p, rj
}

// convert is text's conversion of the value v found at p.
func (f *mappingFormat) convert(id mappingField, spec *fieldSpec, v *fastjson.Value, p *mappingPath, ev *mappingEvent) (string, *Rejection) {
	var b []byte
	switch v.Type() {
	case fastjson.TypeString:
		b, _ = v.StringBytes()
	case fastjson.TypeNumber:
		f.buf = v.MarshalTo(f.buf[:0])
		b = f.buf
	case fastjson.TypeTrue, fastjson.TypeFalse:
		if !mappingIdent[id] {
			f.buf = v.MarshalTo(f.buf[:0])
			b = f.buf
			break
		}
		fallthrough
	default:
		want := "a string, number or bool"
		if mappingIdent[id] {
			want = "a string or number"
		}
		return "", reject(ReasonBadField, "%sfield %q: path %q holds a JSON %s, want %s", ev.label(), mappingFieldNames[id], p.text, v.Type(), want)
	}
	if spec.valueMap != nil {
		if to, ok := spec.valueMap[string(b)]; ok {
			return to, nil
		}
		if spec.hasDef {
			return spec.def, nil
		}
	}
	return f.str(b, mappingInterned[id]), nil
}

// event fills out with the fields of one event, or says why the message is
// rejected.
func (f *mappingFormat) event(ev mappingEvent, src Source, out *sink.Event) *Rejection {
	m := f.m
	var props string
	if spec := &m.fields[mfProperties]; spec.set {
		for i := range spec.paths {
			p := &spec.paths[i]
			v := ev.doc.Get(p.segs...)
			if v == nil || v.Type() == fastjson.TypeNull {
				continue
			}
			if v.Type() != fastjson.TypeObject {
				return reject(ReasonBadField, "%sfield \"properties\": path %q holds a JSON %s, want an object", ev.label(), p.text, v.Type())
			}
			f.buf = appendJSON(f.buf[:0], v)
			props = string(f.buf)
			break
		}
	}

	typ, _, rj := f.text(mfType, &ev)
	if rj != nil {
		return rj
	}
	switch {
	case typ == "":
		typ = "track"
	case hasUpper(typ):
		typ = f.str([]byte(strings.ToLower(typ)), true)
	}
	name, _, rj := f.text(mfEvent, &ev)
	if rj != nil {
		return rj
	}
	if name == "" {
		return reject(ReasonMissingEvent, "%sno event name: %s", ev.label(), f.absent(mfEvent))
	}
	user, _, rj := f.text(mfUserKey, &ev)
	if rj != nil {
		return rj
	}
	if user == "" {
		return reject(ReasonMissingUserKey, "%sno user key: %s", ev.label(), f.absent(mfUserKey))
	}

	spec := &m.fields[mfTimestamp]
	tsv, tsp := lookup(spec, ev.doc)
	if tsv == nil {
		return reject(ReasonMissingTS, "%sno timestamp: %s", ev.label(), f.absent(mfTimestamp))
	}
	ms, res, buf := mappedTimestamp(tsv, spec.format, f.buf)
	f.buf = buf
	switch res {
	case tsBad:
		if t := tsv.Type(); t != fastjson.TypeString && (t != fastjson.TypeNumber || spec.format == tsRFC3339) {
			want := "a number or numeric string"
			switch spec.format {
			case tsRFC3339:
				want = "an RFC 3339 string"
			case tsAuto:
				want = "a number or string"
			}
			return reject(ReasonBadTS, "%sfield \"timestamp\": path %q holds a JSON %s, want %s (format %s)", ev.label(), tsp.text, t, want, spec.format)
		}
		return reject(ReasonBadTS, "%scannot parse timestamp %q at %q as %s", ev.label(), truncate(string(f.tsText(tsv)), 64), tsp.text, spec.format)
	case tsOutOfRange:
		return reject(ReasonTSOutOfRange, "%stimestamp %q at %q is outside [1970-01-01, 2106-01-01)", ev.label(), truncate(string(f.tsText(tsv)), 64), tsp.text)
	}

	id, idp, rj := f.text(mfEventID, &ev)
	if rj != nil {
		return rj
	}
	switch {
	case id == "" && ev.elem != nil:
		// An event of a multi-event message (GA4) without any id: its
		// content names it — the user, the time as sent and the element
		// itself — so a re-send of the same event counts once, wherever it
		// lands (GA4 requests carry no message id; a retried request
		// carries the same events).
		id = contentID(user, f.tsText(tsv), ev.elem, &f.idBuf)
	case id == "":
		id = HashID(src, ev.index)
	case ev.elem != nil && idp != nil && ev.elem.Get(idp.segs[0]) == nil:
		// An id of the message, not of the event: one per event, the same
		// for every re-send of the message.
		f.idBuf = append(append(append(f.idBuf[:0], id...), '#'), strconv.Itoa(ev.index)...)
		id = string(f.idBuf)
	}

	*out = sink.Event{
		EventID:    id,
		Type:       typ,
		Event:      name,
		UserKey:    user,
		TSMillis:   ms,
		Properties: props,
		Topic:      src.Topic,
		Partition:  src.Partition,
		Offset:     src.Offset,
	}
	for _, c := range [...]struct {
		id  mappingField
		dst *string
	}{
		{mfSessionID, &out.SessionID}, {mfURL, &out.URL}, {mfPath, &out.Path}, {mfReferrer, &out.Referrer},
		{mfUTMSource, &out.UTM.Source}, {mfUTMMedium, &out.UTM.Medium}, {mfUTMCampaign, &out.UTM.Campaign},
		{mfUTMTerm, &out.UTM.Term}, {mfUTMContent, &out.UTM.Content}, {mfDevice, &out.Device}, {mfCountry, &out.Country},
	} {
		if !m.fields[c.id].set {
			continue
		}
		s, _, rj := f.text(c.id, &ev)
		if rj != nil {
			return rj
		}
		*c.dst = s
	}
	if !m.fields[mfPath].set {
		out.Path = urlPath(out.URL)
	}
	return nil
}

// absent explains a required field that no path gives.
func (f *mappingFormat) absent(id mappingField) string {
	spec := &f.m.fields[id]
	switch len(spec.paths) {
	case 0:
		return "the mapping has no " + mappingFieldNames[id]
	case 1:
		return "path " + strconv.Quote(spec.paths[0].text) + " is absent or empty"
	}
	return "paths " + spec.pathList() + " are all absent or empty"
}

// tsText is a timestamp value as written, for messages.
func (f *mappingFormat) tsText(v *fastjson.Value) []byte {
	if v.Type() == fastjson.TypeString {
		b, _ := v.StringBytes()
		return b
	}
	return v.MarshalTo(nil)
}

// urlPath is the path of a URL without query and fragment: "/a/b" of
// "https://host/a/b?q#f", "/" of "https://host"; a URL that already is a
// path stays one; "" for "".
func urlPath(u string) string {
	if u == "" {
		return ""
	}
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		j := strings.IndexAny(rest, "/?#")
		if j < 0 || rest[j] != '/' {
			return "/"
		}
		u = rest[j:]
	} else if strings.HasPrefix(u, "//") { // scheme-relative
		rest := u[2:]
		j := strings.IndexAny(rest, "/?#")
		if j < 0 || rest[j] != '/' {
			return "/"
		}
		u = rest[j:]
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u
}

// contentID is a deterministic id from an event's user, time and JSON.
func contentID(user string, ts []byte, elem *fastjson.Value, buf *[]byte) string {
	b := append((*buf)[:0], user...)
	b = append(b, 0)
	b = append(b, ts...)
	b = append(b, 0)
	b = appendJSON(b, elem)
	*buf = b
	sum := sha256.Sum256(b)
	return "c" + hex.EncodeToString(sum[:16])
}

// DerivedID reports whether id was made by microconv for the index-th event
// of the message at src (a hash of its position, or of its content) rather
// than given by the message.
func DerivedID(id string, src Source, index int) bool {
	if id == HashID(src, index) {
		return true
	}
	if len(id) != 33 || id[0] != 'c' {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
