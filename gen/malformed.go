package gen

// Rejection reasons, as the consumer stores them in rejected_events.reason.
// Written out again rather than imported from package consumer, like decide:
// the ground truth must not come from the code it checks.
const (
	ReasonEmpty          = "empty"
	ReasonTooLarge       = "too_large"
	ReasonInvalidUTF8    = "invalid_utf8"
	ReasonInvalidJSON    = "invalid_json"
	ReasonNotObject      = "not_object"
	ReasonBadField       = "bad_field"
	ReasonMissingEvent   = "missing_event"
	ReasonMissingUserKey = "missing_user_key"
	ReasonMissingTS      = "missing_timestamp"
	ReasonBadTS          = "bad_timestamp"
	ReasonTSOutOfRange   = "timestamp_out_of_range"
)

// malformed lists the malformed messages, cycled through by Generate: the
// first nine have distinct reasons, so nine messages hold every kind. None
// is empty (kcat cannot send an empty message) or too large, and none holds
// a newline, so that the stream can be written one message per line.
var malformed = []struct{ reason, value string }{
	{ReasonInvalidJSON, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"2026-03-02T10:00:00.000Z"`},
	{ReasonNotObject, `[{"type":"track","event":"Product Viewed"}]`},
	{ReasonMissingEvent, `{"type":"track","userId":"user-x","timestamp":"2026-03-02T10:00:00.000Z","messageId":"bad-1"}`},
	{ReasonMissingUserKey, `{"type":"track","event":"Product Viewed","timestamp":"2026-03-02T10:00:00.000Z","messageId":"bad-2"}`},
	{ReasonMissingTS, `{"type":"track","event":"Product Viewed","userId":"user-x","messageId":"bad-3"}`},
	{ReasonBadTS, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"yesterday"}`},
	{ReasonTSOutOfRange, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"1969-12-31T23:59:59.999Z"}`},
	{ReasonInvalidUTF8, "{\"type\":\"track\",\"event\":\"Product \xff Viewed\",\"userId\":\"user-x\",\"timestamp\":\"2026-03-02T10:00:00.000Z\"}"},
	{ReasonBadField, `{"type":"track","event":"Product Viewed","userId":{"id":7},"timestamp":"2026-03-02T10:00:00.000Z"}`},

	{ReasonInvalidJSON, `not json at all`},
	{ReasonInvalidJSON, `{"type":"track","event":"Product Viewed"}}`},
	{ReasonInvalidJSON, `{'type':'track','event':'Product Viewed'}`},
	{ReasonNotObject, `"Product Viewed"`},
	{ReasonNotObject, `42`},
	{ReasonNotObject, `null`},
	{ReasonMissingEvent, `{"userId":"user-x","timestamp":"2026-03-02T10:00:00.000Z"}`},
	{ReasonMissingEvent, `{"type":"track","event":"","anonymousId":"anon-x","timestamp":"2026-03-02T10:00:00.000Z"}`},
	{ReasonMissingUserKey, `{"type":"track","event":"Product Viewed","userId":"","anonymousId":null,"timestamp":"2026-03-02T10:00:00.000Z"}`},
	{ReasonMissingTS, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":null}`},
	// The timestamp is checked before messageId: missing_timestamp, not bad_field.
	{ReasonMissingTS, `{"type":"track","event":"Product Viewed","userId":"user-x","messageId":{"id":1}}`},
	{ReasonBadTS, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"2026-03-02 10:00:00"}`},
	{ReasonBadTS, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":1772445600000}`},
	{ReasonBadTS, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"2026-02-30T10:00:00Z"}`},
	{ReasonTSOutOfRange, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"2106-01-01T00:00:00Z"}`},
	{ReasonTSOutOfRange, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"1960-06-01T12:00:00+02:00"}`},
	{ReasonInvalidUTF8, "{\"type\":\"page\",\"name\":\"Pricing\",\"anonymousId\":\"anon-\xc3\x28\",\"timestamp\":\"2026-03-02T10:00:00.000Z\"}"},
	{ReasonBadField, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"2026-03-02T10:00:00.000Z","properties":[1,2]}`},
	{ReasonBadField, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"2026-03-02T10:00:00.000Z","context":"web"}`},
	{ReasonBadField, `{"type":"track","event":"Product Viewed","userId":"user-x","timestamp":"2026-03-02T10:00:00.000Z","messageId":true}`},
	{ReasonBadField, `{"type":{"name":"track"},"event":"Product Viewed","userId":"user-x","timestamp":"2026-03-02T10:00:00.000Z"}`},
	{ReasonBadField, `{"type":"track","event":["Product Viewed"],"userId":"user-x","timestamp":"2026-03-02T10:00:00.000Z"}`},
	{ReasonBadField, `{"type":"page","name":{"en":"Pricing"},"anonymousId":"anon-x","timestamp":"2026-03-02T10:00:00.000Z"}`},
}
