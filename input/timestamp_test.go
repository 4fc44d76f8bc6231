package input

import (
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	f := func(s string, want int64, ok bool) {
		t.Helper()
		got, gok := parseTimestamp([]byte(s))
		if gok != ok || (ok && got != want) {
			t.Fatalf("parseTimestamp(%q) = %d, %v; want %d, %v", s, got, gok, want, ok)
		}
	}
	f("2024-01-02T03:04:05.678Z", 1704164645678, true)
	f("2024-01-02T03:04:05Z", 1704164645000, true)
	f("2024-01-02T04:04:05.6789+01:00", 1704164645678, true)
	f("2024-01-02T02:04:05.1-01:00", 1704164645100, true)
	f("2024-02-29T00:00:00Z", 1709164800000, true)
	f("2023-02-29T00:00:00Z", 0, false)
	f("2024-13-01T00:00:00Z", 0, false)
	f("2024-01-02 03:04:05Z", 0, false)
	f("2024-01-02T03:04:05", 0, false)
	f("2024-01-02T24:00:00Z", 0, false)
	f("1969-12-31T23:59:59.999Z", -1, true)
	f("2024-01-02T03:04:05.123456789Z", 1704164645123, true)
}

// The fast parser agrees with time.Parse on everything.
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2024-01-02T03:04:05.678Z", "2024-01-02T04:04:05+01:00", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999999999-23:59", "2024-02-29T12:00:00.5Z", "2024-01-02T03:04:05.1234567891Z", "2024-01-02t03:04:05z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTimestamp([]byte(s))
		ref, err := time.Parse(time.RFC3339Nano, s)
		if ok != (err == nil) {
			t.Fatalf("parseTimestamp(%q) ok=%v, time.Parse err=%v", s, ok, err)
		}
		if ok && got != ref.UnixMilli() {
			t.Fatalf("parseTimestamp(%q) = %d, time.Parse gives %d", s, got, ref.UnixMilli())
		}
	})
}
