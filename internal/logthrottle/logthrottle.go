// Package logthrottle keeps a repeated failure from flooding the log: the
// first occurrence is logged at once, then at most one line per interval
// (a broker or ClickHouse that is down fails every retry; a flood of bad
// messages rejects each one). It imports only the standard library.
package logthrottle

import (
	"sync"
	"time"
)

// Interval is how often microconv logs a failure that repeats: often enough
// to show it goes on, rarely enough to keep the log readable.
const Interval = 10 * time.Second

// Throttle lets the first event through, then at most one per interval. It
// is safe for concurrent use.
type Throttle struct {
	mu    sync.Mutex
	every time.Duration
	last  time.Time // of the last event let through; zero before the first
}

// New returns a throttle that lets one event through per every
// (logthrottle.Interval for microconv's log lines).
func New(every time.Duration) *Throttle { return &Throttle{every: every} }

// Allow reports whether the event now may be logged: true for the first
// event and for one at least every after the last one allowed.
func (t *Throttle) Allow() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := time.Now(); t.last.IsZero() || now.Sub(t.last) >= t.every {
		t.last = now
		return true
	}
	return false
}
