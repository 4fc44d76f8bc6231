package gen

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
)

// maxSteps is the most funnel steps the truth handles: a step set is a uint64.
const maxSteps = 64

// fev is one of a user's distinct events that can fill a step of a funnel.
type fev struct {
	ts   int64
	mask uint64 // steps (bit j: step j+1) whose conversion the event matched
	hi   int    // the highest step in mask (bits.Len64(mask))
	ev   *tevent
}

// userFunnel is how far one user got in one funnel.
type userFunnel struct {
	level int
	start *tevent // the step-1 event of the best attempt; nil when level is 0
	reach []int64 // reach[k]: time of step k+1 of the best attempt, for k < level
}

// sortFunnelEvents orders a user's funnel events by time, then by the
// highest step each can fill, then by event id (bytewise): the order in
// which the SQL views try them, which decides the best attempt's start
// among step-1 events of the same millisecond.
func sortFunnelEvents(evs []fev) {
	slices.SortFunc(evs, func(a, b fev) int {
		if c := cmp.Compare(a.ts, b.ts); c != 0 {
			return c
		}
		if c := cmp.Compare(a.hi, b.hi); c != 0 {
			return c
		}
		return strings.Compare(a.ev.id, b.ev.id)
	})
}

// chains finds exact longest chains over one user's sorted funnel events.
// A chain is distinct events e1..eL, each able to fill its step, with
// non-decreasing times and ts(eL) - ts(e1) <= window.
//
// The search is exhaustive but for two exchanges that never lose a chain:
// among the unused candidates for a step, only the first of each step mask
// is tried (a later one with the same mask can be swapped with it), and
// none after a candidate that fills this step only (it can be used nowhere
// else, and every later candidate is no earlier).
type chains struct {
	evs    []fev
	steps  int
	window int64
	used   []bool
}

// best returns the user's level and best attempt.
func (c *chains) best() userFunnel {
	c.used = make([]bool, len(c.evs))
	var u userFunnel
	startIdx := -1
	for s := range c.evs {
		if c.evs[s].mask&1 == 0 {
			continue
		}
		c.used[s] = true
		l := c.extend(1, c.evs[s].ts, c.evs[s].ts+c.window, nil)
		c.used[s] = false
		if l > u.level {
			u.level, startIdx = l, s
			if l == c.steps {
				break
			}
		}
	}
	if startIdx < 0 {
		return u
	}
	s := &c.evs[startIdx]
	u.start = s.ev
	reach := make([]int64, c.steps)
	for k := range reach {
		reach[k] = math.MaxInt64
	}
	reach[0] = s.ts
	c.used[startIdx] = true
	c.extend(1, s.ts, s.ts+c.window, reach)
	c.used[startIdx] = false
	u.reach = reach[:u.level]
	return u
}

// extend fills step j (0-based) and the next ones after a chain whose last
// event is at time last, within limit, and returns the longest chain length
// reached. With reach nil it stops at the first full chain; otherwise it
// explores every branch and lowers reach[k] to the earliest time any chain
// fills step k at.
func (c *chains) extend(j int, last, limit int64, reach []int64) int {
	if j == c.steps {
		return j
	}
	best := j
	var buf [8]uint64
	tried := buf[:0]
	bit := uint64(1) << j
	for k := sort.Search(len(c.evs), func(i int) bool { return c.evs[i].ts >= last }); k < len(c.evs); k++ {
		e := &c.evs[k]
		if e.ts > limit {
			break
		}
		if c.used[k] || e.mask&bit == 0 || slices.Contains(tried, e.mask) {
			continue
		}
		tried = append(tried, e.mask)
		if reach != nil && e.ts < reach[j] {
			reach[j] = e.ts
		}
		c.used[k] = true
		d := c.extend(j+1, e.ts, limit, reach)
		c.used[k] = false
		best = max(best, d)
		if best == c.steps && reach == nil {
			return best
		}
		if e.mask == bit {
			break
		}
	}
	return best
}

func highestStep(m uint64) int { return bits.Len64(m) }
