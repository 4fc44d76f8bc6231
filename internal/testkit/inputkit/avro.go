package inputkit

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// Confluent frames an Avro datum (encoded by hamba/avro, independently of
// the decoder under test) in the Confluent wire format.
func Confluent(t testing.TB, id uint32, schema string, v any) []byte {
	t.Helper()
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := avro.Marshal(s, v)
	if err != nil {
		t.Fatalf("cannot encode %v: %v", v, err)
	}
	out := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], id)
	return append(out, b...)
}

// Segment-shaped events in two versions of a schema: v2 added "channel"
// (with a default) and "sentAt", and removed "anonymousId".
const (
	SegmentV1 = `{"type":"record","name":"SegmentEvent","namespace":"com.acme","fields":[
	 {"name":"messageId","type":"string"},
	 {"name":"type","type":{"type":"enum","name":"CallType","symbols":["track","page","identify"]}},
	 {"name":"event","type":["null","string"],"default":null},
	 {"name":"userId","type":["null","string"],"default":null},
	 {"name":"anonymousId","type":["null","string"],"default":null},
	 {"name":"timestamp","type":{"type":"long","logicalType":"timestamp-millis"}},
	 {"name":"properties","type":{"type":"map","values":["null","string","double","boolean"]},"default":{}},
	 {"name":"context","type":["null",{"type":"record","name":"Context","fields":[
	   {"name":"session_id","type":["null","string"],"default":null},
	   {"name":"campaign","type":["null",{"type":"record","name":"Campaign","fields":[{"name":"source","type":"string"}]}],"default":null}]}],"default":null}
	]}`
	SegmentV2 = `{"type":"record","name":"SegmentEvent","namespace":"com.acme","fields":[
	 {"name":"messageId","type":"string"},
	 {"name":"type","type":{"type":"enum","name":"CallType","symbols":["track","page","identify"]}},
	 {"name":"event","type":["null","string"],"default":null},
	 {"name":"userId","type":["null","string"],"default":null},
	 {"name":"channel","type":"string","default":"web"},
	 {"name":"timestamp","type":{"type":"long","logicalType":"timestamp-millis"}},
	 {"name":"sentAt","type":["null",{"type":"long","logicalType":"timestamp-micros"}],"default":null},
	 {"name":"properties","type":{"type":"map","values":["null","string","double","boolean"]},"default":{}},
	 {"name":"context","type":["null",{"type":"record","name":"Context","fields":[
	   {"name":"session_id","type":["null","string"],"default":null},
	   {"name":"campaign","type":["null",{"type":"record","name":"Campaign","fields":[{"name":"source","type":"string"}]}],"default":null}]}],"default":null}
	]}`
)

// AvroTS is the time of SegmentV1Event (SegmentV2Event is a second later).
var AvroTS = time.Date(2026, 3, 2, 10, 0, 0, 250_000_000, time.UTC)

// SegmentV1Event is a track "Product Added" of anonymous user.
func SegmentV1Event(id, user string) map[string]any {
	return map[string]any{
		"messageId": id, "type": "track", "event": "Product Added", "userId": nil, "anonymousId": user,
		"timestamp": AvroTS, "properties": map[string]any{"price": 12.5, "sku": "h1", "gift": nil},
		"context": map[string]any{"com.acme.Context": map[string]any{"session_id": "s1",
			"campaign": map[string]any{"com.acme.Campaign": map[string]any{"source": "news"}}}},
	}
}

// SegmentV2Event is a track "Order Completed" of user on channel app.
func SegmentV2Event(id, user string) map[string]any {
	return map[string]any{
		"messageId": id, "type": "track", "event": "Order Completed", "userId": user, "channel": "app",
		"timestamp": AvroTS.Add(time.Second), "sentAt": map[string]any{"long.timestamp-micros": AvroTS.Add(2 * time.Second)},
		"properties": map[string]any{"revenue": 99.0, "coupon": true}, "context": nil,
	}
}
