package main

import (
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"
	"testing"

	"github.com/microconv/microconv/gen"
)

// One logical clickstream in three shapes: the generated Segment messages,
// GA4 messages (several consecutive events of one user per message) and a
// custom shape read through a mapping file. Every accepted event keeps its
// id (messageId → params.event_id, eid), so that upstream duplicates stay
// duplicates; malformed messages become malformed messages of the same
// rejection reason in each shape.

// customMapping reads the custom shape: other key names, a nested user
// object, epoch milliseconds as strings, the call type as sent (TRACK, "").
const customMapping = `# yaml-language-server: $schema=../../schemas/mapping.schema.json
event_id: eid
type: kind
event: action
user_key: [who.id, who.anon]
timestamp: {path: at_ms, format: unix_ms}
url: page.href
path: page.path
referrer: page.ref
utm_source: utm.src
utm_medium: utm.med
utm_campaign: utm.name
device: env.device
country: env.country
properties: payload
`

// inputShape is one way of writing the stream.
type inputShape struct {
	name    string // MICROCONV_INPUT
	mapping string // mapping file content; "" for none
	rules   string // gen.DefaultRules with its paths rewritten for the shape
}

// ruleRewrites turn the `where` and `value` paths of gen.DefaultRules, which
// address Segment messages, into the same conditions on the other shapes:
// rules see raw messages, so each shape needs its own rule file; event
// names and types are the same everywhere.
var ruleRewrites = map[string][]string{
	"ga4": {
		"path: properties.", "path: params.",
		"value: properties.", "value: params.",
		"{path: event, op: eq, value: Payment Info Entered}", "{path: name, op: eq, value: Payment Info Entered}",
		"{path: context.page.path, op: prefix, value: /pricing}", "{path: params.page_location, op: regex, value: '^https?://[^/]+/pricing'}",
	},
	"mapping": {
		"path: properties.", "path: payload.",
		"value: properties.", "value: payload.",
		"{path: event, op: eq, value: Payment Info Entered}", "{path: action, op: eq, value: Payment Info Entered}",
		"{path: context.page.path, op: prefix, value: /pricing}", "{path: page.path, op: prefix, value: /pricing}",
	},
}

// shapeRules returns gen.DefaultRules for a shape, checking that every
// Segment path was rewritten.
func shapeRules(t testing.TB, shape string) string {
	t.Helper()
	pairs, ok := ruleRewrites[shape]
	if !ok {
		return gen.DefaultRules
	}
	out := gen.DefaultRules
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(out, pairs[i]) {
			t.Fatalf("gen.DefaultRules no longer holds %q: update ruleRewrites", pairs[i])
		}
		out = strings.ReplaceAll(out, pairs[i], pairs[i+1])
	}
	for _, seg := range []string{"properties.", "context.", "path: event,"} {
		if strings.Contains(out, seg) {
			t.Fatalf("the %s rules still address %q: update ruleRewrites", shape, seg)
		}
	}
	return out
}

// eventName and eventType are what the Segment decoder makes of a
// generated event (README "Input: Segment JSON").
func eventName(e *gen.Event) string {
	if e.Name != "" {
		return e.Name
	}
	return strings.ToLower(e.Type) // page without name, identify
}

// shapeMessage is one message of a shape, with its key.
type shapeMessage struct {
	key, value []byte
	events     int
	reason     string // of a malformed message
}

// toSegment is the stream as generated.
func toSegment(s *gen.Stream) []shapeMessage {
	out := make([]shapeMessage, 0, len(s.Messages))
	for _, m := range s.Messages {
		sm := shapeMessage{key: m.Key, value: m.Value, reason: m.Reason}
		if m.Event != nil {
			sm.events = 1
		}
		out = append(out, sm)
	}
	return out
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toCustom writes each event in the custom shape.
func toCustom(t testing.TB, s *gen.Stream) []shapeMessage {
	out := make([]shapeMessage, 0, len(s.Messages))
	for _, m := range s.Messages {
		e := m.Event
		if e == nil {
			out = append(out, shapeMessage{value: malformedIn(t, "mapping", m), reason: m.Reason})
			continue
		}
		who := map[string]any{"anon": e.AnonymousID}
		if e.UserID != "" {
			who["id"] = e.UserID
			if e.UserIDNum {
				who["id"] = json.Number(e.UserID)
			}
		}
		c := map[string]any{"kind": e.Type, "action": eventName(e), "who": who, "at_ms": strconv.FormatInt(e.Millis(), 10),
			"env": map[string]any{"device": e.Device, "country": e.Country}}
		if e.MessageID != "" {
			c["eid"] = e.MessageID
		}
		if e.Page.URL != "" {
			c["page"] = map[string]any{"href": e.Page.URL, "path": e.Page.Path, "ref": e.Page.Referrer}
		}
		if e.Campaign != (gen.Campaign{}) {
			c["utm"] = map[string]any{"src": e.Campaign.Source, "med": e.Campaign.Medium, "name": e.Campaign.Name}
		}
		if e.Props != nil {
			c["payload"] = e.Props
		}
		out = append(out, shapeMessage{key: m.Key, value: mustJSON(t, c), events: 1})
	}
	return out
}

// ga4Reserved are the params the GA4 writer sets itself.
var ga4Reserved = []string{"event_id", "page_location", "page_referrer", "source", "medium", "campaign"}

// toGA4 groups consecutive events of one user that share the message-level
// fields (user ids, device, country) into GA4 messages of up to maxEvents
// events. The message's timestamp_micros is its first event's; an event at
// another time carries its own.
func toGA4(t testing.TB, s *gen.Stream, maxEvents int) []shapeMessage {
	var out []shapeMessage
	var top map[string]any
	var events []any
	var groupKey string
	var key []byte
	var firstMicros int64
	flush := func() {
		if len(events) > 0 {
			top["events"] = events
			out = append(out, shapeMessage{key: key, value: mustJSON(t, top), events: len(events)})
		}
		top, events, groupKey = nil, nil, ""
	}
	for _, m := range s.Messages {
		e := m.Event
		if e == nil {
			flush()
			out = append(out, shapeMessage{value: malformedIn(t, "ga4", m), reason: m.Reason})
			continue
		}
		gk := strings.Join([]string{e.UserID, strconv.FormatBool(e.UserIDNum), e.AnonymousID, e.Device, e.Country}, "\x00")
		if gk != groupKey || len(events) == maxEvents {
			flush()
			groupKey, key = gk, m.Key
			top = map[string]any{"client_id": e.AnonymousID}
			if e.UserID != "" {
				top["user_id"] = e.UserID
				if e.UserIDNum {
					top["user_id"] = json.Number(e.UserID)
				}
			}
			if e.Device != "" {
				top["device"] = map[string]any{"category": e.Device}
			}
			if e.Country != "" {
				top["geo"] = map[string]any{"country": e.Country}
			}
			firstMicros = e.TS.UnixMicro()
			top["timestamp_micros"] = strconv.FormatInt(firstMicros, 10)
		}
		params := map[string]any{}
		for k, v := range e.Props {
			for _, r := range ga4Reserved {
				if k == r {
					t.Fatalf("a generated property is named %q, which the GA4 writer uses", k)
				}
			}
			params[k] = v
		}
		if e.MessageID != "" {
			params["event_id"] = e.MessageID
		}
		if e.Page.URL != "" {
			params["page_location"] = e.Page.URL
		}
		if e.Page.Referrer != "" {
			params["page_referrer"] = e.Page.Referrer
		}
		if e.Campaign.Source != "" {
			params["source"] = e.Campaign.Source
		}
		if e.Campaign.Medium != "" {
			params["medium"] = e.Campaign.Medium
		}
		if e.Campaign.Name != "" {
			params["campaign"] = e.Campaign.Name
		}
		name := eventName(e)
		if e.Type == "page" {
			name = "page_view"
			params["page_title"] = e.Name
		}
		ev := map[string]any{"name": name, "params": params}
		if us := e.TS.UnixMicro(); us != firstMicros {
			ev["timestamp_micros"] = us
		}
		events = append(events, ev)
	}
	flush()
	return out
}

// malformedIn writes a malformed message of the given reason in a shape.
// Messages that no format can read (not UTF-8, not JSON, not an object)
// are the same bytes everywhere.
func malformedIn(t testing.TB, shape string, m gen.Message) []byte {
	switch m.Reason {
	case gen.ReasonInvalidUTF8, gen.ReasonInvalidJSON, gen.ReasonNotObject:
		return m.Value
	}
	const us = "1772445600000000" // 2026-03-02T10:00:00Z
	var ga4, custom string
	switch m.Reason {
	case gen.ReasonBadField:
		ga4 = `{"client_id":{"id":7},"timestamp_micros":"` + us + `","events":[{"name":"Product Viewed"}]}`
		custom = `{"action":"Product Viewed","who":{"id":{"id":7}},"at_ms":"1772445600000"}`
	case gen.ReasonMissingEvent:
		ga4 = `{"client_id":"anon-x","timestamp_micros":"` + us + `","events":[]}`
		custom = `{"action":"","who":{"anon":"anon-x"},"at_ms":"1772445600000"}`
	case gen.ReasonMissingUserKey:
		ga4 = `{"client_id":"","timestamp_micros":"` + us + `","events":[{"name":"Product Viewed"}]}`
		custom = `{"action":"Product Viewed","who":{"id":null},"at_ms":"1772445600000"}`
	case gen.ReasonMissingTS:
		ga4 = `{"client_id":"anon-x","events":[{"name":"Product Viewed"}]}`
		custom = `{"action":"Product Viewed","who":{"anon":"anon-x"}}`
	case gen.ReasonBadTS:
		ga4 = `{"client_id":"anon-x","timestamp_micros":"yesterday","events":[{"name":"Product Viewed"}]}`
		custom = `{"action":"Product Viewed","who":{"anon":"anon-x"},"at_ms":"2026-03-02T10:00:00Z"}`
	case gen.ReasonTSOutOfRange:
		ga4 = `{"client_id":"anon-x","timestamp_micros":-1,"events":[{"name":"Product Viewed"}]}`
		custom = `{"action":"Product Viewed","who":{"anon":"anon-x"},"at_ms":"4291747200000"}`
	default:
		t.Fatalf("no %s message for rejection reason %q", shape, m.Reason)
	}
	if shape == "ga4" {
		return []byte(ga4)
	}
	return []byte(custom)
}

// partitionOf spreads messages over partitions by key (malformed ones,
// without a key, by position).
func partitionOf(key []byte, i, partitions int) int32 {
	if len(key) == 0 {
		return int32(i % partitions)
	}
	h := fnv.New32a()
	h.Write(key)
	return int32(h.Sum32() % uint32(partitions))
}
