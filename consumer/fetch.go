package consumer

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/microconv/microconv/internal/backoff"
	"github.com/microconv/microconv/internal/logthrottle"
)

// partitionFetcher reads one partition straight from its leader, on the
// caller's goroutine: a fetch, then its messages one by one, then the next
// fetch. kafka-go's Reader does the same on a goroutine of its own and hands
// every message over a channel, with a select, a mutex, a read deadline and
// five counters per message, a cost paid on every message. Errors are
// handled as the Reader handles them.
type partitionFetcher struct {
	dialer    *kafka.Dialer
	brokers   []string
	topic     string
	partition int
	maxBytes  int
	maxWait   time.Duration
	log       zerolog.Logger

	offset int64 // next offset to read; kafka.FirstOffset or LastOffset before the first fetch
	// whole reads messages with their keys and headers, each in memory of
	// its own (kafka-go's ReadMessage): the DLQ forwards them. Otherwise
	// only values are read, into the chunk's arena.
	whole bool
	// wholeLeft is how many messages are still read whole since one did
	// not fit the room left in an arena: that one, and a chunk's worth
	// after it (large messages come in runs; each that does not fit costs
	// a fetch).
	wholeLeft int
	// room is the free space a chunk's arena must have before a message
	// is read into it: twice the largest value seen, from minArenaRoom up
	// to maxArenaRoom (larger values are read whole, so that a partition's
	// arenas stay small).
	room int
	// rereads counts the messages read again whole (tests).
	rereads int
	// conn is the leader connection, nil between connections. Only run's
	// goroutine sets it; the context watchdog closes it to end a read.
	conn atomic.Pointer[kafka.Conn]
}

// readBatchTimeout bounds reading the rest of a fetch response once it has
// begun to arrive.
const readBatchTimeout = 10 * time.Second

// fetchBackoff paces fetching again after consecutive failures: 200ms
// doubling up to 2s, jittered.
var fetchBackoff = backoff.Backoff{Min: 200 * time.Millisecond, Max: 2 * time.Second, Jitter: true}

// chunkSize is how many messages the reading goroutine hands over at once:
// one channel operation per chunk instead of one per message.
const chunkSize = 256

// A chunk is messages read together. Their values are read into its arena
// (unless the fetcher reads whole messages), not each into memory of its
// own: kafka-go's ReadMessage allocates every key and value, and the
// collector's work grows with them. A chunk and its arena are reused once
// handled, so nothing may keep a message's Value past the handling (the DLQ
// copies it).
type chunk struct {
	msgs  []kafka.Message
	arena []byte
}

// Arena sizes: a chunk is cut when its arena has less than the fetcher's
// room left, so a 64 KiB arena holds about 120 typical (400-byte) messages.
// A partition holds at most 8 chunks (filling, queued, handled, free), and
// an arena is at most twice maxArenaRoom: 1 MiB of arenas per partition at
// most, 512 KiB for typical events.
const (
	arenaSize    = 64 << 10
	minArenaRoom = 16 << 10
	maxArenaRoom = 64 << 10
)

// poisonArenas makes run overwrite a chunk's arena once it is handled
// (tests: a value kept past its handling then reads as garbage).
var poisonArenas = false

// run reads messages from f.offset and calls handle with them, in order, a
// chunk at a time, until ctx ends (nil) or handle fails (its error). The
// chunk is reused once handle returns. A goroutine of its own reads ahead
// (fetches and parses the next messages) while handle works, at most a few
// chunks of messages ahead.
func (f *partitionFetcher) run(ctx context.Context, handle func(chunk []kafka.Message) error) error {
	ctx, cancel := context.WithCancel(ctx)
	chunks := make(chan *chunk, 2)
	free := make(chan *chunk, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(chunks)
		f.read(ctx, chunks, free)
	}()
	defer func() {
		cancel()
		for range chunks {
		}
		<-done
	}()
	for ch := range chunks {
		if err := handle(ch.msgs); err != nil {
			return err
		}
		clear(ch.msgs)
		ch.msgs = ch.msgs[:0]
		if poisonArenas {
			a := ch.arena[:cap(ch.arena)]
			for i := range a {
				a[i] = 0xA5
			}
		}
		ch.arena = ch.arena[:0]
		select {
		case free <- ch:
		default:
		}
	}
	return nil
}

// read fetches until ctx ends, sending the messages in chunks.
func (f *partitionFetcher) read(ctx context.Context, chunks, free chan *chunk) {
	defer f.close()
	// A read blocked on the network ends when ctx does.
	stop := context.AfterFunc(ctx, func() {
		if c := f.conn.Load(); c != nil {
			_ = c.Close()
		}
	})
	defer stop()
	errLog := logthrottle.New(logthrottle.Interval)
	failures := 0
	for ctx.Err() == nil {
		if failures > 0 && fetchBackoff.Wait(ctx, failures) != nil {
			return
		}
		if f.conn.Load() == nil {
			if err := f.connect(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				if errLog.Allow() {
					f.log.Error().Err(err).Int64("offset", f.offset).Msg("cannot connect to the partition leader, retrying")
				}
				continue
			}
		}
		err := f.fetch(ctx, chunks, free)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil, errors.Is(err, io.EOF), errors.Is(err, kafka.RequestTimedOut):
			// End of a fetch (or none within the wait): the next one.
			failures = 0
		case errors.Is(err, kafka.OffsetOutOfRange):
			if err := f.outOfRange(); err != nil {
				f.reconnect(&failures, errLog, err)
			}
		default:
			// NotLeaderForPartition, UnknownTopicOrPartition, a lost
			// connection, io.ErrNoProgress…: find the leader again.
			f.reconnect(&failures, errLog, err)
		}
	}
}

func (f *partitionFetcher) reconnect(failures *int, errLog *logthrottle.Throttle, err error) {
	*failures++
	if errLog.Allow() {
		f.log.Warn().Err(err).Int64("offset", f.offset).Msg("cannot fetch, reconnecting to the partition leader")
	}
	f.close()
}

func (f *partitionFetcher) close() {
	if c := f.conn.Swap(nil); c != nil {
		_ = c.Close()
	}
}

// connect dials the partition's leader (through the first broker that
// answers) and seeks to f.offset, resolving FirstOffset and LastOffset.
func (f *partitionFetcher) connect(ctx context.Context) error {
	var err error
	for _, broker := range f.brokers {
		var conn *kafka.Conn
		if conn, err = f.dialer.DialLeader(ctx, "tcp", broker, f.topic, f.partition); err != nil {
			continue
		}
		if err = f.seek(conn); err != nil {
			_ = conn.Close()
			continue
		}
		f.conn.Store(conn)
		return nil
	}
	return err
}

func (f *partitionFetcher) seek(conn *kafka.Conn) error {
	if f.offset < 0 {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		first, last, err := conn.ReadOffsets()
		if err != nil {
			return err
		}
		if f.offset == kafka.LastOffset {
			f.offset = last
		} else {
			f.offset = first
		}
	}
	_, err := conn.Seek(f.offset, kafka.SeekAbsolute)
	_ = conn.SetDeadline(time.Time{})
	return err
}

// outOfRange handles a fetch below the first or past the last offset, as
// kafka-go's Reader does: below the first (retention deleted the messages)
// reading goes on from the first; past the last it waits.
func (f *partitionFetcher) outOfRange() error {
	conn := f.conn.Load()
	if conn == nil {
		return errors.New("no connection")
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	first, last, err := conn.ReadOffsets()
	_ = conn.SetDeadline(time.Time{})
	if err != nil {
		return err
	}
	switch {
	case f.offset < first:
		f.log.Error().Int64("offset", f.offset).Int64("first", first).Int64("skipped", first-f.offset).
			Msg("the partition no longer holds the offset to read (retention): reading on from its first offset")
		f.offset = first
	case f.offset < last:
		// Messages arrived meanwhile: fetch again.
	default:
		time.Sleep(100 * time.Millisecond)
	}
	_, err = conn.Seek(f.offset, kafka.SeekAbsolute)
	return err
}

// fetch reads one fetch response and sends its messages, in chunks.
func (f *partitionFetcher) fetch(ctx context.Context, chunks, free chan *chunk) error {
	conn := f.conn.Load()
	if conn == nil {
		return errors.New("no connection")
	}
	// The broker holds the fetch until data arrives or the deadline nears.
	_ = conn.SetReadDeadline(time.Now().Add(f.maxWait))
	batch := conn.ReadBatchWith(kafka.ReadBatchConfig{MinBytes: 1, MaxBytes: f.maxBytes})
	_ = conn.SetReadDeadline(time.Now().Add(readBatchTimeout))
	defer func() { _ = conn.SetReadDeadline(time.Time{}) }()
	if f.room == 0 {
		f.room = minArenaRoom
	}
	var ch *chunk
	send := func() bool {
		if ch == nil || len(ch.msgs) == 0 {
			return true
		}
		t := time.Now()
		select {
		case chunks <- ch:
		case <-ctx.Done():
			return false
		}
		ch = nil
		// The consumer may have made us wait long (a full pipeline while
		// ClickHouse is slow): the rest of the response must not time out.
		if now := time.Now(); now.Sub(t) > time.Second {
			_ = conn.SetReadDeadline(now.Add(readBatchTimeout))
		}
		return true
	}
	for {
		if ch != nil && !f.whole && cap(ch.arena)-len(ch.arena) < f.room && !send() {
			_ = batch.Close()
			return ctx.Err()
		}
		if ch == nil {
			select {
			case ch = <-free:
			default:
				ch = &chunk{msgs: make([]kafka.Message, 0, chunkSize)}
			}
			if !f.whole && cap(ch.arena) < 2*f.room {
				ch.arena = make([]byte, 0, max(arenaSize, 2*f.room))
			}
		}
		var msg kafka.Message
		var err error
		if f.whole || f.wholeLeft > 0 {
			msg, err = batch.ReadMessage()
			if err == nil && !f.whole {
				f.wholeLeft--
				f.room = min(max(f.room, 2*len(msg.Value)), maxArenaRoom)
			}
		} else {
			spare := ch.arena[len(ch.arena):cap(ch.arena)]
			var n int
			n, err = batch.Read(spare)
			if errors.Is(err, io.ErrShortBuffer) {
				// The value is larger than the room left: the batch has
				// stopped before it. The next fetch starts there and reads
				// it (and a chunk's worth after it) whole.
				f.wholeLeft = chunkSize
				f.rereads++
				_ = batch.Close()
				if !send() {
					return ctx.Err()
				}
				return nil
			}
			if err == nil {
				msg = kafka.Message{Topic: f.topic, Partition: f.partition, Offset: batch.Offset() - 1, Value: spare[:n:n]}
				ch.arena = ch.arena[:len(ch.arena)+n]
			}
		}
		if err != nil {
			if cerr := batch.Close(); errors.Is(err, io.EOF) && cerr != nil {
				err = cerr
			}
			if !send() {
				return ctx.Err()
			}
			return err
		}
		f.offset = msg.Offset + 1
		ch.msgs = append(ch.msgs, msg)
		if len(ch.msgs) == chunkSize && !send() {
			_ = batch.Close()
			return ctx.Err()
		}
	}
}
