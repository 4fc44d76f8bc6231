// Package gen generates a seeded synthetic Segment clickstream (the
// `microconv gen` command) and computes its ground truth: every figure the
// ClickHouse views must show for it, worked out in plain Go, independently of
// the consumer's decoder and of the SQL.
//
// [Generate] builds a [Stream] of Kafka messages for a mix of shop (Segment
// e-commerce v2), SaaS and content users, with the hard cases built in:
// drop-off at every funnel step, steps a millisecond apart or at the same
// millisecond, steps just inside and just outside a funnel window, steps out
// of order, several attempts, users identified mid-way, upstream duplicates,
// messages without messageId and malformed messages of every rejection kind.
// [DefaultRules] is the rule pack written for these behaviours.
//
// [ComputeTruth] decodes every message with the consumer's rules of
// acceptance (re-implemented here with encoding/json), tags events with
// [rules.Set.Match] and computes conversion_summary, conversion_daily, the
// funnels (steps, breakdown, daily, times) and micro_lift. [WriteTruth] and
// [ReadTruth] store it as JSON.
//
// The package imports the standard library, rules and fastjson (to give
// rules the parsed message); it does not import consumer or sink, so that the
// truth is not computed by the code it checks.
package gen
