package rules

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// opcode is a condition operator, or a group (all, any, not).
type opcode uint8

const (
	opEq opcode = iota + 1
	opNe
	opIn
	opNotIn
	opContains
	opPrefix
	opSuffix
	opRegex
	opGt
	opGte
	opLt
	opLte
	opExists
	opNotExists
	opAll
	opAny
	opNot
)

var opNames = [...]string{
	opEq: "eq", opNe: "ne", opIn: "in", opNotIn: "not_in", opContains: "contains",
	opPrefix: "prefix", opSuffix: "suffix", opRegex: "regex",
	opGt: "gt", opGte: "gte", opLt: "lt", opLte: "lte",
	opExists: "exists", opNotExists: "not_exists",
	opAll: "all", opAny: "any", opNot: "not",
}

var opcodes = func() map[string]opcode {
	m := make(map[string]opcode, len(opNames))
	for op, name := range opNames {
		if name != "" {
			m[name] = opcode(op)
		}
	}
	return m
}()

var validOps = strings.Join(opNames[opEq:opAll], ", ")

type scalarKind uint8

const (
	kindString scalarKind = iota + 1
	kindNumber
	kindBool
	kindNull
)

// scalar is a rule value, with its numeric and boolean readings precomputed.
type scalar struct {
	kind   scalarKind
	text   string  // as written in the YAML ("" for null); used by contains, prefix, suffix, regex
	textb  []byte  // text as bytes, so that matching does not convert
	num    float64 // the number, for a number or a string that parses as one
	isNum  bool
	b      bool // the bool, for a bool or the strings "true" and "false"
	isBool bool
}

// cond is one compiled condition: a leaf (path op value) or a group.
type cond struct {
	op   opcode
	path []string       // leaf: the path, split at dots
	pid  int32          // leaf: path's id in the set's paths
	val  scalar         // leaf: the value, for every op but in, not_in, exists, not_exists
	list []scalar       // in, not_in
	re   *regexp.Regexp // regex
	sub  []*cond        // all, any; not means not(all(sub))
}

// eval tells whether doc satisfies c. Semantics:
//
//   - The path is resolved with fastjson's Get: object keys, and decimal
//     segments index arrays. A missing path or a JSON null makes eq, in,
//     contains, prefix, suffix, regex, gt, gte, lt, lte and exists false,
//     and ne, not_in and not_exists true; the exception is eq null (and in
//     a list holding null), which holds for JSON null.
//   - ne is exactly not(eq), not_in is not(in), not_exists is not(exists).
//   - eq (and in, and contains on arrays) compare by equal, see there.
//   - contains: a JSON string contains the value's text as a substring; a
//     JSON array has an element equal to the value.
//   - prefix, suffix, regex: JSON strings only, against the value's text as
//     written in the YAML; regex is unanchored Go RE2.
//   - gt, gte, lt, lte: a JSON number or a string that parses as a number,
//     compared as float64 with the rule's number; anything else is false.
//   - exists: the path is present and not null.
func (c *cond) eval(ev *Event) bool {
	switch c.op {
	case opAll:
		return evalAll(c.sub, ev)
	case opAny:
		for _, s := range c.sub {
			if s.eval(ev) {
				return true
			}
		}
		return false
	case opNot:
		return !evalAll(c.sub, ev)
	}
	v := ev.get(c.path, c.pid)
	switch c.op {
	case opEq:
		return equal(v, &c.val)
	case opNe:
		return !equal(v, &c.val)
	case opIn:
		return in(v, c.list)
	case opNotIn:
		return !in(v, c.list)
	case opContains:
		return contains(v, &c.val)
	case opPrefix:
		b, ok := stringBytes(v)
		return ok && bytes.HasPrefix(b, c.val.textb)
	case opSuffix:
		b, ok := stringBytes(v)
		return ok && bytes.HasSuffix(b, c.val.textb)
	case opRegex:
		b, ok := stringBytes(v)
		return ok && c.re.Match(b)
	case opGt:
		f, ok := numeric(v)
		return ok && f > c.val.num
	case opGte:
		f, ok := numeric(v)
		return ok && f >= c.val.num
	case opLt:
		f, ok := numeric(v)
		return ok && f < c.val.num
	case opLte:
		f, ok := numeric(v)
		return ok && f <= c.val.num
	case opExists:
		return v.found && v.t != fastjson.TypeNull
	case opNotExists:
		return !v.found || v.t == fastjson.TypeNull
	}
	return false
}

func evalAll(conds []*cond, ev *Event) bool {
	for _, c := range conds {
		if !c.eval(ev) {
			return false
		}
	}
	return true
}

// equal tells whether JSON value v equals rule value s:
//
//   - a missing value equals nothing; JSON null equals only null;
//   - JSON string vs rule string: byte equality; vs rule number: numeric
//     equality if the JSON string parses as a number; vs rule bool: the
//     strings "true" and "false";
//   - JSON number vs rule number, or vs a rule string that parses as a
//     number: numeric equality;
//   - JSON true/false vs rule bool, or vs the rule strings "true"/"false";
//   - JSON objects and arrays equal nothing.
func equal(v value, s *scalar) bool {
	if !v.found {
		return false
	}
	switch v.t {
	case fastjson.TypeNull:
		return s.kind == kindNull
	case fastjson.TypeString:
		b := v.s
		switch s.kind {
		case kindString:
			return string(b) == s.text
		case kindNumber:
			f, ok := parseNumeric(b)
			return ok && f == s.num
		case kindBool:
			if s.b {
				return string(b) == "true"
			}
			return string(b) == "false"
		}
	case fastjson.TypeNumber:
		if !s.isNum {
			return false
		}
		f, err := v.float()
		return err == nil && f == s.num
	case fastjson.TypeTrue:
		return s.isBool && s.b
	case fastjson.TypeFalse:
		return s.isBool && !s.b
	}
	return false
}

func in(v value, list []scalar) bool {
	for i := range list {
		if equal(v, &list[i]) {
			return true
		}
	}
	return false
}

func contains(v value, s *scalar) bool {
	if !v.found {
		return false
	}
	switch v.t {
	case fastjson.TypeString:
		if s.kind == kindNull {
			return false
		}
		return bytes.Contains(v.s, s.textb)
	case fastjson.TypeArray:
		found := false
		v.elements(func(e value) bool {
			found = equal(e, s)
			return !found
		})
		return found
	}
	return false
}

func stringBytes(v value) ([]byte, bool) {
	if !v.found || v.t != fastjson.TypeString {
		return nil, false
	}
	return v.s, true
}

// numeric reads a JSON number, or a JSON string that parses as a number.
func numeric(v value) (float64, bool) {
	if !v.found {
		return 0, false
	}
	switch v.t {
	case fastjson.TypeNumber:
		f, err := v.float()
		return f, err == nil
	case fastjson.TypeString:
		return parseNumeric(v.s)
	}
	return 0, false
}

// parseNumeric parses a decimal number: an optional sign, digits with an
// optional fraction, an optional exponent ("42", "-1.5", ".5", "1e3").
// Spaces, hex, "Inf" and "NaN" are not numbers. A number too large for
// float64 reads as ±Inf.
func parseNumeric(b []byte) (float64, bool) {
	if !isDecimal(b) {
		return 0, false
	}
	// string(b) does not allocate for short strings: ParseFloat does not keep it.
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

func isDecimal(b []byte) bool {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	digits := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(b)
}
