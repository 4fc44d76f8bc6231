package rawjson

// TapeDepth is how deep a Tape records object members: the members of the
// top-level object (depth 1), of objects in them (2, e.g. context.page) and
// one level further (3, e.g. context.page.url).
const TapeDepth = 3

// A Tape records, while a document is validated, where the members of its
// objects down to TapeDepth are, so that reading them later does not scan
// the text again. Entries are in document order; each says where its
// member's key and value are, its depth, and the entry after its subtree.
// The zero Tape is empty; Reset reuses its memory.
type Tape struct {
	b            []byte
	e            []entry
	rootS, rootE int
}

type entry struct {
	keyStart, keyEnd int32 // key text, without quotes
	valStart, valEnd int32
	next             int32 // index of the entry after this one's subtree
	depth            uint8
	plain            bool // the value's text has no escapes and no whitespace outside strings
}

// Root is the node of the document's top-level value.
const Root = -1

// Reset empties t for the text b.
func (t *Tape) Reset(b []byte) {
	t.b = b
	t.e = t.e[:0]
	t.rootS, t.rootE = 0, len(b)
}

// Len is the number of recorded members.
func (t *Tape) Len() int { return len(t.e) }

// SkipTape is Skip for the document's top-level value at b[i], recording
// object members in t (Reset to b first).
func (s *Scanner) SkipTape(b []byte, i int, t *Tape) (end int, ok bool) {
	t.Reset(b)
	t.e, end, ok = s.skipTape(b, i, 0, t.e)
	if ok {
		t.rootS, t.rootE = i, end
	}
	return end, ok
}

// skipTape validates the value at b[i], appending the members of objects
// down to TapeDepth to es (passed and returned by value: the slice header
// stays in registers).
func (s *Scanner) skipTape(b []byte, i, depth int, es []entry) ([]entry, int, bool) {
	if i >= len(b) || b[i] != '{' || depth >= TapeDepth {
		end, ok := s.skip(b, i, depth)
		return es, end, ok
	}
	i = s.sws(b, i+1)
	if i < len(b) && b[i] == '}' {
		return es, i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return es, 0, false
		}
		kend, escaped, ok := s.SkipString(b, i)
		if !ok || escaped {
			return es, 0, false
		}
		keyStart := i + 1
		i = s.sws(b, kend)
		if i >= len(b) || b[i] != ':' {
			return es, 0, false
		}
		i = s.sws(b, i+1)
		idx := len(es)
		// The fields are stored one by one: a composite literal is built
		// on the stack with narrow stores and copied with wide loads,
		// which stalls on store forwarding.
		if idx < cap(es) {
			es = es[:idx+1]
		} else {
			es = append(es, entry{})
		}
		ne := &es[idx]
		ne.keyStart, ne.keyEnd, ne.valStart, ne.depth = int32(keyStart), int32(kend-1), int32(i), uint8(depth+1)
		marks := s.spaces + s.escapes
		// Most values are strings: validated here, not two calls down.
		switch {
		case i < len(b) && b[i] == '"':
			i, _, ok = s.SkipString(b, i)
		case depth+1 < TapeDepth:
			es, i, ok = s.skipTape(b, i, depth+1, es)
		default:
			i, ok = s.skip(b, i, depth+1)
		}
		if !ok {
			return es, 0, false
		}
		e := &es[idx]
		e.valEnd = int32(i)
		e.next = int32(len(es))
		e.plain = s.spaces+s.escapes == marks
		i = s.sws(b, i)
		if i >= len(b) {
			return es, 0, false
		}
		if b[i] == '}' {
			return es, i + 1, true
		}
		if b[i] != ',' {
			return es, 0, false
		}
		i = s.sws(b, i+1)
	}
}

// Node is a value of a taped document: the top-level value (Root) or the
// value of a recorded member.
type Node struct {
	t   *Tape
	idx int
}

// Node returns the node at idx (Root or an entry index).
func (t *Tape) Node(idx int) Node { return Node{t, idx} }

// Value is the node's JSON text.
func (n Node) Value() []byte {
	if n.idx == Root {
		return n.t.b[n.t.rootS:n.t.rootE]
	}
	e := &n.t.e[n.idx]
	return n.t.b[e.valStart:e.valEnd]
}

// Plain reports whether the node's text holds no escapes and no whitespace
// outside strings (false for Root, which is not checked): a string's text
// is then its content, quoted, and an object's is compact.
func (n Node) Plain() bool { return n.idx != Root && n.t.e[n.idx].plain }

// Key is the key of the node's member (nil for Root).
func (n Node) Key() []byte {
	if n.idx == Root {
		return nil
	}
	e := &n.t.e[n.idx]
	return n.t.b[e.keyStart:e.keyEnd]
}

// taped reports whether the node is an object whose members are recorded.
func (n Node) taped() bool {
	depth := 0
	if n.idx != Root {
		depth = int(n.t.e[n.idx].depth)
	}
	return depth < TapeDepth && len(n.Value()) > 0 && n.Value()[0] == '{'
}

// first and end bound the entries of the node's members.
func (n Node) children() (first, end int) {
	if n.idx == Root {
		return 0, len(n.t.e)
	}
	return n.idx + 1, int(n.t.e[n.idx].next)
}

// TapeIter walks the recorded members of an object node without a
// callback (see Node.Members).
type TapeIter struct {
	t      *Tape
	i, end int
}

// Members returns an iterator over the members of an object node whose
// members are recorded; for any other node it yields nothing.
func (n Node) Members() TapeIter {
	if n.t == nil || !n.taped() {
		return TapeIter{}
	}
	first, end := n.children()
	return TapeIter{n.t, first, end}
}

// Next returns the next member's key and node; ok is false at the end.
func (it *TapeIter) Next() (key []byte, child Node, ok bool) {
	if it.i >= it.end {
		return nil, Node{}, false
	}
	e := &it.t.e[it.i]
	child = Node{it.t, it.i}
	it.i = int(e.next)
	return it.t.b[e.keyStart:e.keyEnd], child, true
}

// Index is the node's place on its tape (Root, or an entry index), for
// Tape.Node.
func (n Node) Index() int { return n.idx }

// Step is the package's Step from the node: the first member of an object
// named key, or an element of an array. The child is a node when its
// member is recorded; otherwise the node returned is invalid and text is
// the child's value.
func (n Node) Step(key string) (child Node, text []byte, ok bool) {
	if !n.taped() {
		text, ok = Step(n.Value(), key)
		return Node{}, text, ok
	}
	for i, end := n.children(); i < end; i = int(n.t.e[i].next) {
		e := &n.t.e[i]
		if string(n.t.b[e.keyStart:e.keyEnd]) == key {
			return Node{n.t, i}, n.t.b[e.valStart:e.valEnd], true
		}
	}
	return Node{}, nil, false
}

// Valid reports whether the node refers to a tape.
func (n Node) Valid() bool { return n.t != nil }

// Lookup is the package's Lookup from the node: through recorded members
// while it can, then in the text.
func (n Node) Lookup(path []string) ([]byte, bool) {
	for i, seg := range path {
		child, text, ok := n.Step(seg)
		if !ok {
			return nil, false
		}
		if !child.Valid() {
			return Lookup(text, path[i+1:])
		}
		n = child
	}
	return n.Value(), true
}
