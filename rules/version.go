package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// version hashes a canonical form of everything that changes what the rules
// do or say: conversions and funnels sorted by id, each with every semantic
// field. Strings are quoted so that the form is unambiguous. File names,
// lines, comments, key order, quoting and whitespace do not enter it.
func version(convs []*Conversion, funnels []*Funnel) string {
	convs = slices.Clone(convs)
	slices.SortFunc(convs, func(a, b *Conversion) int { return strings.Compare(a.ID, b.ID) })
	funnels = slices.Clone(funnels)
	slices.SortFunc(funnels, func(a, b *Funnel) int { return strings.Compare(a.ID, b.ID) })

	var b []byte
	for _, c := range convs {
		b = append(b, "conversion "...)
		b = strconv.AppendQuote(b, c.ID)
		b = append(b, " type "...)
		b = strconv.AppendQuote(b, c.Type)
		b = append(b, " category "...)
		b = strconv.AppendQuote(b, c.Category)
		b = append(b, " description "...)
		b = strconv.AppendQuote(b, c.Description)
		b = append(b, " value "...)
		b = strconv.AppendQuote(b, strings.Join(c.m.value, "."))
		b = append(b, " events ["...)
		names := slices.Clone(c.m.names)
		slices.Sort(names)
		for _, n := range names {
			b = strconv.AppendQuote(b, n)
			b = append(b, ' ')
		}
		b = append(b, "] event_regex "...)
		if c.m.nameRe != nil {
			b = strconv.AppendQuote(b, c.m.nameRe.String())
		} else {
			b = append(b, '-')
		}
		b = append(b, " call_type "...)
		b = strconv.AppendQuote(b, c.m.callType)
		b = append(b, " where "...)
		b = appendConds(b, c.m.where)
		b = append(b, '\n')
	}
	for _, f := range funnels {
		b = append(b, "funnel "...)
		b = strconv.AppendQuote(b, f.ID)
		b = append(b, " window "...)
		b = strconv.AppendInt(b, int64(f.Window), 10)
		b = append(b, " steps "...)
		for _, s := range f.Steps {
			b = strconv.AppendQuote(b, s)
			b = append(b, ' ')
		}
		b = append(b, '\n')
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func appendConds(b []byte, conds []*cond) []byte {
	b = append(b, '[')
	for _, c := range conds {
		b = append(b, '(')
		b = append(b, opNames[c.op]...)
		switch c.op {
		case opAll, opAny, opNot:
			b = append(b, ' ')
			b = appendConds(b, c.sub)
		default:
			b = append(b, ' ')
			b = strconv.AppendQuote(b, strings.Join(c.path, "."))
			switch c.op {
			case opExists, opNotExists:
			case opIn, opNotIn:
				b = append(b, " ["...)
				for i := range c.list {
					b = appendScalar(b, &c.list[i])
				}
				b = append(b, ']')
			default:
				b = append(b, ' ')
				b = appendScalar(b, &c.val)
			}
		}
		b = append(b, ')')
	}
	return append(b, ']')
}

var scalarKindCodes = [...]byte{kindString: 's', kindNumber: 'n', kindBool: 'b', kindNull: 'z'}

func appendScalar(b []byte, s *scalar) []byte {
	b = append(b, scalarKindCodes[s.kind])
	b = strconv.AppendQuote(b, s.text)
	return append(b, ' ')
}
