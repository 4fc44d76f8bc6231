package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/microconv/microconv/internal/backoff"
	"github.com/microconv/microconv/internal/logthrottle"
)

// Flush writes every row of b into ClickHouse. A failed insert is retried
// with capped exponential backoff until it succeeds or ctx is done; rows are
// never dropped. Tables already written by an earlier, partly failed call are
// not written again. On success b is reset; on error (only ctx's) b keeps
// the rows that are not in ClickHouse yet.
func (c *Client) Flush(ctx context.Context, b *Batch) error {
	if err := c.waitInserts(ctx); err != nil {
		return err
	}
	start := time.Now()
	// Jitter keeps several instances from retrying in lockstep.
	pace := backoff.Backoff{Min: c.cfg.RetryMin, Max: c.cfg.RetryMax, Jitter: true}
	// One line per failure would flood the log during an outage.
	errLog := logthrottle.New(logthrottle.Interval)
	attempt := 0
	for {
		err := c.flushOnce(ctx, b)
		if err == nil {
			c.metrics.Up.Set(1)
			c.metrics.FlushDuration.Observe(time.Since(start).Seconds())
			if attempt > 0 {
				c.log.Info().Int("attempts", attempt+1).Dur("took", time.Since(start)).Msg("insert succeeded after retries")
			}
			if b.Trigger != "" {
				c.metrics.Flushes.WithLabelValues(b.Trigger).Inc()
			}
			b.Reset()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.metrics.Up.Set(0)
		attempt++
		if errLog.Allow() {
			c.log.Error().Err(err).Int("attempt", attempt).Dur("backoff", pace.Delay(attempt)).Int("rows", b.Rows()).Msg("cannot insert batch, retrying")
		}
		if err := pace.Wait(ctx, attempt); err != nil {
			return err
		}
		c.metrics.Retries.Inc()
	}
}

// flushOnce tries each table not yet written once. The tables are written
// in parallel, on separate connections: ClickHouse works on each INSERT with
// one thread, so a flush takes as long as its largest table rather than the
// sum of all three. An urgent batch's events go as two INSERTs in parallel.
func (c *Client) flushOnce(ctx context.Context, b *Batch) error {
	type piece struct{ table, from, to int }
	var pieces []piece
	for t := range numTables {
		n := b.tables[t].rows
		switch {
		case b.done[t] || n == 0:
			b.done[t] = true
		case b.Urgent && t == tableEvents && n >= 2*insertBlockRows:
			pieces = append(pieces, piece{t, 0, n / 2}, piece{t, n / 2, n})
		default:
			pieces = append(pieces, piece{t, 0, n})
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(pieces))
	for i, p := range pieces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			actx, cancel := context.WithTimeout(ctx, c.cfg.InsertTimeout)
			defer cancel()
			if err := c.insertTable(actx, b, p.table, p.from, p.to); err != nil {
				errs[i] = err
				c.metrics.Errors.WithLabelValues(tableNames[p.table]).Inc()
			}
		}()
	}
	wg.Wait()
	// A table is written when all its pieces are; a retry writes all its
	// pieces again (rows already in ClickHouse are duplicates, which no
	// figure counts twice).
	var failed [numTables]bool
	for i, p := range pieces {
		if errs[i] != nil {
			failed[p.table] = true
		}
	}
	for t := range numTables {
		if !b.done[t] && !failed[t] {
			b.done[t] = true
			c.metrics.Rows.WithLabelValues(tableNames[t]).Add(float64(b.tables[t].rows))
		}
	}
	return errors.Join(errs...)
}

// insertGate holds inserts back until the schema exists (HoldInserts).
type insertGate struct {
	done chan struct{}
	err  error // set before done is closed
}

// HoldInserts makes every Flush wait until ReleaseInserts is called: run
// creates the schema while the consumer joins its group and decodes its
// first batch, and nothing may be inserted before the tables exist. Call
// it before the first Flush.
func (c *Client) HoldInserts() {
	c.gate.Store(&insertGate{done: make(chan struct{})})
}

// ReleaseInserts lets the held inserts go (err nil) or fail with err (the
// schema could not be created: run is stopping; the rows are not written
// and their offsets not committed). It may be called once per HoldInserts.
func (c *Client) ReleaseInserts(err error) {
	if g := c.gate.Load(); g != nil {
		g.err = err
		close(g.done)
	}
}

func (c *Client) waitInserts(ctx context.Context) error {
	g := c.gate.Load()
	if g == nil {
		return nil
	}
	select {
	case <-g.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if g.err != nil {
		return fmt.Errorf("cannot write before the schema is created: %w", g.err)
	}
	return nil
}
