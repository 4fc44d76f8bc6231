package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/gentest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/internal/testkit/segtest"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

const topic = "clickstream"

type env struct {
	cluster *kfake.Cluster
	brokers []string
	db      string
	client  *sink.Client
	set     *rules.Set
	stream  segtest.Stream
}

// setup starts a kfake cluster, produces a generated stream, and prepares a
// fresh ClickHouse database with the schema and rules in force.
func setup(t *testing.T, opts segtest.Options) *env {
	t.Helper()
	return setupWith(t, opts)
}

// setupWith is setup with extra kfake options.
func setupWith(t *testing.T, opts segtest.Options, kopts ...kfake.Opt) *env {
	t.Helper()
	addr := chtest.Addr(t)
	db := chtest.Database(t)
	cluster, brokers := kafkatest.NewClusterWith(t, opts.Partitions, []string{topic}, kopts...)
	cl := kafkatest.Client(t, brokers)
	stream := segtest.Generate(opts)
	recs := make([]kafkatest.Record, len(stream.Messages))
	for i, m := range stream.Messages {
		recs[i] = kafkatest.Record{Partition: m.Partition, Value: m.Value}
	}
	kafkatest.Produce(t, cl, topic, recs)

	set, err := rules.Parse("rules.yaml", []byte(segtest.Rules))
	if err != nil {
		t.Fatalf("test rules: %v", err)
	}
	client := openSinkForTest(t, addr, db, set)
	return &env{cluster: cluster, brokers: brokers, db: db, client: client, set: set, stream: stream}
}

func (e *env) config(group string) Config {
	return Config{
		Kafka:             KafkaConfig{Brokers: e.brokers},
		Topics:            []string{topic},
		Group:             group,
		BatchMaxRows:      700,
		BatchMaxWait:      100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RebalanceTimeout:  6 * time.Second,
		HeartbeatInterval: 500 * time.Millisecond,
	}
}

func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

// start runs a consumer until the returned stop is called; stop returns Run's error.
func start(t *testing.T, cfg Config, out Writer, set *rules.Set) (*Consumer, func() error) {
	t.Helper()
	c, err := New(cfg, out, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetRules(set)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(60 * time.Second):
				runErr = errors.New("Run did not return within 60s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return c, stop
}

func checkViews(t *testing.T, e *env) {
	t.Helper()
	truth, err := gen.ComputeTruth(e.stream.Gen(), e.set)
	if err != nil {
		t.Fatal(err)
	}
	segtest.CheckExercised(t, truth)
	gentest.CheckViews(t, chtest.Server(t), e.db, truth)
}

var streamOpts = segtest.Options{Seed: 7, Users: 600, Partitions: 4, Dups: 0.03, Malformed: 40, NoIDShare: 0.1}

// The whole path: Kafka → decode → rules → ClickHouse, with duplicates and
// malformed messages, and offsets committed to the end.
func TestEndToEnd(t *testing.T) {
	e := setup(t, streamOpts)
	_, stop := start(t, e.config("g1"), e.client, e.set)
	cl := kafkatest.Client(t, e.brokers)
	kafkatest.WaitCommitted(t, cl, "g1", topic, 90*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkViews(t, e)
}

// Reading everything a second time (a new group: every message re-delivered)
// changes no figure.
func TestRedeliveryChangesNothing(t *testing.T) {
	e := setup(t, streamOpts)
	cl := kafkatest.Client(t, e.brokers)
	for _, g := range []string{"first", "second"} {
		_, stop := start(t, e.config(g), e.client, e.set)
		kafkatest.WaitCommitted(t, cl, g, topic, 90*time.Second)
		if err := stop(); err != nil {
			t.Fatalf("Run(%s): %v", g, err)
		}
	}
	conn := chtest.Conn(t)
	rows := chtest.QueryStrings(t, conn, "SELECT toString(count()) FROM "+e.db+".rejected_events")
	if rows[0][0] == fmt.Sprint(e.stream.Malformed) {
		// ReplacingMergeTree may already have merged the copies away; fine,
		// but then the test proved less. Check events too.
		t.Logf("rejected rows already deduplicated by a merge")
	}
	checkViews(t, e)
}

// gate wraps the real sink and fails every flush while closed: ClickHouse
// "down" without stopping the shared test server.
type gate struct {
	out     Writer
	open    atomic.Bool
	calls   atomic.Int64
	maxRows atomic.Int64
}

var errGateClosed = errors.New("clickhouse down (test gate)")

func (g *gate) Flush(ctx context.Context, b *sink.Batch) error {
	for {
		g.calls.Add(1)
		if n := int64(b.Rows()); n > g.maxRows.Load() {
			g.maxRows.Store(n)
		}
		if g.open.Load() {
			return g.out.Flush(ctx, b)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// While ClickHouse is down nothing is committed, the consumer stops fetching
// (memory bounded by two batches), and when it is back everything arrives.
func TestClickHouseDownCommitsNothingAndBoundsMemory(t *testing.T) {
	e := setup(t, streamOpts)
	g := &gate{out: e.client}
	cfg := e.config("down")
	cfg.BatchMaxRows = 300
	c, stop := start(t, cfg, g, e.set)
	cl := kafkatest.Client(t, e.brokers)

	deadline := time.Now().Add(30 * time.Second)
	for g.calls.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if got := kafkatest.Committed(t, cl, "down", topic); len(got) != 0 {
		t.Fatalf("offsets committed while ClickHouse was down: %v", got)
	}
	held := c.pipe.rows()
	// Two batches of at most maxRows per table: events, conversions and
	// rejected rows of at most 2*300 messages each.
	if limit := 2 * 3 * cfg.BatchMaxRows; held > limit {
		t.Fatalf("holding %d rows in memory while ClickHouse is down, want at most %d", held, limit)
	}
	total := len(e.stream.Messages)
	if held == 0 || held >= total {
		t.Fatalf("held %d rows of %d messages: expected the consumer to stop fetching part-way", held, total)
	}
	g.open.Store(true)
	kafkatest.WaitCommitted(t, cl, "down", topic, 90*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkViews(t, e)
}

// SIGTERM-like stop with a long batch wait: the rows held are flushed and
// committed before Run returns.
func TestStopFlushesAndCommits(t *testing.T) {
	// Fewer events than a quiet flush needs (1,000): once the partitions
	// are drained, a larger batch is flushed 25 ms later whatever the wait,
	// which can beat the poll below (it did once reading got faster).
	opts := streamOpts
	opts.Users = 150
	e := setup(t, opts)
	cfg := e.config("stop")
	cfg.BatchMaxRows = 1_000_000
	cfg.BatchMaxWait = time.Hour
	c, stop := start(t, cfg, e.client, e.set)
	total := 0
	for _, m := range e.stream.Messages {
		if m.Event != nil {
			total++
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		c.pipe.mu.Lock()
		n := c.pipe.cur.msgs
		c.pipe.mu.Unlock()
		if n == len(e.stream.Messages) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn := chtest.Conn(t)
	if got := chtest.QueryStrings(t, conn, "SELECT toString(count()) FROM "+e.db+".events"); got[0][0] != "0" {
		t.Fatalf("%s events written before the stop, want 0 (batch wait is 1h)", got[0][0])
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	cl := kafkatest.Client(t, e.brokers)
	ends := kafkatest.EndOffsets(t, cl, topic)
	got := kafkatest.Committed(t, cl, "stop", topic)
	for p, end := range ends {
		if got[p] != end {
			t.Errorf("partition %d committed %d, want %d", p, got[p], end)
		}
	}
	checkViews(t, e)
}

// Stopping and restarting part-way loses nothing and double-counts nothing.
func TestRestartPartWay(t *testing.T) {
	e := setup(t, streamOpts)
	cl := kafkatest.Client(t, e.brokers)
	cfg := e.config("restart")
	cfg.BatchMaxRows = 200
	for round := 0; round < 3; round++ {
		_, stop := start(t, cfg, e.client, e.set)
		time.Sleep(time.Duration(300+round*200) * time.Millisecond)
		if err := stop(); err != nil {
			t.Fatalf("round %d: Run: %v", round, err)
		}
	}
	_, stop := start(t, cfg, e.client, e.set)
	kafkatest.WaitCommitted(t, cl, "restart", topic, 90*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkViews(t, e)
}

// Members joining and leaving while data flows: every partition ends up
// committed to its end, and the figures are exact.
func TestMembersJoinAndLeave(t *testing.T) {
	opts := streamOpts
	opts.Users = 3000
	opts.Partitions = 6
	e := setup(t, opts)
	cl := kafkatest.Client(t, e.brokers)
	cfg := e.config("members")
	cfg.BatchMaxRows = 100
	cfg.BatchMaxWait = 50 * time.Millisecond
	// Slow the writer down so that the stream is still flowing during the rebalances.
	slow := &slowWriter{out: e.client, delay: 30 * time.Millisecond}
	_, stop1 := start(t, cfg, slow, e.set)
	time.Sleep(700 * time.Millisecond)
	_, stop2 := start(t, cfg, slow, e.set)
	time.Sleep(700 * time.Millisecond)
	_, stop3 := start(t, cfg, slow, e.set)
	time.Sleep(700 * time.Millisecond)
	if err := stop1(); err != nil {
		t.Fatalf("member 1: %v", err)
	}
	if got, end := kafkatest.Committed(t, cl, "members", topic), kafkatest.EndOffsets(t, cl, topic); fmt.Sprint(got) == fmt.Sprint(end) {
		t.Log("the stream was fully consumed before the last rebalance; the test proved less")
	}
	kafkatest.WaitCommitted(t, cl, "members", topic, 2*time.Minute)
	for i, stop := range []func() error{stop2, stop3} {
		if err := stop(); err != nil {
			t.Fatalf("member %d: %v", i+2, err)
		}
	}
	checkViews(t, e)
}

type slowWriter struct {
	out   Writer
	delay time.Duration
}

func (s *slowWriter) Flush(ctx context.Context, b *sink.Batch) error {
	time.Sleep(s.delay)
	return s.out.Flush(ctx, b)
}

// Rejected messages go to the DLQ topic with where they came from and why.
func TestDLQ(t *testing.T) {
	e := setup(t, streamOpts)
	cl := kafkatest.Client(t, e.brokers)
	ctx := context.Background()
	if err := createTopic(ctx, e.brokers, "clickstream-dlq"); err != nil {
		t.Fatal(err)
	}
	cfg := e.config("dlq")
	cfg.DLQTopic = "clickstream-dlq"
	_, stop := start(t, cfg, e.client, e.set)
	kafkatest.WaitCommitted(t, cl, "dlq", topic, 90*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	recs := kafkatest.ReadAll(t, e.brokers, "clickstream-dlq")
	offsets := map[string]bool{}
	for _, r := range recs {
		h := map[string]string{}
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		if h["microconv-reason"] == "" || h["microconv-topic"] != topic || h["microconv-offset"] == "" || h["microconv-error"] == "" {
			t.Fatalf("DLQ record lacks headers: %v", h)
		}
		offsets[h["microconv-partition"]+"/"+h["microconv-offset"]] = true
	}
	if len(offsets) != e.stream.Malformed {
		t.Fatalf("DLQ holds %d distinct messages, want %d", len(offsets), e.stream.Malformed)
	}
	checkViews(t, e)
}

func createTopic(ctx context.Context, brokers []string, name string) error {
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.CreateTopics(kafka.TopicConfig{Topic: name, NumPartitions: 1, ReplicationFactor: 1})
}

// consumeAll produces recs to a fresh cluster's topic, prepares a fresh
// database with set in force, and runs a consumer until every partition is
// committed; it returns the database.
// consumeAll runs recs through Kafka (kfake), the consumer and the sink into
// a fresh database of e, with set in force, and returns the database.
func consumeAll(t *testing.T, e *chtest.Engine, partitions int32, recs []kafkatest.Record, set *rules.Set) string {
	t.Helper()
	addr := e.Addr
	db := e.Database(t)
	_, brokers := kafkatest.NewCluster(t, partitions, topic)
	cl := kafkatest.Client(t, brokers)
	kafkatest.Produce(t, cl, topic, recs)
	client := openSinkForTest(t, addr, db, set)
	en := &env{brokers: brokers, db: db, client: client, set: set}
	_, stop := start(t, en.config("all"), client, set)
	kafkatest.WaitCommitted(t, cl, "all", topic, time.Minute)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return db
}

// putRules puts set in force in ClickHouse, as run does (its sinkRules).
func putRules(t *testing.T, client *sink.Client, set *rules.Set) {
	t.Helper()
	rs := sink.RuleSet{Version: set.Version}
	for _, c := range set.Conversions {
		rs.Rules = append(rs.Rules, sink.Rule{ID: c.ID, Type: c.Type, Category: c.Category, Description: c.Description})
	}
	for _, f := range set.Funnels {
		rs.Funnels = append(rs.Funnels, sink.Funnel{ID: f.ID, Window: f.Window, Steps: f.Steps})
	}
	if _, err := client.PutRules(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
}

// openSinkForTest opens the sink on a fresh database with the schema and
// the rules in force.
func openSinkForTest(t *testing.T, addr, db string, set *rules.Set) *sink.Client {
	t.Helper()
	ctx := context.Background()
	client, err := sink.Open(ctx, sink.Config{Addr: []string{addr}, Database: db, RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	if err := client.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	putRules(t, client, set)
	return client
}
