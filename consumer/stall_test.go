package consumer

import (
	"testing"
	"time"
)

func TestStallWatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newStallWatch(30 * time.Second)
	mine := map[tp]bool{{topic: "t", partition: 0}: true}
	lag := func(p int, committed, lag int64) PartitionLag {
		return PartitionLag{Topic: "t", Partition: p, Committed: committed, Lag: lag}
	}
	f := func(at time.Duration, mine map[tp]bool, want int, lags ...PartitionLag) {
		t.Helper()
		if got := s.observe(t0.Add(at), lags, mine); len(got) != want {
			t.Fatalf("at %s: %d stuck partitions %v, want %d", at, len(got), got, want)
		}
	}
	f(0, mine, 0, lag(0, 10, 5), lag(1, 3, 7))
	f(20*time.Second, mine, 0, lag(0, 15, 0), lag(1, 3, 7)) // too early
	f(31*time.Second, mine, 1, lag(0, 15, 0), lag(1, 3, 7)) // ours caught up, partition 1 idle 31 s
	f(40*time.Second, mine, 0, lag(0, 15, 0), lag(1, 3, 7)) // asked recently: wait again
	f(62*time.Second, mine, 1, lag(0, 15, 0), lag(1, 3, 7)) // and again after another 30 s
	f(70*time.Second, mine, 0, lag(0, 15, 0), lag(1, 9, 1)) // it moved
	f(110*time.Second, nil, 0, lag(0, 15, 0), lag(1, 9, 1)) // not in a generation
	// Our own partition stuck too (ClickHouse down, say): no rebalance.
	s2 := newStallWatch(30 * time.Second)
	s2.observe(t0, []PartitionLag{lag(0, 10, 5), lag(1, 3, 7)}, mine)
	if got := s2.observe(t0.Add(40*time.Second), []PartitionLag{lag(0, 10, 5), lag(1, 3, 7)}, mine); got != nil {
		t.Fatalf("rebalance requested while this member is stuck too: %v", got)
	}
	// Caught-up foreign partitions are never stuck.
	s3 := newStallWatch(30 * time.Second)
	s3.observe(t0, []PartitionLag{lag(1, 3, 0)}, map[tp]bool{})
	if got := s3.observe(t0.Add(time.Hour), []PartitionLag{lag(1, 3, 0)}, map[tp]bool{}); got != nil {
		t.Fatalf("caught-up partition reported stuck: %v", got)
	}
}
