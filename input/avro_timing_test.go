package input

import (
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/microconv/microconv/internal/testkit/inputkit"
)

// BenchmarkAvroToJSON measures the Avro → JSON step alone (the schema is
// cached; the JSON format's decoding is BenchmarkProcess's).
func BenchmarkAvroToJSON(b *testing.B) {
	s, err := parseAvroSchema(schemaResponse{Schema: inputkit.SegmentV1}, &avro.SchemaCache{})
	if err != nil {
		b.Fatal(err)
	}
	raw := inputkit.Confluent(b, 1, inputkit.SegmentV1, inputkit.SegmentV1Event("m1", "anon-1"))[5:]
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
