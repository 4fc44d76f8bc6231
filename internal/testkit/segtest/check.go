package segtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/microconv/microconv/internal/testkit/chtest"
)

// NoID is the stand-in id of a message without messageId: any value distinct
// per message will do, since every such message is its own event.
func NoID(i int) string { return fmt.Sprint("noid-", i) }

// CheckSummary asserts that database db shows, for the stream, exactly the
// figures computed by Expected: every conversion_summary row, the number of
// distinct rejected messages and their reasons, and the distinct events.
func CheckSummary(t testing.TB, conn driver.Conn, db string, s Stream) {
	t.Helper()
	want := Expected(s, NoID)
	got := chtest.QueryStrings(t, conn, "SELECT conversion, conversion_type, category, toString(users), toString(events) FROM "+db+".conversion_summary ORDER BY conversion")
	if len(got) != len(want) {
		t.Fatalf("conversion_summary has %d rows, want %d: %q", len(got), len(want), got)
	}
	nonzero := 0
	for i, w := range want {
		ws := []string{w.Conversion, w.Type, w.Category, fmt.Sprint(w.Users), fmt.Sprint(w.Events)}
		if strings.Join(got[i], "|") != strings.Join(ws, "|") {
			t.Errorf("conversion_summary row %d = %q, want %q", i, got[i], ws)
		}
		if w.Users > 0 {
			nonzero++
		}
	}
	if nonzero < len(want)-1 {
		t.Fatalf("the generated stream exercises only %d of %d rules", nonzero, len(want))
	}
	rej := chtest.QueryStrings(t, conn, "SELECT toString(uniqExact(topic, `partition`, `offset`)) FROM "+db+".rejected_events")
	if rej[0][0] != fmt.Sprint(s.Malformed) {
		t.Errorf("distinct rejected messages = %s, want %d", rej[0][0], s.Malformed)
	}
	wantReasons := map[string]int{}
	for _, m := range s.Messages {
		if m.Event == nil {
			wantReasons[m.Reason]++
		}
	}
	for _, r := range chtest.QueryStrings(t, conn, "SELECT reason, toString(messages) FROM "+db+".rejected_summary") {
		if fmt.Sprint(wantReasons[r[0]]) != r[1] {
			t.Errorf("rejected_summary %s = %s, want %d", r[0], r[1], wantReasons[r[0]])
		}
		delete(wantReasons, r[0])
	}
	if len(wantReasons) > 0 {
		t.Errorf("reasons missing from rejected_summary: %v", wantReasons)
	}
	ids := map[string]bool{}
	for i, m := range s.Messages {
		if m.Event != nil {
			id := m.Event.MessageID
			if id == "" {
				id = NoID(i)
			}
			ids[id] = true
		}
	}
	ev := chtest.QueryStrings(t, conn, "SELECT toString(uniqExact(event_id)) FROM "+db+".events")
	if ev[0][0] != fmt.Sprint(len(ids)) {
		t.Errorf("distinct events = %s, want %d", ev[0][0], len(ids))
	}
}
