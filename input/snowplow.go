package input

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// Input format "snowplow": Snowplow enriched events as Snowplow's enrich
// writes them to Kafka (the 131-field TSV, snowplow_fields.go), or the JSON
// that Snowplow's analytics SDKs make of it. A message whose first
// non-blank byte is '{' is JSON, any other is TSV.
//
// Rules see every event in the analytics SDKs' JSON shape, whichever form
// it came in: atomic fields by name (empty TSV fields absent), timestamps as
// ISO 8601 strings ("2022-12-22T13:25:47.677Z"), numbers and booleans typed,
// "geo_location": "lat,lon", and the self-describing JSON flattened —
// each context under contexts_<vendor>_<name>_<model>, an array of the data
// of every context with that schema (contexts and derived_contexts
// together), and the unstruct event's data under
// unstruct_event_<vendor>_<name>_<model>. The vendor has '.' and '-' turned
// into '_', the name has '.' and '-' turned into '_' and camelCase into
// snake_case, both lower-cased; model is the schema's major version. So
// iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-2
// is unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1,
// as in the Scala analytics SDK (SnowplowEvent.transformSchema).
//
// Normalized fields:
//   - event_id: event_id (required: enrich always sets one);
//   - event: event_name (page_view, snowplow_ecommerce_action, …), else the
//     legacy event field; for a structured event (event "struct", whose
//     event_name is just "event") se_action when set;
//   - type: page for event_name page_view, screen for screen_view, track
//     for every other event;
//   - user_key: user_id, else domain_userid, else network_userid;
//   - ts: derived_tstamp, else dvce_created_tstamp, else collector_tstamp
//     (Snowplow's "2022-12-22 13:25:47.677", or ISO 8601; no zone is UTC);
//   - session_id: domain_sessionid, else the mobile client_session
//     context's sessionId;
//   - url, path, referrer: page_url, page_urlpath, page_referrer;
//   - utm_source … utm_content: mkt_source, mkt_medium, mkt_campaign,
//     mkt_term, mkt_content;
//   - device: the YAUAA context's deviceClass, lower-cased ("desktop",
//     "phone", "tablet" …), else dvce_ismobile ("mobile"/"desktop"), else
//     "mobile" for platform "mob";
//   - country: geo_country;
//   - properties: the unstruct event's data; for a structured event
//     {"category","action","label","property","value"} from se_*.
func init() {
	formatFactories["snowplow"] = func(cfg Config) (func() Format, error) {
		if cfg.MappingFile != "" {
			return nil, fmt.Errorf("cannot use a mapping file with input format %q: its fields are fixed; use input format \"mapping\" for another shape", "snowplow")
		}
		maxBytes := cfg.MaxMessageBytes
		return func() Format { return &snowplowFormat{dec: segmentDecoder{maxBytes: maxBytes}} }, nil
	}
}

const (
	spKeyYauaa         = "contexts_nl_basjes_yauaa_context_1"
	spKeyClientSession = "contexts_com_snowplowanalytics_snowplow_client_session_1"
	spUnstructPrefix   = "unstruct_event_"
)

// snowplowFormat decodes Snowplow messages. It keeps parsers and an arena
// between calls: one per goroutine; the document is valid until the next call.
type snowplowFormat struct {
	dec    segmentDecoder  // JSON messages (its parser), interning and text helpers
	pc, pd fastjson.Parser // TSV: contexts, derived_contexts
	pu     fastjson.Parser // TSV: unstruct_event
	arena  fastjson.Arena  // the TSV document; struct-event properties
	groups []spGroup       // contexts of the TSV document being built
	num    []byte          // number text of the TSV document
	key    []byte          // scratch for context keys
	tsBuf  [48]byte        // scratch for timestamps
	buf    []byte          // properties
}

// spGroup is one contexts_… array of the TSV document being built.
type spGroup struct {
	key string
	arr *fastjson.Value
	n   int
}

// spValues are the values the normalization reads, found in the document.
type spValues struct {
	eventID, event, eventName                           *fastjson.Value
	seCategory, seAction, seLabel, seProperty, seValue  *fastjson.Value
	userID, domainUserID, networkUserID                 *fastjson.Value
	derivedTS, dvceCreatedTS, collectorTS               *fastjson.Value
	sessionID, pageURL, pagePath, referrer              *fastjson.Value
	mktSource, mktMedium, mktCampaign, mktTerm, mktCont *fastjson.Value
	country, isMobile, platform                         *fastjson.Value
	unstruct, yauaa, clientSession                      *fastjson.Value
}

func (f *snowplowFormat) Decode(raw []byte, src Source, dst []Decoded) ([]Decoded, *Rejection) {
	dst = dst[:0]
	if len(raw) == 0 {
		return dst, reject(ReasonEmpty, "empty message")
	}
	if f.dec.maxBytes > 0 && len(raw) > f.dec.maxBytes {
		return dst, reject(ReasonTooLarge, "message of %d bytes exceeds the limit of %d bytes", len(raw), f.dec.maxBytes)
	}
	f.arena.Reset()
	var v spValues
	var doc *fastjson.Value
	var rj *Rejection
	if spIsJSON(raw) {
		doc, rj = f.decodeJSON(raw, &v)
	} else {
		doc, rj = f.decodeTSV(raw, &v)
	}
	if rj != nil {
		return dst, rj
	}
	dst = append(dst, Decoded{})
	d := &dst[0]
	if rj := f.normalize(&v, src, &d.Event); rj != nil {
		return dst[:0], rj
	}
	d.Rule = rules.Event{Type: d.Event.Type, Name: d.Event.Event, Doc: doc}
	return dst, nil
}

func spIsJSON(raw []byte) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

// decodeJSON reads the analytics SDKs' JSON shape.
func (f *snowplowFormat) decodeJSON(raw []byte, v *spValues) (*fastjson.Value, *Rejection) {
	if !validText(raw) {
		if !utf8.Valid(raw) {
			return nil, reject(ReasonInvalidUTF8, "message is not valid UTF-8")
		}
		return nil, reject(ReasonInvalidJSON, "cannot parse JSON: a string holds a raw control character (RFC 8259 requires it escaped)")
	}
	doc, err := f.dec.p.ParseBytes(raw)
	if err != nil {
		return nil, reject(ReasonInvalidJSON, "cannot parse JSON: %s", truncate(strings.TrimPrefix(err.Error(), "cannot parse JSON: "), 200))
	}
	obj, err := doc.Object()
	if err != nil {
		return nil, reject(ReasonNotObject, "message is a JSON %s, not an object", doc.Type())
	}
	obj.Visit(func(key []byte, val *fastjson.Value) {
		var dst **fastjson.Value
		switch string(key) {
		case "event_id":
			dst = &v.eventID
		case "event":
			dst = &v.event
		case "event_name":
			dst = &v.eventName
		case "se_category":
			dst = &v.seCategory
		case "se_action":
			dst = &v.seAction
		case "se_label":
			dst = &v.seLabel
		case "se_property":
			dst = &v.seProperty
		case "se_value":
			dst = &v.seValue
		case "user_id":
			dst = &v.userID
		case "domain_userid":
			dst = &v.domainUserID
		case "network_userid":
			dst = &v.networkUserID
		case "derived_tstamp":
			dst = &v.derivedTS
		case "dvce_created_tstamp":
			dst = &v.dvceCreatedTS
		case "collector_tstamp":
			dst = &v.collectorTS
		case "domain_sessionid":
			dst = &v.sessionID
		case "page_url":
			dst = &v.pageURL
		case "page_urlpath":
			dst = &v.pagePath
		case "page_referrer":
			dst = &v.referrer
		case "mkt_source":
			dst = &v.mktSource
		case "mkt_medium":
			dst = &v.mktMedium
		case "mkt_campaign":
			dst = &v.mktCampaign
		case "mkt_term":
			dst = &v.mktTerm
		case "mkt_content":
			dst = &v.mktCont
		case "geo_country":
			dst = &v.country
		case "dvce_ismobile":
			dst = &v.isMobile
		case "platform":
			dst = &v.platform
		case spKeyYauaa:
			dst = &v.yauaa
		case spKeyClientSession:
			dst = &v.clientSession
		default:
			if !bytes.HasPrefix(key, []byte(spUnstructPrefix)) || val.Type() != fastjson.TypeObject {
				return
			}
			dst = &v.unstruct
		}
		if *dst == nil {
			*dst = val
		}
	})
	return doc, nil
}

// decodeTSV builds the analytics SDKs' JSON shape of an enriched TSV line in
// the arena, in one pass over the fields.
func (f *snowplowFormat) decodeTSV(raw []byte, v *spValues) (*fastjson.Value, *Rejection) {
	if high, _ := scanText(raw); high && !utf8.Valid(raw) {
		return nil, reject(ReasonInvalidUTF8, "message is not valid UTF-8")
	}
	line := raw
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	if n := bytes.Count(line, []byte{'\t'}) + 1; n != spNumFields {
		return nil, reject(ReasonBadField, "enriched event TSV has %d tab-separated fields, want %d", n, spNumFields)
	}
	a := &f.arena
	doc := a.NewObject()
	f.groups = f.groups[:0]
	f.num = f.num[:0]
	var lat, lon []byte
	for i := 0; i < spNumFields; i++ {
		field := line
		if j := bytes.IndexByte(line, '\t'); j >= 0 {
			field, line = line[:j], line[j+1:]
		}
		if len(field) == 0 {
			continue
		}
		fd := &spFields[i]
		var val *fastjson.Value
		switch fd.kind {
		case spString:
			val = a.NewStringBytes(field)
		case spInt, spDouble:
			if spIsNumber(field, fd.kind == spInt) {
				start := len(f.num)
				f.num = append(f.num, field...)
				val = a.NewNumberString(b2sSnowplow(f.num[start:]))
			} else {
				val = a.NewStringBytes(field) // kept, as text: the SDKs would refuse the event
			}
		case spBool:
			switch string(field) {
			case "1", "true":
				val = a.NewTrue()
			case "0", "false":
				val = a.NewFalse()
			default:
				val = a.NewStringBytes(field)
			}
		case spTstamp:
			if iso, ok := spISO(f.tsBuf[:0], field); ok {
				val = a.NewStringBytes(iso)
			} else {
				val = a.NewStringBytes(field) // normalization rejects it if it is the event time
			}
		case spContexts:
			p := &f.pc
			if i != 52 {
				p = &f.pd
			}
			if rj := f.addContexts(doc, fd.name, field, p, v); rj != nil {
				return nil, rj
			}
			continue
		case spUnstruct:
			if rj := f.addUnstruct(doc, field, v); rj != nil {
				return nil, rj
			}
			continue
		}
		doc.Set(fd.name, val)
		switch i {
		case spiGeoLatitude:
			lat = field
		case spiGeoLongitude:
			lon = field
		default:
			v.assign(i, val)
		}
	}
	if len(lat) > 0 && len(lon) > 0 {
		start := len(f.num)
		f.num = append(append(append(f.num, lat...), ','), lon...)
		doc.Set("geo_location", a.NewStringBytes(f.num[start:]))
	}
	return doc, nil
}

func (v *spValues) assign(i int, val *fastjson.Value) {
	switch i {
	case spiPlatform:
		v.platform = val
	case spiCollectorTS:
		v.collectorTS = val
	case spiDvceCreatedTS:
		v.dvceCreatedTS = val
	case spiEvent:
		v.event = val
	case spiEventID:
		v.eventID = val
	case spiUserID:
		v.userID = val
	case spiDomainUserID:
		v.domainUserID = val
	case spiNetworkUserID:
		v.networkUserID = val
	case spiGeoCountry:
		v.country = val
	case spiPageURL:
		v.pageURL = val
	case spiPageReferrer:
		v.referrer = val
	case spiPagePath:
		v.pagePath = val
	case spiMktMedium:
		v.mktMedium = val
	case spiMktSource:
		v.mktSource = val
	case spiMktTerm:
		v.mktTerm = val
	case spiMktContent:
		v.mktCont = val
	case spiMktCampaign:
		v.mktCampaign = val
	case spiSeCategory:
		v.seCategory = val
	case spiSeAction:
		v.seAction = val
	case spiSeLabel:
		v.seLabel = val
	case spiSeProperty:
		v.seProperty = val
	case spiSeValue:
		v.seValue = val
	case spiDvceIsMobile:
		v.isMobile = val
	case spiDomainSession:
		v.sessionID = val
	case spiDerivedTS:
		v.derivedTS = val
	case spiEventName:
		v.eventName = val
	}
}

// parseSelfDescribing parses a contexts or unstruct_event field.
func spParseField(name string, field []byte, p *fastjson.Parser) (*fastjson.Value, *Rejection) {
	if !validText(field) {
		return nil, reject(ReasonInvalidJSON, "cannot parse field %q as JSON: a string holds a raw control character", name)
	}
	sd, err := p.ParseBytes(field)
	if err != nil {
		return nil, reject(ReasonInvalidJSON, "cannot parse field %q as JSON: %s", name, truncate(strings.TrimPrefix(err.Error(), "cannot parse JSON: "), 200))
	}
	if sd.Type() != fastjson.TypeObject {
		return nil, reject(ReasonBadField, "field %q is a JSON %s, want a self-describing JSON object", name, sd.Type())
	}
	return sd, nil
}

// addContexts adds the contexts of a contexts or derived_contexts field,
// grouped by key.
func (f *snowplowFormat) addContexts(doc *fastjson.Value, name string, field []byte, p *fastjson.Parser, v *spValues) *Rejection {
	sd, rj := spParseField(name, field, p)
	if rj != nil {
		return rj
	}
	data := sd.Get("data")
	if data == nil || data.Type() != fastjson.TypeArray {
		return reject(ReasonBadField, "field %q has no \"data\" array of self-describing JSON", name)
	}
	items, _ := data.Array()
	for _, item := range items {
		uri := item.GetStringBytes("schema")
		key, ok := f.sdKey("contexts_", uri)
		if !ok {
			return reject(ReasonBadField, "field %q: cannot read Iglu schema URI %q", name, truncate(string(uri), 200))
		}
		data := item.Get("data")
		if data == nil {
			data = f.arena.NewNull()
		}
		g := f.group(doc, key, v)
		g.arr.SetArrayItem(g.n, data)
		g.n++
	}
	return nil
}

func (f *snowplowFormat) group(doc *fastjson.Value, key string, v *spValues) *spGroup {
	for i := range f.groups {
		if f.groups[i].key == key {
			return &f.groups[i]
		}
	}
	arr := f.arena.NewArray()
	doc.Set(key, arr)
	switch key {
	case spKeyYauaa:
		v.yauaa = arr
	case spKeyClientSession:
		v.clientSession = arr
	}
	f.groups = append(f.groups, spGroup{key: key, arr: arr})
	return &f.groups[len(f.groups)-1]
}

// addUnstruct adds the unstruct event's data under its key.
func (f *snowplowFormat) addUnstruct(doc *fastjson.Value, field []byte, v *spValues) *Rejection {
	sd, rj := spParseField("unstruct_event", field, &f.pu)
	if rj != nil {
		return rj
	}
	inner := sd.Get("data")
	if inner == nil || inner.Type() != fastjson.TypeObject {
		return reject(ReasonBadField, "field \"unstruct_event\" has no \"data\" self-describing JSON object")
	}
	uri := inner.GetStringBytes("schema")
	key, ok := f.sdKey(spUnstructPrefix, uri)
	if !ok {
		return reject(ReasonBadField, "field \"unstruct_event\": cannot read Iglu schema URI %q", truncate(string(uri), 200))
	}
	data := inner.Get("data")
	if data == nil {
		data = f.arena.NewNull()
	}
	doc.Set(key, data)
	if data.Type() == fastjson.TypeObject {
		v.unstruct = data
	}
	return nil
}

// sdKey is the analytics SDKs' key of a self-describing JSON with the Iglu
// schema URI "iglu:vendor/name/format/model-revision-addition": prefix +
// vendor_name_model (see the package comment of this file). Keys are
// interned: a stream has few schemas.
func (f *snowplowFormat) sdKey(prefix string, uri []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(uri, []byte("iglu:"))
	if !ok {
		return "", false
	}
	vendor, rest, ok1 := bytes.Cut(rest, []byte{'/'})
	name, rest, ok2 := bytes.Cut(rest, []byte{'/'})
	_, version, ok3 := bytes.Cut(rest, []byte{'/'})
	model, _, _ := bytes.Cut(version, []byte{'-'})
	if !ok1 || !ok2 || !ok3 || len(vendor) == 0 || len(name) == 0 || len(model) == 0 || !spDigits(model) {
		return "", false
	}
	k := append(f.key[:0], prefix...)
	for _, c := range vendor {
		if c == '.' || c == '-' {
			c = '_'
		}
		k = append(k, spLower(c))
	}
	k = append(k, '_')
	var prev byte
	for i, c := range name {
		if c == '.' || c == '-' {
			c = '_'
		}
		if i > 0 && c >= 'A' && c <= 'Z' && !(prev >= 'A' && prev <= 'Z' || prev == '_') {
			k = append(k, '_')
		}
		k = append(k, spLower(c))
		prev = c
	}
	k = append(k, '_')
	k = append(k, model...)
	f.key = k
	return f.dec.str(k, true), true
}

func spLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func spDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// spIsNumber reports whether b is a JSON number (an integer if integer).
func spIsNumber(b []byte, integer bool) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == start || (b[start] == '0' && i-start > 1) {
		return false
	}
	if integer {
		return i == len(b)
	}
	if i < len(b) && b[i] == '.' {
		i++
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == s {
			return false
		}
	}
	return i == len(b)
}

// spISO rewrites a Snowplow timestamp "2022-12-22 13:25:47.677" (or an
// ISO 8601 one without a zone) as RFC 3339 in UTC; one with a zone is
// copied as it is. ok is false for anything else.
func spISO(dst, b []byte) ([]byte, bool) {
	if len(b) < 19 || len(b) > 40 || b[4] != '-' || b[7] != '-' || (b[10] != ' ' && b[10] != 'T') || b[13] != ':' || b[16] != ':' {
		return dst, false
	}
	start := len(dst)
	dst = append(dst, b...)
	dst[start+10] = 'T'
	zone := false
	for _, c := range b[19:] {
		if c == 'Z' || c == '+' || c == '-' {
			zone = true
			break
		}
	}
	if !zone {
		dst = append(dst, 'Z')
	}
	return dst, true
}

func b2sSnowplow(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// normalize fills ev from the values found in the document.
func (f *snowplowFormat) normalize(v *spValues, src Source, ev *sink.Event) *Rejection {
	d := &f.dec
	id, rj := d.optString(v.eventID, "event_id", false)
	if rj != nil {
		return rj
	}
	if id == "" {
		return reject(ReasonBadField, "no field \"event_id\": a Snowplow enriched event always has one")
	}
	spName, rj := d.optString(v.eventName, "event_name", true)
	if rj != nil {
		return rj
	}
	legacy, rj := d.optString(v.event, "event", true)
	if rj != nil {
		return rj
	}
	name := spName
	if name == "" {
		name = legacy
	}
	if legacy == "struct" {
		action, rj := d.optString(v.seAction, "se_action", true)
		if rj != nil {
			return rj
		}
		if action != "" {
			name = action
		}
	}
	if name == "" {
		return reject(ReasonMissingEvent, "no event name: fields \"event_name\" and \"event\" are both absent or empty")
	}
	typ := "track"
	switch spName {
	case "page_view":
		typ = "page"
	case "screen_view":
		typ = "screen"
	}

	var user string
	for _, c := range [...]struct {
		k string
		v *fastjson.Value
	}{{"user_id", v.userID}, {"domain_userid", v.domainUserID}, {"network_userid", v.networkUserID}} {
		if user, rj = d.optString(c.v, c.k, false); rj != nil {
			return rj
		}
		if user != "" {
			break
		}
	}
	if user == "" {
		return reject(ReasonMissingUserKey, "no user key: fields \"user_id\", \"domain_userid\" and \"network_userid\" are all absent or empty")
	}

	var tsKey string
	var tsv *fastjson.Value
	for _, c := range [...]struct {
		k string
		v *fastjson.Value
	}{{"derived_tstamp", v.derivedTS}, {"dvce_created_tstamp", v.dvceCreatedTS}, {"collector_tstamp", v.collectorTS}} {
		if c.v == nil || c.v.Type() == fastjson.TypeNull {
			continue
		}
		if b, err := c.v.StringBytes(); err == nil && len(b) == 0 {
			continue
		}
		tsKey, tsv = c.k, c.v
		break
	}
	if tsv == nil {
		return reject(ReasonMissingTS, "no timestamp: fields \"derived_tstamp\", \"dvce_created_tstamp\" and \"collector_tstamp\" are all absent or empty")
	}
	tsb, err := tsv.StringBytes()
	if err != nil {
		return reject(ReasonBadTS, "field %q is a JSON %s, want a timestamp string", tsKey, tsv.Type())
	}
	iso, ok := spISO(f.tsBuf[:0], tsb)
	if !ok {
		return reject(ReasonBadTS, "cannot parse %s %q as a timestamp", tsKey, truncate(string(tsb), 64))
	}
	ms, ok := parseTimestamp(iso)
	if !ok {
		return reject(ReasonBadTS, "cannot parse %s %q as a timestamp", tsKey, truncate(string(tsb), 64))
	}
	if ms < minTS || ms >= maxTS {
		return reject(ReasonTSOutOfRange, "%s %q is outside [1970-01-01, 2106-01-01)", tsKey, truncate(string(tsb), 64))
	}

	*ev = sink.Event{
		EventID:   id,
		Type:      typ,
		Event:     name,
		UserKey:   user,
		SessionID: d.text(v.sessionID, false),
		TSMillis:  ms,
		URL:       d.text(v.pageURL, false),
		Path:      d.text(v.pagePath, false),
		Referrer:  d.text(v.referrer, false),
		UTM: sink.UTM{
			Source:   d.text(v.mktSource, true),
			Medium:   d.text(v.mktMedium, true),
			Campaign: d.text(v.mktCampaign, true),
			Term:     d.text(v.mktTerm, false),
			Content:  d.text(v.mktCont, false),
		},
		Country:   d.text(v.country, true),
		Topic:     src.Topic,
		Partition: src.Partition,
		Offset:    src.Offset,
	}
	if ev.SessionID == "" && v.clientSession != nil {
		ev.SessionID = d.text(v.clientSession.Get("0", "sessionId"), false)
	}
	ev.Device = f.device(v)
	switch {
	case v.unstruct != nil:
		f.buf = appendJSON(f.buf[:0], v.unstruct)
		ev.Properties = string(f.buf)
	case legacy == "struct":
		a := &f.arena
		o := a.NewObject()
		for _, c := range [...]struct {
			k string
			v *fastjson.Value
		}{{"category", v.seCategory}, {"action", v.seAction}, {"label", v.seLabel}, {"property", v.seProperty}, {"value", v.seValue}} {
			if c.v != nil {
				o.Set(c.k, c.v)
			}
		}
		f.buf = appendJSON(f.buf[:0], o)
		ev.Properties = string(f.buf)
	}
	return nil
}

// device: the YAUAA context's deviceClass, lower-cased; else dvce_ismobile;
// else "mobile" for the mobile platform.
func (f *snowplowFormat) device(v *spValues) string {
	if v.yauaa != nil {
		if b := v.yauaa.GetStringBytes("0", "deviceClass"); len(b) > 0 {
			k := f.key[:0]
			for _, c := range b {
				k = append(k, spLower(c))
			}
			f.key = k
			return f.dec.str(k, true)
		}
	}
	if m := v.isMobile; m != nil {
		switch m.Type() {
		case fastjson.TypeTrue:
			return "mobile"
		case fastjson.TypeFalse:
			return "desktop"
		case fastjson.TypeNumber, fastjson.TypeString:
			switch f.dec.text(m, true) {
			case "1", "true":
				return "mobile"
			case "0", "false":
				return "desktop"
			}
		}
	}
	if f.dec.text(v.platform, true) == "mob" {
		return "mobile"
	}
	return ""
}
