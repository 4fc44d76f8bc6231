package input

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/microconv/microconv/internal/testkit/inputkit"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

func TestSnowplowFieldOrder(t *testing.T) {
	want := strings.Fields(inputkit.CanonicalOrder)
	if len(want) != 131 {
		t.Fatalf("canonical list has %d names", len(want))
	}
	for i, f := range spFields {
		if f.name != want[i] {
			t.Fatalf("spFields[%d] = %q, want %q", i, f.name, want[i])
		}
	}
}

func TestSnowplowFieldPositions(t *testing.T) {
	for name, i := range map[string]int{
		"platform": spiPlatform, "collector_tstamp": spiCollectorTS, "dvce_created_tstamp": spiDvceCreatedTS,
		"event": spiEvent, "event_id": spiEventID, "user_id": spiUserID, "domain_userid": spiDomainUserID,
		"network_userid": spiNetworkUserID, "geo_country": spiGeoCountry, "geo_latitude": spiGeoLatitude,
		"geo_longitude": spiGeoLongitude, "page_url": spiPageURL, "page_referrer": spiPageReferrer,
		"page_urlpath": spiPagePath, "mkt_medium": spiMktMedium, "mkt_source": spiMktSource, "mkt_term": spiMktTerm,
		"mkt_content": spiMktContent, "mkt_campaign": spiMktCampaign, "se_category": spiSeCategory,
		"se_action": spiSeAction, "se_label": spiSeLabel, "se_property": spiSeProperty, "se_value": spiSeValue,
		"dvce_ismobile": spiDvceIsMobile, "domain_sessionid": spiDomainSession, "derived_tstamp": spiDerivedTS,
		"event_name": spiEventName, "contexts": 52, "unstruct_event": 58, "derived_contexts": 122,
	} {
		if spFields[i].name != name {
			t.Errorf("index %d is %q, want %q", i, spFields[i].name, name)
		}
	}
}

// The key of a self-describing JSON, as the Scala analytics SDK makes it
// (SnowplowEvent.transformSchema).
func TestSnowplowSchemaKey(t *testing.T) {
	var sp snowplowFormat
	f := func(prefix, uri, want string) {
		t.Helper()
		got, ok := sp.sdKey(prefix, []byte(uri))
		if want == "" {
			if ok {
				t.Fatalf("sdKey(%q) = %q, want failure", uri, got)
			}
			return
		}
		if !ok || got != want {
			t.Fatalf("sdKey(%q) = %q, %v, want %q", uri, got, ok, want)
		}
	}
	f("contexts_", "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", "contexts_com_snowplowanalytics_snowplow_web_page_1")
	f("contexts_", "iglu:nl.basjes/yauaa_context/jsonschema/1-0-4", spKeyYauaa)
	f("unstruct_event_", "iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-2",
		"unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1")
	f("unstruct_event_", "iglu:com.Acme-Corp/linkClick/jsonschema/12-1-0", "unstruct_event_com_acme_corp_link_click_12")
	f("contexts_", "iglu:com.acme/HTTPRequest.v2/jsonschema/2-0-0", "contexts_com_acme_httprequest_v2_2")
	f("contexts_", "iglu:com.acme/aB_cD/jsonschema/3-0-0", "contexts_com_acme_a_b_c_d_3")
	f("contexts_", "com.acme/x/jsonschema/1-0-0", "")
	f("contexts_", "iglu:com.acme/x/jsonschema", "")
	f("contexts_", "iglu:com.acme/x/jsonschema/x-0-0", "")
	f("contexts_", "", "")
}

func TestSnowplowTimestampISO(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, ok := spISO(nil, []byte(in))
		if want == "" {
			if ok {
				t.Fatalf("spISO(%q) = %q, want failure", in, got)
			}
			return
		}
		if !ok || string(got) != want {
			t.Fatalf("spISO(%q) = %q, %v, want %q", in, got, ok, want)
		}
	}
	f("2022-12-22 13:25:47.677", "2022-12-22T13:25:47.677Z")
	f("2022-12-22 13:25:47", "2022-12-22T13:25:47Z")
	f("2022-12-22T13:25:47.677Z", "2022-12-22T13:25:47.677Z")
	f("2022-12-22T13:25:47.677", "2022-12-22T13:25:47.677Z")
	f("2022-12-22 13:25:47.677000+00:00", "2022-12-22T13:25:47.677000+00:00")
	f("2022-12-22T15:25:47.677+02:00", "2022-12-22T15:25:47.677+02:00")
	f("1671715547677", "")
	f("2022-12-22", "")
}

// spEvent is an enriched event by field name; tsv renders it as the
// enriched TSV.
type spEvent map[string]string

func (e spEvent) tsv() string {
	fields := make([]string, len(spFields))
	for i, f := range spFields {
		fields[i] = e[f.name]
	}
	return strings.Join(fields, "\t")
}

func (e spEvent) with(kv ...string) spEvent {
	out := spEvent{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// spAddToCart is an add_to_cart action of the Snowplow e-commerce plugin,
// with a YAUAA context in derived_contexts.
var spAddToCart = spEvent{
	"app_id": "shop", "platform": "web", "etl_tstamp": "2022-12-22 13:25:51.772",
	"collector_tstamp": "2022-12-22 13:25:50.751", "dvce_created_tstamp": "2022-12-22 13:25:50.582",
	"event": "unstruct", "event_id": "1ef7b4a6-cea9-43e9-9b6c-0d0e3e8f0c0a", "name_tracker": "sp",
	"v_tracker": "js-3.7.0", "v_collector": "ssc-2.8.2-kafka", "v_etl": "snowplow-enrich-kafka-3.6.0",
	"domain_userid": "dfc2", "domain_sessionidx": "3", "network_userid": "n1", "geo_country": "GR",
	"geo_latitude": "37.9834", "geo_longitude": "23.6811",
	"page_url": "http://localhost:3000/productY?utm_source=news", "page_referrer": "http://localhost:3000/commerce",
	"page_urlpath": "/productY", "page_urlport": "3000",
	"mkt_source": "news", "mkt_medium": "email", "mkt_campaign": "xmas", "mkt_term": "hats", "mkt_content": "top",
	"contexts": `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[` +
		`{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"f174"}},` +
		`{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/product/jsonschema/1-0-0","data":{"id":"1236","price":12,"currency":"EUR"}},` +
		`{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/product/jsonschema/1-0-0","data":{"id":"1237","price":"7.5","currency":"EUR"}}]}`,
	"unstruct_event": `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":` +
		`{"schema":"iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-2","data":{"type":"add_to_cart"}}}`,
	"useragent": "Mozilla/5.0", "br_cookies": "1", "dvce_ismobile": "0",
	"dvce_sent_tstamp": "2022-12-22 13:25:50.650",
	"derived_contexts": `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[` +
		`{"schema":"iglu:nl.basjes/yauaa_context/jsonschema/1-0-4","data":{"deviceClass":"Tablet","agentName":"Chrome"}}]}`,
	"domain_sessionid": "0a42e1e2", "derived_tstamp": "2022-12-22 13:25:50.677",
	"event_vendor": "com.snowplowanalytics.snowplow.ecommerce", "event_name": "snowplow_ecommerce_action",
	"event_format": "jsonschema", "event_version": "1-0-2", "event_fingerprint": "1d8b",
}

// spAddToCartJSON is spAddToCart as the analytics SDKs turn it into JSON.
const spAddToCartJSON = `{
 "app_id": "shop", "platform": "web", "etl_tstamp": "2022-12-22T13:25:51.772Z",
 "collector_tstamp": "2022-12-22T13:25:50.751Z", "dvce_created_tstamp": "2022-12-22T13:25:50.582Z",
 "event": "unstruct", "event_id": "1ef7b4a6-cea9-43e9-9b6c-0d0e3e8f0c0a", "name_tracker": "sp",
 "v_tracker": "js-3.7.0", "v_collector": "ssc-2.8.2-kafka", "v_etl": "snowplow-enrich-kafka-3.6.0",
 "domain_userid": "dfc2", "domain_sessionidx": 3, "network_userid": "n1", "geo_country": "GR",
 "geo_latitude": 37.9834, "geo_longitude": 23.6811, "geo_location": "37.9834,23.6811",
 "page_url": "http://localhost:3000/productY?utm_source=news", "page_referrer": "http://localhost:3000/commerce",
 "page_urlpath": "/productY", "page_urlport": 3000,
 "mkt_source": "news", "mkt_medium": "email", "mkt_campaign": "xmas", "mkt_term": "hats", "mkt_content": "top",
 "contexts_com_snowplowanalytics_snowplow_web_page_1": [{"id": "f174"}],
 "contexts_com_snowplowanalytics_snowplow_ecommerce_product_1": [
   {"id": "1236", "price": 12, "currency": "EUR"}, {"id": "1237", "price": "7.5", "currency": "EUR"}],
 "unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1": {"type": "add_to_cart"},
 "useragent": "Mozilla/5.0", "br_cookies": true, "dvce_ismobile": false,
 "dvce_sent_tstamp": "2022-12-22T13:25:50.650Z",
 "contexts_nl_basjes_yauaa_context_1": [{"deviceClass": "Tablet", "agentName": "Chrome"}],
 "domain_sessionid": "0a42e1e2", "derived_tstamp": "2022-12-22T13:25:50.677Z",
 "event_vendor": "com.snowplowanalytics.snowplow.ecommerce", "event_name": "snowplow_ecommerce_action",
 "event_format": "jsonschema", "event_version": "1-0-2", "event_fingerprint": "1d8b"
}`

func decodeSnowplow(t *testing.T, f Format, raw string) (sink.Event, map[string]any, *Rejection) {
	t.Helper()
	out, rj := f.Decode([]byte(raw), Source{Topic: "sp", Partition: 1, Offset: 7}, nil)
	if rj != nil {
		return sink.Event{}, nil, rj
	}
	if len(out) != 1 {
		t.Fatalf("got %d events, want 1", len(out))
	}
	var doc map[string]any
	if err := json.Unmarshal(out[0].Rule.Doc.MarshalTo(nil), &doc); err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
	if out[0].Rule.Name != out[0].Event.Event || out[0].Rule.Type != out[0].Event.Type {
		t.Fatalf("rules see %q/%q, event is %q/%q", out[0].Rule.Type, out[0].Rule.Name, out[0].Event.Type, out[0].Event.Event)
	}
	return out[0].Event, doc, nil
}

func newSnowplow(t *testing.T) Format {
	t.Helper()
	nf, err := NewFormat(Config{Name: "snowplow", MaxMessageBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return nf()
}

// TSV and the analytics SDKs' JSON of the same event give the same event
// and the same document for the rules.
func TestSnowplowTSVAndJSON(t *testing.T) {
	f := newSnowplow(t)
	want := sink.Event{
		EventID: "1ef7b4a6-cea9-43e9-9b6c-0d0e3e8f0c0a", Type: "track", Event: "snowplow_ecommerce_action",
		UserKey: "dfc2", SessionID: "0a42e1e2", TSMillis: 1671715550677,
		URL: "http://localhost:3000/productY?utm_source=news", Path: "/productY", Referrer: "http://localhost:3000/commerce",
		UTM:    sink.UTM{Source: "news", Medium: "email", Campaign: "xmas", Term: "hats", Content: "top"},
		Device: "tablet", Country: "GR", Properties: `{"type":"add_to_cart"}`,
		Topic: "sp", Partition: 1, Offset: 7,
	}
	var wantDoc map[string]any
	if err := json.Unmarshal([]byte(spAddToCartJSON), &wantDoc); err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"tsv": spAddToCart.tsv(), "tsv+newline": spAddToCart.tsv() + "\n", "json": spAddToCartJSON} {
		ev, doc, rj := decodeSnowplow(t, f, raw)
		if rj != nil {
			t.Fatalf("%s: rejected: %v", name, rj)
		}
		if ev != want {
			t.Errorf("%s: event\n got %+v\nwant %+v", name, ev, want)
		}
		if !reflect.DeepEqual(doc, wantDoc) {
			got, _ := json.MarshalIndent(doc, "", " ")
			t.Errorf("%s: document\n%s", name, got)
		}
	}
}

// Rules address the event as the analytics SDKs' JSON: the action type in
// the unstruct event, a product's price in the product contexts.
func TestSnowplowRulePaths(t *testing.T) {
	set, err := rules.Parse("sp.yaml", []byte(`
conversions:
  - id: add_to_cart
    value: contexts_com_snowplowanalytics_snowplow_ecommerce_product_1.1.price
    match:
      event: snowplow_ecommerce_action
      where:
        - {path: unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1.type, op: eq, value: add_to_cart}
        - {path: contexts_com_snowplowanalytics_snowplow_ecommerce_product_1.0.price, op: gt, value: 10}
        - {path: contexts_nl_basjes_yauaa_context_1.0.agentName, op: eq, value: Chrome}
        - {path: br_cookies, op: eq, value: true}
        - {path: page_urlport, op: eq, value: 3000}
  - id: transaction
    type: macro
    match:
      event: snowplow_ecommerce_action
      where: [{path: unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1.type, op: eq, value: transaction}]
`))
	if err != nil {
		t.Fatal(err)
	}
	f := newSnowplow(t)
	for _, raw := range []string{spAddToCart.tsv(), spAddToCartJSON} {
		out, rj := f.Decode([]byte(raw), Source{}, nil)
		if rj != nil {
			t.Fatal(rj)
		}
		m := set.Match(&out[0].Rule, nil)
		if len(m) != 1 || m[0].Conversion.ID != "add_to_cart" || !m[0].HasValue || m[0].Value != 7.5 {
			t.Fatalf("matches %+v, want add_to_cart with value 7.5", m)
		}
	}
}

func TestSnowplowNormalization(t *testing.T) {
	f := newSnowplow(t)
	check := func(name string, e spEvent, want func(ev sink.Event) bool) {
		t.Helper()
		ev, _, rj := decodeSnowplow(t, f, e.tsv())
		if rj != nil {
			t.Fatalf("%s: rejected: %v", name, rj)
		}
		if !want(ev) {
			t.Fatalf("%s: unexpected %+v", name, ev)
		}
	}
	base := spAddToCart.with("derived_contexts", "", "unstruct_event", "")
	check("page view", base.with("event", "page_view", "event_name", "page_view", "event_vendor", "com.snowplowanalytics.snowplow"),
		func(ev sink.Event) bool { return ev.Type == "page" && ev.Event == "page_view" && ev.Properties == "" })
	check("screen view", base.with("event_name", "screen_view"),
		func(ev sink.Event) bool { return ev.Type == "screen" && ev.Event == "screen_view" })
	check("structured event", base.with("event", "struct", "event_name", "event", "se_category", "video", "se_action", "play", "se_value", "2.5"),
		func(ev sink.Event) bool {
			return ev.Type == "track" && ev.Event == "play" && ev.Properties == `{"category":"video","action":"play","value":2.5}`
		})
	check("structured event without action", base.with("event", "struct", "event_name", "event"),
		func(ev sink.Event) bool { return ev.Event == "event" })
	check("legacy event without event_name", base.with("event", "page_ping", "event_name", ""),
		func(ev sink.Event) bool { return ev.Event == "page_ping" && ev.Type == "track" })
	check("user_id first", base.with("user_id", "u-42"), func(ev sink.Event) bool { return ev.UserKey == "u-42" })
	check("network_userid last", base.with("domain_userid", ""), func(ev sink.Event) bool { return ev.UserKey == "n1" })
	check("dvce_created_tstamp without derived_tstamp", base.with("derived_tstamp", ""),
		func(ev sink.Event) bool { return ev.TSMillis == 1671715550582 })
	check("collector_tstamp last", base.with("derived_tstamp", "", "dvce_created_tstamp", ""),
		func(ev sink.Event) bool { return ev.TSMillis == 1671715550751 })
	check("dvce_ismobile", base.with("dvce_ismobile", "1"), func(ev sink.Event) bool { return ev.Device == "mobile" })
	check("desktop", base, func(ev sink.Event) bool { return ev.Device == "desktop" })
	check("mobile platform", base.with("dvce_ismobile", "", "platform", "mob"), func(ev sink.Event) bool { return ev.Device == "mobile" })
	check("mobile session", base.with("domain_sessionid", "", "contexts",
		`{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-1","data":{"sessionId":"c04b","sessionIndex":2}}]}`),
		func(ev sink.Event) bool { return ev.SessionID == "c04b" })
	check("number kept as text when not a number", base.with("page_urlport", "x80"), func(ev sink.Event) bool { return true })

	// JSON: numbers and booleans as the SDKs type them.
	ev, _, rj := decodeSnowplow(t, f, `{"event_id":"e1","event_name":"link_click","domain_userid":"d","derived_tstamp":"2022-12-22T13:25:50.677Z","dvce_ismobile":true,"unstruct_event_com_snowplowanalytics_snowplow_link_click_1":{"targetUrl":"https://x"}}`)
	if rj != nil || ev.Device != "mobile" || ev.Properties != `{"targetUrl":"https://x"}` || ev.TSMillis != 1671715550677 {
		t.Fatalf("JSON event: %+v, %v", ev, rj)
	}
}

// Bad input in either form is rejected with a reason.
func TestSnowplowRejections(t *testing.T) {
	f := newSnowplow(t)
	cases := []struct {
		name, raw, reason string
	}{
		{"empty", "", ReasonEmpty},
		{"tsv with 130 fields", strings.TrimSuffix(spAddToCart.tsv(), "\t"), ReasonBadField},
		{"tsv with 132 fields", spAddToCart.tsv() + "\tx", ReasonBadField},
		{"not tsv at all", "hello", ReasonBadField},
		{"tsv unparsable contexts", spAddToCart.with("contexts", `{"schema":"iglu:x/contexts/jsonschema/1-0-0","data":[`).tsv(), ReasonInvalidJSON},
		{"tsv contexts not self-describing", spAddToCart.with("contexts", `{"data":{}}`).tsv(), ReasonBadField},
		{"tsv context with a bad schema URI", spAddToCart.with("contexts", `{"data":[{"schema":"web_page","data":{}}]}`).tsv(), ReasonBadField},
		{"tsv unparsable unstruct", spAddToCart.with("unstruct_event", `{"data":`).tsv(), ReasonInvalidJSON},
		{"tsv unstruct without data", spAddToCart.with("unstruct_event", `{"schema":"iglu:a/b/jsonschema/1-0-0"}`).tsv(), ReasonBadField},
		{"tsv without event_id", spAddToCart.with("event_id", "").tsv(), ReasonBadField},
		{"tsv without event name", spAddToCart.with("event", "", "event_name", "").tsv(), ReasonMissingEvent},
		{"tsv without user", spAddToCart.with("domain_userid", "", "network_userid", "").tsv(), ReasonMissingUserKey},
		{"tsv without timestamps", spAddToCart.with("derived_tstamp", "", "dvce_created_tstamp", "", "collector_tstamp", "").tsv(), ReasonMissingTS},
		{"tsv bad derived_tstamp", spAddToCart.with("derived_tstamp", "yesterday").tsv(), ReasonBadTS},
		{"tsv timestamp out of range", spAddToCart.with("derived_tstamp", "1960-01-01 00:00:00.000").tsv(), ReasonTSOutOfRange},
		{"tsv invalid UTF-8", spAddToCart.with("page_url", "http://x/\xff").tsv(), ReasonInvalidUTF8},
		{"json invalid", `{"event_id":"e1",`, ReasonInvalidJSON},
		{"json control character", "{\"event_id\":\"e\x01\"}", ReasonInvalidJSON},
		{"json without event_id", `{"event_name":"page_view","domain_userid":"d","derived_tstamp":"2022-12-22T13:25:50.677Z"}`, ReasonBadField},
		{"json event_id not a string", `{"event_id":{},"event_name":"page_view","domain_userid":"d","derived_tstamp":"2022-12-22T13:25:50.677Z"}`, ReasonBadField},
		{"json without user", `{"event_id":"e1","event_name":"page_view","derived_tstamp":"2022-12-22T13:25:50.677Z"}`, ReasonMissingUserKey},
		{"json without timestamp", `{"event_id":"e1","event_name":"page_view","domain_userid":"d"}`, ReasonMissingTS},
		{"json numeric timestamp", `{"event_id":"e1","event_name":"page_view","domain_userid":"d","derived_tstamp":1671715550677}`, ReasonBadTS},
		{"json without event name", `{"event_id":"e1","domain_userid":"d","derived_tstamp":"2022-12-22T13:25:50.677Z"}`, ReasonMissingEvent},
	}
	for _, c := range cases {
		_, _, rj := decodeSnowplow(t, f, c.raw)
		if rj == nil || rj.Reason != c.reason {
			t.Errorf("%s: got %v, want reason %s", c.name, rj, c.reason)
		}
		if rj != nil && rj.Detail == "" {
			t.Errorf("%s: rejection without detail", c.name)
		}
	}
	// A JSON array is JSON (first byte '[' is not TSV's app_id).
	if _, _, rj := decodeSnowplow(t, f, `[1]`); rj == nil {
		t.Errorf("array accepted")
	}
}

func TestSnowplowMappingFileRefused(t *testing.T) {
	if _, err := NewFormat(Config{Name: "snowplow", MappingFile: "m.yaml"}); err == nil {
		t.Fatal("snowplow with a mapping file accepted")
	}
}

func FuzzSnowplowDecode(f *testing.F) {
	f.Add([]byte(spAddToCart.tsv()))
	f.Add([]byte(spAddToCartJSON))
	f.Add([]byte(spAddToCart.with("contexts", `{"data":[{"schema":"iglu:a/B/c/1-0-0","data":null}]}`).tsv()))
	sp := &snowplowFormat{dec: segmentDecoder{maxBytes: 1 << 20}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, rj := sp.Decode(raw, Source{}, nil)
		if rj != nil {
			if rj.Reason == "" || rj.Retry {
				t.Fatalf("rejection without a reason: %+v", rj)
			}
			return
		}
		if spIsJSON(raw) {
			return // the parser's document (fastjson is lenient: "00" is a number)
		}
		var v any
		if err := json.Unmarshal(appendJSON(nil, out[0].Rule.Doc), &v); err != nil {
			t.Fatalf("document built from TSV is not JSON: %v\n%s", err, appendJSON(nil, out[0].Rule.Doc))
		}
	})
}
