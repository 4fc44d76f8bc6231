package input

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/microconv/microconv/gen"
)

// benchMapping is a custom shape of the generated events.
const benchMapping = `event_id: eid
type: kind
event: action
user_key: [who.id, who.anon]
timestamp: {path: at, format: unix_ms}
url: page.url
path: page.path
referrer: page.ref
utm_source: campaign.src
utm_medium: campaign.med
utm_campaign: campaign.name
device: env.device
country: env.country
properties: payload
`

// benchInputs renders the accepted events of a generated stream as Segment
// messages, as custom-shape messages and as GA4 messages of up to four
// events of one user each.
func benchInputs(tb testing.TB) (segment, custom, ga4 [][]byte, events int) {
	s := gen.Generate(gen.Options{Seed: 1, Users: 2000, Malformed: -1})
	var group []map[string]any
	var groupUser string
	flush := func() {
		if len(group) > 0 {
			b, _ := json.Marshal(map[string]any{"client_id": groupUser, "timestamp_micros": "0", "events": group})
			ga4 = append(ga4, b)
			group = nil
		}
	}
	for _, m := range s.Messages {
		e := m.Event
		if e == nil {
			continue
		}
		events++
		segment = append(segment, m.Value)
		ms := strconv.FormatInt(e.Millis(), 10)
		name := e.Name
		if name == "" { // page, identify: the call type names the event, as Segment's decoder says
			name = strings.ToLower(e.Type)
		}
		c := map[string]any{"eid": e.MessageID, "kind": e.Type, "action": name, "who": map[string]any{"id": e.UserID, "anon": e.AnonymousID},
			"at": ms, "page": map[string]any{"url": e.Page.URL, "path": e.Page.Path, "ref": e.Page.Referrer},
			"campaign": map[string]any{"src": e.Campaign.Source, "med": e.Campaign.Medium, "name": e.Campaign.Name},
			"env":      map[string]any{"device": e.Device, "country": e.Country}, "payload": e.Props}
		b, err := json.Marshal(c)
		if err != nil {
			tb.Fatal(err)
		}
		custom = append(custom, b)
		if e.UserKey() != groupUser || len(group) == 4 {
			flush()
			groupUser = e.UserKey()
		}
		params := map[string]any{"event_id": e.MessageID, "page_location": e.Page.URL, "source": e.Campaign.Source, "medium": e.Campaign.Medium, "campaign": e.Campaign.Name}
		for k, v := range e.Props {
			params[k] = v
		}
		group = append(group, map[string]any{"name": name, "timestamp_micros": e.TS.UnixMicro(), "params": params})
	}
	flush()
	return segment, custom, ga4, events
}

// BenchmarkDecodeFormats decodes the same events as Segment, as a custom
// mapping and as GA4; ns/op and allocs/op are per message (a GA4 message
// holds up to four events: see the events/msg metric).
func BenchmarkDecodeFormats(b *testing.B) {
	segment, custom, ga4, _ := benchInputs(b)
	m, err := parseMapping("bench.yaml", []byte(benchMapping), "")
	if err != nil {
		b.Fatal(err)
	}
	ga4f := newGA4(b, "")
	for _, c := range []struct {
		name string
		f    Format
		msgs [][]byte
	}{
		{"segment", &segmentFormat{dec: segmentDecoder{maxBytes: 1 << 20}}, segment},
		{"mapping", newMappingFormat(m, 1<<20), custom},
		{"ga4", ga4f, ga4},
	} {
		b.Run(c.name, func(b *testing.B) {
			size, n := 0, 0
			var dst []Decoded
			for _, msg := range c.msgs {
				size += len(msg)
				var rj *Rejection
				if dst, rj = c.f.Decode(msg, mapSrc, dst); rj != nil {
					b.Fatalf("%s rejects %s: %v", c.name, msg, rj)
				}
				n += len(dst)
			}
			b.SetBytes(int64(size / len(c.msgs)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst, _ = c.f.Decode(c.msgs[i%len(c.msgs)], mapSrc, dst)
			}
			b.ReportMetric(float64(n)/float64(len(c.msgs)), "events/msg")
		})
	}
}
