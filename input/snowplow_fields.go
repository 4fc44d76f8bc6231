package input

// The Snowplow enriched event TSV: 131 tab-separated fields in this order,
// the contract between Snowplow's enrich and every consumer of its output.
// Source: Snowplow's analytics SDKs, which turn this TSV into JSON —
// snowplow/snowplow-golang-analytics-sdk analytics/mappings.go
// (enrichedEventFieldTypes, [131]) and
// snowplow/snowplow-python-analytics-sdk event_transformer.py
// (ENRICHED_EVENT_FIELD_TYPES), both Apache-2.0; the kinds say how each
// field becomes JSON, as there. Field 121 is named refr_dvce_tstamp, as in
// the Scala analytics SDK, the atomic.events table and Snowplow's dbt
// packages (the Go and Python SDKs call it refr_device_tstamp).

type spKind uint8

const (
	spString   spKind = iota
	spInt             // JSON number; must parse as an integer
	spDouble          // JSON number; must parse as a float
	spBool            // "1"/"0" (also "true"/"false") → true/false
	spTstamp          // "2022-06-01 10:20:30.123" → "2022-06-01T10:20:30.123Z"
	spContexts        // self-describing contexts → contexts_<vendor>_<name>_<model> arrays
	spUnstruct        // self-describing unstruct event → unstruct_event_<vendor>_<name>_<model>
)

type spField struct {
	name string
	kind spKind
}

const spNumFields = 131

var spFields = [spNumFields]spField{
	{"app_id", spString},
	{"platform", spString},
	{"etl_tstamp", spTstamp},
	{"collector_tstamp", spTstamp},
	{"dvce_created_tstamp", spTstamp},
	{"event", spString},
	{"event_id", spString},
	{"txn_id", spInt},
	{"name_tracker", spString},
	{"v_tracker", spString},
	{"v_collector", spString},
	{"v_etl", spString},
	{"user_id", spString},
	{"user_ipaddress", spString},
	{"user_fingerprint", spString},
	{"domain_userid", spString},
	{"domain_sessionidx", spInt},
	{"network_userid", spString},
	{"geo_country", spString},
	{"geo_region", spString},
	{"geo_city", spString},
	{"geo_zipcode", spString},
	{"geo_latitude", spDouble},
	{"geo_longitude", spDouble},
	{"geo_region_name", spString},
	{"ip_isp", spString},
	{"ip_organization", spString},
	{"ip_domain", spString},
	{"ip_netspeed", spString},
	{"page_url", spString},
	{"page_title", spString},
	{"page_referrer", spString},
	{"page_urlscheme", spString},
	{"page_urlhost", spString},
	{"page_urlport", spInt},
	{"page_urlpath", spString},
	{"page_urlquery", spString},
	{"page_urlfragment", spString},
	{"refr_urlscheme", spString},
	{"refr_urlhost", spString},
	{"refr_urlport", spInt},
	{"refr_urlpath", spString},
	{"refr_urlquery", spString},
	{"refr_urlfragment", spString},
	{"refr_medium", spString},
	{"refr_source", spString},
	{"refr_term", spString},
	{"mkt_medium", spString},
	{"mkt_source", spString},
	{"mkt_term", spString},
	{"mkt_content", spString},
	{"mkt_campaign", spString},
	{"contexts", spContexts},
	{"se_category", spString},
	{"se_action", spString},
	{"se_label", spString},
	{"se_property", spString},
	{"se_value", spDouble},
	{"unstruct_event", spUnstruct},
	{"tr_orderid", spString},
	{"tr_affiliation", spString},
	{"tr_total", spDouble},
	{"tr_tax", spDouble},
	{"tr_shipping", spDouble},
	{"tr_city", spString},
	{"tr_state", spString},
	{"tr_country", spString},
	{"ti_orderid", spString},
	{"ti_sku", spString},
	{"ti_name", spString},
	{"ti_category", spString},
	{"ti_price", spDouble},
	{"ti_quantity", spInt},
	{"pp_xoffset_min", spInt},
	{"pp_xoffset_max", spInt},
	{"pp_yoffset_min", spInt},
	{"pp_yoffset_max", spInt},
	{"useragent", spString},
	{"br_name", spString},
	{"br_family", spString},
	{"br_version", spString},
	{"br_type", spString},
	{"br_renderengine", spString},
	{"br_lang", spString},
	{"br_features_pdf", spBool},
	{"br_features_flash", spBool},
	{"br_features_java", spBool},
	{"br_features_director", spBool},
	{"br_features_quicktime", spBool},
	{"br_features_realplayer", spBool},
	{"br_features_windowsmedia", spBool},
	{"br_features_gears", spBool},
	{"br_features_silverlight", spBool},
	{"br_cookies", spBool},
	{"br_colordepth", spString},
	{"br_viewwidth", spInt},
	{"br_viewheight", spInt},
	{"os_name", spString},
	{"os_family", spString},
	{"os_manufacturer", spString},
	{"os_timezone", spString},
	{"dvce_type", spString},
	{"dvce_ismobile", spBool},
	{"dvce_screenwidth", spInt},
	{"dvce_screenheight", spInt},
	{"doc_charset", spString},
	{"doc_width", spInt},
	{"doc_height", spInt},
	{"tr_currency", spString},
	{"tr_total_base", spDouble},
	{"tr_tax_base", spDouble},
	{"tr_shipping_base", spDouble},
	{"ti_currency", spString},
	{"ti_price_base", spDouble},
	{"base_currency", spString},
	{"geo_timezone", spString},
	{"mkt_clickid", spString},
	{"mkt_network", spString},
	{"etl_tags", spString},
	{"dvce_sent_tstamp", spTstamp},
	{"refr_domain_userid", spString},
	{"refr_dvce_tstamp", spTstamp},
	{"derived_contexts", spContexts},
	{"domain_sessionid", spString},
	{"derived_tstamp", spTstamp},
	{"event_vendor", spString},
	{"event_name", spString},
	{"event_format", spString},
	{"event_version", spString},
	{"event_fingerprint", spString},
	{"true_tstamp", spTstamp},
}

// Positions of the fields the normalization reads (checked against
// spFields by TestSnowplowFieldPositions).
const (
	spiPlatform      = 1
	spiCollectorTS   = 3
	spiDvceCreatedTS = 4
	spiEvent         = 5
	spiEventID       = 6
	spiUserID        = 12
	spiDomainUserID  = 15
	spiNetworkUserID = 17
	spiGeoCountry    = 18
	spiGeoLatitude   = 22
	spiGeoLongitude  = 23
	spiPageURL       = 29
	spiPageReferrer  = 31
	spiPagePath      = 35
	spiMktMedium     = 47
	spiMktSource     = 48
	spiMktTerm       = 49
	spiMktContent    = 50
	spiMktCampaign   = 51
	spiSeCategory    = 53
	spiSeAction      = 54
	spiSeLabel       = 55
	spiSeProperty    = 56
	spiSeValue       = 57
	spiDvceIsMobile  = 102
	spiDomainSession = 123
	spiDerivedTS     = 124
	spiEventName     = 126
)
