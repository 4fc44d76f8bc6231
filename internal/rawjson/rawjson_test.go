package rawjson

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// accept reports whether Skip accepts the whole of b (whitespace around).
func accept(b []byte) ([]byte, bool) {
	i := SkipWS(b, 0)
	end, ok := Skip(b, i)
	if !ok || SkipWS(b, end) != len(b) {
		return nil, false
	}
	return b[i:end], true
}

func TestSkip(t *testing.T) {
	f := func(in string, want bool) {
		t.Helper()
		if _, got := accept([]byte(in)); got != want {
			t.Fatalf("accept(%q) = %v, want %v", in, got, want)
		}
	}
	f(`{}`, true)
	f(` {"a" : [1, -0.5e+3, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"], "b": {}} `, true)
	f(`[]`, true)
	f(`"\ud800"`, true) // a lone surrogate escape is valid JSON text
	f(`0`, true)
	f(`-0`, true)
	f(`{"a":1,}`, false)
	f(`[1,]`, false)
	f(`{"a" 1}`, false)
	f(`{a:1}`, false)
	f(`01`, false)
	f(`1.`, false)
	f(`.5`, false)
	f(`+1`, false)
	f(`1e`, false)
	f(`NaN`, false)
	f(`tru`, false)
	f(`"a`, false)
	f("\"a\x01\"", false)
	f(`"\x"`, false)
	f(`"\u12"`, false)
	f(`{"a\u0062":1}`, false) // escaped keys: refused, fastjson decides
	f(`{"a":1} x`, false)
	f(`[`+string(bytes.Repeat([]byte("["), MaxDepth))+string(bytes.Repeat([]byte("]"), MaxDepth))+`]`, false)
	f(string(bytes.Repeat([]byte("["), MaxDepth))+string(bytes.Repeat([]byte("]"), MaxDepth)), true)
}

// sameValue reports whether the text raw (accepted by Skip) and fastjson's
// parse v are the same value: same types, object members in order, array
// elements, unescaped strings, number texts.
func sameValue(raw []byte, v *fastjson.Value) bool {
	if Type(raw) != v.Type() {
		return false
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		var keys []string
		var vals []*fastjson.Value
		o.Visit(func(k []byte, e *fastjson.Value) { keys, vals = append(keys, string(k)), append(vals, e) })
		i := 0
		for it := Members(raw); it.Next(); i++ {
			if i >= len(keys) || string(it.Key) != keys[i] || !sameValue(it.Value, vals[i]) {
				return false
			}
		}
		return i == len(keys)
	case fastjson.TypeArray:
		a, _ := v.Array()
		i := 0
		for it := Elements(raw); it.Next(); i++ {
			if i >= len(a) || !sameValue(it.Value, a[i]) {
				return false
			}
		}
		return i == len(a)
	case fastjson.TypeString:
		s, _ := String(nil, raw)
		want, _ := v.StringBytes()
		return bytes.Equal(s, want)
	case fastjson.TypeNumber:
		return string(raw) == v.String()
	}
	return true
}

// plainText: no backslash, no whitespace outside strings (byte by byte).
func plainText(v []byte) bool {
	in := false
	for _, c := range v {
		switch {
		case c == '\\':
			return false
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// paths lists the paths of v up to depth 3, with a few that do not exist.
func paths(v *fastjson.Value, prefix []string, out *[][]string) {
	*out = append(*out, append([]string(nil), prefix...))
	if len(prefix) >= 3 {
		return
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(k []byte, e *fastjson.Value) { paths(e, append(prefix, string(k)), out) })
		*out = append(*out, append(append([]string(nil), prefix...), "missing"))
	case fastjson.TypeArray:
		a, _ := v.Array()
		for i, e := range a {
			paths(e, append(prefix, strconv.Itoa(i)), out)
		}
		*out = append(*out, append(append([]string(nil), prefix...), strconv.Itoa(len(a))), append(append([]string(nil), prefix...), "-1"), append(append([]string(nil), prefix...), "+0"))
	}
}

func check(t *testing.T, b []byte) {
	raw, ok := accept(b)
	if !ok {
		return
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(b)
	if err != nil {
		t.Fatalf("Skip accepts %q, fastjson does not: %v", b, err)
	}
	if !sameValue(raw, v) {
		t.Fatalf("%q: rawjson and fastjson read different values", b)
	}
	// The same document, validated onto a tape.
	var tape Tape
	var sc Scanner
	start := SkipWS(b, 0)
	if end, ok := sc.SkipTape(b, start, &tape); !ok || SkipWS(b, end) != len(b) {
		t.Fatalf("%q: SkipTape refuses what Skip accepts", b)
	}
	root := tape.Node(Root)
	if !bytes.Equal(root.Value(), raw) {
		t.Fatalf("%q: tape root %q, want %q", b, root.Value(), raw)
	}
	var ps [][]string
	paths(v, nil, &ps)
	for _, path := range ps {
		got, ok := Lookup(raw, path)
		want := v.Get(path...)
		if ok != (want != nil) || ok && !sameValue(got, want) {
			t.Fatalf("%q: Lookup(%q) = %q, %v; fastjson Get = %v", b, path, got, ok, want)
		}
		tgot, tok := root.Lookup(path)
		if tok != ok || !bytes.Equal(tgot, got) {
			t.Fatalf("%q: tape Lookup(%q) = %q, %v; Lookup = %q, %v", b, path, tgot, tok, got, ok)
		}
	}
	// Members through the tape equal those of the text, at every taped level.
	var walk func(n Node, depth int)
	walk = func(n Node, depth int) {
		// Members walks the members recorded on the tape: those of the
		// text when the node is taped, none otherwise.
		var fromTape, fromText []string
		for it := n.Members(); ; {
			k, c, ok := it.Next()
			if !ok {
				break
			}
			if !bytes.Equal(k, c.Key()) {
				t.Fatalf("%q: Members key %q, node key %q", b, k, c.Key())
			}
			fromTape = append(fromTape, string(k)+"="+string(c.Value()))
		}
		if val := n.Value(); n.taped() && Type(val) == fastjson.TypeObject {
			for it := Members(val); it.Next(); {
				fromText = append(fromText, string(it.Key)+"="+string(it.Value))
			}
		}
		if strings.Join(fromTape, "\x00") != strings.Join(fromText, "\x00") {
			t.Fatalf("%q: members at depth %d (taped %v): tape %q, text %q", b, depth, n.taped(), fromTape, fromText)
		}
		if depth > TapeDepth+1 {
			return
		}
		for it := n.Members(); ; {
			k, _, ok := it.Next()
			if !ok {
				break
			}
			if c, _, ok := n.Step(string(k)); ok && c.Valid() {
				if want := plainText(c.Value()); c.Plain() != want {
					t.Fatalf("%q: Plain() of %q = %v, want %v", b, c.Value(), c.Plain(), want)
				}
				walk(c, depth+1)
			}
		}
	}
	walk(root, 0)
}

func TestAgreesWithFastjson(t *testing.T) {
	for _, s := range seeds {
		check(t, []byte(s))
	}
}

var seeds = []string{
	`{"type":"track","event":"Product Added","userId":"u1","properties":{"price":9.5,"tags":["a","b"],"nested":{"x":[{"y":null}]}},"context":{"page":{"url":"https://x/\u00e9\/"}}}`,
	`{"a":"\ud83d\ude00","b":"\ud800","c":"\ud800x","d":"\udc00\ud800","e":"\ud800\u0041","f":"\\u0041"}`,
	`{"dup":1,"dup":2,"arr":[[],[{}],[1,[2,[3]]]]}`,
	`[1, "two", {"three": 3}, [4], true, false, null, -1.5e-7]`,
	` "just a string" `,
}

func FuzzAgreesWithFastjson(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { check(t, b) })
}

// SkipString finds the end of a string, or refuses it, exactly as a byte by
// byte reading does, wherever the special bytes fall in its 8-byte words,
// and whatever the bytes around them (the word-at-a-time test must never
// miss a special byte nor stop at an ordinary one).
func TestSkipStringWords(t *testing.T) {
	// ref reads the string at b[0] byte by byte.
	ref := func(b []byte) (end int, escaped, high, ok bool) {
		for i := 1; i < len(b); i++ {
			switch c := b[i]; {
			case c == '"':
				return i + 1, escaped, high, true
			case c == '\\':
				escaped = true
				if i+1 >= len(b) {
					return 0, false, false, false
				}
				switch b[i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i++
				case 'u':
					if i+6 > len(b) {
						return 0, false, false, false
					}
					for _, h := range b[i+2 : i+6] {
						if !isHex(h) {
							return 0, false, false, false
						}
					}
					i += 5
				default:
					return 0, false, false, false
				}
			case c < 0x20:
				return 0, false, false, false
			case c >= 0x80:
				high = true
			}
		}
		return 0, false, false, false
	}
	specials := []byte{'"', '\\', 0x00, 0x01, 0x1f, 0x20, 0x21, 0x22 ^ 0x80, '\\' ^ 0x80, 0x5b, 0x5d, 0x7f, 0x80, 0x81, 0xa0, 0xdc, 0xe2, 0xff, 'n', 'u'}
	for n := 0; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range specials {
				for _, fill := range []byte{'a', 0x21, 0x7e} {
					for _, next := range []byte{0, '"', 'n', 0x01, 0xff} {
						b := append([]byte{'"'}, bytes.Repeat([]byte{fill}, n)...)
						b[1+pos] = c
						if pos+1 < n {
							b[2+pos] = next
						}
						for _, tail := range [][]byte{nil, []byte(`"`), []byte(`"abcdefgh"`)} {
							in := append(append([]byte(nil), b...), tail...)
							var s Scanner
							end, esc, ok := s.SkipString(in, 0)
							wend, wesc, whigh, wok := ref(in)
							if end != wend || esc != wesc || ok != wok || ok && s.High != whigh {
								t.Fatalf("SkipString(%q) = %d, %v, %v (high %v); byte by byte %d, %v, %v (high %v)",
									in, end, esc, ok, s.High, wend, wesc, wok, whigh)
							}
						}
					}
				}
			}
		}
	}
}
