// Package consumer reads clickstream events from Kafka and writes their
// rows: consumer-group membership (github.com/segmentio/kafka-go), one
// fetch loop per partition, a worker per partition that decodes each
// message (package input) and tags its events (package rules), the
// pipeline of at most two batches, the flush that writes a batch
// (package sink) and commits offsets only once ClickHouse holds every row
// up to them, the DLQ, and lag.
//
// One file per responsibility: consumer.go (group membership, the run
// loop), fetch.go (partition fetch loops), process.go (the worker: decode,
// tag, rows), pipeline.go (batches, backpressure), flush.go (write, then
// commit; DLQ), lag.go, stall.go, kafka.go (connections), metrics.go.
//
// It may import input, rules, sink, the small libraries internal/backoff,
// internal/logthrottle, internal/tlsconf and internal/config (defaults),
// kafka-go, zerolog and prometheus. Nothing below cmd imports it.
package consumer
