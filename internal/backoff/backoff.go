// Package backoff paces retries: capped exponential backoff, with optional
// jitter, and a wait that ends early when its context does. Every retry loop
// of microconv (connecting to ClickHouse, creating the schema, inserting a
// batch, writing the DLQ, decoding a message the schema registry cannot
// serve yet, fetching a partition) waits through it. It imports only the
// standard library.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// The defaults pace a retry fast enough to resume promptly after a restart
// of the other side, and slowly enough not to hammer it while it is down.
const (
	DefaultMin = 250 * time.Millisecond
	DefaultMax = 5 * time.Second
)

// Backoff is how long to pause before a retry: Min after the first failure,
// doubling with each further failure up to Max. The caller counts the
// failures (a loop may pause again without a new failure, or start over
// after a success). The zero value pauses 250ms, 500ms, 1s, 2s, 4s, then 5s
// each time, without jitter.
type Backoff struct {
	// Min is the pause after the first failure (default DefaultMin).
	Min time.Duration
	// Max caps the pause (default DefaultMax).
	Max time.Duration
	// Jitter draws each pause uniformly from [d/2, d], d being Delay's value,
	// so that several instances do not retry in lockstep (default false:
	// exactly d).
	Jitter bool
}

// Delay is the pause after the failures-th consecutive failure (1 for the
// first), before jitter: Min doubled failures-1 times, capped at Max.
func (b Backoff) Delay(failures int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi <= 0 {
		hi = DefaultMax
	}
	d := lo
	for i := 1; i < failures; i++ {
		if d >= hi {
			return hi
		}
		d = min(2*d, hi)
	}
	return d
}

// Pause is the pause after the failures-th consecutive failure: Delay,
// jittered when b.Jitter is set.
func (b Backoff) Pause(failures int) time.Duration {
	d := b.Delay(failures)
	if !b.Jitter {
		return d
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Wait pauses after the failures-th consecutive failure (see Pause). It
// returns nil once the pause is over, or ctx's error as soon as ctx ends.
func (b Backoff) Wait(ctx context.Context, failures int) error {
	t := time.NewTimer(b.Pause(failures))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
