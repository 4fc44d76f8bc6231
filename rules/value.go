package rules

import (
	"unsafe"

	"github.com/valyala/fastjson"
	"github.com/valyala/fastjson/fastfloat"

	"github.com/microconv/microconv/internal/rawjson"
)

// value is what a path resolves to in an event, whichever way the event
// holds its document: a fastjson tree (Doc) or validated JSON text (Raw).
type value struct {
	found bool
	t     fastjson.Type
	s     []byte          // a string's unescaped bytes; a number's text (Raw)
	fv    *fastjson.Value // the value in Doc
	raw   []byte          // the value's text in Raw
	ev    *Event          // for unescaping array elements
}

// lookup resolves path in ev's document, as fastjson's Get does.
func (ev *Event) lookup(path []string) value {
	if ev.Raw != nil {
		var v []byte
		var ok bool
		if ev.Tape != nil {
			v, ok = ev.Tape.Node(rawjson.Root).Lookup(path)
		} else {
			v, ok = rawjson.Lookup(ev.Raw, path)
		}
		if !ok {
			return value{}
		}
		return ev.rawValue(v)
	}
	return docValue(ev.Doc.Get(path...))
}

// rawValue reads the JSON text v; a string with escapes is unescaped into
// the event's scratch memory, valid until the next lookup.
func (ev *Event) rawValue(v []byte) value {
	val := value{found: true, t: rawjson.Type(v), raw: v, ev: ev}
	switch val.t {
	case fastjson.TypeString:
		val.s, ev.scratch = rawjson.String(ev.scratch[:0], v)
	case fastjson.TypeNumber:
		val.s = v
	}
	return val
}

func docValue(v *fastjson.Value) value {
	if v == nil {
		return value{}
	}
	val := value{found: true, t: v.Type(), fv: v}
	if val.t == fastjson.TypeString {
		val.s, _ = v.StringBytes()
	}
	return val
}

// float is the number a JSON number holds, parsed as fastjson does.
func (v value) float() (float64, error) {
	if v.fv != nil {
		return v.fv.Float64()
	}
	return fastfloat.Parse(unsafe.String(unsafe.SliceData(v.s), len(v.s)))
}

// elements calls fn with each element of an array until fn returns false.
func (v value) elements(fn func(value) bool) {
	if v.fv != nil {
		a, _ := v.fv.Array()
		for _, e := range a {
			if !fn(docValue(e)) {
				return
			}
		}
		return
	}
	for it := rawjson.Elements(v.raw); it.Next(); {
		if !fn(v.ev.rawValue(it.Value)) {
			return
		}
	}
}
