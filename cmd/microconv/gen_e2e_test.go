package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/gentest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
)

// gen → Kafka → run → ClickHouse, with the built binary: every row of every
// view equals the ground truth gen computed in Go.
func TestGenEndToEndViews(t *testing.T) {
	chAddr := chtest.Addr(t)
	db := chtest.Database(t)
	bin := binary(t)
	const topic = "clickstream"
	_, brokers := kafkatest.NewCluster(t, 4, topic)
	dir := t.TempDir()
	rulesPath, truthPath := filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "truth.json")
	environ := []string{
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_KAFKA_TOPICS=" + topic,
		"MICROCONV_KAFKA_GROUP=gen-e2e",
		"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
		"MICROCONV_CLICKHOUSE_DATABASE=" + db,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=",
		"MICROCONV_BATCH_MAX_WAIT=200ms",
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = environ
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("microconv %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("gen", "--seed", "42", "--users", "4000", "--kafka", "--truth", truthPath, "--write-rules", rulesPath)
	run("migrate")

	cmd := exec.Command(bin, "run")
	cmd.Env = environ
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	kafkatest.WaitCommitted(t, kafkatest.Client(t, brokers), "gen-e2e", topic, 3*time.Minute)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}

	f, err := os.Open(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth, err := gen.ReadTruth(f)
	if err != nil {
		t.Fatal(err)
	}
	n := gentest.CheckViews(t, chtest.Server(t), db, truth)
	if len(truth.Funnels) < 4 || n < 500 {
		t.Fatalf("compared only %d rows over %d funnels", n, len(truth.Funnels))
	}
	t.Logf("%d view rows equal to the truth", n)
}
