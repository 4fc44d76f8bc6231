// Package yamljson turns a YAML document into the values encoding/json would
// decode from the same data, remembering where every value and key came
// from, so that JSON Schema violations can be reported at a YAML line and
// column. Rule files and input mappings share it.
package yamljson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// Doc records the YAML node of every value and of every mapping key, by
// JSON pointer.
type Doc struct {
	Values map[string]*yaml.Node
	Keys   map[string]*yaml.Node
	// Dups lists keys that appear twice in one mapping: the second
	// occurrence, and the first one's node.
	Dups []Dup
	// MaxNodes bounds the values made (aliases expand: a small file can
	// stand for a huge document); 0 means no bound. Over it, Convert stops
	// and Truncated is set.
	MaxNodes  int
	Truncated *yaml.Node
	nodes     int
}

// Dup is a key that appears twice in a mapping.
type Dup struct {
	Key, First *yaml.Node
}

// New returns an empty Doc.
func New(maxNodes int) *Doc {
	return &Doc{Values: map[string]*yaml.Node{}, Keys: map[string]*yaml.Node{}, MaxNodes: maxNodes}
}

// Convert converts n, recording positions under ptr ("" for the root).
// Numbers become json.Number, so that a schema sees them as JSON would;
// timestamps and other tags are strings as written. Of a duplicate key, the
// first value is kept.
func (d *Doc) Convert(n *yaml.Node, ptr string) any {
	if d.nodes++; d.MaxNodes > 0 && d.nodes > d.MaxNodes {
		if d.Truncated == nil {
			d.Truncated = n
		}
		return nil
	}
	d.Values[ptr] = n
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := ptr + "/" + EscapePointer(k.Value)
			if first, dup := d.Keys[child]; dup {
				d.Dups = append(d.Dups, Dup{Key: k, First: first})
				continue
			}
			d.Keys[child] = k
			m[k.Value] = d.Convert(v, child)
		}
		return m
	case yaml.SequenceNode:
		a := make([]any, len(n.Content))
		for i, item := range n.Content {
			a[i] = d.Convert(item, ptr+"/"+strconv.Itoa(i))
		}
		return a
	case yaml.AliasNode:
		if n.Alias != nil {
			return d.Convert(n.Alias, ptr)
		}
		return nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int", "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			var i int64
			if n.ShortTag() == "!!int" && n.Decode(&i) == nil {
				return json.Number(strconv.FormatInt(i, 10))
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return n.Value
}

// Pointer joins a JSON Schema instance location into a JSON pointer.
func Pointer(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(EscapePointer(tok))
	}
	return b.String()
}

// EscapePointer escapes a JSON pointer token (RFC 6901).
func EscapePointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// CompileSchema compiles an embedded JSON Schema document; what names it in
// errors ("the rule file JSON Schema").
func CompileSchema(name string, data []byte, what string) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", what, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name, doc); err != nil {
		return nil, fmt.Errorf("cannot load %s: %w", what, err)
	}
	sch, err := c.Compile(name)
	if err != nil {
		return nil, fmt.Errorf("cannot compile %s: %w", what, err)
	}
	return sch, nil
}

// Describe names a node for an error message: "a mapping", "a list",
// "null", the scalar "x", "an alias", "a document" ("this value" for nil).
func Describe(n *yaml.Node) string {
	if n == nil {
		return "this value"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return fmt.Sprintf("the scalar %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// Leaves calls fn with every leaf of a JSON Schema validation error (the
// errors that say what is wrong; their parents only group them) and its
// instance location as a JSON pointer.
func Leaves(verr *jsonschema.ValidationError, fn func(e *jsonschema.ValidationError, ptr string)) {
	if len(verr.Causes) > 0 {
		for _, c := range verr.Causes {
			Leaves(c, fn)
		}
		return
	}
	fn(verr, Pointer(verr.InstanceLocation))
}
