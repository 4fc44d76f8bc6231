package input

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

var mapSrc = Source{Topic: "clicks", Partition: 3, Offset: 42}

// testMapping is the mapping of the README example.
const testMapping = `# yaml-language-server: $schema=../../schemas/mapping.schema.json
event_id: [id, meta.message_id]
type: {const: track}
event: [action, event_name]
user_key: [user.id, visitor_id]
timestamp: {path: [ts, sent_at], format: unix_ms}
session_id: session
url: page.url
path: page.path
referrer: page.referrer
utm_source: utm.source
utm_medium: utm.medium
utm_campaign: utm.campaign
utm_term: utm.term
utm_content: utm.content
device: device.kind
country: geo.cc
properties: data
`

func mustMapping(t testing.TB, src string) *mapping {
	t.Helper()
	m, err := parseMapping("m.yaml", []byte(src), "")
	if err != nil {
		t.Fatalf("parseMapping:\n%s\n%v", src, err)
	}
	return m
}

func TestMappingDecode(t *testing.T) {
	fm := newMappingFormat(mustMapping(t, testMapping), 1<<20)
	f := func(raw string, want sink.Event) {
		t.Helper()
		got, rj := fm.Decode([]byte(raw), mapSrc, nil)
		if rj != nil {
			t.Fatalf("Decode(%s) rejected: %v", raw, rj)
		}
		if len(got) != 1 {
			t.Fatalf("Decode(%s) gave %d events, want 1", raw, len(got))
		}
		want.Topic, want.Partition, want.Offset = "clicks", 3, 42
		if got[0].Event != want {
			t.Fatalf("Decode(%s)\n got %+v\nwant %+v", raw, got[0].Event, want)
		}
		if r := got[0].Rule; r.Type != want.Type || r.Name != want.Event || r.Doc == nil || r.Doc.Get("user") == nil && r.Doc.Get("visitor_id") == nil {
			t.Fatalf("Decode(%s): rule event %+v does not carry the raw message", raw, r)
		}
	}
	// 2024-01-02T03:04:05.678Z = 1704164645678 ms.
	f(`{"id":"e1","action":"Product Added","user":{"id":"u1"},"ts":1704164645678,"session":"s1",
	    "page":{"url":"https://x/p?q=1","path":"/p","referrer":"https://g"},
	    "utm":{"source":"g","medium":"cpc","campaign":"spring","term":"shoes","content":"ad1"},
	    "device":{"kind":"mobile"},"geo":{"cc":"FR"},"data":{"price":9.5}}`,
		sink.Event{EventID: "e1", Type: "track", Event: "Product Added", UserKey: "u1", TSMillis: 1704164645678, SessionID: "s1",
			URL: "https://x/p?q=1", Path: "/p", Referrer: "https://g",
			UTM:    sink.UTM{Source: "g", Medium: "cpc", Campaign: "spring", Term: "shoes", Content: "ad1"},
			Device: "mobile", Country: "FR", Properties: `{"price":9.5}`})
	// Lists of paths: the first non-empty value wins ("" and null are empty);
	// numbers are taken as their text; a numeric string timestamp.
	f(`{"meta":{"message_id":"e2"},"id":"","action":null,"event_name":"Signed Up","user":{"id":""},"visitor_id":12345,"ts":null,"sent_at":"1704164645678"}`,
		sink.Event{EventID: "e2", Type: "track", Event: "Signed Up", UserKey: "12345", TSMillis: 1704164645678})
	// No id: the hash of the Kafka position, as Segment's.
	f(`{"action":"E","visitor_id":"v","ts":1704164645678.9}`,
		sink.Event{EventID: HashID(mapSrc, 0), Type: "track", Event: "E", UserKey: "v", TSMillis: 1704164645678})
	// Bools of optional fields are their text; the event id a number.
	f(`{"id":7,"action":"E","visitor_id":"v","ts":1704164645678,"session":true,"geo":{"cc":3}}`,
		sink.Event{EventID: "7", Type: "track", Event: "E", UserKey: "v", TSMillis: 1704164645678, SessionID: "true", Country: "3"})
	if HashID(mapSrc, 0) != hashID(source{topic: "clicks", partition: 3, offset: 42}) {
		t.Fatal("HashID of index 0 differs from Segment's id")
	}
}

func TestMappingConstMapDefault(t *testing.T) {
	m := mustMapping(t, `
event: {path: [kind, k2], map: {pv: Page Viewed, "1": One}}
type: {path: kind, map: {pv: PAGE}, default: Track}
user_key: {const: everyone}
timestamp: {path: t, format: unix_s}
device: {path: dev, default: unknown}
country: {const: 49}
path: {const: ""}
url: u
`)
	fm := newMappingFormat(m, 0)
	f := func(raw, typ, event, device, path string) {
		t.Helper()
		got, rj := fm.Decode([]byte(raw), mapSrc, nil)
		if rj != nil {
			t.Fatalf("Decode(%s) rejected: %v", raw, rj)
		}
		e := got[0].Event
		if e.Type != typ || e.Event != event || e.Device != device || e.UserKey != "everyone" || e.Country != "49" || e.Path != path {
			t.Fatalf("Decode(%s) = type %q event %q device %q user %q country %q path %q; want %q %q %q everyone 49 %q",
				raw, e.Type, e.Event, e.Device, e.UserKey, e.Country, e.Path, typ, event, device, path)
		}
	}
	f(`{"kind":"pv","t":1704164645,"u":"https://x/a"}`, "page", "Page Viewed", "unknown", "")
	f(`{"kind":"click","t":1704164645,"dev":"tv"}`, "track", "click", "tv", "")
	f(`{"kind":1,"t":1704164645}`, "track", "One", "unknown", "")
	f(`{"k2":"x","t":1704164645}`, "track", "x", "unknown", "") // type: nothing found → default
	// Without a `path` in the mapping, the path of the url.
	m2 := mustMapping(t, "event: e\nuser_key: u\ntimestamp: t\nurl: [page_location, url]\n")
	fm = newMappingFormat(m2, 0)
	for raw, want := range map[string]string{
		`{"e":"E","u":"u","t":"2024-01-02T03:04:05Z","page_location":"https://www.example.com/pricing/pro?x=1#top"}`: "/pricing/pro",
		`{"e":"E","u":"u","t":"2024-01-02T03:04:05Z","url":"https://www.example.com"}`:                               "/",
		`{"e":"E","u":"u","t":"2024-01-02T03:04:05Z","url":"https://www.example.com?x=/a"}`:                          "/",
		`{"e":"E","u":"u","t":"2024-01-02T03:04:05Z","url":"/docs/api?x"}`:                                           "/docs/api",
		`{"e":"E","u":"u","t":"2024-01-02T03:04:05Z","url":"//cdn.example/x"}`:                                       "/x",
		`{"e":"E","u":"u","t":"2024-01-02T03:04:05Z"}`:                                                               "",
	} {
		got, rj := fm.Decode([]byte(raw), mapSrc, nil)
		if rj != nil || got[0].Event.Path != want {
			t.Errorf("Decode(%s): path %q (%v), want %q", raw, got[0].Event.Path, rj, want)
		}
	}
}

// TestMappingRejects checks every reason, and the order of the checks:
// each message below also breaks every later check.
func TestMappingRejects(t *testing.T) {
	fm := newMappingFormat(mustMapping(t, testMapping), 200)
	f := func(raw, reason, detail string) {
		t.Helper()
		got, rj := fm.Decode([]byte(raw), mapSrc, make([]Decoded, 0, 1))
		if rj == nil {
			t.Fatalf("Decode(%s) accepted: %+v", raw, got)
		}
		if len(got) != 0 {
			t.Fatalf("Decode(%s) rejected but returned %d events", raw, len(got))
		}
		if rj.Reason != reason || !strings.Contains(rj.Detail, detail) {
			t.Fatalf("Decode(%s) = %s: %s; want %s with %q", raw, rj.Reason, rj.Detail, reason, detail)
		}
	}
	f(``, ReasonEmpty, "empty message")
	f(`{"action":"`+strings.Repeat("x", 200)+`"}`, ReasonTooLarge, "exceeds the limit of 200 bytes")
	f("{\"action\":\"\xff\"}", ReasonInvalidUTF8, "not valid UTF-8")
	f("{\"action\":\"a\tb\"}", ReasonInvalidJSON, "raw control character")
	f(`{"action":`, ReasonInvalidJSON, "cannot parse JSON")
	f(`["action"]`, ReasonNotObject, "a JSON array, not an object")
	// properties first, then type, event, user_key, timestamp, event_id, the rest.
	f(`{"data":[1],"action":{},"user":{"id":[]},"ts":"x","id":{}}`, ReasonBadField, `field "properties": path "data" holds a JSON array, want an object`)
	f(`{"data":"","action":1}`, ReasonBadField, `field "properties": path "data" holds a JSON string`)
	f(`{"data":null,"action":{"x":1},"event_name":"E","user":{"id":[]},"ts":"x","id":{}}`, ReasonBadField, `field "event": path "action" holds a JSON object, want a string or number`)
	f(`{"action":true}`, ReasonBadField, `field "event": path "action" holds a JSON true`)
	f(`{"action":"","event_name":null,"user":{"id":[]},"ts":"x","id":{}}`, ReasonMissingEvent, `no event name: paths "action", "event_name" are all absent or empty`)
	f(`{"action":"E","user":{"id":["u"]},"visitor_id":"v","ts":"x","id":{}}`, ReasonBadField, `field "user_key": path "user.id" holds a JSON array`)
	f(`{"action":"E","user":"u1","ts":"x","id":{}}`, ReasonMissingUserKey, `no user key: paths "user.id", "visitor_id" are all absent or empty`)
	f(`{"action":"E","visitor_id":"v","ts":"","sent_at":null,"id":{}}`, ReasonMissingTS, `no timestamp: paths "ts", "sent_at" are all absent or empty`)
	f(`{"action":"E","visitor_id":"v","ts":"yesterday","id":{}}`, ReasonBadTS, `cannot parse timestamp "yesterday" at "ts" as unix_ms`)
	f(`{"action":"E","visitor_id":"v","ts":{"s":1},"id":{}}`, ReasonBadTS, `field "timestamp": path "ts" holds a JSON object, want a number or numeric string (format unix_ms)`)
	f(`{"action":"E","visitor_id":"v","ts":-1,"id":{}}`, ReasonTSOutOfRange, `timestamp "-1" at "ts" is outside [1970-01-01, 2106-01-01)`)
	f(`{"action":"E","visitor_id":"v","ts":4291747200000,"id":{}}`, ReasonTSOutOfRange, `timestamp "4291747200000" at "ts"`)
	f(`{"action":"E","visitor_id":"v","ts":1704164645678,"id":{},"session":[]}`, ReasonBadField, `field "event_id": path "id" holds a JSON object`)
	f(`{"action":"E","visitor_id":"v","ts":1704164645678,"id":false}`, ReasonBadField, `field "event_id": path "id" holds a JSON false, want a string or number`)
	f(`{"action":"E","visitor_id":"v","ts":1704164645678,"session":[],"geo":{"cc":{}}}`, ReasonBadField, `field "session_id": path "session" holds a JSON array`)
	f(`{"action":"E","visitor_id":"v","ts":1704164645678,"geo":{"cc":{}}}`, ReasonBadField, `field "country": path "geo.cc" holds a JSON object, want a string, number or bool`)

	// Every reason of the Segment decoder, and no other.
	for _, r := range []string{ReasonEmpty, ReasonTooLarge, ReasonInvalidUTF8, ReasonInvalidJSON, ReasonNotObject, ReasonBadField,
		ReasonMissingEvent, ReasonMissingUserKey, ReasonMissingTS, ReasonBadTS, ReasonTSOutOfRange} {
		if !strings.Contains(strings.Join(Reasons, " "), r) {
			t.Errorf("reason %q is not in Reasons", r)
		}
	}
}

func TestMappingEvents(t *testing.T) {
	m := mustMapping(t, `
events: batch
event_id: [eid, batch_id]
event: name
user_key: [uid, anon]
timestamp: {path: ts, format: auto}
properties: props
`)
	fm := newMappingFormat(m, 0)
	raw := `{"batch_id":"B","uid":"u1","ts":1704164645,"plan":"pro","batch":[
	   {"name":"a","props":{"x":1}},
	   {"name":"b","eid":"own","ts":"2024-01-02T03:04:06.5Z","uid":"u2"},
	   {"name":"c","batch_id":"inner"}]}`
	got, rj := fm.Decode([]byte(raw), mapSrc, nil)
	if rj != nil {
		t.Fatal(rj)
	}
	type row struct{ id, name, user string }
	want := []row{{"B#0", "a", "u1"}, {"own", "b", "u2"}, {"inner", "c", "u1"}}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		e := got[i].Event
		if (row{e.EventID, e.Event, e.UserKey}) != w {
			t.Errorf("event %d = %q %q %q, want %v", i, e.EventID, e.Event, e.UserKey, w)
		}
	}
	if got[0].Event.TSMillis != 1704164645000 || got[1].Event.TSMillis != 1704164646500 || got[0].Event.Properties != `{"x":1}` {
		t.Errorf("timestamps %d %d, properties %q", got[0].Event.TSMillis, got[1].Event.TSMillis, got[0].Event.Properties)
	}
	// The per-event documents: the element's keys, then the message's
	// (but the events array); all valid together until the next message.
	docs := []string{
		`{"name":"a","props":{"x":1},"batch_id":"B","uid":"u1","ts":1704164645,"plan":"pro"}`,
		`{"name":"b","eid":"own","ts":"2024-01-02T03:04:06.5Z","uid":"u2","batch_id":"B","plan":"pro"}`,
		`{"name":"c","batch_id":"inner","uid":"u1","ts":1704164645,"plan":"pro"}`,
	}
	for i, d := range docs {
		if s := got[i].Rule.Doc.String(); s != d {
			t.Errorf("doc %d = %s\nwant %s", i, s, d)
		}
	}
	// Rules see those documents.
	set, err := rules.Parse("r.yaml", []byte(`conversions:
  - id: pro_a
    match: {event: a, where: [{path: plan, op: eq, value: pro}, {path: props.x, op: eq, value: 1}]}
  - id: own_b
    match: {event: b, where: [{path: uid, op: eq, value: u2}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []string{"pro_a", "own_b", ""} {
		ms := set.Match(&got[i].Rule, nil)
		g := ""
		if len(ms) > 0 {
			g = ms[0].Conversion.ID
		}
		if g != w {
			t.Errorf("event %d tags %q, want %q", i, g, w)
		}
	}

	// The same message again (an upstream re-send, another offset): the same ids.
	again, _ := fm.Decode([]byte(raw), Source{Topic: "clicks", Partition: 0, Offset: 99}, nil)
	for i := range again {
		if again[i].Event.EventID != want[i].id {
			t.Errorf("re-send: event %d id %q, want %q", i, again[i].Event.EventID, want[i].id)
		}
	}
	// Without ids: hashes of each event's content, distinct and the same at
	// any offset.
	noID := `{"uid":"u","ts":1704164645,"batch":[{"name":"a"},{"name":"b"}]}`
	got, _ = fm.Decode([]byte(noID), mapSrc, got)
	a, b := got[0].Event.EventID, got[1].Event.EventID
	got, _ = fm.Decode([]byte(noID), Source{Topic: "x", Offset: 5}, got)
	if a == b || got[0].Event.EventID != a || got[1].Event.EventID != b {
		t.Errorf("ids without ids: %q %q, then %q %q", a, b, got[0].Event.EventID, got[1].Event.EventID)
	}

	f := func(raw, reason, detail string) {
		t.Helper()
		got, rj := fm.Decode([]byte(raw), mapSrc, nil)
		if rj == nil || len(got) != 0 || rj.Reason != reason || !strings.Contains(rj.Detail, detail) {
			t.Fatalf("Decode(%s) = %d events, %v; want %s with %q", raw, len(got), rj, reason, detail)
		}
	}
	f(`{"uid":"u","ts":1}`, ReasonMissingEvent, `no events: path "batch" is absent`)
	f(`{"uid":"u","ts":1,"batch":null}`, ReasonMissingEvent, `no events: path "batch" is absent`)
	f(`{"uid":"u","ts":1,"batch":[]}`, ReasonMissingEvent, `no events: the array at "batch" is empty`)
	f(`{"uid":"u","ts":1,"batch":{"name":"a"}}`, ReasonBadField, `path "batch" is a JSON object, want an array of events`)
	f(`{"uid":"u","ts":1,"batch":[{"name":"a"},"b"]}`, ReasonBadField, `batch.1 is a JSON string, want an object`)
	// One bad event rejects the whole message, naming it.
	f(`{"uid":"u","ts":1704164645,"batch":[{"name":"a"},{"props":{}}]}`, ReasonMissingEvent, `batch.1: no event name: path "name" is absent or empty`)
	f(`{"ts":1704164645,"batch":[{"name":"a","anon":"x"},{"name":"b"}]}`, ReasonMissingUserKey, `batch.1: no user key`)
}

func TestMappingFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(testMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	newF, err := NewFormat(Config{Name: "mapping", MappingFile: good})
	if err != nil {
		t.Fatal(err)
	}
	if _, rj := newF().Decode([]byte(`{"action":"E","visitor_id":"v","ts":1704164645678}`), mapSrc, nil); rj != nil {
		t.Fatal(rj)
	}
	if _, err := NewFormat(Config{Name: "mapping"}); err == nil || !strings.Contains(err.Error(), "MICROCONV_INPUT_MAPPING") {
		t.Fatalf("mapping without a file: %v", err)
	}
	if _, err := NewFormat(Config{Name: "mapping", MappingFile: filepath.Join(dir, "none.yaml")}); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Fatalf("missing mapping file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("event: name\nuser_key: uid\ntimestamp: {path: ts, format: unix_sec}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewFormat(Config{Name: "mapping", MappingFile: bad})
	var me *MappingError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), bad+`:3:31: key "timestamp.format": unknown timestamp format "unix_sec"`) {
		t.Fatalf("bad mapping file: %v", err)
	}
}

// TestMappingErrors: every problem of a file, at its line and column, naming the key.
func TestMappingErrors(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		_, err := parseMapping("m.yaml", []byte(src), "")
		if err == nil {
			t.Fatalf("parseMapping accepted:\n%s", src)
		}
		var me *MappingError
		if !errors.As(err, &me) {
			t.Fatalf("parseMapping error %T %v, want *MappingError", err, err)
		}
		if len(me.Errors) != len(want) {
			t.Fatalf("parseMapping:\n%s\ngave %d errors, want %d:\n%s", src, len(me.Errors), len(want), err)
		}
		for i, w := range want {
			if !strings.HasPrefix(me.Errors[i], w) {
				t.Errorf("error %d = %q\nwant prefix %q", i, me.Errors[i], w)
			}
		}
	}
	const req = "event: e\nuser_key: u\ntimestamp: t\n"
	f("", `m.yaml: empty mapping`)
	f("# nothing\n", `m.yaml: empty mapping`)
	f("event: [a\n", `m.yaml: cannot parse YAML: `)
	f("- event\n", `m.yaml:1:1: key "": cannot use a list; expected a mapping of fields to paths`)
	f("event: e\n", `m.yaml:1:1: missing required field "timestamp"`, `m.yaml:1:1: missing required field "user_key"`)
	f(req+"evnt_id: id\n", `m.yaml:4:1: unknown key "evnt_id" (did you mean "event_id"?); expected a field (event_id, type, event,`)
	f(req+"country: {path: c, fomat: x}\n", `m.yaml:4:20: unknown key "fomat" in the mapping of "country"; expected path, map, default, const`)
	f(req+"event_id: {path: id, default: x}\n", `m.yaml:4:22: unknown key "default" in the mapping of "event_id"; expected path`)
	f(req+"device: {path: d, format: unix_s}\n", `m.yaml:4:19: unknown key "format" in the mapping of "device"`)
	f("event: e\nuser_key: u\ntimestamp: {path: t, format: unix_sec}\n", `m.yaml:3:30: key "timestamp.format": unknown timestamp format "unix_sec"; expected rfc3339, unix_s, unix_ms, unix_us, unix_ns or auto`)
	f("event: e\nuser_key: u\ntimestamp: {format: unix_s}\n", `m.yaml:3:12: key "timestamp": missing key "path"`)
	f(req+"url: {const: x, path: y}\n", `m.yaml:4:17: key "url.path": not allowed together with const`)
	f(req+"url: {map: {a: b}}\n", `m.yaml:4:6: key "url": missing key "path" (or use const)`)
	f(req+"url: {}\n", `m.yaml:4:6: key "url": empty mapping; expected path, map, default, const`)
	f(req+"url: []\n", `m.yaml:4:6: key "url": empty list of paths`)
	f(req+"url: 5\n", `m.yaml:4:6: key "url": cannot use "5"; expected a path, a list of paths or {path, map, default, const: …}`)
	f(req+"url: [a, {b: c}]\n", `m.yaml:4:10: key "url.1": cannot use a mapping; expected a path or a list of paths`)
	f(req+"url: a..b\n", `m.yaml:4:6: key "url": invalid path "a..b"; expected dotted keys, none empty`)
	f(req+"url: {path: .a}\n", `m.yaml:4:13: key "url.path": invalid path ".a"`)
	f(req+"url: {const: [a]}\n", `m.yaml:4:14: key "url.const": cannot use a list; expected a string, number or bool`)
	f(req+"url: {path: a, map: {x: [1]}}\n", `m.yaml:4:25: key "url.map.x": cannot use a list; expected a string, number or bool`)
	f(req+"events: [a]\n", `m.yaml:4:9: key "events": cannot use a list; expected a path`)
	f(req+"preset: ga5\n", `m.yaml:4:9: key "preset": unknown preset "ga5"; expected ga4`)
	f(req+"url: a\nurl: b\n", `m.yaml:5:1: key "url" appears twice (first at line 4)`)
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for c := 'b'; c <= 'h'; c++ {
		bomb += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", c, c, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1)
	}
	f(bomb, "m.yaml:")
	// Several errors, by position.
	f("event: {}\nuser_key: [u, 1]\ntimestamp: {path: t, format: x}\nfoo: 1\n",
		`m.yaml:1:8: key "event": empty mapping`, `m.yaml:2:15: key "user_key.1": cannot use "1"`,
		`m.yaml:3:30: key "timestamp.format": unknown timestamp format "x"`, `m.yaml:4:1: unknown key "foo"`)

	// Fine: each form, with comments and the schema line.
	mustMapping(t, testMapping)
	mustMapping(t, req+"type: {path: k, map: {1: page, true: track}, default: track}\ncountry: {const: true}\nevents: a.b\n")
}

// TestMappingExampleFiles: every example mapping of the repository is valid.
func TestMappingExampleFiles(t *testing.T) {
	files := []string{filepath.Join("..", "examples", "mappings", "shop", "mapping.yaml"), filepath.Join("..", "examples", "mappings", "ga4", "overrides.yaml")}
	if _, err := os.Stat(files[0]); err != nil {
		t.Fatalf("example mapping: %v", err)
	}
	for _, file := range files {
		if _, err := loadMappingFile(file, ""); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}
