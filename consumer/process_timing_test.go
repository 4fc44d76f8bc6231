package consumer

import (
	"os"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/internal/config"
	"github.com/microconv/microconv/rules"
)

// BenchmarkProcess measures decode + tag of generated Segment messages with
// the generator's rule pack (19 conversions), per message, one goroutine.
// Compare with BenchmarkParseOnly, the raw JSON parse ceiling.
func BenchmarkProcess(b *testing.B) {
	benchmarkProcess(b, gen.DefaultRules)
}

// BenchmarkProcessReference is BenchmarkProcess with the rules package's
// 51-rule reference set (names, property predicates, regexes, prefixes).
func BenchmarkProcessReference(b *testing.B) {
	y, err := os.ReadFile("../rules/testdata/reference.yaml")
	if err != nil {
		b.Fatal(err)
	}
	benchmarkProcess(b, string(y))
}

func benchmarkProcess(b *testing.B, ruleYAML string) {
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
	newFormat, err := input.NewFormat(input.Config{MaxMessageBytes: config.DefaultMaxMessageBytes})
	if err != nil {
		b.Fatal(err)
	}
	w := newWorker(newFormat(), NewMetrics(nil))
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.process(&msgs[i%len(msgs)], set, 0)
	}
}
