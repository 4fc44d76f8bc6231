package consumer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/internal/testkit/segtest"
)

// Every test of the package runs with poisoned arenas: a message value
// kept past its handling (rows, rejections, the DLQ) shows as garbage in
// what the tests read back.
func TestMain(m *testing.M) {
	poisonArenas = true
	os.Exit(m.Run())
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Partitions that stay idle longer than a fetch waits (the broker answers
// each fetch empty after FetchMaxWait) log nothing at warn or above, and a
// message produced afterwards is read at once.
func TestIdlePartitionsStayQuiet(t *testing.T) {
	e := setup(t, segtest.Options{Seed: 3, Users: 20, Partitions: 2, Malformed: -1})
	cfg := e.config("idle")
	cfg.FetchMaxWait = 300 * time.Millisecond
	var logs lockedBuffer
	c, err := New(cfg, e.client, zerolog.New(&logs).Level(zerolog.WarnLevel), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetRules(e.set)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	conn := chtest.Conn(t)
	count := func() uint64 {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+e.db+".events").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	first := uint64(len(e.stream.Messages))
	waitFor("the stream in ClickHouse", func() bool { return count() >= first-uint64(e.stream.Malformed) })
	time.Sleep(2 * time.Second) // several empty fetches on every partition
	before := count()
	cl := kafkatest.Client(t, e.brokers)
	kafkatest.Produce(t, cl, topic, []kafkatest.Record{{Partition: 1, Value: []byte(`{"type":"track","event":"Late","userId":"u","messageId":"late-1","timestamp":"2024-01-02T03:04:05Z"}`)}})
	waitFor("the late message", func() bool { return count() == before+1 })
	if l := logs.String(); strings.TrimSpace(l) != "" {
		t.Fatalf("idle partitions logged:\n%s", l)
	}
}

// The fetcher hands over every message of a partition once, in order, with
// its value intact, whatever the sizes: small ones share a chunk's arena,
// larger ones grow the room kept free (up to 64 KiB), and one larger than
// the room left is read again whole by the next fetch, with a chunk's worth
// after it. Arenas are overwritten once a
// chunk is handled (poisonArenas), so a value read after its handling
// would differ. With whole (the DLQ is set) keys come along.
func TestFetcherChunkArenas(t *testing.T) {
	const topicName = "arenas"
	_, brokers := kafkatest.NewCluster(t, 1, topicName)
	cl := kafkatest.Client(t, brokers)
	var recs []kafkatest.Record
	sizes := []int{0, 1, 300, 90, 17 << 10, 400, 40 << 10, 120 << 10, 5, 700 << 10, 300, 130 << 10, 64}
	for i := range 3000 {
		n := 200 + i%500
		if i%250 == 7 {
			n = sizes[(i/250)%len(sizes)]
		}
		v := bytes.Repeat([]byte{byte('a' + i%26)}, n)
		if n >= 8 {
			copy(v, fmt.Sprintf("%08d", i))
		}
		recs = append(recs, kafkatest.Record{Key: []byte(fmt.Sprint("k", i)), Value: v})
	}
	kafkatest.Produce(t, cl, topicName, recs)
	for _, whole := range []bool{false, true} {
		t.Run(fmt.Sprint("whole=", whole), func(t *testing.T) {
			f := &partitionFetcher{dialer: &kafka.Dialer{}, brokers: brokers, topic: topicName, maxBytes: 256 << 10,
				maxWait: 200 * time.Millisecond, log: zerolog.Nop(), offset: kafka.FirstOffset, whole: whole}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			next := 0
			err := f.run(ctx, func(msgs []kafka.Message) error {
				for _, m := range msgs {
					if m.Offset != int64(next) {
						return fmt.Errorf("got offset %d, want %d", m.Offset, next)
					}
					if !bytes.Equal(m.Value, recs[next].Value) {
						return fmt.Errorf("offset %d: value of %d bytes differs from the %d produced", next, len(m.Value), len(recs[next].Value))
					}
					if whole && string(m.Key) != string(recs[next].Key) {
						return fmt.Errorf("offset %d: key %q, want %q", next, m.Key, recs[next].Key)
					}
					next++
				}
				if next == len(recs) {
					cancel()
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if next != len(recs) {
				t.Fatalf("read %d of %d messages", next, len(recs))
			}
			// 17 KiB fits the first room (16 KiB) only in a fresh arena,
			// 120 KiB and more never fit: some are read again whole.
			if whole != (f.rereads == 0) {
				t.Fatalf("%d messages read again whole (whole=%v)", f.rereads, whole)
			}
		})
	}
}
