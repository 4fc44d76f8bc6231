package input

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/microconv/microconv/sink"
)

// Properties holding escaped control characters are stored as valid JSON
// (fastjson's MarshalTo would write \x01, which is not JSON).
func TestPropertiesStayJSON(t *testing.T) {
	var d segmentDecoder
	var ev sink.Event
	raw := `{"event":"E","userId":"u","timestamp":"2024-01-02T03:04:05Z","properties":{"a":"x\u0001y","b":"tab\there","c":"quote\" back\\ slash","d":[1,2.50,{"e":null}],"f":"é"}}`
	if _, rj := decodeBoth(t, &d, []byte(raw), testSrc, &ev); rj != nil {
		t.Fatal(rj)
	}
	var got, want any
	if err := json.Unmarshal([]byte(ev.Properties), &got); err != nil {
		t.Fatalf("properties %q are not JSON: %v", ev.Properties, err)
	}
	_ = json.Unmarshal([]byte(`{"a":"x\u0001y","b":"tab\there","c":"quote\" back\\ slash","d":[1,2.50,{"e":null}],"f":"é"}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("properties %s, want %v", ev.Properties, want)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add(`{"a":"x\u0001y","b":[true,false,null,1e3],"c":{"d":"\ud83d\ude00"}}`)
	f.Add(`"\u0000"`)
	f.Fuzz(func(t *testing.T, in string) {
		var p fastjson.Parser
		v, err := p.Parse(in)
		if err != nil {
			return
		}
		out := appendJSON(nil, v)
		if !json.Valid(out) {
			t.Fatalf("appendJSON(%q) = %q, not JSON", in, out)
		}
	})
}
