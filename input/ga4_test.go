package input

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

func newGA4(t testing.TB, mappingFile string) Format {
	t.Helper()
	nf, err := NewFormat(Config{Name: "ga4", MappingFile: mappingFile, MaxMessageBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return nf()
}

// ga4Message: three events, one with its own time and id.
const ga4Message = `{"client_id":"123.456","user_id":"u-1","timestamp_micros":"1709000000000000",
 "user_properties":{"plan":"pro"},"device":{"category":"mobile"},"geo":{"country":"DE"},
 "events":[
  {"name":"add_to_cart","params":{"currency":"USD","value":30.5,"session_id":"s1","items":[{"item_id":"sku-1"}],
     "source":"google","medium":"cpc","campaign":"spring","term":"shoes","content":"ad-1"}},
  {"name":"page_view","timestamp_micros":1709000000123456,"params":{"event_id":"E-2","ga_session_id":1709000000,
     "page_location":"https://shop.example/pricing?x=1","page_referrer":"https://google.com/"}},
  {"name":"purchase","params":{"transaction_id":"T-1","value":30.5}}]}`

func TestGA4Decode(t *testing.T) {
	f := newGA4(t, "")
	got, rj := f.Decode([]byte(ga4Message), mapSrc, nil)
	if rj != nil {
		t.Fatal(rj)
	}
	base := sink.Event{UserKey: "u-1", Device: "mobile", Country: "DE", Topic: "clicks", Partition: 3, Offset: 42}
	want := []sink.Event{base, base, base}
	want[0].EventID, want[0].Type, want[0].Event, want[0].TSMillis, want[0].SessionID = got[0].Event.EventID, "track", "add_to_cart", 1709000000000, "s1"
	want[0].UTM = sink.UTM{Source: "google", Medium: "cpc", Campaign: "spring", Term: "shoes", Content: "ad-1"}
	want[0].Properties = `{"currency":"USD","value":30.5,"session_id":"s1","items":[{"item_id":"sku-1"}],"source":"google","medium":"cpc","campaign":"spring","term":"shoes","content":"ad-1"}`
	want[1].EventID, want[1].Type, want[1].Event, want[1].TSMillis, want[1].SessionID = "E-2", "page", "page_view", 1709000000123, "1709000000"
	want[1].URL, want[1].Path, want[1].Referrer = "https://shop.example/pricing?x=1", "/pricing", "https://google.com/"
	want[1].Properties = `{"event_id":"E-2","ga_session_id":1709000000,"page_location":"https://shop.example/pricing?x=1","page_referrer":"https://google.com/"}`
	want[2].EventID, want[2].Type, want[2].Event, want[2].TSMillis = got[2].Event.EventID, "track", "purchase", 1709000000000
	want[2].Properties = `{"transaction_id":"T-1","value":30.5}`
	if len(got) != 3 {
		t.Fatalf("got %d events, want 3", len(got))
	}
	for i := range want {
		if got[i].Event != want[i] {
			t.Errorf("event %d\n got %+v\nwant %+v", i, got[i].Event, want[i])
		}
	}

	// Rules see one document per event: its name and params next to the
	// message's top-level fields.
	set, err := rules.Parse("r.yaml", []byte(`conversions:
  - id: add_to_cart
    value: params.value
    match: {event: add_to_cart, where: [{path: params.value, op: gt, value: 0}, {path: user_properties.plan, op: eq, value: pro}]}
  - id: first_item
    match: {where: [{path: params.items.0.item_id, op: eq, value: sku-1}]}
  - id: pricing
    match: {type: page, where: [{path: params.page_location, op: contains, value: /pricing}]}
  - id: purchase
    type: macro
    value: params.value
    match: {event: purchase, where: [{path: device.category, op: eq, value: mobile}, {path: events, op: not_exists}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range [][]string{{"add_to_cart", "first_item"}, {"pricing"}, {"purchase"}} {
		var ids []string
		for _, m := range set.Match(&got[i].Rule, nil) {
			ids = append(ids, m.Conversion.ID)
		}
		if strings.Join(ids, ",") != strings.Join(w, ",") {
			t.Errorf("event %d tags %v, want %v (doc %s)", i, ids, w, got[i].Rule.Doc)
		}
	}
	if ms := set.Match(&got[2].Rule, nil); len(ms) != 1 || !ms[0].HasValue || ms[0].Value != 30.5 {
		t.Errorf("purchase value: %+v", ms)
	}
	if d := got[1].Rule.Doc.String(); !strings.HasPrefix(d, `{"name":"page_view","timestamp_micros":1709000000123456,"params":`) ||
		!strings.HasSuffix(d, `"user_properties":{"plan":"pro"},"device":{"category":"mobile"},"geo":{"country":"DE"}}`) || strings.Contains(d, `"events"`) {
		t.Errorf("page_view document: %s", d)
	}
}

func TestGA4IDs(t *testing.T) {
	f := newGA4(t, "")
	ids := func(raw string, src Source) []string {
		t.Helper()
		got, rj := f.Decode([]byte(raw), src, nil)
		if rj != nil {
			t.Fatalf("Decode(%s): %v", raw, rj)
		}
		var out []string
		for _, d := range got {
			out = append(out, d.Event.EventID)
		}
		return out
	}
	other := Source{Topic: "clicks", Partition: 1, Offset: 7}
	eq := func(got []string, want ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("ids %q, want %q", got, want)
		}
	}
	const ev = `"client_id":"c","timestamp_micros":1709000000000000`
	// params.event_id as it is; the message's event_id / message_id with the
	// index; else the position's hash with the index.
	eq(ids(`{`+ev+`,"events":[{"name":"a","params":{"event_id":"x1"}},{"name":"b","params":{"event_id":"x2"}}]}`, mapSrc), "x1", "x2")
	eq(ids(`{`+ev+`,"event_id":"M","events":[{"name":"a"},{"name":"b","params":{"event_id":"own"}},{"name":"c"}]}`, mapSrc), "M#0", "own", "M#2")
	eq(ids(`{`+ev+`,"message_id":"M","events":[{"name":"a"},{"name":"b"}]}`, mapSrc), "M#0", "M#1")
	eq(ids(`{`+ev+`,"message_id":7,"events":[{"name":"a"}]}`, mapSrc), "7#0")
	eq(ids(`{`+ev+`,"message_id":"M","events":[{"name":"a","event_id":"elem"}]}`, mapSrc), "elem") // an id of the event itself
	// Without any id: a hash of the event's content, the same wherever the
	// message is read, different for different events.
	plain := ids(`{`+ev+`,"events":[{"name":"a"},{"name":"b"}]}`, mapSrc)
	if len(plain) != 2 || plain[0] == plain[1] || plain[0] == HashID(mapSrc, 0) {
		t.Fatalf("ids without ids: %q", plain)
	}
	eq(ids(`{`+ev+`,"events":[{"name":"a"},{"name":"b"}]}`, other), plain...)
	eq(ids(`{`+ev+`,"events":[{"name":"b"}]}`, other), plain[1]) // the same event in another grouping
	if x := ids(`{"client_id":"c","timestamp_micros":1709000000000001,"events":[{"name":"a"}]}`, mapSrc); x[0] == plain[0] {
		t.Fatalf("events a microsecond apart share id %q", x[0])
	}
	// An upstream re-send (same bytes, another offset) with ids inside: the same ids.
	eq(ids(`{`+ev+`,"message_id":"M","events":[{"name":"a"},{"name":"b"}]}`, other), "M#0", "M#1")
	eq(ids(`{`+ev+`,"events":[{"name":"a","params":{"event_id":"x1"}}]}`, other), "x1")

	// user_key: user_id, client_id, user_pseudo_id, app_instance_id.
	user := func(raw string) string {
		t.Helper()
		got, rj := f.Decode([]byte(raw), mapSrc, nil)
		if rj != nil {
			t.Fatalf("Decode(%s): %v", raw, rj)
		}
		return got[0].Event.UserKey
	}
	const tail = `"timestamp_micros":1709000000000000,"events":[{"name":"a"}]}`
	for raw, want := range map[string]string{
		`{"user_id":"u","client_id":"c",` + tail:      "u",
		`{"user_id":"","client_id":"c",` + tail:       "c",
		`{"user_id":null,"client_id":123.456,` + tail: "123.456",
		`{"user_pseudo_id":"p",` + tail:               "p",
		`{"app_instance_id":"fb",` + tail:             "fb",
	} {
		if got := user(raw); got != want {
			t.Errorf("user key of %s = %q, want %q", raw, got, want)
		}
	}
	// timestamp: the event's, else the message's; numbers or strings.
	got, _ := f.Decode([]byte(`{"client_id":"c","timestamp_micros":"1709000000000999","events":[{"name":"a"},{"name":"b","timestamp_micros":"1709000001000000"},{"name":"c","timestamp_micros":1709000002000000}]}`), mapSrc, nil)
	if len(got) != 3 || got[0].Event.TSMillis != 1709000000000 || got[1].Event.TSMillis != 1709000001000 || got[2].Event.TSMillis != 1709000002000 {
		t.Fatalf("timestamps: %+v", got)
	}
	// country: geo.country, else user_location.country_id.
	got, _ = f.Decode([]byte(`{"client_id":"c","user_location":{"country_id":"FR"},`+tail), mapSrc, nil)
	if got[0].Event.Country != "FR" {
		t.Fatalf("country from user_location: %q", got[0].Event.Country)
	}
	// screen_view is a screen; unknown names are tracks.
	got, _ = f.Decode([]byte(`{"client_id":"c","timestamp_micros":1709000000000000,"events":[{"name":"screen_view"},{"name":"Page_View"}]}`), mapSrc, nil)
	if got[0].Event.Type != "screen" || got[1].Event.Type != "track" {
		t.Fatalf("types %q %q", got[0].Event.Type, got[1].Event.Type)
	}
}

func TestGA4Rejects(t *testing.T) {
	f := newGA4(t, "")
	rej := func(raw, reason, detail string) {
		t.Helper()
		got, rj := f.Decode([]byte(raw), mapSrc, nil)
		if rj == nil || len(got) != 0 || rj.Reason != reason || !strings.Contains(rj.Detail, detail) {
			t.Fatalf("Decode(%s) = %d events, %v; want %s with %q", raw, len(got), rj, reason, detail)
		}
	}
	rej(`{"client_id":"c","timestamp_micros":1709000000000000}`, ReasonMissingEvent, `no events: path "events" is absent`)
	rej(`{"client_id":"c","timestamp_micros":1709000000000000,"events":[]}`, ReasonMissingEvent, `the array at "events" is empty`)
	rej(`{"client_id":"c","timestamp_micros":1709000000000000,"events":{"name":"a"}}`, ReasonBadField, `path "events" is a JSON object, want an array of events`)
	rej(`{"client_id":"c","timestamp_micros":1709000000000000,"events":["a"]}`, ReasonBadField, `events.0 is a JSON string, want an object`)
	rej(`{"client_id":"c","timestamp_micros":1709000000000000,"events":[{"name":"a"},{"params":{}}]}`, ReasonMissingEvent, `events.1: no event name: path "name" is absent or empty`)
	rej(`{"client_id":"c","timestamp_micros":1709000000000000,"events":[{"name":"a","params":[1]}]}`, ReasonBadField, `events.0: field "properties": path "params" holds a JSON array`)
	rej(`{"timestamp_micros":1709000000000000,"events":[{"name":"a"}]}`, ReasonMissingUserKey, `events.0: no user key: paths "user_id", "client_id", "user_pseudo_id", "app_instance_id" are all absent or empty`)
	rej(`{"client_id":{"id":1},"timestamp_micros":1709000000000000,"events":[{"name":"a"}]}`, ReasonBadField, `events.0: field "user_key": path "client_id" holds a JSON object`)
	rej(`{"client_id":"c","events":[{"name":"a"}]}`, ReasonMissingTS, `events.0: no timestamp: path "timestamp_micros" is absent or empty`)
	rej(`{"client_id":"c","timestamp_micros":"soon","events":[{"name":"a"}]}`, ReasonBadTS, `events.0: cannot parse timestamp "soon" at "timestamp_micros" as unix_us`)
	rej(`{"client_id":"c","timestamp_micros":-1,"events":[{"name":"a"}]}`, ReasonTSOutOfRange, `events.0: timestamp "-1" at "timestamp_micros"`)
	rej(`{"client_id":"c","timestamp_micros":1709000000000000,"events":[{"name":"a","params":{"page_location":{}}}]}`, ReasonBadField, `events.0: field "url": path "params.page_location" holds a JSON object`)
}

func TestGA4Override(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// MICROCONV_INPUT=ga4 with a file: single fields replaced, the rest kept.
	over := write("over.yaml", "country: geo.region\nuser_key: [client_id]\ntype: {const: track}\n")
	got, rj := newGA4(t, over).Decode([]byte(ga4Message), mapSrc, nil)
	if rj != nil {
		t.Fatal(rj)
	}
	if e := got[1].Event; e.UserKey != "123.456" || e.Country != "" || e.Type != "track" || e.Event != "page_view" || e.EventID != "E-2" || e.Path != "/pricing" {
		t.Fatalf("overridden: %+v", e)
	}
	// MICROCONV_INPUT=mapping with `preset: ga4` is the same.
	withPreset := write("preset.yaml", "preset: ga4\ncountry: geo.region\nuser_key: [client_id]\ntype: {const: track}\n")
	nf, err := NewFormat(Config{Name: "mapping", MappingFile: withPreset})
	if err != nil {
		t.Fatal(err)
	}
	got2, rj := nf().Decode([]byte(ga4Message), mapSrc, nil)
	if rj != nil || len(got2) != 3 || got2[1].Event != got[1].Event {
		t.Fatalf("preset: ga4 gave %+v, %v", got2, rj)
	}
	// A preset that contradicts MICROCONV_INPUT, and a broken override.
	_, err = NewFormat(Config{Name: "ga4", MappingFile: write("other.yaml", "preset: ga5\n")})
	if err == nil || !strings.Contains(err.Error(), `other.yaml:1:9: key "preset": "ga5" is not "ga4"`) {
		t.Fatalf("contradicting preset: %v", err)
	}
	_, err = NewFormat(Config{Name: "ga4", MappingFile: write("broken.yaml", "timestamp: {path: t, format: micros}\n")})
	if err == nil || !strings.Contains(err.Error(), `broken.yaml:1:30: key "timestamp.format": unknown timestamp format "micros"`) {
		t.Fatalf("broken override: %v", err)
	}
	// Without a file the preset alone; unknown formats are refused.
	if _, err := NewFormat(Config{Name: "ga4"}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFormat(Config{Name: "ga3"}); err == nil {
		t.Fatal("unknown format accepted")
	}
}

// FuzzGA4Decode: any input gives events or one rejection with a known
// reason, never a panic; accepted events have every required field.
func FuzzGA4Decode(f *testing.F) {
	f.Add([]byte(ga4Message))
	f.Add([]byte(`{"client_id":"c","timestamp_micros":"1","events":[{"name":"a"},{"name":"b","params":{"event_id":1}}]}`))
	f.Add([]byte(`{"events":[{}],"client_id":1,"timestamp_micros":1e15}`))
	f.Add([]byte(`[]`))
	fm := newGA4(f, "")
	var dst []Decoded
	f.Fuzz(func(t *testing.T, raw []byte) {
		var rj *Rejection
		dst, rj = fm.Decode(raw, mapSrc, dst)
		if rj != nil {
			if len(dst) != 0 || !strings.Contains(" "+strings.Join(Reasons, " ")+" ", " "+rj.Reason+" ") {
				t.Fatalf("Decode(%q): %d events with rejection %v", raw, len(dst), rj)
			}
			return
		}
		if len(dst) == 0 {
			t.Fatalf("Decode(%q): no events, no rejection", raw)
		}
		for _, d := range dst {
			e := d.Event
			if e.EventID == "" || e.Event == "" || e.UserKey == "" || e.Type == "" || e.TSMillis < minTS || e.TSMillis >= maxTS || d.Rule.Doc == nil {
				t.Fatalf("Decode(%q): incomplete event %+v", raw, e)
			}
		}
	})
}
