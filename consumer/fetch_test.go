package consumer

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/microconv/microconv/internal/chtest"
	"github.com/microconv/microconv/internal/kafkatest"
	"github.com/microconv/microconv/internal/segtest"
)

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
