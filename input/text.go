package input

import (
	"encoding/binary"
	"unicode/utf8"
)

// scanText reports whether raw has any byte >= 0x80 (then it must be checked
// as UTF-8) and any control byte < 0x20 (then it must be checked for control
// characters inside strings), eight bytes at a time: most messages are
// plain ASCII without either, and pass with one cheap pass.
func scanText(raw []byte) (high, ctl bool) {
	const (
		lo  = 0x2020202020202020
		msb = 0x8080808080808080
	)
	var acc, ctlAcc uint64
	for len(raw) >= 16 {
		x, y := binary.LittleEndian.Uint64(raw), binary.LittleEndian.Uint64(raw[8:16])
		raw = raw[16:]
		acc |= x | y
		// A byte b < 0x20 with its top bit clear makes (b - 0x20) borrow
		// into its own top bit; bytes >= 0x80 are caught by acc instead.
		ctlAcc |= (x-lo)&^x | (y-lo)&^y
	}
	for _, b := range raw {
		if b >= 0x80 {
			high = true
		} else if b < 0x20 {
			ctl = true
		}
	}
	if acc&msb != 0 {
		high = true
	}
	if ctlAcc&msb != 0 {
		ctl = true
	}
	return high, ctl
}

// validText reports whether raw is valid UTF-8 with no raw control
// character inside a JSON string (RFC 8259 requires them escaped; outside
// strings only tab, newline and carriage return may appear, as whitespace,
// and the JSON parser rejects the others).
func validText(raw []byte) bool {
	high, ctl := scanText(raw)
	if high && !utf8.Valid(raw) {
		return false
	}
	if !ctl {
		return true
	}
	inString, escaped := false, false
	for _, b := range raw {
		switch {
		case escaped:
			escaped = false
		case inString && b == '\\':
			escaped = true
		case b == '"':
			inString = !inString
		case inString && b < 0x20:
			return false
		}
	}
	return true
}
