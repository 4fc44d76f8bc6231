// Package rawjson reads JSON text where it lies, without building a tree:
// a strict validating skip (RFC 8259), iteration over the members of an
// object and the elements of an array, path lookups and string unescaping.
//
// It is the consumer's fast path for Segment messages and the rules' view of
// them: one pass validates a message and finds the handful of fields the
// consumer reads, and a rule's path is resolved by scanning only the objects
// on its way. Its results equal fastjson's (github.com/valyala/fastjson) on
// the text it accepts: Skip refuses what it does not handle exactly as
// fastjson does (object keys holding escapes, nesting deeper than MaxDepth),
// and the caller then parses with fastjson instead.
package rawjson

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"
)

// MaxDepth is the deepest nesting Skip accepts.
const MaxDepth = 64

// Type returns the type of the JSON value v (valid JSON text, no leading
// whitespace) in fastjson's terms.
func Type(v []byte) fastjson.Type {
	if len(v) == 0 {
		return fastjson.TypeNull
	}
	switch v[0] {
	case '{':
		return fastjson.TypeObject
	case '[':
		return fastjson.TypeArray
	case '"':
		return fastjson.TypeString
	case 't':
		return fastjson.TypeTrue
	case 'f':
		return fastjson.TypeFalse
	case 'n':
		return fastjson.TypeNull
	}
	return fastjson.TypeNumber
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipWS returns the index of the first byte at or after i that is not
// JSON whitespace.
func SkipWS(b []byte, i int) int {
	// Compact JSON has no whitespace: one comparison in the common case.
	for i < len(b) && b[i] <= ' ' && isWS(b[i]) {
		i++
	}
	return i
}

// strClass[c] is 0 for ASCII bytes that may appear unescaped in a string,
// 1 for bytes >= 0x80 (UTF-8, checked by the caller) and 2 for '"', '\\'
// and control characters.
var strClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c < 0x20 || c == '"' || c == '\\':
			t[c] = 2
		case c >= 0x80:
			t[c] = 1
		}
	}
	return t
}()

// A Scanner validates JSON text (Skip), noting whether it holds bytes of
// multi-byte UTF-8 sequences, which it does not check.
type Scanner struct {
	High bool // a string holds a byte >= 0x80: check the text with utf8.Valid

	spaces  int // runs of whitespace skipped (outside strings)
	escapes int // strings holding escapes
}

// sws is SkipWS, counting the runs of whitespace it skips.
func (s *Scanner) sws(b []byte, i int) int {
	if i < len(b) && b[i] <= ' ' {
		if j := SkipWS(b, i); j != i {
			s.spaces++
			return j
		}
	}
	return i
}

// SkipString validates the string starting at b[i] ('"') and returns the
// index after its closing quote and whether it holds escapes.
func SkipString(b []byte, i int) (end int, escaped, ok bool) {
	var s Scanner
	return s.SkipString(b, i)
}

// SkipString is the package's SkipString, noting high bytes in s.
func (s *Scanner) SkipString(b []byte, i int) (end int, escaped, ok bool) {
	i++
	for {
		// Eight bytes at a time: find the first special byte ('"', '\\', a
		// control character or a byte >= 0x80) of the word. A byte of q or
		// bs is 0 at a quote or a backslash, and subtracting 1 borrows
		// through it; x - 0x20 borrows through a control character; x
		// flags high bytes. A borrow may also flag the byte after a true
		// one, or a byte that x flags anyway, so the lowest flagged byte is
		// always a true one.
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i : i+8 : i+8])
			const ones, highs = 0x0101010101010101, 0x8080808080808080
			q := x ^ (ones * '"')
			bs := x ^ (ones * '\\')
			special := ((q - ones) | (bs - ones) | (x - ones*0x20) | x) & highs
			if special != 0 {
				i += bits.TrailingZeros64(special) >> 3
				goto found
			}
			i += 8
		}
		for i < len(b) && strClass[b[i]] == 0 {
			i++
		}
		if i >= len(b) {
			return 0, false, false
		}
	found:
		if b[i] == '"' {
			return i + 1, escaped, true
		}
		if strClass[b[i]] == 1 {
			s.High = true
			i++
			continue
		}
		switch b[i] {
		case '\\':
			if !escaped {
				escaped = true
				s.escapes++
			}
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
		default: // a control character
			return 0, false, false
		}
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipNumber validates the number starting at b[i].
func skipNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

// IsNumber reports whether s is exactly one number as RFC 8259 writes it.
func IsNumber(s string) bool {
	end, ok := skipNumber(unsafe.Slice(unsafe.StringData(s), len(s)), 0)
	return ok && end == len(s)
}

func skipLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// Skip validates the JSON value starting at b[i] (no leading whitespace)
// and returns the index after it. It refuses (ok false) text that is not
// RFC 8259 JSON, that nests deeper than MaxDepth, or whose object keys hold
// escapes.
func Skip(b []byte, i int) (end int, ok bool) {
	var s Scanner
	return s.skip(b, i, 0)
}

// Skip is the package's Skip, noting high bytes in s.
func (s *Scanner) Skip(b []byte, i int) (end int, ok bool) { return s.skip(b, i, 0) }

func (s *Scanner) skip(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := s.SkipString(b, i)
		return end, ok
	case c == '{':
		if depth >= MaxDepth {
			return 0, false
		}
		i = s.sws(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			end, escaped, ok := s.SkipString(b, i)
			if !ok || escaped {
				return 0, false
			}
			i = s.sws(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, false
			}
			if i, ok = s.skip(b, s.sws(b, i+1), depth+1); !ok {
				return 0, false
			}
			i = s.sws(b, i)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == '}' {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = s.sws(b, i+1)
		}
	case c == '[':
		if depth >= MaxDepth {
			return 0, false
		}
		i = s.sws(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = s.skip(b, i, depth+1); !ok {
				return 0, false
			}
			i = s.sws(b, i)
			if i >= len(b) {
				return 0, false
			}
			if b[i] == ']' {
				return i + 1, true
			}
			if b[i] != ',' {
				return 0, false
			}
			i = s.sws(b, i+1)
		}
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	default:
		return skipNumber(b, i)
	}
}

// end returns the index after the value at b[i] of text Skip accepted.
func end(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the string at b[i].
func stringEnd(b []byte, i int) int {
	for i++; ; {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		// The quote closes the string unless an odd number of backslashes
		// escapes it.
		k := i - 1
		for k >= 0 && b[k] == '\\' {
			k--
		}
		if (i-1-k)%2 == 0 {
			return i + 1
		}
		i++
	}
}

// Members iterates over the members of an object accepted by Skip:
//
//	for it := rawjson.Members(obj); it.Next(); { it.Key, it.Value }
//
// Key is the key's text without quotes (Skip refused escaped keys);
// Value is the member's value text.
type Iter struct {
	b          []byte
	i          int
	close      byte
	Key, Value []byte
}

// Members returns an iterator over the members of the object v.
func Members(v []byte) Iter { return Iter{b: v, i: 1, close: '}'} }

// Elements returns an iterator over the elements of the array v (Key stays nil).
func Elements(v []byte) Iter { return Iter{b: v, i: 1, close: ']'} }

// Next advances to the next member or element; false at the end.
func (it *Iter) Next() bool {
	b := it.b
	i := SkipWS(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = SkipWS(b, i+1)
	}
	if i >= len(b) || b[i] == it.close {
		it.i = len(b)
		return false
	}
	if it.close == '}' {
		ke := stringEnd(b, i)
		it.Key = b[i+1 : ke-1]
		i = SkipWS(b, ke)
		i = SkipWS(b, i+1) // the colon
	}
	e := end(b, i)
	it.Value = b[i:e]
	it.i = e
	return true
}

// Get returns the value of the first member of object v named key.
func Get(v []byte, key string) ([]byte, bool) {
	for it := Members(v); it.Next(); {
		if string(it.Key) == key {
			return it.Value, true
		}
	}
	return nil, false
}

// Lookup returns the value at path in v, as fastjson's (*Value).Get does:
// each segment names a member of an object (the first one with that name)
// or, in decimal, an element of an array.
func Lookup(v []byte, path []string) ([]byte, bool) {
	for _, seg := range path {
		var ok bool
		if v, ok = Step(v, seg); !ok {
			return nil, false
		}
	}
	return v, true
}

// Step is Lookup of one segment: the first member of object v named seg,
// or, when seg is decimal, that element of array v.
func Step(v []byte, seg string) ([]byte, bool) {
	switch Type(v) {
	case fastjson.TypeObject:
		return Get(v, seg)
	case fastjson.TypeArray:
		n, err := strconv.Atoi(seg)
		if err != nil || n < 0 {
			return nil, false
		}
		for it := Elements(v); it.Next(); n-- {
			if n == 0 {
				return it.Value, true
			}
		}
	}
	return nil, false
}

// String returns the content of the JSON string v (between its quotes),
// unescaped into dst's memory when it holds escapes, as fastjson does.
func String(dst, v []byte) (s, newDst []byte) {
	content := v[1 : len(v)-1]
	for _, c := range content {
		if c == '\\' {
			start := len(dst)
			dst = Unescape(dst, content)
			return dst[start:], dst
		}
	}
	return content, dst
}

// Unescape appends the unescaped string content s to dst, with fastjson's
// rules for what RFC 8259 leaves open: a \u escape of a lone UTF-16
// surrogate is kept as written, and a surrogate followed by another \u
// escape is decoded as a pair (U+FFFD when they do not form one).
func Unescape(dst, s []byte) []byte {
	for len(s) > 0 {
		c := s[0]
		if c != '\\' || len(s) < 2 {
			dst = append(dst, c)
			s = s[1:]
			continue
		}
		e := s[1]
		s = s[2:]
		switch e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if len(s) < 4 {
				dst = append(dst, '\\', 'u')
				break
			}
			x, err := strconv.ParseUint(string(s[:4]), 16, 16)
			if err != nil {
				dst = append(dst, '\\', 'u')
				break
			}
			xs := s[:4]
			s = s[4:]
			if !utf16.IsSurrogate(rune(x)) {
				dst = utf8.AppendRune(dst, rune(x))
				break
			}
			if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
				dst = append(append(dst, '\\', 'u'), xs...)
				break
			}
			x1, err := strconv.ParseUint(string(s[2:6]), 16, 16)
			if err != nil {
				dst = append(append(dst, '\\', 'u'), xs...)
				break
			}
			dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(x), rune(x1)))
			s = s[6:]
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
	}
	return dst
}
