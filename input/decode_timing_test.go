package input

import (
	"testing"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/rules"
)

// BenchmarkDecodeTagFastjson is decode + tag (the consumer's
// BenchmarkProcess without its worker) with the fast path off: every
// message parsed by fastjson; BenchmarkDecodeTag is the same with it on
// (the ratio shows what rawjson gains).
func BenchmarkDecodeTagFastjson(b *testing.B) {
	benchmarkDecodeTag(b, segmentDecoder{maxBytes: 1 << 20, slow: true, borrow: true})
}

func BenchmarkDecodeTag(b *testing.B) {
	benchmarkDecodeTag(b, segmentDecoder{maxBytes: 1 << 20, borrow: true})
}

func benchmarkDecodeTag(b *testing.B, dec segmentDecoder) {
	set, err := rules.Parse("r.yaml", []byte(gen.DefaultRules))
	if err != nil {
		b.Fatal(err)
	}
	s := gen.Generate(gen.Options{Seed: 1, Users: 2000})
	size := 0
	for _, m := range s.Messages {
		size += len(m.Value)
	}
	f := &segmentFormat{dec: dec}
	var dst []Decoded
	var matches []rules.Match
	b.SetBytes(int64(size / len(s.Messages)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var rj *Rejection
		dst, rj = f.Decode(s.Messages[i%len(s.Messages)].Value, Source{Topic: "t", Offset: int64(i)}, dst)
		if rj == nil {
			for j := range dst {
				matches = set.Match(&dst[j].Rule, matches[:0])
			}
		}
	}
}

func BenchmarkParseOnly(b *testing.B) {
	s := gen.Generate(gen.Options{Seed: 1, Users: 2000})
	var d segmentDecoder
	size := 0
	for _, m := range s.Messages {
		size += len(m.Value)
	}
	b.SetBytes(int64(size / len(s.Messages)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = d.p.ParseBytes(s.Messages[i%len(s.Messages)].Value)
	}
}
