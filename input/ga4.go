package input

// ga4Preset is MICROCONV_INPUT=ga4: GA4 Measurement Protocol / gtag-style
// JSON, one message carrying several events:
//
//	{"client_id":"123.456","user_id":"u-1","timestamp_micros":"1709000000000000",
//	 "user_properties":{"plan":{"value":"pro"}},"device":{"category":"mobile"},
//	 "events":[{"name":"add_to_cart","params":{"currency":"USD","value":30.5,"session_id":"s1"}},
//	           {"name":"purchase","params":{"transaction_id":"T-1","value":30.5}}]}
//
// It is a mapping like any other, so a mapping file may override single
// fields (MICROCONV_INPUT=ga4 with MICROCONV_INPUT_MAPPING, or `preset: ga4`
// in a file of MICROCONV_INPUT=mapping). Each element of events is an event
// whose paths resolve against the element's keys next to the message's
// top-level keys: timestamp_micros is the event's, else the message's.
//
// Decisions, for the README:
//   - event_id: params.event_id as it is (send one per event to make
//     re-sends recognisable); else the message's event_id or message_id
//     (or an event_id of the element itself) — one taken from the message
//     gets "#<index>" appended; else a hash of the event's content (user,
//     time as sent, the element's JSON). Either way an upstream re-send of
//     the same events gives the same event ids, and they count once.
//   - type: page_view is a page, screen_view a screen, everything else a
//     track; the event name stays GA4's (page_view), so rules can say
//     `type: page` for Segment and GA4 alike, or `event: page_view`.
//   - user_key: user_id, else client_id, else user_pseudo_id (BigQuery
//     export), else app_instance_id (Firebase).
//   - utm_*: the campaign parameters GA4 documents for events
//     (campaign_details): source, medium, campaign, term, content.
//   - country: geo.country (BigQuery export), else user_location.country_id
//     (Measurement Protocol).
//   - path: the path of params.page_location (no `path` key: derived).
const ga4Preset = `# GA4 Measurement Protocol / gtag JSON (MICROCONV_INPUT=ga4).
events: events
event_id: [params.event_id, event_id, message_id]
type: {path: name, map: {page_view: page, screen_view: screen}, default: track}
event: name
user_key: [user_id, client_id, user_pseudo_id, app_instance_id]
timestamp: {path: timestamp_micros, format: unix_us}
session_id: [params.session_id, params.ga_session_id]
url: params.page_location
referrer: params.page_referrer
utm_source: params.source
utm_medium: params.medium
utm_campaign: params.campaign
utm_term: params.term
utm_content: params.content
device: device.category
country: [geo.country, user_location.country_id]
properties: params
`

func init() {
	mappingPresets["ga4"] = ga4Preset
	formatFactories["ga4"] = newMappingFactory("ga4")
}
