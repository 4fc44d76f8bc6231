package consumer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/gentest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/rules"
)

// Differential test of the funnel views against gen's exhaustive search, on
// streams built to be hard: many events in the same millisecond, events
// that can fill several steps (a contiguous range of them), repeated
// conversions, windows hit exactly. Every row of every view must equal the
// truth.
func TestFunnelViewsMatchExhaustiveSearch(t *testing.T) {
	engines := chtest.Engines(t)

	// Event E_a_b can fill steps a..b of funnel f (steps c1..c5); funnel g
	// repeats c2; funnel w has a 10 ms window.
	var y strings.Builder
	y.WriteString("conversions:\n")
	var names []string
	for a := 1; a <= 5; a++ {
		for b := a; b <= min(a+2, 5); b++ {
			names = append(names, fmt.Sprintf("E_%d_%d", a, b))
		}
	}
	for k := 1; k <= 5; k++ {
		var in []string
		for _, n := range names {
			var a, b int
			fmt.Sscanf(n, "E_%d_%d", &a, &b)
			if a <= k && k <= b {
				in = append(in, fmt.Sprintf("%q", n))
			}
		}
		typ := "micro"
		if k == 5 {
			typ = "macro"
		}
		fmt.Fprintf(&y, "  - id: c%d\n    type: %s\n    match: {event_in: [%s]}\n", k, typ, strings.Join(in, ", "))
	}
	y.WriteString(`funnels:
  - {id: f, window: 1h, steps: [c1, c2, c3, c4, c5]}
  - {id: g, window: 1h, steps: [c1, c2, c2, c3]}
  - {id: w, window: 10ms, steps: [c1, c2, c3]}
`)
	set, err := rules.Parse("diff.yaml", []byte(y.String()))
	if err != nil {
		t.Fatalf("rules: %v\n%s", err, y.String())
	}

	r := rand.New(rand.NewPCG(99, 1))
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var s gen.Stream
	id := 0
	for u := 0; u < 1500; u++ {
		user := fmt.Sprintf("d%04d", u)
		n := 2 + r.IntN(6)
		for i := 0; i < n; i++ {
			id++
			ts := base.Add(time.Duration([]int{0, 0, 0, 5, 5, 10, 11, 3_600_000}[r.IntN(8)]) * time.Millisecond)
			msg, _ := json.Marshal(map[string]any{
				"type": "track", "event": names[r.IntN(len(names))], "userId": user, "messageId": fmt.Sprintf("d-%d", id),
				"timestamp": ts.Format("2006-01-02T15:04:05.000Z07:00"),
				"context":   map[string]any{"campaign": map[string]any{"source": []string{"a", "b", "c"}[r.IntN(3)]}},
			})
			s.Messages = append(s.Messages, gen.Message{Value: msg, Key: []byte(user)})
		}
	}
	truth, err := gen.ComputeTruth(&s, set)
	if err != nil {
		t.Fatal(err)
	}
	if truth.Events != id {
		t.Fatalf("truth counts %d events, the stream has %d", truth.Events, id)
	}

	recs := make([]kafkatest.Record, len(s.Messages))
	for i, m := range s.Messages {
		recs[i] = kafkatest.Record{Partition: int32(i % 3), Key: m.Key, Value: m.Value}
	}
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			db := consumeAll(t, e, 3, recs, set)
			n := gentest.CheckViews(t, e, db, truth)
			t.Logf("%d view rows equal to the exhaustive search", n)
		})
	}
}
