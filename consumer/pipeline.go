package consumer

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/microconv/microconv/sink"
)

// tp is a topic partition.
type tp struct {
	topic     string
	partition int32
}

// mark is the next offset to commit for a partition once a batch is written,
// and the generation that read it (only a live one may commit it).
type mark struct {
	gen  *generation
	next int64
}

// pending is one batch being filled or written.
type pending struct {
	batch sink.Batch
	marks map[tp]mark
	dlq   []kafka.Message
	first time.Time // when the first message was added
	last  time.Time // when the last message was added
	msgs  int
	sized bool // room made for a full batch (see pipeline.add)
}

func newPending() *pending { return &pending{marks: make(map[tp]mark)} }

func (p *pending) empty() bool { return p.msgs == 0 }

func (p *pending) reset() {
	p.batch.Reset()
	clear(p.marks)
	clear(p.dlq)
	p.dlq = p.dlq[:0]
	p.msgs = 0
	p.sized = false
	p.first, p.last = time.Time{}, time.Time{}
}

// pipeline sits between the partition readers and the flush loop. Readers
// add rows to cur; the flush loop swaps cur out, writes it, and commits its
// marks. At most two batches exist (cur and the one being written): a reader
// that finds cur full waits, and so stops fetching — memory stays bounded
// however slow ClickHouse is.
type pipeline struct {
	maxRows  int
	maxBytes int

	mu       sync.Mutex
	cur      *pending
	space    chan struct{} // closed when cur is swapped for an empty batch
	kick     chan struct{} // wakes the flush loop: first row or full batch
	requests chan flushRequest

	// Owned by the flush loop.
	inflight    *pending
	spare       *pending
	uncommitted map[tp]mark
}

type flushRequest struct {
	ctx     context.Context
	trigger string
	done    chan error
}

func newPipeline(maxRows, maxBytes int) *pipeline {
	return &pipeline{
		maxRows:     maxRows,
		maxBytes:    maxBytes,
		cur:         newPending(),
		spare:       newPending(),
		space:       make(chan struct{}),
		kick:        make(chan struct{}, 1),
		requests:    make(chan flushRequest),
		uncommitted: make(map[tp]mark),
	}
}

// add appends w's rows (read at now) for the message at offset of partition p, waiting
// while the batch is full (waited: now is stale). It fails only when ctx ends; the message is then
// not part of any batch and will not be committed.
func (pl *pipeline) add(ctx context.Context, g *generation, p tp, offset int64, w *worker, now time.Time) (waited bool, err error) {
	for {
		pl.mu.Lock()
		if pl.full(&pl.cur.batch) == "" {
			break
		}
		space := pl.space
		pl.mu.Unlock()
		waited = true
		select {
		case <-space:
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
	if waited {
		now = time.Now()
	}
	cur := pl.cur
	wasEmpty := cur.empty()
	if wasEmpty {
		cur.first = now
	}
	w.addRows(&cur.batch)
	if w.hasRej && w.dlqMsg != nil {
		cur.dlq = append(cur.dlq, *w.dlqMsg)
	}
	cur.marks[p] = mark{gen: g, next: offset + 1}
	cur.msgs++
	cur.last = now
	if !cur.sized && cur.batch.Len() >= pl.maxRows/16 {
		// Filling fast: room for the whole batch at once, in proportion
		// to the rows so far (growing step by step would copy each column
		// several times).
		cur.sized = true
		f := min(float64(pl.maxRows)/float64(cur.batch.Len()), float64(pl.maxBytes)/float64(max(cur.batch.Bytes(), 1)))
		if f > 1 {
			cur.batch.Scale(f * 1.05)
		}
	}
	full := pl.full(&cur.batch) != ""
	pl.mu.Unlock()
	if wasEmpty || full {
		select {
		case pl.kick <- struct{}{}:
		default:
		}
	}
	return waited, nil
}

// rows is the number of rows held in memory.
func (pl *pipeline) rows() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	n := pl.cur.batch.Rows()
	if in := pl.inflight; in != nil {
		n += in.batch.Rows()
	}
	return n
}

// swap moves cur to inflight and lets waiting readers go on with an empty
// batch. Called by the flush loop only, when inflight is nil.
func (pl *pipeline) swap() *pending {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.cur.empty() {
		return nil
	}
	pl.inflight = pl.cur
	pl.cur = pl.spare
	pl.spare = nil
	// The next batch will likely be as large as this one: room for it at
	// once (a no-op once the batch has held that much).
	pl.cur.batch.Reserve(&pl.inflight.batch)
	pl.cur.sized = pl.inflight.sized
	close(pl.space)
	pl.space = make(chan struct{})
	return pl.inflight
}

// full says which limit b reached: "rows", "bytes", or "" for none.
func (pl *pipeline) full(b *sink.Batch) string {
	switch {
	case b.Len() >= pl.maxRows:
		return "rows"
	case b.Bytes() >= pl.maxBytes:
		return "bytes"
	}
	return ""
}

// state reads cur's size, age and the limit it reached for the flush loop.
func (pl *pipeline) state() (rows int, empty bool, first, last time.Time, full string) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.cur.batch.Len(), pl.cur.empty(), pl.cur.first, pl.cur.last, pl.full(&pl.cur.batch)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
