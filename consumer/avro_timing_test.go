package consumer

import (
	"testing"

	"github.com/hamba/avro/v2"
)

// BenchmarkAvroToJSON measures the Avro → JSON step alone (the schema is
// cached; the JSON format's decoding is BenchmarkProcess's).
func BenchmarkAvroToJSON(b *testing.B) {
	s, err := parseAvroSchema(schemaResponse{Schema: segmentV1}, &avro.SchemaCache{})
	if err != nil {
		b.Fatal(err)
	}
	raw := confluent(b, 1, segmentV1, segmentV1Event("m1", "anon-1"))[5:]
	var out []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		d := avroDecoder{data: raw, limit: 1 << 20, out: out[:0]}
		if err := d.value(s.root, 0); err != nil {
			b.Fatal(err)
		}
		out = d.out
	}
}
