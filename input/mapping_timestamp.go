package input

import (
	"github.com/valyala/fastjson"
)

// tsFormat is how a mapped timestamp is written.
type tsFormat uint8

const (
	tsRFC3339 tsFormat = iota // an RFC 3339 string (the default)
	tsUnixS                   // seconds since 1970: a number or numeric string
	tsUnixMS                  // milliseconds
	tsUnixUS                  // microseconds (GA4's timestamp_micros)
	tsUnixNS                  // nanoseconds
	tsAuto                    // a number or numeric string by magnitude, else RFC 3339
)

var tsFormats = map[string]tsFormat{
	"rfc3339": tsRFC3339, "unix_s": tsUnixS, "unix_ms": tsUnixMS, "unix_us": tsUnixUS, "unix_ns": tsUnixNS, "auto": tsAuto,
}

var tsFormatNames = [...]string{tsRFC3339: "rfc3339", tsUnixS: "unix_s", tsUnixMS: "unix_ms", tsUnixUS: "unix_us", tsUnixNS: "unix_ns", tsAuto: "auto"}

func (f tsFormat) String() string { return tsFormatNames[f] }

// tsResult says how a timestamp parsed.
type tsResult uint8

const (
	tsOK         tsResult = iota
	tsBad                 // not in the format: bad_timestamp
	tsOutOfRange          // parsed, but not storable: timestamp_out_of_range
)

// epochScale is the power of ten that turns a unit into milliseconds.
var epochScale = [...]int{tsUnixS: 3, tsUnixMS: 0, tsUnixUS: -3, tsUnixNS: -6}

// mappedTimestamp returns the Unix milliseconds of v written in format f.
// buf is scratch space for a number's text; it is returned for reuse.
func mappedTimestamp(v *fastjson.Value, f tsFormat, buf []byte) (int64, tsResult, []byte) {
	var text []byte
	isNum := false
	switch v.Type() {
	case fastjson.TypeString:
		text, _ = v.StringBytes()
	case fastjson.TypeNumber:
		buf = v.MarshalTo(buf[:0])
		text, isNum = buf, true
	default:
		return 0, tsBad, buf
	}
	var ms int64
	var r tsResult
	switch f {
	case tsRFC3339:
		if isNum {
			return 0, tsBad, buf
		}
		var ok bool
		if ms, ok = parseTimestamp(text); !ok {
			return 0, tsBad, buf
		}
	case tsAuto:
		d, ok := parseDecimal(text)
		if !ok {
			if isNum {
				return 0, tsBad, buf
			}
			if ms, ok = parseTimestamp(text); !ok {
				return 0, tsBad, buf
			}
			break
		}
		unit := tsUnixNS
		switch mag := d.magnitude(); {
		case mag <= 11: // below 1e11: seconds (1e11 s is the year 5138)
			unit = tsUnixS
		case mag <= 14: // milliseconds
			unit = tsUnixMS
		case mag <= 17: // microseconds
			unit = tsUnixUS
		}
		if ms, r = d.millis(epochScale[unit]); r != tsOK {
			return 0, r, buf
		}
	default:
		d, ok := parseDecimal(text)
		if !ok {
			return 0, tsBad, buf
		}
		if ms, r = d.millis(epochScale[f]); r != tsOK {
			return 0, r, buf
		}
	}
	if ms < minTS || ms >= maxTS {
		return 0, tsOutOfRange, buf
	}
	return ms, tsOK, buf
}

// decimal is a number as sign × D × 10^exp, exactly: D is the digits of
// mant (a '.' skipped) from digit index first, n of them, its first and
// last digits non-zero. It refers to the input; nothing is copied.
type decimal struct {
	neg      bool
	mant     []byte
	first, n int
	exp      int
}

// parseDecimal reads a JSON number ([-]int[.frac][e[±]exp]); a numeric
// string may also have no integer part (".5") or no fraction digits ("5.").
func parseDecimal(b []byte) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(b) && b[i] == '-' {
		d.neg = true
		i++
	}
	start, digits, frac := i, 0, 0
	inFrac := false
	first, last := -1, -1 // digit indices of the first and last non-zero digits
scan:
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c >= '0' && c <= '9':
			if c != '0' {
				if first < 0 {
					first = digits
				}
				last = digits
			}
			digits++
			if inFrac {
				frac++
			}
		case c == '.' && !inFrac:
			inFrac = true
		default:
			break scan
		}
	}
	if digits == 0 {
		return d, false
	}
	d.mant = b[start:i]
	e := 0
	if i < len(b) {
		if b[i] != 'e' && b[i] != 'E' {
			return d, false
		}
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		if i == len(b) {
			return d, false
		}
		for ; i < len(b); i++ {
			c := b[i]
			if c < '0' || c > '9' {
				return d, false
			}
			if e < 1_000_000 { // far beyond any storable time; no overflow
				e = e*10 + int(c-'0')
			}
		}
		if eneg {
			e = -e
		}
	}
	if first >= 0 {
		d.first, d.n = first, last-first+1
		// value = digits × 10^(e-frac); D drops the trailing zeros.
		d.exp = e - frac + (digits - 1 - last)
	}
	return d, true
}

// magnitude is k such that |d| is in [10^(k-1), 10^k); 0 for zero.
func (d decimal) magnitude() int {
	if d.n == 0 {
		return 0
	}
	return d.n + d.exp
}

// millis is floor(d × 10^scale) when it fits an int64, else out of range.
func (d decimal) millis(scale int) (int64, tsResult) {
	if d.n == 0 {
		return 0, tsOK
	}
	e := d.exp + scale
	take := d.n // digits of D that make the integer part
	if e < 0 {
		take = max(d.n+e, 0)
		e = 0
	}
	if take+e > 18 {
		return 0, tsOutOfRange
	}
	var v int64
	idx := 0
	for _, c := range d.mant {
		if c == '.' {
			continue
		}
		if idx >= d.first && idx < d.first+take {
			v = v*10 + int64(c-'0')
		}
		idx++
	}
	for ; e > 0; e-- {
		v *= 10
	}
	if d.neg {
		v = -v
		if take < d.n {
			v-- // floor: a non-zero fraction was dropped
		}
	}
	return v, tsOK
}
