package gen

import "testing"

// Targets: generating 4000 people under ~2 s, their truth under ~3 s.

func BenchmarkGenerate4000(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s := Generate(Options{Seed: 1, Users: 4000})
		b.ReportMetric(float64(len(s.Messages)), "messages/op")
	}
}

func BenchmarkComputeTruth4000(b *testing.B) {
	s := Generate(Options{Seed: 1, Users: 4000})
	set := defaultSet(b)
	var n int64
	for _, m := range s.Messages {
		n += int64(len(m.Value))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ComputeTruth(s, set); err != nil {
			b.Fatal(err)
		}
	}
}
