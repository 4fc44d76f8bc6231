package sink

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Flush writes every row of b into ClickHouse. A failed insert is retried
// with capped exponential backoff until it succeeds or ctx is done; rows are
// never dropped. Tables already written by an earlier, partly failed call are
// not written again. On success b is reset; on error (only ctx's) b keeps
// the rows that are not in ClickHouse yet.
func (c *Client) Flush(ctx context.Context, b *Batch) error {
	start := time.Now()
	b.stage()
	backoff := c.cfg.RetryMin
	attempt := 0
	var lastLog time.Time
	for {
		err := c.flushOnce(ctx, b)
		if err == nil {
			c.metrics.Up.Set(1)
			c.metrics.FlushDuration.Observe(time.Since(start).Seconds())
			if attempt > 0 {
				c.log.Info().Int("attempts", attempt+1).Dur("took", time.Since(start)).Msg("insert succeeded after retries")
			}
			b.Reset()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.metrics.Up.Set(0)
		attempt++
		// One line per failure would flood the log during an outage: log the
		// first failure and then at most every 10 seconds.
		if attempt == 1 || time.Since(lastLog) >= 10*time.Second {
			c.log.Error().Err(err).Int("attempt", attempt).Dur("backoff", backoff).Int("rows", b.Rows()).Msg("cannot insert batch, retrying")
			lastLog = time.Now()
		}
		// Full jitter between backoff/2 and backoff keeps several instances
		// from retrying in lockstep.
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		c.metrics.Retries.Inc()
		backoff = min(backoff*2, c.cfg.RetryMax)
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

// CountFlush counts a flush by what triggered it (rows, bytes, wait, quiet, shutdown,
// rebalance, retry) in microconv_sink_flushes_total.
func (c *Client) CountFlush(trigger string) { c.metrics.Flushes.WithLabelValues(trigger).Inc() }
