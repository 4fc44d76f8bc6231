package input

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/microconv/microconv/internal/testkit/inputkit"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

func avroJSON(t *testing.T, schema string, datum []byte) string {
	t.Helper()
	s, err := parseAvroSchema(schemaResponse{Schema: schema}, &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	d := avroDecoder{data: datum, limit: 1 << 20}
	if err := d.value(s.root, 0); err != nil {
		t.Fatalf("cannot decode: %v", err)
	}
	if d.pos != len(d.data) {
		t.Fatalf("%d bytes left", len(d.data)-d.pos)
	}
	if !json.Valid(d.out) {
		t.Fatalf("not JSON: %s", d.out)
	}
	return string(d.out)
}

// Every Avro type and logical type, encoded by hamba/avro, becomes the
// JSON documented in avro.go.
func TestAvroToJSON(t *testing.T) {
	const schema = `{"type":"record","name":"All","namespace":"t","fields":[
	 {"name":"n","type":"null"},
	 {"name":"b","type":"boolean"},
	 {"name":"i","type":"int"},
	 {"name":"l","type":"long"},
	 {"name":"f","type":"float"},
	 {"name":"d","type":"double"},
	 {"name":"s","type":"string"},
	 {"name":"by","type":"bytes"},
	 {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
	 {"name":"fx","type":{"type":"fixed","name":"F2","size":2}},
	 {"name":"a","type":{"type":"array","items":"long"}},
	 {"name":"m","type":{"type":"map","values":"string"}},
	 {"name":"u1","type":["null","string"]},
	 {"name":"u2","type":["null","string"]},
	 {"name":"u3","type":["null","long","string"]},
	 {"name":"rec","type":{"type":"record","name":"Inner","fields":[{"name":"x","type":"int"}]}},
	 {"name":"rec2","type":"Inner"},
	 {"name":"tsms","type":{"type":"long","logicalType":"timestamp-millis"}},
	 {"name":"tsus","type":{"type":"long","logicalType":"timestamp-micros"}},
	 {"name":"ltsms","type":{"type":"long","logicalType":"local-timestamp-millis"}},
	 {"name":"date","type":{"type":"int","logicalType":"date"}},
	 {"name":"tms","type":{"type":"int","logicalType":"time-millis"}},
	 {"name":"tus","type":{"type":"long","logicalType":"time-micros"}},
	 {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
	 {"name":"decneg","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":3}},
	 {"name":"decfx","type":{"type":"fixed","name":"D8","size":8,"logicalType":"decimal","precision":12,"scale":4}},
	 {"name":"uuid","type":{"type":"string","logicalType":"uuid"}},
	 {"name":"dur","type":{"type":"fixed","name":"Dur","size":12,"logicalType":"duration"}},
	 {"name":"nts","type":["null",{"type":"long","logicalType":"timestamp-millis"}]},
	 {"name":"esc","type":"string"}
	]}`
	ts := time.Date(2024, 5, 1, 10, 20, 30, 123456000, time.UTC)
	v := map[string]any{
		"n": nil, "b": true, "i": int32(-7), "l": int64(1) << 40, "f": float32(1.5), "d": 2.25,
		"s": "héllo", "by": []byte{0xff, 0x00, 'a'}, "e": "GREEN", "fx": [2]byte{1, 2},
		"a": []int64{1, 2, 3}, "m": map[string]any{"k": "v"},
		"u1": nil, "u2": "x", "u3": map[string]any{"long": int64(5)},
		"rec": map[string]any{"x": int32(1)}, "rec2": map[string]any{"x": int32(2)},
		"tsms": ts, "tsus": ts, "ltsms": ts,
		"date": ts, "tms": 10*time.Hour + 20*time.Minute + 30*time.Second + 123*time.Millisecond,
		"tus": 10*time.Hour + 20*time.Minute + 30*time.Second + 123456*time.Microsecond,
		"dec": big.NewRat(123456, 100), "decneg": big.NewRat(-5, 1000), "decfx": big.NewRat(-12345678, 10000),
		"uuid": "3b8f6c4e-1111-4a2b-9c3d-000000000001",
		"dur":  avro.LogicalDuration{Months: 1, Days: 2, Milliseconds: 3},
		"nts":  map[string]any{"long.timestamp-millis": ts},
		"esc":  "a\"b\\c\n\x01",
	}
	s, err := avro.Parse(schema)
	if err != nil {
		t.Fatal(err)
	}
	datum, err := avro.Marshal(s, v)
	if err != nil {
		t.Fatal(err)
	}
	got := avroJSON(t, schema, datum)
	want := `{"n":null,"b":true,"i":-7,"l":1099511627776,"f":1.5,"d":2.25,"s":"héllo","by":"/wBh","e":"GREEN","fx":"AQI=",` +
		`"a":[1,2,3],"m":{"k":"v"},"u1":null,"u2":"x","u3":5,"rec":{"x":1},"rec2":{"x":2},` +
		`"tsms":"2024-05-01T10:20:30.123Z","tsus":"2024-05-01T10:20:30.123456Z","ltsms":"2024-05-01T10:20:30.123Z",` +
		`"date":"2024-05-01","tms":"10:20:30.123","tus":"10:20:30.123456",` +
		`"dec":1234.56,"decneg":-0.005,"decfx":-1234.5678,"uuid":"3b8f6c4e-1111-4a2b-9c3d-000000000001",` +
		`"dur":{"months":1,"days":2,"milliseconds":3},"nts":"2024-05-01T10:20:30.123Z","esc":"a\"b\\c\n\u0001"}`
	if got != want {
		t.Fatalf("JSON\n got %s\nwant %s", got, want)
	}
}

// A recursive schema (a linked list) decodes, and its depth is bounded.
func TestAvroRecursiveSchema(t *testing.T) {
	const schema = `{"type":"record","name":"Node","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","Node"]}]}`
	got := avroJSON(t, schema, []byte{2, 2, 4, 0})
	if got != `{"v":1,"next":{"v":2,"next":null}}` {
		t.Fatalf("got %s", got)
	}
	s, _ := parseAvroSchema(schemaResponse{Schema: schema}, &avro.SchemaCache{})
	deep := make([]byte, 0, 2*(maxAvroDepth+2))
	for i := 0; i < maxAvroDepth+2; i++ {
		deep = append(deep, 2, 2) // v=1, next=branch 1
	}
	d := avroDecoder{data: deep, limit: 1 << 20}
	if err := d.value(s.root, 0); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("deep datum: %v", err)
	}
}

// Broken data is an error, never a panic or a loop.
func TestAvroBrokenData(t *testing.T) {
	s, err := parseAvroSchema(schemaResponse{Schema: `{"type":"record","name":"R","fields":[
		{"name":"a","type":{"type":"array","items":"null"}},{"name":"s","type":"string"},{"name":"u","type":["null","int"]}]}`}, &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty":              {},
		"huge null array":    {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"string too long":    {0, 20, 'a'},
		"negative length":    {0, 1},
		"union out of range": {0, 0, 4},
		"varint too long":    {0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		d := avroDecoder{data: data, limit: 1 << 20}
		if err := d.value(s.root, 0); err == nil {
			t.Errorf("%s: decoded %s", name, d.out)
		}
	}
}

func FuzzAvroDecode(f *testing.F) {
	const schema = `{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"array","items":["null","string",{"type":"map","values":"double"}]}},
		{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},{"name":"t","type":{"type":"long","logicalType":"timestamp-micros"}},
		{"name":"d","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}}]}`
	s, err := parseAvroSchema(schemaResponse{Schema: schema}, &avro.SchemaCache{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{2, 2, 2, 'x', 0, 2, 4, 0xfe, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := avroDecoder{data: data, limit: 1 << 16}
		if err := d.value(s.root, 0); err == nil && !json.Valid(d.out) {
			t.Fatalf("not JSON: %q", d.out)
		}
	})
}

func newAvroSegment(t *testing.T, fr *inputkit.FakeRegistry, user, pass string) Format {
	t.Helper()
	nf, err := NewFormat(Config{Name: "segment", MaxMessageBytes: 1 << 20,
		SchemaRegistryURL: fr.URL(), SchemaRegistryUsername: user, SchemaRegistryPassword: pass})
	if err != nil {
		t.Fatal(err)
	}
	return nf()
}

func TestAvroSchemaEvolution(t *testing.T) {
	fr := inputkit.NewFakeRegistry(t, "svc", "pw")
	fr.Add(1, inputkit.Schema{Schema: inputkit.SegmentV1})
	fr.Add(2, inputkit.Schema{Schema: inputkit.SegmentV2})
	f := newAvroSegment(t, fr, "svc", "pw")
	set, err := rules.Parse("r.yaml", []byte(`
conversions:
  - id: add_to_cart
    match: {event: Product Added, where: [{path: properties.price, op: gt, value: 10}, {path: context.campaign.source, op: eq, value: news}]}
  - id: purchase
    type: macro
    value: properties.revenue
    match: {event: Order Completed, where: [{path: channel, op: eq, value: app}, {path: sentAt, op: prefix, value: "2026-03-02T10:00:02.250000Z"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []struct {
		raw  []byte
		want sink.Event
		conv string
	}{
		{inputkit.Confluent(t, 1, inputkit.SegmentV1, inputkit.SegmentV1Event("m1", "anon-1")), sink.Event{EventID: "m1", Type: "track", Event: "Product Added",
			UserKey: "anon-1", SessionID: "s1", TSMillis: inputkit.AvroTS.UnixMilli(), UTM: sink.UTM{Source: "news"},
			Properties: `{"price":12.5,"sku":"h1","gift":null}`}, "add_to_cart"},
		{inputkit.Confluent(t, 2, inputkit.SegmentV2, inputkit.SegmentV2Event("m2", "u-2")), sink.Event{EventID: "m2", Type: "track", Event: "Order Completed",
			UserKey: "u-2", TSMillis: inputkit.AvroTS.Add(time.Second).UnixMilli(), Properties: `{"revenue":99,"coupon":true}`}, "purchase"},
		{[]byte(`{"messageId":"m3","type":"track","event":"Product Added","anonymousId":"a3","timestamp":"2026-03-02T10:00:00Z","properties":{"price":11},"context":{"campaign":{"source":"news"}}}`),
			sink.Event{EventID: "m3", Type: "track", Event: "Product Added", UserKey: "a3", TSMillis: inputkit.AvroTS.Truncate(time.Second).UnixMilli(),
				UTM: sink.UTM{Source: "news"}, Properties: `{"price":11}`}, "add_to_cart"},
	}
	for round := 0; round < 2; round++ {
		for i, m := range msgs {
			out, rj := f.Decode(m.raw, Source{}, nil)
			if rj != nil {
				t.Fatalf("message %d: rejected: %v", i, rj)
			}
			if props := out[0].Event.Properties; props != m.want.Properties {
				// map order is the encoder's: compare as JSON
				var a, b any
				_ = json.Unmarshal([]byte(props), &a)
				_ = json.Unmarshal([]byte(m.want.Properties), &b)
				if ja, jb := inputkit.MustJSON(t, a), inputkit.MustJSON(t, b); string(ja) != string(jb) {
					t.Fatalf("message %d: properties %s, want %s", i, props, m.want.Properties)
				}
				out[0].Event.Properties = m.want.Properties
			}
			if out[0].Event != m.want {
				t.Fatalf("message %d: event\n got %+v\nwant %+v", i, out[0].Event, m.want)
			}
			matches := set.Match(&out[0].Rule, nil)
			if len(matches) != 1 || matches[0].Conversion.ID != m.conv {
				t.Fatalf("message %d: matches %+v, want %s", i, matches, m.conv)
			}
		}
	}
	if n := fr.Requests.Load(); n != 2 {
		t.Fatalf("%d registry requests for 2 schema ids over 4 Avro messages, want 2", n)
	}
}

func TestAvroRejections(t *testing.T) {
	fr := inputkit.NewFakeRegistry(t, "", "")
	fr.Add(1, inputkit.Schema{Schema: inputkit.SegmentV1})
	fr.Add(2, inputkit.Schema{Schema: "syntax = \"proto3\";", SchemaType: "PROTOBUF"})
	f := newAvroSegment(t, fr, "", "")
	good := inputkit.Confluent(t, 1, inputkit.SegmentV1, inputkit.SegmentV1Event("m1", "a"))
	noUser := inputkit.SegmentV1Event("m2", "")
	noUser["anonymousId"] = nil
	for name, c := range map[string]struct {
		raw    []byte
		reason string
	}{
		"short header":       {[]byte{0, 0, 1}, ReasonInvalidAvro},
		"unknown id":         {inputkit.Confluent(t, 42, inputkit.SegmentV1, inputkit.SegmentV1Event("m1", "a")), ReasonUnknownSchema},
		"protobuf schema":    {append([]byte{0, 0, 0, 0, 2}, good[5:]...), ReasonInvalidAvro},
		"truncated":          {good[:len(good)-3], ReasonInvalidAvro},
		"trailing bytes":     {append(append([]byte{}, good...), 7, 7), ReasonInvalidAvro},
		"inner rejects":      {inputkit.Confluent(t, 1, inputkit.SegmentV1, noUser), ReasonMissingUserKey},
		"not avro, bad json": {[]byte(`{"type":`), ReasonInvalidJSON},
	} {
		_, rj := f.Decode(c.raw, Source{}, nil)
		if rj == nil || rj.Reason != c.reason || rj.Retry {
			t.Errorf("%s: %+v, want reason %s", name, rj, c.reason)
		}
	}
	// JSON larger than the limit is too_large, however small the Avro.
	nf, _ := NewFormat(Config{Name: "segment", MaxMessageBytes: 64, SchemaRegistryURL: fr.URL()})
	if _, rj := nf().Decode(good, Source{}, nil); rj == nil || rj.Reason != ReasonTooLarge {
		t.Errorf("too large: %+v", rj)
	}
}

// While the registry cannot be asked, messages are neither decoded nor
// rejected: the format says "retry".
func TestAvroRegistryDownIsRetried(t *testing.T) {
	fr := inputkit.NewFakeRegistry(t, "svc", "pw")
	fr.Add(1, inputkit.Schema{Schema: inputkit.SegmentV1})
	msg := inputkit.Confluent(t, 1, inputkit.SegmentV1, inputkit.SegmentV1Event("m1", "a"))

	wrong := newAvroSegment(t, fr, "svc", "not-the-password")
	_, rj := wrong.Decode(msg, Source{}, nil)
	if rj == nil || !rj.Retry || rj.Reason != "" || !strings.Contains(rj.Detail, "401") || strings.Contains(rj.Detail, "not-the-password") {
		t.Fatalf("wrong password: %+v", rj)
	}

	f := newAvroSegment(t, fr, "svc", "pw")
	fr.Down.Store(true)
	if _, rj := f.Decode(msg, Source{}, nil); rj == nil || !rj.Retry {
		t.Fatalf("registry answering 503: %+v", rj)
	}
	fr.Stop()
	if _, rj := f.Decode(msg, Source{}, nil); rj == nil || !rj.Retry || !strings.Contains(rj.Detail, "cannot reach") {
		t.Fatalf("registry stopped: %+v", rj)
	}
	fr.Down.Store(false)
	fr.Restart()
	if out, rj := f.Decode(msg, Source{}, nil); rj != nil || out[0].Event.EventID != "m1" {
		t.Fatalf("registry restarted: %+v", rj)
	}
	// JSON needs no registry.
	fr.Stop()
	if _, rj := f.Decode([]byte(`{"type":"track","event":"E","userId":"u","timestamp":"2026-03-02T10:00:00Z"}`), Source{}, nil); rj != nil {
		t.Fatalf("JSON while the registry is down: %+v", rj)
	}
}

// Avro works with the other formats too: a Snowplow event in the analytics
// SDKs' shape, its timestamps as timestamp-millis.
func TestAvroSnowplow(t *testing.T) {
	const schema = `{"type":"record","name":"Enriched","namespace":"com.acme.snowplow","fields":[
	 {"name":"app_id","type":"string"},
	 {"name":"event_id","type":{"type":"string","logicalType":"uuid"}},
	 {"name":"event_name","type":"string"},
	 {"name":"domain_userid","type":["null","string"]},
	 {"name":"domain_sessionid","type":["null","string"]},
	 {"name":"derived_tstamp","type":{"type":"long","logicalType":"timestamp-millis"}},
	 {"name":"dvce_ismobile","type":["null","boolean"]},
	 {"name":"unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1","type":["null",
	   {"type":"record","name":"Action","fields":[{"name":"type","type":"string"},{"name":"name","type":["null","string"]}]}]},
	 {"name":"contexts_com_snowplowanalytics_snowplow_ecommerce_product_1","type":{"type":"array","items":
	   {"type":"record","name":"Product","fields":[{"name":"id","type":"string"},{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}]}}}
	]}`
	fr := inputkit.NewFakeRegistry(t, "", "")
	fr.Add(9, inputkit.Schema{Schema: schema})
	nf, err := NewFormat(Config{Name: "snowplow", SchemaRegistryURL: fr.URL()})
	if err != nil {
		t.Fatal(err)
	}
	raw := inputkit.Confluent(t, 9, schema, map[string]any{
		"app_id": "shop", "event_id": "4be2b2dd-4a59-4b91-b39d-2db84cdf31c5", "event_name": "snowplow_ecommerce_action",
		"domain_userid": "d1", "domain_sessionid": "s1", "derived_tstamp": inputkit.AvroTS, "dvce_ismobile": true,
		"unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1": map[string]any{
			"com.acme.snowplow.Action": map[string]any{"type": "add_to_cart", "name": nil}},
		"contexts_com_snowplowanalytics_snowplow_ecommerce_product_1": []any{map[string]any{"id": "1236", "price": big.NewRat(1200, 100)}},
	})
	out, rj := nf().Decode(raw, Source{}, nil)
	if rj != nil {
		t.Fatal(rj)
	}
	ev := out[0].Event
	if ev.EventID != "4be2b2dd-4a59-4b91-b39d-2db84cdf31c5" || ev.UserKey != "d1" || ev.SessionID != "s1" || ev.Device != "mobile" ||
		ev.TSMillis != inputkit.AvroTS.UnixMilli() || ev.Properties != `{"type":"add_to_cart","name":null}` {
		t.Fatalf("event %+v", ev)
	}
	set, _ := rules.Parse("r.yaml", []byte(`
conversions:
  - id: add_to_cart
    match:
      event: snowplow_ecommerce_action
      where:
        - {path: unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1.type, op: eq, value: add_to_cart}
        - {path: contexts_com_snowplowanalytics_snowplow_ecommerce_product_1.0.price, op: eq, value: 12}
`))
	if m := set.Match(&out[0].Rule, nil); len(m) != 1 {
		t.Fatalf("matches %+v", m)
	}
}
