package main

import (
	"math/rand/v2"
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
	"github.com/microconv/microconv/internal/testkit/testcerts"
)

// privateClickHouse starts a ClickHouse of this test's own (it is killed
// and restarted, so it cannot be the shared one) with .ci/clickhouse.
type privateClickHouse struct {
	t       *testing.T
	dir     string
	addr    string
	tlsAddr string
}

func startPrivateClickHouse(t *testing.T) *privateClickHouse {
	t.Helper()
	return startPrivateClickHouseTLS(t, nil)
}

// startPrivateClickHouseTLS also serves TLS on a second port (p.tlsAddr)
// with the server certificate of certs, when certs is not nil.
func startPrivateClickHouseTLS(t *testing.T, certs *testcerts.Set) *privateClickHouse {
	t.Helper()
	chtest.Addr(t) // skip or fail like every integration test when there is no server
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("clickhouse-server is not installed and CI is set")
		}
		t.Skip("clickhouse-server is not installed: the chaos test starts its own")
	}
	p := &privateClickHouse{t: t, dir: t.TempDir()}
	if certs != nil {
		if err := os.MkdirAll(filepath.Join(p.dir, "tls"), 0o755); err != nil {
			t.Fatal(err)
		}
		for src, dst := range map[string]string{certs.ServerCert: "server.crt", certs.ServerKey: "server.key"} {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p.dir, "tls", dst), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := p.script("start")
	for _, line := range strings.Split(out, "\n") {
		if a, ok := strings.CutPrefix(line, "ADDR="); ok {
			p.addr = a
		}
	}
	if p.addr == "" {
		t.Fatalf(".ci/clickhouse start printed no address:\n%s", out)
	}
	if certs != nil {
		b, err := os.ReadFile(filepath.Join(p.dir, "tls_addr"))
		if err != nil {
			t.Fatalf("no TLS address: %v", err)
		}
		p.tlsAddr = strings.TrimSpace(string(b))
	}
	t.Cleanup(func() { p.script("stop") })
	return p
}

func (p *privateClickHouse) script(cmd string) string {
	p.t.Helper()
	out, err := exec.Command("../../.ci/clickhouse", cmd, p.dir).CombinedOutput()
	if err != nil {
		p.t.Fatalf(".ci/clickhouse %s: %v\n%s", cmd, err, out)
	}
	return string(out)
}

// Chaos: the stream arrives in six chunks; after each the consumer is
// SIGKILLed part-way and restarted; once ClickHouse is SIGKILLed, kept down
// 5 s and restarted while the consumer runs. Afterwards every view equals
// the ground truth, and the consumer's peak RSS stays under 300 MB.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	ch := startPrivateClickHouse(t)
	bin := binary(t)
	const topic, group = "clickstream", "chaos"
	_, brokers := kafkatest.NewCluster(t, 8, topic)
	cl := kafkatest.Client(t, brokers)

	stream, truth, rulesPath := defaultScenario(t, 2024, 9000)
	httpAddr := freeAddr(t)
	environ := []string{
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_KAFKA_TOPICS=" + topic,
		"MICROCONV_KAFKA_GROUP=" + group,
		"MICROCONV_CLICKHOUSE_ADDR=" + ch.addr,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=" + httpAddr,
		"MICROCONV_BATCH_MAX_WAIT=300ms",
	}
	migrate := exec.Command(bin, "migrate")
	migrate.Env = environ
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}

	var logs syncBuffer
	r := rand.New(rand.NewPCG(7, 7))
	peak := 0.0
	kills := 0
	chunks := 6
	per := (len(stream.Messages) + chunks - 1) / chunks
	for i := 0; i < chunks; i++ {
		part := stream.Messages[i*per : min((i+1)*per, len(stream.Messages))]
		produceSpread(t, cl, topic, 8, part)
		cmd := startRun(t, bin, environ, &logs)
		if i == 2 {
			// ClickHouse dies under the running consumer and comes back 5 s later.
			time.Sleep(700 * time.Millisecond)
			ch.script("kill")
			time.Sleep(2 * time.Second)
			if code, body := httpGet("http://" + httpAddr + "/readyz"); code != 503 || !strings.Contains(body, "clickhouse") {
				t.Errorf("/readyz with ClickHouse down = %d %q, want 503 naming clickhouse", code, body)
			}
			time.Sleep(3 * time.Second)
			ch.script("restart")
			time.Sleep(time.Second)
		} else {
			time.Sleep(time.Duration(200+r.IntN(1200)) * time.Millisecond)
		}
		peak = max(peak, vmHWM(cmd.Process.Pid))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		kills++
	}
	cmd := startRun(t, bin, environ, &logs)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		committed := kafkatest.Committed(t, cl, group, topic)
		ends := kafkatest.EndOffsets(t, cl, topic)
		done := true
		for p, e := range ends {
			if committed[p] != e {
				done = false
			}
		}
		peak = max(peak, vmHWM(cmd.Process.Pid))
		if done {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("not everything committed after the chaos within 2 minutes; logs:\n%s", tail(logs.String(), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v\n%s", err, tail(logs.String(), 40))
	}
	n := gentest.CheckViews(t, chtest.ServerAt(t, ch.addr), "microconv", truth)
	t.Logf("%d messages in %d chunks, %d consumer SIGKILLs, ClickHouse SIGKILLed and down 5 s once; %d view rows equal the truth; consumer peak RSS %.0f MiB",
		len(stream.Messages), chunks, kills, n, peak)
	if peak > 300 {
		t.Errorf("consumer peak RSS %.0f MiB, want at most 300", peak)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ClickHouse over TLS: with the CA that signed the server's certificate the
// connection works; with another CA, or without TLS on the TLS port, it is
// refused with a clear error.
func TestClickHouseTLS(t *testing.T) {
	certs, other := testcerts.New(t), testcerts.New(t)
	ch := startPrivateClickHouseTLS(t, certs)
	bin := binary(t)
	dir := t.TempDir()
	rulesPath := writeRules(t, dir, gen.DefaultRules)
	migrate := func(extra ...string) (string, error) {
		cmd := exec.Command(bin, "migrate")
		cmd.Env = append([]string{"MICROCONV_CLICKHOUSE_ADDR=" + ch.tlsAddr, "MICROCONV_RULES=" + rulesPath}, extra...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := migrate("MICROCONV_CLICKHOUSE_TLS=true", "MICROCONV_CLICKHOUSE_TLS_CA_FILE="+certs.CAFile); err != nil || !strings.Contains(out, "schema up to date") {
		t.Fatalf("migrate over TLS: %v\n%s", err, out)
	}
	// User and password (the private server's users.xml has user microconv
	// with password s3cret-test-pw, see .ci/clickhouse), over TLS; a wrong
	// password is refused without being echoed.
	if out, err := migrate("MICROCONV_CLICKHOUSE_TLS=true", "MICROCONV_CLICKHOUSE_TLS_CA_FILE="+certs.CAFile,
		"MICROCONV_CLICKHOUSE_USERNAME=microconv", "MICROCONV_CLICKHOUSE_PASSWORD=s3cret-test-pw", "MICROCONV_CLICKHOUSE_DATABASE=with_password"); err != nil || !strings.Contains(out, "schema up to date") {
		t.Fatalf("migrate with user and password: %v\n%s", err, out)
	}
	if out, err := migrate("MICROCONV_CLICKHOUSE_TLS=true", "MICROCONV_CLICKHOUSE_TLS_CA_FILE="+certs.CAFile,
		"MICROCONV_CLICKHOUSE_USERNAME=microconv", "MICROCONV_CLICKHOUSE_PASSWORD=wrong-Pw-777"); err == nil || strings.Contains(out, "wrong-Pw-777") {
		t.Fatalf("migrate with a wrong password: %v\n%s", err, out)
	}
	if out, err := migrate("MICROCONV_CLICKHOUSE_TLS=true", "MICROCONV_CLICKHOUSE_TLS_CA_FILE="+other.CAFile); err == nil || !strings.Contains(out, "certificate") {
		t.Fatalf("migrate trusting another CA: %v\n%s", err, out)
	}
	ctxOut, err := func() (string, error) {
		cmd := exec.Command(bin, "migrate")
		cmd.Env = []string{"MICROCONV_CLICKHOUSE_ADDR=" + ch.tlsAddr, "MICROCONV_RULES=" + rulesPath}
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(90 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		return string(out), err
	}()
	if err == nil {
		t.Fatalf("migrate without TLS on the TLS port succeeded:\n%s", ctxOut)
	}
}
