package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/microconv/microconv/consumer"
	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/internal/testkit/segtest"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// blockSchema makes the schema of db impossible to create on any
// ClickHouse: a table conversions without the columns the views read, so
// the server refuses the first view over it. Dropping it fixes the cause.
func blockSchema(t *testing.T, db string) (fix func()) {
	t.Helper()
	conn := chtest.Conn(t)
	exec := func(q string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE " + db + ".conversions (x UInt8) ENGINE = Memory")
	return func() { exec("DROP TABLE " + db + ".conversions") }
}

// counterValue reads an unlabelled counter from reg (-1 when absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}

// app.ready waits for the schema step: not ready while it has not run, not
// ready with ClickHouse's own error while it fails (each failure counted),
// ready once it succeeded and stored the rules in force — the other checks
// (rules, ClickHouse, group membership) passing throughout.
func TestReadyWaitsForSchema(t *testing.T) {
	chAddr := chtest.Addr(t)
	db := chtest.Database(t)
	set, err := rules.Parse("rules.yaml", []byte(segtest.Rules))
	if err != nil {
		t.Fatal(err)
	}
	a := &app{log: zerolog.Nop(), reg: prometheus.NewRegistry()}
	a.registerMetrics()
	a.setRules(set)
	ctx := context.Background()
	client, err := sink.Open(ctx, sink.Config{Addr: []string{chAddr}, Database: db}, zerolog.Nop(), sink.NewMetrics(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	a.sink.Store(client)

	// A consumer that is a member of its group, so that only the schema
	// can keep the instance from being ready.
	_, brokers := kafkatest.NewCluster(t, 1, "clickstream")
	cons, err := consumer.New(consumer.Config{
		Kafka:  consumer.KafkaConfig{Brokers: brokers},
		Topics: []string{"clickstream"},
		Group:  "ready",
	}, client, zerolog.Nop(), consumer.NewMetrics(nil))
	if err != nil {
		t.Fatal(err)
	}
	cons.SetRules(set)
	a.cons.Store(cons)
	consCtx, stopCons := context.WithCancel(ctx)
	consDone := make(chan error, 1)
	go func() { consDone <- cons.Run(consCtx) }()
	defer func() { stopCons(); <-consDone }()
	waitFor(t, "the consumer to join its group", 60*time.Second, cons.Joined)

	if err := a.ready(ctx); err == nil || err.Error() != "the schema is not created yet" {
		t.Fatalf("ready before the schema step = %v, want \"the schema is not created yet\"", err)
	}

	fix := blockSchema(t, db)
	refused := client.Migrate(ctx) // what ClickHouse says to this database
	if refused == nil {
		t.Fatal("Migrate succeeded on a database with a table conversions without its columns")
	}
	schemaCtx, stopSchema := context.WithCancel(ctx)
	defer stopSchema()
	schemaDone := make(chan error, 1)
	go func() { schemaDone <- a.createSchema(schemaCtx, client) }()
	waitFor(t, "a schema error to be counted", 60*time.Second, func() bool {
		return counterValue(t, a.reg, "microconv_sink_schema_errors_total") >= 1
	})
	want := "cannot create the schema: " + refused.Error()
	if err := a.ready(ctx); err == nil || err.Error() != want {
		t.Fatalf("ready while the schema fails = %v, want %q", err, want)
	}

	fix()
	select {
	case err := <-schemaDone:
		if err != nil {
			t.Fatalf("createSchema = %v after the cause was removed", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("createSchema did not succeed within 60 s of the cause being removed")
	}
	if err := a.ready(ctx); err != nil {
		t.Fatalf("ready after the schema was created = %v, want nil", err)
	}
	stored := chtest.QueryStrings(t, chtest.Conn(t), "SELECT version FROM "+db+".conversion_rules ORDER BY seq DESC LIMIT 1")
	if len(stored) != 1 || stored[0][0] != set.Version {
		t.Fatalf("rules in force after the schema step = %v, want version %s", stored, set.Version)
	}

	// The other checks still apply once the schema exists.
	a.cons.Store(nil)
	if err := a.ready(ctx); err == nil || !strings.Contains(err.Error(), "consumer group") {
		t.Fatalf("ready without a group member = %v, want an error naming the consumer group", err)
	}
}

func TestSchemaState(t *testing.T) {
	var s schemaState
	if err := s.check(); err == nil || !strings.Contains(err.Error(), "schema is not created yet") {
		t.Fatalf("pending: check = %v", err)
	}
	s.failed(errors.New("code: 60, message: Table x doesn't exist"))
	if err := s.check(); err == nil || err.Error() != "cannot create the schema: code: 60, message: Table x doesn't exist" {
		t.Fatalf("failing: check = %v", err)
	}
	s.failed(errors.New("code: 47, message: Unknown identifier: y"))
	if err := s.check(); err == nil || err.Error() != "cannot create the schema: code: 47, message: Unknown identifier: y" {
		t.Fatalf("failing again: check = %v, want the last error", err)
	}
	s.created()
	if err := s.check(); err != nil {
		t.Fatalf("created: check = %v", err)
	}
}

// retry hands every failure to failed, logs the first at once (later ones
// at most every 10 s), and stops without counting a failure when ctx ends.
func TestRetry(t *testing.T) {
	var logs bytes.Buffer
	log := zerolog.New(&logs)
	var got []string
	calls := 0
	err := retry(context.Background(), log, "do it", func(context.Context) error {
		calls++
		if calls <= 2 {
			return fmt.Errorf("boom %d", calls)
		}
		return nil
	}, func(err error) { got = append(got, err.Error()) })
	if err != nil || calls != 3 {
		t.Fatalf("retry = %v after %d calls, want nil after 3", err, calls)
	}
	if strings.Join(got, ",") != "boom 1,boom 2" {
		t.Fatalf("failures handed over = %q, want boom 1, boom 2", got)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines within 10 s, want 1:\n%s", len(lines), logs.String())
	}
	var line struct{ Level, Error, Message string }
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line.Level != "error" || line.Error != "boom 1" || line.Message != "cannot do it, retrying" {
		t.Fatalf("log line = %+v, want error \"boom 1\" at level error", line)
	}

	ctx, cancel := context.WithCancel(context.Background())
	got = nil
	err = retry(ctx, log, "do it", func(ctx context.Context) error {
		cancel()
		return ctx.Err()
	}, func(err error) { got = append(got, err.Error()) })
	if !errors.Is(err, context.Canceled) || len(got) != 0 {
		t.Fatalf("retry with ctx ended = %v, failures %q; want context.Canceled and none", err, got)
	}
}

// `run` against a database whose schema ClickHouse refuses: /readyz stays
// 503 naming the refusal, the failures are counted and logged with the
// server's message; once the cause is removed it creates the schema, stores
// the rules and becomes ready without a restart.
func TestRunNotReadyWhileSchemaFails(t *testing.T) {
	chAddr := chtest.Addr(t)
	db := chtest.Database(t)
	bin := binary(t)
	const topic = "clickstream"
	_, brokers := kafkatest.NewCluster(t, 1, topic)
	rulesPath := writeRules(t, t.TempDir(), segtest.Rules)
	fix := blockSchema(t, db)
	httpAddr := freeAddr(t)
	environ := []string{
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_KAFKA_TOPICS=" + topic,
		"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
		"MICROCONV_CLICKHOUSE_DATABASE=" + db,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=" + httpAddr,
	}

	// What ClickHouse says, as `migrate` prints it.
	var stderr bytes.Buffer
	migrate := exec.Command(bin, "migrate")
	migrate.Env = environ
	migrate.Stderr = &stderr
	if err := migrate.Run(); err == nil {
		t.Fatalf("migrate succeeded on a database with a table conversions without its columns:\n%s", stderr.String())
	}
	var refused string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if s, ok := strings.CutPrefix(l, "microconv migrate: "); ok {
			refused = s
		}
	}
	if !strings.Contains(refused, "cannot create view") || !strings.Contains(refused, "code: ") {
		t.Fatalf("migrate did not print ClickHouse's refusal of a view:\n%s", stderr.String())
	}

	var logs syncBuffer
	cmd := startRun(t, bin, environ, &logs)
	waitFor(t, "a schema error on /metrics", 60*time.Second, func() bool {
		return metricValue(t, httpAddr, "microconv_sink_schema_errors_total") >= 1
	})
	// Consuming otherwise works: only the schema keeps it from being ready.
	waitFor(t, "the consumer to join its group", 60*time.Second, func() bool {
		return metricValue(t, httpAddr, "microconv_consumer_assigned_partitions") == 1
	})
	want := "not ready: cannot create the schema: " + refused + "\n"
	for i := 0; i < 3; i++ {
		if code, body := httpGet("http://" + httpAddr + "/readyz"); code != 503 || body != want {
			t.Fatalf("/readyz while the schema fails = %d %q, want 503 %q\nlogs:\n%s", code, body, want, logs.String())
		}
		time.Sleep(time.Second)
	}
	logged := false
	for _, l := range strings.Split(logs.String(), "\n") {
		var line struct{ Level, Error, Message string }
		if json.Unmarshal([]byte(l), &line) == nil && line.Message == "cannot create the schema, retrying" {
			logged = line.Level == "error" && line.Error == refused
			break
		}
	}
	if !logged {
		t.Errorf("the first schema failure was not logged at level error with %q:\n%s", refused, logs.String())
	}

	fix()
	waitFor(t, "/readyz 200 after the cause was removed", 90*time.Second, func() bool {
		code, _ := httpGet("http://" + httpAddr + "/readyz")
		return code == 200
	})
	stored := chtest.QueryStrings(t, chtest.Conn(t), "SELECT toString(count()) FROM "+db+".conversion_rules")
	if len(stored) != 1 || stored[0][0] == "0" {
		t.Errorf("conversion_rules after ready = %v, want the rules in force", stored)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
}
