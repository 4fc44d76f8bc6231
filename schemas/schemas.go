package schemas

import "embed"

// ClickHouse holds the DDL templates (text/template) for tables and views,
// applied in file-name order by the sink's migration.
//
//go:embed clickhouse/*.sql
var ClickHouse embed.FS

// SegmentEventJSONSchema is the JSON Schema of a Segment-spec input event as
// microconv reads it: the fields it uses and what makes a message rejected.
//
//go:embed segment-event.schema.json
var SegmentEventJSONSchema []byte
