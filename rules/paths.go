package rules

import (
	"github.com/microconv/microconv/internal/rawjson"
)

// pathStep is one path of a Set's conditions and value paths, or a prefix
// of one: the path of its parent (noPath: the document) and its last
// segment. Paths are interned per Set so that an event resolves each once,
// however many conditions read it.
type pathStep struct {
	parent int32
	seg    string
}

// noPath is the id of the empty path: the document itself.
const noPath = -1

// internPaths gives every path of s's conditions and value paths, and each
// of their prefixes, an id in s.paths.
func (s *Set) internPaths() {
	type key struct {
		parent int32
		seg    string
	}
	ids := make(map[key]int32)
	intern := func(path []string) int32 {
		id := int32(noPath)
		for _, seg := range path {
			k := key{id, seg}
			next, ok := ids[k]
			if !ok {
				next = int32(len(s.paths))
				s.paths = append(s.paths, pathStep{parent: id, seg: seg})
				ids[k] = next
			}
			id = next
		}
		return id
	}
	var walk func(cs []*cond)
	walk = func(cs []*cond) {
		for _, c := range cs {
			if c.op >= opAll { // a group
				walk(c.sub)
				continue
			}
			c.pid = intern(c.path)
		}
	}
	for _, c := range s.Conversions {
		walk(c.m.where)
		if c.m.value != nil {
			c.m.valueID = intern(c.m.value)
		}
	}
}

// pathSlot is an event's resolution of one interned path, valid while its
// epoch is the event's.
type pathSlot struct {
	epoch uint32
	ok    bool
	node  int32 // the value's place on the event's tape; noNode when not recorded
	text  []byte
}

const noNode = -2 // rawjson.Root is -1

// use prepares ev's path cache for matching with s: a new set, or a
// document set other than by Reset, drops what was resolved before.
func (ev *Event) use(s *Set) {
	if ev.Raw == nil {
		ev.pset = nil // a fastjson document: get looks paths up
		return
	}
	if ev.pset == s && ev.ptape == ev.Tape && len(ev.praw) == len(ev.Raw) &&
		(len(ev.Raw) == 0 || &ev.praw[0] == &ev.Raw[0]) {
		return
	}
	ev.pset, ev.ptape, ev.praw = s, ev.Tape, ev.Raw
	if len(ev.pcache) < len(s.paths) {
		ev.pcache = make([]pathSlot, len(s.paths))
	}
	ev.newEpoch()
}

// newEpoch invalidates every resolved path.
func (ev *Event) newEpoch() {
	ev.epoch++
	if ev.epoch == 0 { // wrapped: slots of old epochs could look current
		clear(ev.pcache)
		ev.epoch = 1
	}
}

// get is the value at path (interned as id in the set of the current
// Match): resolved once per event when the document is text, looked up
// each time otherwise.
func (ev *Event) get(path []string, id int32) value {
	if ev.pset == nil {
		return ev.lookup(path)
	}
	_, text, ok := ev.resolve(id)
	if !ok {
		return value{}
	}
	return ev.rawValue(text)
}

// resolve returns the value of path id in ev's text document: as a tape
// node when its member is recorded (else an invalid node) and as text.
func (ev *Event) resolve(id int32) (rawjson.Node, []byte, bool) {
	if id == noPath {
		if ev.Tape != nil {
			return ev.Tape.Node(rawjson.Root), ev.Raw, true
		}
		return rawjson.Node{}, ev.Raw, true
	}
	e := &ev.pcache[id]
	if e.epoch == ev.epoch {
		if e.node != noNode {
			return ev.Tape.Node(int(e.node)), e.text, e.ok
		}
		return rawjson.Node{}, e.text, e.ok
	}
	st := &ev.pset.paths[id]
	pn, ptext, ok := ev.resolve(st.parent)
	var n rawjson.Node
	var text []byte
	if ok {
		if pn.Valid() {
			n, text, ok = pn.Step(st.seg)
		} else {
			text, ok = rawjson.Step(ptext, st.seg)
		}
	}
	*e = pathSlot{epoch: ev.epoch, ok: ok, node: noNode, text: text}
	if n.Valid() {
		e.node = int32(n.Index())
	}
	return n, text, ok
}
