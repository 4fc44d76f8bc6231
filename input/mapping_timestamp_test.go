package input

import (
	"math/big"
	"strconv"
	"testing"

	"github.com/valyala/fastjson"
)

func TestMappedTimestamp(t *testing.T) {
	var p fastjson.Parser
	f := func(format tsFormat, js string, want int64, wantRes tsResult) {
		t.Helper()
		v, err := p.Parse(js)
		if err != nil {
			t.Fatalf("bad test JSON %s: %v", js, err)
		}
		got, res, _ := mappedTimestamp(v, format, nil)
		if res != wantRes || (res == tsOK && got != want) {
			t.Fatalf("mappedTimestamp(%s, %s) = %d, %d; want %d, %d", js, format, got, res, want, wantRes)
		}
	}
	const ms = 1704164645678 // 2024-01-02T03:04:05.678Z
	maxMS := maxTS - 1       // 2105-12-31T23:59:59.999Z

	// rfc3339: strings only, fractions truncated, offsets honoured.
	f(tsRFC3339, `"2024-01-02T03:04:05.678Z"`, ms, tsOK)
	f(tsRFC3339, `"2024-01-02T03:04:05.678999Z"`, ms, tsOK)
	f(tsRFC3339, `"2024-01-02T04:04:05.678+01:00"`, ms, tsOK)
	f(tsRFC3339, `"1970-01-01T00:00:00Z"`, 0, tsOK)
	f(tsRFC3339, `"2105-12-31T23:59:59.999Z"`, maxMS, tsOK)
	f(tsRFC3339, `"1969-12-31T23:59:59.999Z"`, 0, tsOutOfRange)
	f(tsRFC3339, `"2106-01-01T00:00:00Z"`, 0, tsOutOfRange)
	f(tsRFC3339, `"2024-01-02 03:04:05Z"`, 0, tsBad)
	f(tsRFC3339, `"2024-02-30T03:04:05Z"`, 0, tsBad)
	f(tsRFC3339, `1704164645678`, 0, tsBad)
	f(tsRFC3339, `true`, 0, tsBad)
	f(tsRFC3339, `{}`, 0, tsBad)

	// unix_s, numbers and numeric strings, fractions and exponents.
	f(tsUnixS, `1704164645`, 1704164645000, tsOK)
	f(tsUnixS, `"1704164645"`, 1704164645000, tsOK)
	f(tsUnixS, `1704164645.678`, ms, tsOK)
	f(tsUnixS, `1704164645.6789`, ms, tsOK) // truncated
	f(tsUnixS, `"1704164645.678"`, ms, tsOK)
	f(tsUnixS, `1.704164645678e9`, ms, tsOK)
	f(tsUnixS, `"1.704164645678E+9"`, ms, tsOK)
	f(tsUnixS, `17041646456.78e-1`, ms, tsOK)
	f(tsUnixS, `0`, 0, tsOK)
	f(tsUnixS, `-0`, 0, tsOK)
	f(tsUnixS, `"0.0009"`, 0, tsOK)
	f(tsUnixS, `4291747199.999`, maxMS, tsOK)
	f(tsUnixS, `4291747200`, 0, tsOutOfRange)
	f(tsUnixS, `-1`, 0, tsOutOfRange)
	f(tsUnixS, `"-0.0001"`, 0, tsOutOfRange) // floor: before 1970
	f(tsUnixS, `1e300`, 0, tsOutOfRange)
	f(tsUnixS, `"99999999999999999999999999"`, 0, tsOutOfRange)
	f(tsUnixS, `1e-300`, 0, tsOK)
	f(tsUnixS, `".5"`, 500, tsOK)
	f(tsUnixS, `"5."`, 5000, tsOK)
	f(tsUnixS, `"1704164645 "`, 0, tsBad)
	f(tsUnixS, `" 1704164645"`, 0, tsBad)
	f(tsUnixS, `"+1704164645"`, 0, tsBad)
	f(tsUnixS, `"0x10"`, 0, tsBad)
	f(tsUnixS, `"1e"`, 0, tsBad)
	f(tsUnixS, `"1.2.3"`, 0, tsBad)
	f(tsUnixS, `"."`, 0, tsBad)
	f(tsUnixS, `"-"`, 0, tsBad)
	f(tsUnixS, `"2024-01-02T03:04:05Z"`, 0, tsBad)
	f(tsUnixS, `null`, 0, tsBad)
	f(tsUnixS, `[1]`, 0, tsBad)

	// unix_ms, unix_us (GA4's timestamp_micros), unix_ns.
	f(tsUnixMS, `1704164645678`, ms, tsOK)
	f(tsUnixMS, `"1704164645678"`, ms, tsOK)
	f(tsUnixMS, `1704164645678.999`, ms, tsOK)
	f(tsUnixMS, `4291747199999`, maxMS, tsOK)
	f(tsUnixMS, `4291747200000`, 0, tsOutOfRange)
	f(tsUnixUS, `1704164645678123`, ms, tsOK)
	f(tsUnixUS, `"1704164645678999"`, ms, tsOK)
	f(tsUnixUS, `999`, 0, tsOK)
	f(tsUnixUS, `4291747199999999`, maxMS, tsOK)
	f(tsUnixUS, `4291747200000000`, 0, tsOutOfRange)
	f(tsUnixNS, `1704164645678123456`, ms, tsOK)
	f(tsUnixNS, `"1704164645678123456"`, ms, tsOK)
	f(tsUnixNS, `4291747200000000000`, 0, tsOutOfRange)

	// auto: the magnitude chooses the unit; other strings are RFC 3339.
	f(tsAuto, `1704164645`, 1704164645000, tsOK)
	f(tsAuto, `1704164645.678`, ms, tsOK)
	f(tsAuto, `99999999999`, 0, tsOutOfRange)           // < 1e11: seconds (the year 5138)
	f(tsAuto, `100000000000`, 100000000000, tsOK)       // 1e11: milliseconds (1973)
	f(tsAuto, `1704164645678`, ms, tsOK)                // ms
	f(tsAuto, `"1704164645678"`, ms, tsOK)              // ms, as a string
	f(tsAuto, `99999999999999`, 0, tsOutOfRange)        // < 1e14: milliseconds (5138)
	f(tsAuto, `100000000000000`, 100000000000, tsOK)    // 1e14: microseconds
	f(tsAuto, `1704164645678123`, ms, tsOK)             // us
	f(tsAuto, `100000000000000000`, 100000000000, tsOK) // 1e17: nanoseconds
	f(tsAuto, `1704164645678123456`, ms, tsOK)          // ns
	f(tsAuto, `0`, 0, tsOK)
	f(tsAuto, `"2024-01-02T03:04:05.678Z"`, ms, tsOK)
	f(tsAuto, `"yesterday"`, 0, tsBad)
	f(tsAuto, `-5`, 0, tsOutOfRange)
	f(tsAuto, `false`, 0, tsBad)
}

// FuzzMappedTimestamp checks the decimal arithmetic of the epoch formats
// against math/big: floor(value × 10^scale), in range or not.
func FuzzMappedTimestamp(f *testing.F) {
	for _, s := range []string{"1704164645", "1704164645.678", "1.7e9", "-0.5", "0", "1e-3", "4291747199.9999", "12e+3", "0.000", "00012.3400"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, unit uint8) {
		format := []tsFormat{tsUnixS, tsUnixMS, tsUnixUS, tsUnixNS}[unit%4]
		v := fastjson.MustParse(strconv.Quote(s))
		got, res, _ := mappedTimestamp(v, format, nil)
		d, ok := parseDecimal([]byte(s))
		if !ok {
			if res != tsBad {
				t.Fatalf("%q %s: not a decimal but %d, %d", s, format, got, res)
			}
			return
		}
		if d.exp > 400 || d.exp < -400 {
			return // big.Rat would be slow; the range check covers these
		}
		r, okRat := new(big.Rat).SetString(s)
		if !okRat {
			t.Skipf("%q: big.Rat does not take it", s)
		}
		scale := epochScale[format]
		pow := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(scale))), nil))
		if scale >= 0 {
			r.Mul(r, pow)
		} else {
			r.Quo(r, pow)
		}
		// floor
		q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive denominator
		inRange := q.IsInt64() && q.Int64() >= minTS && q.Int64() < maxTS
		switch {
		case inRange && (res != tsOK || got != q.Int64()):
			t.Fatalf("%q %s = %d, %d; want %s", s, format, got, res, q)
		case !inRange && res != tsOutOfRange:
			t.Fatalf("%q %s = %d, %d; want out of range (%s)", s, format, got, res, q)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
