package yamljson

import (
	"encoding/json"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestConvert(t *testing.T) {
	src := "a: 1\nb: [x, 2.5, true, null]\nc: {d: \"~/x\"}\na: 2\ne: &anchor {f: 1}\ng: *anchor\n"
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	d := New(0)
	got := d.Convert(n.Content[0], "")
	want := map[string]any{
		"a": json.Number("1"),
		"b": []any{"x", json.Number("2.5"), true, nil},
		"c": map[string]any{"d": "~/x"},
		"e": map[string]any{"f": json.Number("1")},
		"g": map[string]any{"f": json.Number("1")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Convert = %#v, want %#v", got, want)
	}
	if len(d.Dups) != 1 || d.Dups[0].Key.Line != 4 || d.Dups[0].First.Line != 1 {
		t.Fatalf("Dups = %+v, want key a at line 4, first at line 1", d.Dups)
	}
	if k := d.Keys["/c/d"]; k == nil || k.Line != 3 {
		t.Fatalf("key /c/d at %v", k)
	}
	if v := d.Values["/b/1"]; v == nil || v.Value != "2.5" {
		t.Fatalf("value /b/1 = %v", v)
	}
	if p := Pointer([]string{"a/b", "c~d"}); p != "/a~1b/c~0d" {
		t.Fatalf("Pointer = %q", p)
	}
	small := New(3)
	small.Convert(n.Content[0], "")
	if small.Truncated == nil {
		t.Fatal("MaxNodes did not truncate")
	}
}

func TestDescribe(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		if got := Describe(doc.Content[0]); got != want {
			t.Fatalf("Describe(%q) = %s, want %s", src, got, want)
		}
	}
	f("{a: 1}", "a mapping")
	f("[1]", "a list")
	f("~", "null")
	f("x y", `the scalar "x y"`)
	f("'7'", `the scalar "7"`)
	if got := Describe(nil); got != "this value" {
		t.Fatalf("Describe(nil) = %s", got)
	}
}
