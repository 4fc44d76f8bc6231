package gen

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/microconv/microconv/internal/config"
)

// maxMessageBytes is the consumer's default MICROCONV_MAX_MESSAGE_BYTES:
// longer messages are rejected as too_large.
const maxMessageBytes = config.DefaultMaxMessageBytes

// Timestamps the consumer accepts: [1970-01-01, 2106-01-01) in Unix ms.
var (
	minMillis = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxMillis = time.Date(2106, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
)

// decoded is an accepted message, as the consumer normalizes it.
type decoded struct {
	id       string // messageId; "" when absent
	typ      string // lower-cased call type; "track" for an event without type
	name     string
	userKey  string
	ms       int64
	source   string // utm_source
	medium   string // utm_medium
	campaign string // utm_campaign
	device   string
	country  string
}

// decide applies the consumer's rules of acceptance (README "Input: Segment
// JSON"; the checks in the order input/decode.go makes them), written
// again with encoding/json: it returns the normalized event, or the reason
// the message is rejected.
func decide(raw []byte) (decoded, string) {
	var d decoded
	switch {
	case len(raw) == 0:
		return d, ReasonEmpty
	case len(raw) > maxMessageBytes:
		return d, ReasonTooLarge
	case !utf8.Valid(raw):
		return d, ReasonInvalidUTF8
	case !json.Valid(raw):
		return d, ReasonInvalidJSON
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers keep their JSON text, as identifiers and utm values need
	var v any
	if err := dec.Decode(&v); err != nil {
		return d, ReasonInvalidJSON
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return d, ReasonNotObject
	}
	for _, k := range []string{"properties", "context"} {
		if x, present := doc[k]; present && x != nil {
			if _, isObj := x.(map[string]any); !isObj {
				return d, ReasonBadField
			}
		}
	}
	typ, ok := ident(doc, "type")
	if !ok {
		return d, ReasonBadField
	}
	typ = strings.ToLower(typ)
	name, ok := ident(doc, "event")
	if !ok {
		return d, ReasonBadField
	}
	switch typ {
	case "":
		if name == "" {
			return d, ReasonMissingEvent
		}
		typ = "track"
	case "track":
		if name == "" {
			return d, ReasonMissingEvent
		}
	case "page", "screen":
		n, ok := ident(doc, "name")
		if !ok {
			return d, ReasonBadField
		}
		if n != "" {
			name = n
		} else if name == "" {
			name = typ
		}
	default:
		if name == "" {
			name = typ
		}
	}
	user, ok := ident(doc, "userId")
	if !ok {
		return d, ReasonBadField
	}
	if user == "" {
		if user, ok = ident(doc, "anonymousId"); !ok {
			return d, ReasonBadField
		}
	}
	if user == "" {
		return d, ReasonMissingUserKey
	}
	tsv, present := doc["timestamp"]
	if !present || tsv == nil {
		return d, ReasonMissingTS
	}
	tss, isStr := tsv.(string)
	if !isStr {
		return d, ReasonBadTS
	}
	ts, err := time.Parse(time.RFC3339Nano, tss)
	if err != nil {
		return d, ReasonBadTS
	}
	ms := ts.UnixMilli()
	if ms < minMillis || ms >= maxMillis {
		return d, ReasonTSOutOfRange
	}
	id, ok := ident(doc, "messageId")
	if !ok {
		return d, ReasonBadField
	}
	d = decoded{id: id, typ: typ, name: name, userKey: user, ms: ms}
	ctx, _ := doc["context"].(map[string]any)
	if c, ok := ctx["campaign"].(map[string]any); ok {
		d.source, d.medium, d.campaign = scalarText(c["source"]), scalarText(c["medium"]), scalarText(c["name"])
	}
	if dev, ok := ctx["device"].(map[string]any); ok {
		d.device = scalarText(dev["type"])
	}
	if loc, ok := ctx["location"].(map[string]any); ok {
		d.country = scalarText(loc["country"])
	}
	return d, ""
}

// ident reads an identifier field: a string, or a number as its JSON text;
// absent and null give "". ok is false for any other JSON type.
func ident(doc map[string]any, key string) (string, bool) {
	switch x := doc[key].(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return string(x), true
	default:
		return "", false
	}
}

// scalarText is how a normalized column shows a scalar: a string as it is, a
// number or bool as its JSON text, anything else as "".
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}
