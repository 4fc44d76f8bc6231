// Package segtest generates a seeded Segment clickstream for the consumer's
// and the binary's tests: a small shop whose events reach every operator
// family of the rule file Rules (numeric strings, regex names, any/not
// groups, a rule that never matches), with upstream duplicates, messages
// without messageId and malformed messages, each message on a partition.
//
// Its events are gen's events and its truth is gen's: Stream.Gen gives the
// stream to gen.ComputeTruth, and gentest.CheckViews compares every view
// with it.
package segtest

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/microconv/microconv/gen"
)

// Rules is the rule file the stream is made for: each rule but never_matched
// matches some of its events.
const Rules = `# test rules: every operator family, one event matching several rules
conversions:
  - id: product_viewed
    match: {event: Product Viewed, type: track}
  - id: add_to_cart
    description: Product added to the cart
    match:
      event: Product Added
      where:
        - {path: properties.price, op: gt, value: 0}
  - id: checkout_started
    match: {event_in: [Checkout Started, Checkout Step Viewed]}
  - id: newsletter_signup
    category: engagement
    match:
      event: Form Submitted
      where: [{path: properties.form_id, op: eq, value: newsletter}]
  - id: pricing_page_viewed
    match:
      type: page
      where: [{path: context.page.path, op: prefix, value: /pricing}]
  - id: video_engaged
    category: engagement
    match:
      event_regex: '^Video (Progress|Completed)$'
      where:
        - any:
            - {path: properties.percent, op: gte, value: 50}
            - {path: properties.completed, op: eq, value: true}
        - not: {path: properties.muted, op: eq, value: true}
  - id: purchase
    type: macro
    value: properties.revenue
    match: {event: Order Completed}
  - id: big_purchase
    type: macro
    value: properties.revenue
    match:
      event: Order Completed
      where: [{path: properties.revenue, op: gte, value: 100}]
  - id: never_matched
    match: {event: Nothing Like This}
funnels:
  - id: checkout
    window: 24h
    steps: [product_viewed, add_to_cart, checkout_started, purchase]
`

// Message is one Kafka message of the stream.
type Message struct {
	Partition int32
	Value     []byte
	Event     *gen.Event // nil for a malformed message
	Reason    string     // why a malformed message must be rejected
}

// Stream is a generated clickstream.
type Stream struct {
	Seed      uint64
	Messages  []Message
	Malformed int // malformed messages (each must be rejected once)
	Dups      int // upstream duplicates (same messageId sent again)
}

// Options shape a stream.
type Options struct {
	Seed       uint64
	Users      int
	Partitions int32
	Dups       float64 // share of events re-sent with the same messageId
	Malformed  int
	NoIDShare  float64 // share of events without messageId
}

// Generate builds a stream: each user browses, some add to cart, some check
// out and buy, some sign up for the newsletter, watch videos or view pricing.
func Generate(o Options) Stream {
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	s := Stream{Seed: o.Seed}
	n := 0
	campaign := gen.Campaign{Source: "newsletter", Medium: "email", Name: "autumn"}
	emit := func(e *gen.Event, p int32) {
		s.Messages = append(s.Messages, Message{Partition: p, Value: e.JSON(), Event: e})
		if r.Float64() < o.Dups && e.MessageID != "" {
			dup := *e
			s.Messages = append(s.Messages, Message{Partition: p, Value: dup.JSON(), Event: &dup})
			s.Dups++
		}
	}
	for u := 0; u < o.Users; u++ {
		user := fmt.Sprintf("user-%05d", u)
		anon := fmt.Sprintf("anon-%05d", u)
		identified := r.IntN(3) > 0
		p := partitionOf(user, o.Partitions)
		ts := base.Add(time.Duration(r.IntN(86_400_000)) * time.Millisecond)
		next := func(kind, name string, props map[string]any, path string) {
			n++
			ts = ts.Add(time.Duration(r.IntN(600_000)) * time.Millisecond)
			e := &gen.Event{
				Type: kind, Name: name, TS: ts, TSText: ts.Format("2006-01-02T15:04:05.000Z07:00"), Props: props,
				Page: gen.Page{Path: path, URL: "https://shop.example" + path}, Campaign: campaign,
				Device: "mobile", Country: "DE", AnonymousID: anon,
			}
			if identified {
				e.UserID = user
			}
			if r.Float64() >= o.NoIDShare {
				e.MessageID = fmt.Sprintf("m-%d-%d", o.Seed, n)
			}
			emit(e, p)
		}
		next("page", "Home", nil, "/")
		if r.IntN(4) == 0 {
			next("page", "Pricing", nil, "/pricing"+[]string{"", "/enterprise", "?plan=pro"}[r.IntN(3)])
		}
		if r.IntN(5) == 0 {
			next("page", "Prices", nil, "/prices") // not /pricing
		}
		views := r.IntN(4)
		for i := 0; i < views; i++ {
			next("track", "Product Viewed", map[string]any{"product_id": fmt.Sprint(r.IntN(50)), "price": float64(r.IntN(9000)) / 100}, "/p")
		}
		if views > 0 && r.IntN(2) == 0 {
			price := float64(r.IntN(9000)) / 100
			if r.IntN(10) == 0 {
				price = 0 // a free sample: not an add_to_cart
			}
			next("track", "Product Added", map[string]any{"price": price}, "/p")
			if r.IntN(2) == 0 {
				next("track", []string{"Checkout Started", "Checkout Step Viewed"}[r.IntN(2)], nil, "/checkout")
				if r.IntN(3) > 0 {
					rev := float64(r.IntN(20000)) / 100
					var props map[string]any
					if r.IntN(8) == 0 {
						props = map[string]any{"revenue": fmt.Sprintf("%.2f", rev)} // numeric string
					} else {
						props = map[string]any{"revenue": rev}
					}
					next("track", "Order Completed", props, "/thanks")
				}
			}
		}
		if r.IntN(6) == 0 {
			form := []string{"newsletter", "contact", "newsletter"}[r.IntN(3)]
			next("track", "Form Submitted", map[string]any{"form_id": form}, "/")
		}
		if r.IntN(5) == 0 {
			props := map[string]any{"percent": r.IntN(101)}
			if r.IntN(3) == 0 {
				props["completed"] = true
			}
			if r.IntN(4) == 0 {
				props["muted"] = true
			}
			next("track", []string{"Video Progress", "Video Completed", "Video Started"}[r.IntN(3)], props, "/v")
		}
	}
	// Shuffle across users while keeping each partition's order meaningful
	// is not needed: order within a partition does not change any figure.
	r.Shuffle(len(s.Messages), func(i, j int) { s.Messages[i], s.Messages[j] = s.Messages[j], s.Messages[i] })

	bad := []struct{ reason, value string }{
		{"invalid_json", `{"type":"track","event":"Product Viewed","userId":"x"`},
		{"invalid_json", `not json at all`},
		{"missing_event", `{"type":"track","userId":"u1","timestamp":"2026-03-01T10:00:00Z"}`},
		{"missing_event", `{"userId":"u1","timestamp":"2026-03-01T10:00:00Z"}`},
		{"missing_user_key", `{"type":"track","event":"Product Viewed","timestamp":"2026-03-01T10:00:00Z"}`},
		{"missing_user_key", `{"type":"track","event":"Product Viewed","userId":"","anonymousId":null,"timestamp":"2026-03-01T10:00:00Z"}`},
		{"bad_timestamp", `{"type":"track","event":"Product Viewed","userId":"u1","timestamp":"yesterday"}`},
		{"bad_timestamp", `{"type":"track","event":"Product Viewed","userId":"u1","timestamp":"2026-03-01 10:00:00"}`},
		{"missing_timestamp", `{"type":"track","event":"Product Viewed","userId":"u1"}`},
		{"timestamp_out_of_range", `{"type":"track","event":"Product Viewed","userId":"u1","timestamp":"1960-01-01T00:00:00Z"}`},
		{"not_object", `[1,2,3]`},
		{"empty", ``},
		{"invalid_utf8", "{\"type\":\"track\",\"event\":\"Product \xff Viewed\",\"userId\":\"u1\",\"timestamp\":\"2026-03-01T10:00:00Z\"}"},
		{"bad_field", `{"type":"track","event":"Product Viewed","userId":{"id":1},"timestamp":"2026-03-01T10:00:00Z"}`},
		{"bad_field", `{"type":"track","event":"Product Viewed","userId":"u1","timestamp":"2026-03-01T10:00:00Z","properties":[1]}`},
	}
	for i := 0; i < o.Malformed; i++ {
		b := bad[i%len(bad)]
		m := Message{Partition: int32(r.IntN(int(o.Partitions))), Value: []byte(b.value), Reason: b.reason}
		pos := r.IntN(len(s.Messages) + 1)
		s.Messages = append(s.Messages, Message{})
		copy(s.Messages[pos+1:], s.Messages[pos:])
		s.Messages[pos] = m
		s.Malformed++
	}
	return s
}

func partitionOf(user string, n int32) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(user))
	return int32(h.Sum32() % uint32(n))
}

// WithoutEmpty returns the stream without its empty messages: kcat, like
// most command-line producers, cannot send an empty message.
func (s Stream) WithoutEmpty() Stream {
	out := Stream{Seed: s.Seed, Dups: s.Dups}
	for _, m := range s.Messages {
		if len(m.Value) == 0 {
			continue
		}
		out.Messages = append(out.Messages, m)
		if m.Event == nil {
			out.Malformed++
		}
	}
	return out
}

// Gen gives the stream as gen's, for gen.ComputeTruth: the same messages in
// the same order (a message without messageId is event gen.NoID(i)), keyed by
// user.
func (s Stream) Gen() *gen.Stream {
	out := &gen.Stream{Seed: s.Seed, Messages: make([]gen.Message, len(s.Messages))}
	for i, m := range s.Messages {
		out.Messages[i] = gen.Message{Value: m.Value, Event: m.Event, Reason: m.Reason}
		if m.Event != nil {
			out.Messages[i].Key = []byte(m.Event.UserKey())
		}
	}
	return out
}

// CheckExercised fails the test unless truth (computed for Rules over a
// stream of this package) has users for every conversion but never_matched:
// a stream too small to reach a rule would check nothing about it.
func CheckExercised(t testing.TB, truth *gen.Truth) {
	t.Helper()
	for _, c := range truth.ConversionSummary {
		if (c.Users > 0) == (c.Conversion == "never_matched") {
			t.Fatalf("conversion %s has %d users in the truth: the stream does not exercise Rules as meant", c.Conversion, c.Users)
		}
	}
	if len(truth.ConversionSummary) != 9 || truth.Rejected == 0 {
		t.Fatalf("truth has %d conversions and %d rejected messages, want 9 and some", len(truth.ConversionSummary), truth.Rejected)
	}
}
