// Package segtest generates a seeded Segment clickstream for tests — with
// upstream duplicates, messages without messageId and malformed messages —
// and computes, in plain Go and independently of the rules package and of
// SQL, what conversion_summary must show for the rule file Rules.
package segtest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Rules is the rule file the expectations of this package are computed for.
// Expected mirrors each rule with a Go predicate.
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

// Event is one logical event as the generator built it.
type Event struct {
	MessageID   string // "" when the message has none
	Type        string
	Name        string // event (track) or name (page)
	UserID      string
	AnonymousID string
	TS          time.Time
	Props       map[string]any
	PagePath    string
}

// UserKey is userId when non-empty, else anonymousId.
func (e *Event) UserKey() string {
	if e.UserID != "" {
		return e.UserID
	}
	return e.AnonymousID
}

// JSON renders the event as a Segment message.
func (e *Event) JSON() []byte {
	m := map[string]any{
		"type":      e.Type,
		"timestamp": e.TS.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		"context": map[string]any{
			"page":     map[string]any{"path": e.PagePath, "url": "https://shop.example" + e.PagePath},
			"campaign": map[string]any{"source": "newsletter", "medium": "email", "name": "autumn"},
			"device":   map[string]any{"type": "mobile"},
			"location": map[string]any{"country": "DE"},
		},
	}
	if e.MessageID != "" {
		m["messageId"] = e.MessageID
	}
	if e.UserID != "" {
		m["userId"] = e.UserID
	}
	if e.AnonymousID != "" {
		m["anonymousId"] = e.AnonymousID
	}
	if e.Type == "track" {
		m["event"] = e.Name
	} else if e.Name != "" {
		m["name"] = e.Name
	}
	if e.Props != nil {
		m["properties"] = e.Props
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// Message is one Kafka message of the stream.
type Message struct {
	Partition int32
	Value     []byte
	Event     *Event // nil for a malformed message
	Reason    string // why a malformed message must be rejected
}

// Stream is a generated clickstream.
type Stream struct {
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
	var s Stream
	n := 0
	emit := func(e *Event, p int32) {
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
			e := &Event{Type: kind, Name: name, TS: ts, Props: props, PagePath: path, AnonymousID: anon}
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

// Summary is one expected conversion_summary row.
type Summary struct {
	Conversion, Type, Category string
	Users, Events              int
}

// Expected computes conversion_summary for Rules over the accepted events of
// the stream. eventID gives the id of a message's event (messageId, or the
// id the consumer derives from its position: pass a func that returns a
// distinct id per message).
func Expected(s Stream, eventID func(i int) string) []Summary {
	type rule struct {
		id, typ, cat string
		match        func(e *Event) bool
	}
	num := func(v any) (float64, bool) {
		switch x := v.(type) {
		case float64:
			return x, true
		case int:
			return float64(x), true
		case string:
			var f float64
			if _, err := fmt.Sscanf(x, "%g", &f); err == nil {
				return f, true
			}
		}
		return 0, false
	}
	rs := []rule{
		{"product_viewed", "micro", "process", func(e *Event) bool { return e.Type == "track" && e.Name == "Product Viewed" }},
		{"add_to_cart", "micro", "process", func(e *Event) bool {
			p, ok := num(e.Props["price"])
			return e.Name == "Product Added" && ok && p > 0
		}},
		{"checkout_started", "micro", "process", func(e *Event) bool {
			return e.Name == "Checkout Started" || e.Name == "Checkout Step Viewed"
		}},
		{"newsletter_signup", "micro", "engagement", func(e *Event) bool {
			return e.Name == "Form Submitted" && e.Props["form_id"] == "newsletter"
		}},
		{"pricing_page_viewed", "micro", "process", func(e *Event) bool {
			return e.Type == "page" && strings.HasPrefix(e.PagePath, "/pricing")
		}},
		{"video_engaged", "micro", "engagement", func(e *Event) bool {
			if e.Name != "Video Progress" && e.Name != "Video Completed" {
				return false
			}
			pct, _ := num(e.Props["percent"])
			return (pct >= 50 || e.Props["completed"] == true) && e.Props["muted"] != true
		}},
		{"purchase", "macro", "", func(e *Event) bool { return e.Name == "Order Completed" }},
		{"big_purchase", "macro", "", func(e *Event) bool {
			rev, ok := num(e.Props["revenue"])
			return e.Name == "Order Completed" && ok && rev >= 100
		}},
		{"never_matched", "micro", "process", func(e *Event) bool { return false }},
	}
	users := make([]map[string]bool, len(rs))
	events := make([]map[string]bool, len(rs))
	for i := range rs {
		users[i], events[i] = map[string]bool{}, map[string]bool{}
	}
	for i, m := range s.Messages {
		if m.Event == nil {
			continue
		}
		id := m.Event.MessageID
		if id == "" {
			id = eventID(i)
		}
		for j, r := range rs {
			if r.match(m.Event) {
				users[j][m.Event.UserKey()] = true
				events[j][id] = true
			}
		}
	}
	out := make([]Summary, len(rs))
	for j, r := range rs {
		out[j] = Summary{Conversion: r.id, Type: r.typ, Category: r.cat, Users: len(users[j]), Events: len(events[j])}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Conversion < out[b].Conversion })
	return out
}

// WithoutEmpty returns the stream without its empty messages: kcat, like
// most command-line producers, cannot send an empty message.
func (s Stream) WithoutEmpty() Stream {
	out := Stream{Dups: s.Dups}
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
