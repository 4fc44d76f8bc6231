package inputkit

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// The field order of the enriched TSV, as Snowplow's Python analytics SDK
// lists it (snowplow/snowplow-python-analytics-sdk
// snowplow_analytics_sdk/event_transformer.py, ENRICHED_EVENT_FIELD_TYPES,
// Apache-2.0), written out independently of input.spFields; field 121 is
// refr_dvce_tstamp as in the Scala SDK and atomic.events.
const CanonicalOrder = `app_id platform etl_tstamp collector_tstamp dvce_created_tstamp event event_id txn_id
name_tracker v_tracker v_collector v_etl user_id user_ipaddress user_fingerprint domain_userid domain_sessionidx
network_userid geo_country geo_region geo_city geo_zipcode geo_latitude geo_longitude geo_region_name ip_isp
ip_organization ip_domain ip_netspeed page_url page_title page_referrer page_urlscheme page_urlhost page_urlport
page_urlpath page_urlquery page_urlfragment refr_urlscheme refr_urlhost refr_urlport refr_urlpath refr_urlquery
refr_urlfragment refr_medium refr_source refr_term mkt_medium mkt_source mkt_term mkt_content mkt_campaign contexts
se_category se_action se_label se_property se_value unstruct_event tr_orderid tr_affiliation tr_total tr_tax
tr_shipping tr_city tr_state tr_country ti_orderid ti_sku ti_name ti_category ti_price ti_quantity pp_xoffset_min
pp_xoffset_max pp_yoffset_min pp_yoffset_max useragent br_name br_family br_version br_type br_renderengine br_lang
br_features_pdf br_features_flash br_features_java br_features_director br_features_quicktime br_features_realplayer
br_features_windowsmedia br_features_gears br_features_silverlight br_cookies br_colordepth br_viewwidth
br_viewheight os_name os_family os_manufacturer os_timezone dvce_type dvce_ismobile dvce_screenwidth
dvce_screenheight doc_charset doc_width doc_height tr_currency tr_total_base tr_tax_base tr_shipping_base
ti_currency ti_price_base base_currency geo_timezone mkt_clickid mkt_network etl_tags dvce_sent_tstamp
refr_domain_userid refr_dvce_tstamp derived_contexts domain_sessionid derived_tstamp event_vendor event_name
event_format event_version event_fingerprint true_tstamp`

// The Iglu schema of each self-describing column of the fixture (the
// column names carry the full version: vendor and name are not separable).
var fixtureSchemas = map[string]string{
	"contexts_com_snowplowanalytics_snowplow_web_page_1_0_0":                                  "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0",
	"contexts_com_snowplowanalytics_snowplow_ecommerce_user_1_0_0":                            "iglu:com.snowplowanalytics.snowplow.ecommerce/user/jsonschema/1-0-0",
	"contexts_com_snowplowanalytics_snowplow_ecommerce_page_1_0_0":                            "iglu:com.snowplowanalytics.snowplow.ecommerce/page/jsonschema/1-0-0",
	"unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1_0_0": "iglu:com.snowplowanalytics.snowplow.ecommerce/snowplow_ecommerce_action/jsonschema/1-0-0",
	"contexts_com_snowplowanalytics_snowplow_ecommerce_cart_1_0_0":                            "iglu:com.snowplowanalytics.snowplow.ecommerce/cart/jsonschema/1-0-0",
	"contexts_com_snowplowanalytics_snowplow_ecommerce_product_1_0_0":                         "iglu:com.snowplowanalytics.snowplow.ecommerce/product/jsonschema/1-0-0",
	"contexts_com_snowplowanalytics_snowplow_ecommerce_checkout_step_1_0_0":                   "iglu:com.snowplowanalytics.snowplow.ecommerce/checkout_step/jsonschema/1-0-0",
	"contexts_com_snowplowanalytics_snowplow_ecommerce_transaction_1_0_0":                     "iglu:com.snowplowanalytics.snowplow.ecommerce/transaction/jsonschema/1-0-0",
	"contexts_com_snowplowanalytics_snowplow_client_session_1_0_1":                            "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-1",
	"contexts_com_snowplowanalytics_mobile_screen_1_0_0":                                      "iglu:com.snowplowanalytics.mobile/screen/jsonschema/1-0-0",
}

var (
	fixtureTstamps = map[string]bool{"etl_tstamp": true, "collector_tstamp": true, "dvce_created_tstamp": true,
		"dvce_sent_tstamp": true, "refr_dvce_tstamp": true, "derived_tstamp": true, "true_tstamp": true}
	fixtureNumbers = map[string]bool{"txn_id": true, "domain_sessionidx": true, "page_urlport": true,
		"refr_urlport": true, "geo_latitude": true, "geo_longitude": true, "se_value": true}
)

// ReadCSV reads a CSV file of dir with a header row into maps.
func ReadCSV(t testing.TB, dir, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(dir + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("cannot read %s: %v", name, err)
	}
	out := make([]map[string]string, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		row := make(map[string]string, len(rec))
		for i, col := range recs[0] {
			row[col] = rec[i]
		}
		out = append(out, row)
	}
	return out
}

// fixtureTime parses the fixture's timestamps ("2022-12-22
// 13:25:48.718000+00:00" from BigQuery, "2022-11-20 11:53:07.074").
func fixtureTime(t testing.TB, s string) time.Time {
	t.Helper()
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999"} {
		if ts, err := time.Parse(layout, s); err == nil {
			return ts.UTC()
		}
	}
	t.Fatalf("cannot parse fixture timestamp %q", s)
	return time.Time{}
}

// RowJSON is a fixture row as Snowplow's analytics SDKs make JSON of an
// enriched event: empty fields left out, ISO timestamps, numbers typed,
// geo_location added, contexts_…_<major> arrays and the
// unstruct_event_…_<major> object (the keys are the columns without the
// minor and patch version).
func RowJSON(t testing.TB, row map[string]string) []byte {
	out := map[string]any{}
	for col, v := range row {
		if v == "" {
			continue
		}
		switch {
		case fixtureSchemas[col] != "":
			if v == "[]" {
				continue
			}
			key := col[:strings.LastIndexByte(col, '_')]
			key = key[:strings.LastIndexByte(key, '_')]
			out[key] = json.RawMessage(v)
		case fixtureTstamps[col]:
			out[col] = fixtureTime(t, v).Format("2006-01-02T15:04:05.000Z")
		case fixtureNumbers[col]:
			out[col] = json.RawMessage(v)
		default:
			out[col] = v
		}
	}
	if row["geo_latitude"] != "" && row["geo_longitude"] != "" {
		out["geo_location"] = row["geo_latitude"] + "," + row["geo_longitude"]
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RowTSV is a fixture row as Snowplow's enrich writes it: 131 fields in
// the canonical order, Snowplow timestamps, self-describing JSON.
func RowTSV(t testing.TB, row map[string]string) []byte {
	type sd struct {
		Schema string          `json:"schema"`
		Data   json.RawMessage `json:"data"`
	}
	var ctxs []sd
	var unstruct []byte
	cols := make([]string, 0, len(fixtureSchemas))
	for col := range fixtureSchemas {
		cols = append(cols, col)
	}
	sort.Strings(cols)
	for _, col := range cols {
		v := row[col]
		if v == "" || v == "[]" {
			continue
		}
		if strings.HasPrefix(col, "unstruct_event_") {
			b, err := json.Marshal(sd{Schema: "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
				Data: MustJSON(t, sd{Schema: fixtureSchemas[col], Data: json.RawMessage(v)})})
			if err != nil {
				t.Fatal(err)
			}
			unstruct = b
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			t.Fatalf("column %s: %v", col, err)
		}
		for _, it := range items {
			ctxs = append(ctxs, sd{Schema: fixtureSchemas[col], Data: it})
		}
	}
	fields := strings.Fields(CanonicalOrder)
	for i, name := range fields {
		v := row[name]
		switch {
		case name == "contexts" && len(ctxs) > 0:
			v = string(MustJSON(t, map[string]any{"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": ctxs}))
		case name == "unstruct_event":
			v = string(unstruct)
		case fixtureTstamps[name] && v != "":
			v = fixtureTime(t, v).Format("2006-01-02 15:04:05.000")
		}
		if strings.ContainsAny(v, "\t\n") {
			t.Fatalf("field %s holds a tab or newline", name)
		}
		fields[i] = v
	}
	return []byte(strings.Join(fields, "\t"))
}

// MustJSON is v as JSON, failing t if it cannot be.
func MustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
