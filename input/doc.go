// Package input turns one Kafka message value into events, or into the
// rejection that says why it cannot be used: every input format (Segment
// JSON, Snowplow enriched TSV or JSON, GA4 multi-event JSON, custom shapes
// described by a field mapping), Avro through a Confluent schema registry,
// event ids (messageId, or a hash of topic/partition/offset), timestamps.
// It knows nothing of Kafka's protocol or of consumer groups: a message is
// bytes and a Source (topic, partition, offset).
//
// Each event comes as the row the sink writes (sink.Event) and the view of
// it the rules match (rules.Event). It may import rules, sink (row types),
// schemas (the mapping file's JSON Schema), internal/rawjson (the Segment
// fast path), internal/yamljson, internal/config (defaults), fastjson,
// yaml, jsonschema and hamba/avro.
// Package consumer imports it; nothing else below cmd does.
package input
