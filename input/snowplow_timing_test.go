package input

import "testing"

func benchmarkSnowplow(b *testing.B, raw []byte) {
	f := &snowplowFormat{dec: segmentDecoder{maxBytes: 1 << 20}}
	var dst []Decoded
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var rj *Rejection
		if dst, rj = f.Decode(raw, Source{Topic: "sp"}, dst); rj != nil {
			b.Fatal(rj)
		}
	}
}

func BenchmarkSnowplowTSV(b *testing.B)  { benchmarkSnowplow(b, []byte(spAddToCart.tsv())) }
func BenchmarkSnowplowJSON(b *testing.B) { benchmarkSnowplow(b, []byte(spAddToCartJSON)) }
