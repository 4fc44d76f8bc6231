package schemas

import "embed"

// ClickHouse holds the SQL templates (text/template) the sink renders:
// tables/ (CREATE TABLE, applied in name order), views/ (the SELECT of each
// view that does not depend on the rules; the file name is the view name)
// and funnel/ (the SELECTs of the views of one funnel).
//
//go:embed clickhouse/tables/*.sql clickhouse/views/*.sql clickhouse/funnel/*.sql
var ClickHouse embed.FS

// SegmentEventJSONSchema is the JSON Schema of a Segment-spec input event as
// microconv reads it: the fields it uses and what makes a message rejected.
//
//go:embed segment-event.schema.json
var SegmentEventJSONSchema []byte

// RulesJSONSchema is the JSON Schema (draft 2020-12) of a rule file, for
// editors (yaml-language-server) and for `microconv rules check`, which
// validates every rule file against it.
//
//go:embed rules.schema.json
var RulesJSONSchema []byte

// MappingJSONSchema is the JSON Schema (draft 2020-12) of an input mapping
// file (MICROCONV_INPUT_MAPPING), for editors and for the consumer, which
// validates the file against it at start-up.
//
//go:embed mapping.schema.json
var MappingJSONSchema []byte
