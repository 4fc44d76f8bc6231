package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/gentest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/internal/testkit/segtest"
	"github.com/microconv/microconv/rules"
	"github.com/twmb/franz-go/pkg/kgo"
)

// buildBinary builds ./cmd/microconv once per test run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "microconv-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "microconv")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// produceWithKcat sends every message with kcat, a real outside client, as
// the acceptance run does; without kcat (laptops) it falls back to franz-go.
// In CI kcat must be there.
func produceWithKcat(t *testing.T, brokers []string, topic string, s segtest.Stream) segtest.Stream {
	t.Helper()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat not found and CI is set: `make test` installs it (apt-get install kcat)")
		}
		t.Log("kcat not found: producing with franz-go instead")
		recs := make([]kafkatest.Record, len(s.Messages))
		for i, m := range s.Messages {
			recs[i] = kafkatest.Record{Partition: m.Partition, Value: m.Value}
		}
		kafkatest.Produce(t, kafkatest.Client(t, brokers), topic, recs)
		return s
	}
	s = s.WithoutEmpty()
	// One kcat per partition, messages separated by a byte that none
	// contains, so that empty messages and any byte survive.
	byPart := map[int32][]byte{}
	for _, m := range s.Messages {
		if bytes.IndexByte(m.Value, 0x1e) >= 0 {
			t.Fatalf("message contains the delimiter: %q", m.Value)
		}
		byPart[m.Partition] = append(append(byPart[m.Partition], m.Value...), 0x1e)
	}
	for p, data := range byPart {
		cmd := exec.Command(kcat, "-P", "-b", strings.Join(brokers, ","), "-t", topic, "-p", fmt.Sprint(p), "-D", "\x1e", "-z", "lz4")
		cmd.Stdin = bytes.NewReader(data)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
	}
	return s
}

// defaultScenario generates the seeded clickstream, its ground truth under
// gen's default rules, and a rules file holding those rules.
func defaultScenario(t *testing.T, seed uint64, users int) (stream *gen.Stream, truth *gen.Truth, rulesPath string) {
	t.Helper()
	set, err := rules.Parse("rules.yaml", []byte(gen.DefaultRules))
	if err != nil {
		t.Fatal(err)
	}
	stream = gen.Generate(gen.Options{Seed: seed, Users: users})
	truth, err = gen.ComputeTruth(stream, set)
	if err != nil {
		t.Fatal(err)
	}
	rulesPath = filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(gen.DefaultRules), 0o644); err != nil {
		t.Fatal(err)
	}
	return stream, truth, rulesPath
}

// produceSpread produces msgs to topic, keyed as generated, spread round
// robin over its partitions.
func produceSpread(t *testing.T, cl *kgo.Client, topic string, partitions int, msgs []gen.Message) {
	t.Helper()
	recs := make([]kafkatest.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = kafkatest.Record{Partition: int32(i % partitions), Key: m.Key, Value: m.Value}
	}
	kafkatest.Produce(t, cl, topic, recs)
}

// startRun starts `microconv run` with environ, its output going to logs;
// it is killed at the end of the test if still running.
func startRun(t *testing.T, bin string, environ []string, logs io.Writer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "run")
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func httpGet(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The acceptance scenario: the built binary, configured only by documented
// environment variables, against a Kafka-protocol broker fed by kcat and a
// real ClickHouse; `migrate` twice, `run` until everything is committed,
// SIGTERM, exit 0, and every conversion_summary figure and the rejected
// count equal to the truth computed by segtest.
func TestBinaryEndToEnd(t *testing.T) {
	chAddr := chtest.Addr(t)
	db := chtest.Database(t)
	bin := binary(t)
	const topic = "clickstream"
	_, brokers := kafkatest.NewCluster(t, 3, topic)
	stream := segtest.Generate(segtest.Options{Seed: 11, Users: 4000, Partitions: 3, Dups: 0.03, Malformed: 40, NoIDShare: 0.05})
	stream = produceWithKcat(t, brokers, topic, stream)

	dir := t.TempDir()
	rulesPath := writeRules(t, dir, segtest.Rules)
	httpAddr := freeAddr(t)
	environ := []string{
		"PATH=" + os.Getenv("PATH"),
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_KAFKA_TOPICS=" + topic,
		"MICROCONV_KAFKA_GROUP=acceptance",
		"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
		"MICROCONV_CLICKHOUSE_DATABASE=" + db,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=" + httpAddr,
		"MICROCONV_BATCH_MAX_WAIT=200ms",
	}
	for i, want := range []string{"stored", "unchanged"} {
		cmd := exec.Command(bin, "migrate")
		cmd.Env = environ
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("migrate #%d: %v\n%s", i+1, err, out)
		}
		if !strings.Contains(string(out), "rules version") || !strings.Contains(string(out), want) {
			t.Fatalf("migrate #%d output lacks %q:\n%s", i+1, want, out)
		}
	}

	var logs syncBuffer
	cmd := exec.Command(bin, "run")
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	if code, body := httpGet("http://" + httpAddr + "/healthz"); code != 0 && code != 200 {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	cl := kafkatest.Client(t, brokers)
	kafkatest.WaitCommitted(t, cl, "acceptance", topic, 2*time.Minute)

	if code, body := httpGet("http://" + httpAddr + "/healthz"); code != 200 {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, body := httpGet("http://" + httpAddr + "/readyz"); code != 200 {
		t.Errorf("/readyz = %d %s", code, body)
	}
	code, metrics := httpGet("http://" + httpAddr + "/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	wantConsumed := fmt.Sprintf("microconv_consumer_events_consumed_total{topic=%q} %d", topic, len(stream.Messages))
	for _, want := range []string{wantConsumed, "microconv_sink_rows_total{table=\"events\"}", "microconv_rules_loaded 9", "microconv_build_info{", `microconv_consumer_events_rejected_total{reason="invalid_json"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, _ := httpGet("http://" + httpAddr + "/nope"); code != 404 {
		t.Errorf("unknown route answered %d, want 404", code)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/metrics", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /metrics = %d, want 405 (read-only routes)", resp.StatusCode)
		}
	}

	began := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("run exited with %v after SIGTERM; logs:\n%s", err, logs.String())
		}
	case <-time.After(45 * time.Second):
		t.Fatalf("run did not exit within 45s of SIGTERM; logs:\n%s", logs.String())
	}
	t.Logf("exited %s after SIGTERM", time.Since(began).Round(time.Millisecond))
	checkSegViews(t, db, stream)
	if t.Failed() {
		t.Logf("logs:\n%s", logs.String())
	}
}

// writeRules writes a rule file rules.yaml into dir and returns its path.
func writeRules(t *testing.T, dir, yaml string) string {
	t.Helper()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkSegViews compares every view of db with gen's truth for the segtest
// stream and rule file.
func checkSegViews(t *testing.T, db string, stream segtest.Stream) {
	t.Helper()
	set, err := rules.Parse("rules.yaml", []byte(segtest.Rules))
	if err != nil {
		t.Fatal(err)
	}
	truth, err := gen.ComputeTruth(stream.Gen(), set)
	if err != nil {
		t.Fatal(err)
	}
	segtest.CheckExercised(t, truth)
	gentest.CheckViews(t, chtest.Server(t), db, truth)
}

// A bad variable stops start-up with its name, before touching anything.
func TestBadVariableStopsStartup(t *testing.T) {
	bin := binary(t)
	f := func(kv, want string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "run")
		cmd.Env = []string{kv}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("run with %s succeeded", kv)
		}
		if !strings.Contains(string(out), want) {
			t.Fatalf("run with %s printed %q, want it to name %s", kv, out, want)
		}
	}
	f("MICROCONV_BATCH_MAX_ROWS=many", "MICROCONV_BATCH_MAX_ROWS")
	f("MICROCONV_KAFKA_START=yesterday", "MICROCONV_KAFKA_START")
	f("MICROCONV_BATCH_MAX_WAIT=-1s", "MICROCONV_BATCH_MAX_WAIT")
}

// Passwords never appear in logs or error messages, whatever fails.
func TestSecretsNeverLogged(t *testing.T) {
	chAddr := chtest.Addr(t)
	bin := binary(t)
	_, brokers := kafkatest.NewCluster(t, 1, "clickstream")
	dir := t.TempDir()
	rulesPath := writeRules(t, dir, segtest.Rules)
	const chSecret, kafkaSecret = "ch-Secret-8c1f0e", "kafka-Secret-77ab2d"
	environ := []string{
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_KAFKA_SASL_MECHANISM=SCRAM-SHA-256",
		"MICROCONV_KAFKA_SASL_USERNAME=svc",
		"MICROCONV_KAFKA_SASL_PASSWORD=" + kafkaSecret,
		"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
		"MICROCONV_CLICKHOUSE_USERNAME=microconv_nobody",
		"MICROCONV_CLICKHOUSE_PASSWORD=" + chSecret,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=" + freeAddr(t),
		"MICROCONV_LOG_LEVEL=debug",
	}
	check := func(what, out string) {
		t.Helper()
		for _, s := range []string{chSecret, kafkaSecret} {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains a password:\n%s", what, out)
			}
		}
	}
	// migrate: wrong ClickHouse credentials.
	cmd := exec.Command(bin, "migrate")
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("migrate with a wrong password succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "microconv_nobody") && !strings.Contains(strings.ToLower(string(out)), "auth") && !strings.Contains(strings.ToLower(string(out)), "password") {
		t.Errorf("migrate did not say what failed:\n%s", out)
	}
	check("migrate", string(out))

	// run: wrong ClickHouse credentials and SASL against a broker without
	// SASL; it retries and logs; stop it after a few seconds.
	var logs syncBuffer
	cmd = exec.Command(bin, "run")
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("run did not stop within 30s of SIGTERM")
	}
	if !strings.Contains(logs.String(), "cannot connect to clickhouse") {
		t.Errorf("run did not log the ClickHouse failure:\n%s", logs.String())
	}
	check("run", logs.String())
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SIGHUP reloads the rules: a broken file is refused and the rules in force
// stay; a valid change applies to the next events and to conversion_rules.
func TestSIGHUPReload(t *testing.T) {
	chAddr := chtest.Addr(t)
	db := chtest.Database(t)
	bin := binary(t)
	const topic = "clickstream"
	_, brokers := kafkatest.NewCluster(t, 1, topic)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	write := func(s string) {
		if err := os.WriteFile(rulesPath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(segtest.Rules)
	httpAddr := freeAddr(t)
	var logs syncBuffer
	cmd := exec.Command(bin, "run")
	cmd.Env = []string{
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
		"MICROCONV_CLICKHOUSE_DATABASE=" + db,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=" + httpAddr,
		"MICROCONV_BATCH_MAX_WAIT=100ms",
	}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Ready means the schema exists and the rules in force are stored.
	waitFor(t, "/readyz", 60*time.Second, func() bool { c, _ := httpGet("http://" + httpAddr + "/readyz"); return c == 200 })
	conn := chtest.Conn(t)
	inForce := func() string {
		t.Helper()
		r := chtest.QueryStrings(t, conn, "SELECT version FROM "+db+".conversion_rules ORDER BY seq DESC LIMIT 1")
		if len(r) != 1 {
			t.Fatalf("conversion_rules is empty although /readyz answered 200; logs:\n%s", logs.String())
		}
		return r[0][0]
	}
	v1 := inForce()
	if set, err := rules.Parse("rules.yaml", []byte(segtest.Rules)); err != nil || v1 != set.Version {
		t.Fatalf("rules in force when ready = %s, want the file's version (%v)", v1, err)
	}

	write(segtest.Rules + "  - id: Bad-Id\n    match: {event: X}\n")
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "reload error metric", 10*time.Second, func() bool { return metricValue(t, httpAddr, `microconv_rules_reloads_total{result="error"}`) >= 1 })
	if v := inForce(); v != v1 {
		t.Fatalf("a broken file changed the rules in force: %s → %s", v1, v)
	}
	if !strings.Contains(logs.String(), "cannot reload rules") || !strings.Contains(logs.String(), "Bad-Id") {
		t.Errorf("the refused reload was not logged with its error:\n%s", logs.String())
	}

	extended := strings.Replace(segtest.Rules, "funnels:", "  - id: signed_up\n    match: {event: Signed Up}\nfunnels:", 1)
	write(extended)
	_ = cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "reload success metric", 10*time.Second, func() bool { return metricValue(t, httpAddr, `microconv_rules_reloads_total{result="success"}`) >= 1 })
	v2 := inForce()
	if v2 == v1 {
		t.Fatal("a valid change did not change the rules in force")
	}
	rows := chtest.QueryStrings(t, conn, "SELECT toString(users) FROM "+db+".conversion_summary WHERE conversion = 'signed_up'")
	if len(rows) != 1 || rows[0][0] != "0" {
		t.Fatalf("conversion_summary for the new rule = %v, want one row with 0 users", rows)
	}
	kafkatest.Produce(t, kafkatest.Client(t, brokers), topic, []kafkatest.Record{{Value: []byte(
		`{"type":"track","event":"Signed Up","userId":"u1","messageId":"s1","timestamp":"2026-01-01T00:00:00.5Z"}`)}})
	waitFor(t, "the new rule to tag an event", 30*time.Second, func() bool {
		r := chtest.QueryStrings(t, conn, "SELECT rules_version FROM "+db+".conversions WHERE conversion = 'signed_up'")
		return len(r) == 1 && r[0][0] == v2
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
}

// Lag, exact: with the consumer paused (SIGSTOP) and more messages produced,
// `microconv lag --json` equals an independent admin client's count on every
// partition; after SIGCONT the lag metric returns to 0.
func TestLagWhilePaused(t *testing.T) {
	chAddr := chtest.Addr(t)
	db := chtest.Database(t)
	bin := binary(t)
	const topic = "clickstream"
	_, brokers := kafkatest.NewCluster(t, 4, topic)
	cl := kafkatest.Client(t, brokers)
	stream := segtest.Generate(segtest.Options{Seed: 5, Users: 300, Partitions: 4, Dups: 0.03, Malformed: 5})
	produce := func(s segtest.Stream) {
		recs := make([]kafkatest.Record, len(s.Messages))
		for i, m := range s.Messages {
			recs[i] = kafkatest.Record{Partition: m.Partition, Value: m.Value}
		}
		kafkatest.Produce(t, cl, topic, recs)
	}
	produce(stream)
	dir := t.TempDir()
	rulesPath := writeRules(t, dir, segtest.Rules)
	httpAddr := freeAddr(t)
	environ := []string{
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_KAFKA_GROUP=lagged",
		"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
		"MICROCONV_CLICKHOUSE_DATABASE=" + db,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=" + httpAddr,
		"MICROCONV_BATCH_MAX_WAIT=100ms",
	}
	var logs syncBuffer
	cmd := exec.Command(bin, "run")
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGCONT); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	kafkatest.WaitCommitted(t, cl, "lagged", topic, time.Minute)

	_ = cmd.Process.Signal(syscall.SIGSTOP)
	more := segtest.Generate(segtest.Options{Seed: 6, Users: 200, Partitions: 4, Malformed: 3})
	produce(more)

	lagCmd := exec.Command(bin, "lag", "--group", "lagged", "--json")
	lagCmd.Env = environ
	out, err := lagCmd.Output()
	if err != nil {
		t.Fatalf("lag: %v\n%s", err, out)
	}
	var got []struct {
		Topic      string  `json:"topic"`
		Partition  int32   `json:"partition"`
		End        int64   `json:"end"`
		Committed  int64   `json:"committed"`
		Lag        int64   `json:"lag"`
		LagSeconds float64 `json:"lag_seconds"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("lag --json printed %q: %v", out, err)
	}
	ends := kafkatest.EndOffsets(t, cl, topic)
	committed := kafkatest.Committed(t, cl, "lagged", topic)
	if len(got) != len(ends) {
		t.Fatalf("lag lists %d partitions, the topic has %d", len(got), len(ends))
	}
	total := int64(0)
	for _, g := range got {
		want := ends[g.Partition] - committed[g.Partition]
		if g.Topic != topic || g.End != ends[g.Partition] || g.Committed != committed[g.Partition] || g.Lag != want {
			t.Errorf("partition %d: lag says end %d committed %d lag %d; admin client: end %d committed %d lag %d",
				g.Partition, g.End, g.Committed, g.Lag, ends[g.Partition], committed[g.Partition], want)
		}
		if g.Lag > 0 && g.LagSeconds <= 0 {
			t.Errorf("partition %d lags %d messages but lag_seconds is %v", g.Partition, g.Lag, g.LagSeconds)
		}
		total += g.Lag
	}
	if total != int64(len(more.Messages)) {
		t.Errorf("total lag %d, want the %d messages produced while paused", total, len(more.Messages))
	}
	// The table form names the same total.
	tableCmd := exec.Command(bin, "lag", "--group", "lagged")
	tableCmd.Env = environ
	tout, err := tableCmd.Output()
	if err != nil || !strings.Contains(string(tout), fmt.Sprint(total)) {
		t.Errorf("lag table (%v):\n%s", err, tout)
	}

	_ = cmd.Process.Signal(syscall.SIGCONT)
	kafkatest.WaitCommitted(t, cl, "lagged", topic, time.Minute)
	waitFor(t, "lag metrics back to 0", 30*time.Second, func() bool {
		_, m := httpGet("http://" + httpAddr + "/metrics")
		if !strings.Contains(m, "microconv_consumer_lag_seconds{") {
			return false
		}
		for _, line := range strings.Split(m, "\n") {
			if strings.HasPrefix(line, "microconv_consumer_lag_messages{") && !strings.HasSuffix(line, " 0") {
				return false
			}
		}
		return strings.Contains(m, "microconv_consumer_lag_messages{")
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
}

// metricValue reads one sample from /metrics (-1 when absent).
func metricValue(t *testing.T, httpAddr, series string) float64 {
	t.Helper()
	_, m := httpGet("http://" + httpAddr + "/metrics")
	for _, line := range strings.Split(m, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}

// `run` on a database that does not exist yet creates the schema while it
// joins the group and decodes (the first insert waits for it): every figure
// is right, and it exits 0 on SIGTERM.
func TestRunCreatesSchema(t *testing.T) {
	chAddr := chtest.Addr(t)
	db := chtest.Database(t)
	bin := binary(t)
	const topic = "fresh"
	_, brokers := kafkatest.NewCluster(t, 2, topic)
	stream := segtest.Generate(segtest.Options{Seed: 12, Users: 1500, Partitions: 2, Dups: 0.03, Malformed: 10})
	stream = produceWithKcat(t, brokers, topic, stream)
	rulesPath := writeRules(t, t.TempDir(), segtest.Rules)
	conn := chtest.Conn(t)
	if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd := startRun(t, bin, []string{
		"PATH=" + os.Getenv("PATH"),
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_KAFKA_TOPICS=" + topic,
		"MICROCONV_KAFKA_GROUP=fresh",
		"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
		"MICROCONV_CLICKHOUSE_DATABASE=" + db,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=",
		"MICROCONV_BATCH_MAX_WAIT=200ms",
	}, &logs)
	kafkatest.WaitCommitted(t, kafkatest.Client(t, brokers), "fresh", topic, 2*time.Minute)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run exited with %v after SIGTERM; logs:\n%s", err, logs.String())
	}
	checkSegViews(t, db, stream)
	if t.Failed() {
		t.Logf("logs:\n%s", logs.String())
	}
}
