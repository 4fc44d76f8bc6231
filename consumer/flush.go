package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/microconv/microconv/internal/backoff"
)

// flushLoop writes batches when they are full or old enough, serves flush
// requests (rebalance, shutdown) and retries failed commits, until ctx ends.
// It is the only goroutine that writes to ClickHouse and commits offsets, so
// commits happen in offset order.
func (c *Consumer) flushLoop(ctx context.Context) {
	pl := c.pipe
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	// A batch of at least quietRows rows is flushed once no message has
	// arrived for quietFor: at the end of a burst (the partitions are read
	// to their end) the last rows need not wait BatchMaxWait, while a
	// steady stream never pauses that long and a trickle stays batched.
	const quietFor = 25 * time.Millisecond
	quietRows := min(1000, pl.maxRows)
	for ctx.Err() == nil {
		rows, empty, first, last, full := pl.state()
		switch {
		case pl.inflight != nil:
			// A batch whose write was interrupted: finish it first.
			_ = c.flushInflight(ctx, "retry")
			continue
		case full != "":
			_ = c.flushCur(ctx, full)
			continue
		case !empty && time.Since(first) >= c.cfg.BatchMaxWait:
			_ = c.flushCur(ctx, "wait")
			continue
		case rows >= quietRows && time.Since(last) >= quietFor:
			_ = c.flushCur(ctx, "quiet")
			continue
		}
		if !empty {
			next := c.cfg.BatchMaxWait - time.Since(first)
			if rows >= quietRows {
				next = min(next, quietFor-time.Since(last))
			}
			timer.Reset(next)
		}
		select {
		case <-ctx.Done():
		case <-pl.kick:
		case <-timer.C:
		case <-retry.C:
			c.commitUncommitted()
		case req := <-pl.requests:
			req.done <- c.flushAll(req.ctx, req.trigger)
		}
		timer.Stop()
	}
}

// flushAll writes the batch in flight and the current one, and commits.
func (c *Consumer) flushAll(ctx context.Context, trigger string) error {
	if c.pipe.inflight != nil {
		if err := c.flushInflight(ctx, trigger); err != nil {
			return err
		}
	}
	if err := c.flushCur(ctx, trigger); err != nil {
		return err
	}
	c.commitUncommitted()
	if n := len(c.pipe.uncommitted); n > 0 {
		return fmt.Errorf("cannot commit offsets of %d partitions", n)
	}
	return nil
}

func (c *Consumer) flushCur(ctx context.Context, trigger string) error {
	if c.pipe.swap() == nil {
		return nil
	}
	return c.flushInflight(ctx, trigger)
}

// flushInflight writes the batch in flight (rows, then DLQ messages) and
// commits its offsets. On error (ctx ended) the batch stays in flight.
func (c *Consumer) flushInflight(ctx context.Context, trigger string) error {
	pl := c.pipe
	p := pl.inflight
	start := time.Now()
	rows, bytes := p.batch.Rows(), p.batch.Bytes()
	// A batch flushed because the partitions are drained ends a burst (or
	// a generation): nothing else is being decoded, so its insert may use
	// every core.
	p.batch.Urgent = trigger == "quiet" || trigger == "shutdown" || trigger == "rebalance"
	p.batch.Trigger = trigger
	c.metrics.PipelineRows.Set(float64(pl.rows()))
	if err := c.out.Flush(ctx, &p.batch); err != nil {
		return err
	}
	if err := c.writeDLQ(ctx, p); err != nil {
		return err
	}
	// Every row of the batch is written: its offsets may be committed.
	for k, m := range p.marks {
		pl.uncommitted[k] = m
	}
	c.commitUncommitted()
	c.log.Debug().Str("trigger", trigger).Int("rows", rows).Int("bytes", bytes).Int("messages", p.msgs).Dur("took", time.Since(start)).Msg("flushed")
	p.reset()
	pl.mu.Lock()
	pl.inflight = nil
	pl.spare = p
	pl.mu.Unlock()
	c.metrics.PipelineRows.Set(float64(pl.rows()))
	return nil
}

// writeDLQ sends the batch's rejected messages to the DLQ topic, retrying
// until it succeeds or ctx ends.
func (c *Consumer) writeDLQ(ctx context.Context, p *pending) error {
	if c.dlq == nil || len(p.dlq) == 0 {
		return nil
	}
	var pace backoff.Backoff // 250ms doubling up to 5s
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.dlq.WriteMessages(wctx, p.dlq...)
		cancel()
		if err == nil {
			c.metrics.DLQMessages.Add(float64(len(p.dlq)))
			clear(p.dlq)
			p.dlq = p.dlq[:0]
			return nil
		}
		c.metrics.DLQErrors.Inc()
		if attempt == 1 || attempt%10 == 0 {
			c.log.Error().Err(err).Int("attempt", attempt).Int("messages", len(p.dlq)).Str("topic", c.cfg.DLQTopic).Msg("cannot write to the DLQ topic, retrying")
		}
		if err := pace.Wait(ctx, attempt); err != nil {
			return err
		}
	}
}

// commitUncommitted commits the written offsets of partitions whose
// generation is still live; offsets of ended generations are dropped (the
// next owner reads those messages again: duplicates, never loss). A failed
// commit stays to be retried.
func (c *Consumer) commitUncommitted() {
	pl := c.pipe
	if len(pl.uncommitted) == 0 {
		return
	}
	byGen := make(map[*generation]map[string]map[int]int64)
	for k, m := range pl.uncommitted {
		if !m.gen.live.Load() {
			delete(pl.uncommitted, k)
			continue
		}
		offs := byGen[m.gen]
		if offs == nil {
			offs = make(map[string]map[int]int64)
			byGen[m.gen] = offs
		}
		if offs[k.topic] == nil {
			offs[k.topic] = make(map[int]int64)
		}
		offs[k.topic][int(k.partition)] = m.next
	}
	for g, offs := range byGen {
		err := g.gen.CommitOffsets(offs)
		if err != nil {
			c.metrics.CommitErrors.Inc()
			c.log.Warn().Err(err).Int32("generation", g.gen.ID).Msg("cannot commit offsets, will retry")
			continue
		}
		c.metrics.Commits.Inc()
		for topic, parts := range offs {
			for part, next := range parts {
				k := tp{topic: topic, partition: int32(part)}
				if m, ok := pl.uncommitted[k]; ok && m.gen == g && m.next == next {
					delete(pl.uncommitted, k)
				}
			}
		}
	}
}
