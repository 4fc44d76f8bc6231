package sink

import (
	"context"
	"math/rand/v2"
	"time"
)

// Flush writes every row of b into ClickHouse. A failed insert is retried
// with capped exponential backoff until it succeeds or ctx is done; rows are
// never dropped. Tables already written by an earlier, partly failed call are
// not written again. On success b is reset; on error (only ctx's) b keeps
// the rows that are not in ClickHouse yet.
func (c *Client) Flush(ctx context.Context, b *Batch) error {
	start := time.Now()
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

// flushOnce tries each table not yet written once.
func (c *Client) flushOnce(ctx context.Context, b *Batch) error {
	for t := range numTables {
		if b.done[t] {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, c.cfg.InsertTimeout)
		err := c.insertTable(actx, b, t)
		cancel()
		if err != nil {
			c.metrics.Errors.WithLabelValues(tableNames[t]).Inc()
			return err
		}
		b.done[t] = true
		var n int
		switch t {
		case tableEvents:
			n = len(b.Events)
		case tableConversions:
			n = len(b.Conversions)
		case tableRejected:
			n = len(b.Rejected)
		}
		c.metrics.Rows.WithLabelValues(tableNames[t]).Add(float64(n))
	}
	return nil
}

// CountFlush counts a flush by what triggered it (rows, wait, shutdown,
// rebalance, retry) in microconv_sink_flushes_total.
func (c *Client) CountFlush(trigger string) { c.metrics.Flushes.WithLabelValues(trigger).Inc() }
