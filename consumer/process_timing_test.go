package consumer

import (
	"os"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/microconv/microconv/internal/gen"
	"github.com/microconv/microconv/rules"
)

// BenchmarkProcess measures decode + tag of generated Segment messages with
// the generator's rule pack (19 conversions), per message, one goroutine.
// Compare with BenchmarkParseOnly, the raw JSON parse ceiling.
func BenchmarkProcess(b *testing.B) {
	benchmarkProcess(b, segmentDecoder{maxBytes: 1 << 20}, gen.DefaultRules)
}

// BenchmarkProcessReference is BenchmarkProcess with the rules package's
// 51-rule reference set (names, property predicates, regexes, prefixes).
func BenchmarkProcessReference(b *testing.B) {
	y, err := os.ReadFile("../rules/testdata/reference.yaml")
	if err != nil {
		b.Fatal(err)
	}
	benchmarkProcess(b, segmentDecoder{maxBytes: 1 << 20}, string(y))
}

// BenchmarkProcessFastjson is BenchmarkProcess with the fast path off: every
// message parsed by fastjson (the ratio shows what rawjson gains).
func BenchmarkProcessFastjson(b *testing.B) {
	benchmarkProcess(b, segmentDecoder{maxBytes: 1 << 20, slow: true}, gen.DefaultRules)
}

func benchmarkProcess(b *testing.B, dec segmentDecoder, ruleYAML string) {
	set, err := rules.Parse("r.yaml", []byte(ruleYAML))
	if err != nil {
		b.Fatal(err)
	}
	s := gen.Generate(gen.Options{Seed: 1, Users: 2000})
	msgs := make([]kafka.Message, len(s.Messages))
	size := 0
	for i, m := range s.Messages {
		msgs[i] = kafka.Message{Topic: "t", Offset: int64(i), Value: m.Value}
		size += len(m.Value)
	}
	w := newWorker(&segmentFormat{dec: dec}, NewMetrics(nil))
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.process(&msgs[i%len(msgs)], set, 0)
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
