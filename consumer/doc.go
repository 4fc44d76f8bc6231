// Package consumer reads clickstream events from Kafka and turns them into
// rows: consumer-group membership (github.com/segmentio/kafka-go), decoding
// and validating messages into events — Segment JSON, Snowplow enriched TSV
// or JSON, GA4 multi-event JSON, custom shapes described by a field mapping,
// optionally Avro through a schema registry — tagging them with the rules,
// batching rows for the sink, and committing offsets only once ClickHouse
// holds every row up to them. Bad messages become rejected rows (and DLQ
// messages).
//
// It may import packages rules, sink, schemas (the mapping file's JSON
// Schema) and internal/rawjson (the Segment fast path), kafka-go, fastjson,
// yaml, jsonschema, hamba/avro (schema parsing), zerolog and prometheus.
// Nothing below it imports it.
package consumer
