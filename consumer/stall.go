package consumer

import "time"

// stallWatch notices partitions that make no progress under another member
// while this member's own partitions do. The usual cause is a member that
// died while its JoinGroup was pending: a coordinator that lost its reply
// may keep it in the group, holding partitions nobody reads, with no session
// timer to expire it (seen with kfake). A rebalance — this member rejoining —
// drops members that do not rejoin, so the partitions find a live owner.
// A live but slow member only costs one extra rebalance.
type stallWatch struct {
	after time.Duration
	last  map[tp]progress
}

type progress struct {
	committed int64
	since     time.Time
}

func newStallWatch(after time.Duration) *stallWatch {
	return &stallWatch{after: after, last: make(map[tp]progress)}
}

// observe records the group's lag at now and returns the partitions of
// other members that have been lagging without a commit for `after`, when
// this member's own partitions are caught up or progressing. mine is this
// member's assignment (nil when it is not in a generation: nothing is
// returned then).
func (s *stallWatch) observe(now time.Time, lags []PartitionLag, mine map[tp]bool) []tp {
	for _, l := range lags {
		k := tp{topic: l.Topic, partition: int32(l.Partition)}
		p, ok := s.last[k]
		if !ok || p.committed != l.Committed {
			s.last[k] = progress{committed: l.Committed, since: now}
		}
	}
	if mine == nil {
		return nil
	}
	var stuck []tp
	for _, l := range lags {
		k := tp{topic: l.Topic, partition: int32(l.Partition)}
		p := s.last[k]
		idle := l.Lag > 0 && now.Sub(p.since) >= s.after
		if mine[k] {
			if idle {
				return nil // this member is stuck too: not a dead owner's fault
			}
			continue
		}
		if idle {
			stuck = append(stuck, k)
		}
	}
	for _, k := range stuck {
		p := s.last[k]
		p.since = now // give the rebalance time before asking again
		s.last[k] = p
	}
	return stuck
}
