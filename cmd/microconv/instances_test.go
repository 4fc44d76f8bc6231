package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/gentest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
)

// Three `microconv run` processes in one group while data flows in chunks:
// they join one after the other, one leaves (SIGTERM) and another is
// SIGKILLed mid-stream; every view equals the truth afterwards.
func TestThreeInstances(t *testing.T) {
	chAddr := chtest.Addr(t)
	db := chtest.Database(t)
	bin := binary(t)
	const topic, group = "clickstream", "three"
	_, brokers := kafkatest.NewCluster(t, 6, topic)
	cl := kafkatest.Client(t, brokers)
	stream, truth, rulesPath := defaultScenario(t, 33, 4000)
	environ := []string{
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_KAFKA_TOPICS=" + topic,
		"MICROCONV_KAFKA_GROUP=" + group,
		"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
		"MICROCONV_CLICKHOUSE_DATABASE=" + db,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=off",
		"MICROCONV_BATCH_MAX_ROWS=500",
		"MICROCONV_BATCH_MAX_WAIT=100ms",
	}
	var logs syncBuffer
	n := len(stream.Messages)
	chunk := n / 5
	produceSpread(t, cl, topic, 6, stream.Messages[:chunk])
	a := startRun(t, bin, environ, &logs)
	time.Sleep(500 * time.Millisecond)
	produceSpread(t, cl, topic, 6, stream.Messages[chunk:2*chunk])
	b := startRun(t, bin, environ, &logs)
	time.Sleep(500 * time.Millisecond)
	produceSpread(t, cl, topic, 6, stream.Messages[2*chunk:3*chunk])
	c := startRun(t, bin, environ, &logs)
	time.Sleep(700 * time.Millisecond)
	produceSpread(t, cl, topic, 6, stream.Messages[3*chunk:4*chunk])
	_ = b.Process.Signal(syscall.SIGTERM) // leaves the group cleanly
	if err := b.Wait(); err != nil {
		t.Fatalf("instance b: %v\n%s", err, logs.String())
	}
	time.Sleep(300 * time.Millisecond)
	_ = a.Process.Signal(syscall.SIGKILL) // dies holding partitions
	_ = a.Wait()
	produceSpread(t, cl, topic, 6, stream.Messages[4*chunk:])
	kafkatest.WaitCommitted(t, cl, group, topic, 2*time.Minute)
	_ = c.Process.Signal(syscall.SIGTERM)
	if err := c.Wait(); err != nil {
		t.Fatalf("instance c: %v\n%s", err, logs.String())
	}
	rows := gentest.CheckViews(t, chtest.Server(t), db, truth)
	t.Logf("%d messages, 3 instances (one left, one killed): %d view rows equal the truth", n, rows)
}
