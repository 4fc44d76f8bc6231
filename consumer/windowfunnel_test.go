package consumer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/rules"
)

// Conformance with ClickHouse's own windowFunnel test reference
// (ClickHouse/ClickHouse tests/queries/0_stateless/
// 00632_aggregation_window_funnel.reference @0882b32b, Apache-2.0; a copy is
// in ../shared/data/clickhouse-windowfunnel/). Every default-mode query of
// at least two steps is replayed here: its table rows become Segment events
// through Kafka, its conditions become conversion rules, the query becomes a
// funnel, and funnel_<id> must show the users implied by the reference's
// expected levels. Our funnels are windowFunnel's default mode except that a
// step is filled by a distinct event (../shared/data/README.md); the one case
// where that changes the answer is marked below. Single-step queries are left
// out: a funnel has at least two steps.

type wfRow struct {
	user string
	sec  int64 // seconds since the table's epoch
	ev   int   // the event column (or 0)
	a, b *string
	name string // the event column when it is a string
}

type wfCond struct {
	id   string // conversion id
	yaml string // match
}

type wfCase struct {
	id     string
	window time.Duration
	steps  []wfCond
	want   []int // users at each step, from the reference's expected levels
	note   string
}

type wfTable struct {
	name  string
	rows  []wfRow
	cases []wfCase
}

func str(s string) *string { return &s }

func evEq(t string, v int) wfCond {
	return wfCond{fmt.Sprintf("%s_e%d", t, v), fmt.Sprintf("{event: %s, where: [{path: properties.event, op: eq, value: %d}]}", t, v)}
}

func evOp(t, op string, v int) wfCond {
	return wfCond{fmt.Sprintf("%s_%s%d", t, op, v), fmt.Sprintf("{event: %s, where: [{path: properties.event, op: %s, value: %d}]}", t, op, v)}
}

// levelsToUsers turns per-user levels into users per step.
func levelsToUsers(n int, levels ...int) []int {
	out := make([]int, n)
	for _, l := range levels {
		for i := 0; i < l && i < n; i++ {
			out[i]++
		}
	}
	return out
}

func windowFunnelTables() []wfTable {
	var ts []wfTable
	// funnel_test: (0,1000) … (8,1008), one user.
	t1 := wfTable{name: "t1"}
	for i := 0; i <= 8; i++ {
		t1.rows = append(t1.rows, wfRow{user: "t1u", sec: int64(i), ev: 1000 + i})
	}
	e := func(t string, vs ...int) []wfCond {
		var out []wfCond
		for _, v := range vs {
			out = append(out, evEq(t, v))
		}
		return out
	}
	t1.cases = []wfCase{
		{id: "t1_q2", window: 10000 * time.Second, steps: e("t1", 1000, 1001), want: levelsToUsers(2, 2)},
		{id: "t1_q3", window: 10000 * time.Second, steps: e("t1", 1000, 1001, 1002), want: levelsToUsers(3, 3)},
		{id: "t1_q4", window: 10000 * time.Second, steps: e("t1", 1000, 1001, 1002, 1008), want: levelsToUsers(4, 4)},
		{id: "t1_q6", window: 2 * time.Second, steps: e("t1", 1003, 1004, 1005, 1006, 1007), want: levelsToUsers(5, 3)},
		{id: "t1_q7", window: 3 * time.Second, steps: e("t1", 1003, 1004, 1005, 1006, 1007), want: levelsToUsers(5, 4)},
		{id: "t1_q8", window: 4 * time.Second, steps: e("t1", 1003, 1004, 1005, 1006, 1007), want: levelsToUsers(5, 5)},
	}
	ts = append(ts, t1)
	// funnel_test2 (DateTime 2018-01-01 01:01:01 … 01:01:08) and
	// funnel_test_u64 (1e14+1 … 1e14+8): the same rows and queries.
	for _, name := range []string{"t2", "t3"} {
		t := wfTable{name: name}
		for i := 1; i <= 8; i++ {
			t.rows = append(t.rows, wfRow{user: name + "u", sec: int64(i), ev: 1000 + i})
		}
		t.cases = []wfCase{
			{id: name + "_q1", window: 4 * time.Second, steps: e(name, 1003, 1004, 1005, 1006, 1007), want: levelsToUsers(5, 5)},
			{id: name + "_q2", window: 10000 * time.Second, steps: e(name, 1001, 1008), want: levelsToUsers(2, 2)},
			{id: name + "_q3", window: 10000 * time.Second, steps: e(name, 1008, 1001), want: levelsToUsers(2, 1)},
			{id: name + "_q5", window: 4 * time.Second, steps: []wfCond{evOp(name, "lte", 1007), evOp(name, "gte", 1002), evOp(name, "lte", 1006), evOp(name, "gte", 1004)}, want: levelsToUsers(4, 4)},
		}
		ts = append(ts, t)
	}
	// funnel_test_strict: the default-mode query.
	t4 := wfTable{name: "t4"}
	for _, r := range [][2]int{{0, 1000}, {10, 1001}, {20, 1002}, {30, 1003}, {40, 1004}, {50, 1005}, {51, 1005}, {60, 1006}, {70, 1007}, {80, 1008}} {
		t4.rows = append(t4.rows, wfRow{user: "t4u", sec: int64(r[0]), ev: r[1]})
	}
	t4.cases = []wfCase{{id: "t4_q1", window: 10000 * time.Second, steps: e("t4", 1000, 1001, 1002, 1003, 1004, 1005, 1006), want: levelsToUsers(7, 7)}}
	ts = append(ts, t4)
	// funnel_test_strict_order: users 1–6, the default-mode query.
	t5 := wfTable{name: "t5"}
	for u, evs := range map[int]string{1: "abc", 2: "adbc", 3: "aabbcc", 4: "aaaabbcc", 5: "aabbdcc", 6: "ccbbaa"} {
		for i, c := range evs {
			t5.rows = append(t5.rows, wfRow{user: fmt.Sprintf("t5u%d", u), sec: int64(i + 1), name: string(c)})
		}
	}
	nm := func(c string) wfCond {
		return wfCond{"t5_" + c, fmt.Sprintf("{event: t5, where: [{path: properties.name, op: eq, value: %s}]}", c)}
	}
	t5.cases = []wfCase{{id: "t5_q1", window: 86400 * time.Second, steps: []wfCond{nm("a"), nm("b"), nm("c")}, want: levelsToUsers(3, 3, 3, 3, 3, 3, 1)}}
	ts = append(ts, t5)
	// funnel_test_non_null.
	t6 := wfTable{name: "t6", rows: []wfRow{
		{user: "t6u1", sec: 1, a: str("a1"), b: str("b1")}, {user: "t6u1", sec: 2, a: str("a2"), b: str("b2")},
		{user: "t6u2", sec: 1, a: str("a1")}, {user: "t6u2", sec: 2, a: str("a2")},
		{user: "t6u3", sec: 1},
		{user: "t6u4", sec: 1, b: str("b1")}, {user: "t6u4", sec: 2, a: str("a2")}, {user: "t6u4", sec: 3, b: str("b3")},
	}}
	ab := func(field, v string) wfCond {
		return wfCond{"t6_" + field + "_" + v, fmt.Sprintf("{event: t6, where: [{path: properties.%s, op: eq, value: %s}]}", field, v)}
	}
	aNull := wfCond{"t6_a_null", "{event: t6, where: [{path: properties.a, op: not_exists}]}"}
	t6.cases = []wfCase{
		{id: "t6_q1", window: 86400 * time.Second, steps: []wfCond{ab("a", "a1"), ab("a", "a2")}, want: levelsToUsers(2, 2, 2, 0, 0)},
		{id: "t6_q2", window: 86400 * time.Second, steps: []wfCond{ab("a", "a1"), ab("b", "b2")}, want: levelsToUsers(2, 2, 1, 0, 0)},
		{id: "t6_q4", window: 86400 * time.Second, steps: []wfCond{aNull, ab("b", "b3")}, want: levelsToUsers(2, 0, 0, 1, 2)},
	}
	ts = append(ts, t6)
	// funnel_test_strict_increase: (0,1000),(1,1001),(1,1002),(1,1003),(2,1004).
	t7 := wfTable{name: "t7"}
	for _, r := range [][2]int{{0, 1000}, {1, 1001}, {1, 1002}, {1, 1003}, {2, 1004}} {
		t7.rows = append(t7.rows, wfRow{user: "t7u", sec: int64(r[0]), ev: r[1]})
	}
	t7.cases = []wfCase{
		{id: "t7_q1", window: 10000 * time.Second, steps: e("t7", 1000, 1001, 1002, 1003, 1004), want: levelsToUsers(5, 5)},
		{id: "t7_q3", window: 10000 * time.Second, steps: e("t7", 1004, 1004, 1004), want: levelsToUsers(3, 1),
			note: "ClickHouse answers 3: one event fills every step; in microconv a step takes a distinct event"},
	}
	ts = append(ts, t7)
	return ts
}

func TestWindowFunnelConformance(t *testing.T) {
	engines := chtest.Engines(t)
	tables := windowFunnelTables()

	// Rules: one conversion per distinct condition, one funnel per query.
	var y strings.Builder
	y.WriteString("conversions:\n")
	seen := map[string]bool{}
	for _, tb := range tables {
		for _, c := range tb.cases {
			for _, s := range c.steps {
				if !seen[s.id] {
					seen[s.id] = true
					fmt.Fprintf(&y, "  - id: %s\n    match: %s\n", s.id, s.yaml)
				}
			}
		}
	}
	y.WriteString("funnels:\n")
	for _, tb := range tables {
		for _, c := range tb.cases {
			var ids []string
			for _, s := range c.steps {
				ids = append(ids, s.id)
			}
			fmt.Fprintf(&y, "  - id: %s\n    window: %s\n    steps: [%s]\n", c.id, c.window, strings.Join(ids, ", "))
		}
	}
	set, err := rules.Parse("windowfunnel.yaml", []byte(y.String()))
	if err != nil {
		t.Fatalf("rules: %v\n%s", err, y.String())
	}

	// Events: each table row is a track call named after its table.
	base := time.Date(2018, 1, 1, 1, 1, 0, 0, time.UTC)
	var recs []kafkatest.Record
	n := 0
	for _, tb := range tables {
		for _, r := range tb.rows {
			n++
			props := map[string]any{}
			if r.ev != 0 {
				props["event"] = r.ev
			}
			if r.name != "" {
				props["name"] = r.name
			}
			props["a"], props["b"] = nil, nil
			if r.a != nil {
				props["a"] = *r.a
			}
			if r.b != nil {
				props["b"] = *r.b
			}
			msg, _ := json.Marshal(map[string]any{
				"type": "track", "event": tb.name, "userId": r.user, "messageId": fmt.Sprintf("wf-%d", n),
				"timestamp": base.Add(time.Duration(r.sec) * time.Second).Format(time.RFC3339Nano), "properties": props,
			})
			recs = append(recs, kafkatest.Record{Partition: int32(n % 2), Value: msg})
		}
	}
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			db := consumeAll(t, e, 2, recs, set)
			cases := 0
			for _, tb := range tables {
				for _, c := range tb.cases {
					cases++
					got := e.Query(t, "SELECT toString(users) FROM "+db+".funnel_"+c.id+" ORDER BY step")
					var gs []string
					for _, r := range got {
						gs = append(gs, r[0])
					}
					if strings.Join(gs, ",") != strings.Trim(strings.Join(strings.Fields(fmt.Sprint(c.want)), ","), "[]") {
						t.Errorf("funnel %s: users per step %v, want %v %s", c.id, gs, c.want, c.note)
					}
				}
			}
			// 6 of funnel_test, 4 each of funnel_test2 and funnel_test_u64 (their
			// repeated query once), 1 of funnel_test_strict, 1 of
			// funnel_test_strict_order, 3 of funnel_test_non_null, 2 of
			// funnel_test_strict_increase.
			if cases != 21 {
				t.Fatalf("replayed %d cases, want the 21 default-mode multi-step queries of the reference", cases)
			}
		})
	}
}
