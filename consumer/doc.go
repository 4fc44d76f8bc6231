// Package consumer reads clickstream events from Kafka and turns them into
// rows: consumer-group membership (github.com/segmentio/kafka-go), decoding
// and validating messages into events, tagging them with the rules, batching
// rows for the sink, and committing offsets only once ClickHouse holds every
// row up to them. Bad messages become rejected rows (and DLQ messages).
//
// It may import packages rules and sink, kafka-go, zerolog and prometheus.
// Nothing below it imports it.
package consumer
