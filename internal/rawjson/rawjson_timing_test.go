package rawjson_test

import (
	"testing"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/rawjson"
)

func messages(b *testing.B) ([][]byte, int) {
	s := gen.Generate(gen.Options{Seed: 1, Users: 500, Malformed: -1})
	out := make([][]byte, len(s.Messages))
	size := 0
	for i, m := range s.Messages {
		out[i] = m.Value
		size += len(m.Value)
	}
	return out, size / len(out)
}

// BenchmarkSkipTape validates generated Segment messages onto a tape: the
// consumer's first pass over every message.
func BenchmarkSkipTape(b *testing.B) {
	msgs, size := messages(b)
	var t rawjson.Tape
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var sc rawjson.Scanner
		if _, ok := sc.SkipTape(msgs[i%len(msgs)], 0, &t); !ok {
			b.Fatal("refused")
		}
	}
}

// BenchmarkFastjsonParse is the same messages parsed by fastjson, for scale.
func BenchmarkFastjsonParse(b *testing.B) {
	msgs, size := messages(b)
	var p fastjson.Parser
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.ParseBytes(msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
}
