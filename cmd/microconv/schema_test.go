package main

import (
	"net"
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

// schemaOutput runs `microconv schema` in-process and returns its output.
func schemaOutput(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb strings.Builder
	if code := mainWith(append([]string{"schema"}, args...), nil, &out, &errb); code != 0 {
		t.Fatalf("microconv schema %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// splitStatements cuts schema's output at every ";" that ends a line.
func splitStatements(t *testing.T, sql string) []string {
	t.Helper()
	if !strings.HasSuffix(sql, ";\n") {
		t.Fatalf("output does not end with \";\\n\": %q", sql[max(0, len(sql)-40):])
	}
	var out []string
	for _, s := range strings.Split(sql, ";\n") {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// clickhouseClient runs clickhouse-client (Debian's, a real outside client)
// against the test server with args, stdin as its input.
func clickhouseClient(t *testing.T, addr, stdin string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("clickhouse-client")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("clickhouse-client is missing: make test installs it")
		}
		t.Skip("no clickhouse-client: apt-get install clickhouse-client, or run make test")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--host", host, "--port", port}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("clickhouse-client %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func TestSchemaBadInput(t *testing.T) {
	f := func(want string, args ...string) {
		t.Helper()
		var out, errb strings.Builder
		code := mainWith(append([]string{"schema"}, args...), nil, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), want) || out.Len() != 0 {
			t.Fatalf("schema %q: exit %d, stderr %q, stdout %d bytes; want a failure naming %q and no statements", args, code, errb.String(), out.Len(), want)
		}
	}
	f("invalid ClickHouse server version", "--server-version", "twenty")
	f("or later is needed", "--server-version", "1.1")
	f("invalid database name", "--database", "a-b")
	f("invalid ClickHouse cluster name", "--cluster", "c3;DROP")
	f("invalid ClickHouse cluster name", "--cluster", "`c`")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("conversions:\n  - id: Bad-Id\n    match: {event: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f("bad.yaml", "--rules", bad)
}

// The 18.16 statements, run by clickhouse-client --multiquery, build the
// same database migrate builds: migrate then finds every view current and
// the rules in force (it records nothing new), and running the output twice
// changes nothing.
func TestSchemaOnServer(t *testing.T) {
	srv := chtest.Server(t)
	db := srv.Database(t)
	rulesPath := writeRules(t, t.TempDir(), gen.DefaultRules)
	sql := schemaOutput(t, "--server-version", "18.16", "--database", db, "--rules", rulesPath)
	for i := 0; i < 2; i++ {
		clickhouseClient(t, srv.Addr, sql, "--multiquery")
	}
	counts := func() string {
		return srv.Rows(t, "SELECT toString(count()), toString(uniqExact(seq)) FROM "+db+".conversion_rules") + " / " +
			srv.Rows(t, "SELECT toString(count()) FROM "+db+".conversion_funnels") + " / " +
			srv.Rows(t, "SELECT toString(count()) FROM system.tables WHERE database = '"+db+"' AND engine = 'View'")
	}
	// 19 rules stored once, 4 funnels, 4 static views + 5 per funnel.
	if got, want := counts(), "19 1 / 4 / 24"; got != want {
		t.Fatalf("after applying the output twice: rules, rule sets / funnels / views = %s, want %s", got, want)
	}
	records := srv.Rows(t, "SELECT toString(count()) FROM "+db+".schema_views")
	cmd := exec.Command(binary(t), "migrate")
	cmd.Env = []string{"MICROCONV_CLICKHOUSE_ADDR=" + srv.Addr, "MICROCONV_CLICKHOUSE_DATABASE=" + db, "MICROCONV_RULES=" + rulesPath}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "unchanged") {
		t.Fatalf("migrate after schema: %v\n%s", err, out)
	}
	if got := srv.Rows(t, "SELECT toString(count()) FROM "+db+".schema_views"); got != records {
		t.Fatalf("migrate re-created views after schema: %s view records, was %s (schema and migrate render different SQL)", got, records)
	}
	if got, want := counts(), "19 1 / 4 / 24"; got != want {
		t.Fatalf("after migrate: %s, want %s", got, want)
	}
}

// The acceptance path: a gen stream through the real pipeline into
// ClickHouse 18.16; the rows of every table, dumped by clickhouse-client in
// Native format, loaded into ClickHouse 26.7 (chDB) tables created from
// `microconv schema --server-version 26.7`: every view on 26.7 equals the
// truth, as on 18.16.
func TestSchemaModernFromServerRows(t *testing.T) {
	srv := chtest.Server(t)
	ch := chtest.ChDB(t)
	stream, truth, rulesPath := defaultScenario(t, 7, 1200)
	db := runStream(t, srv, rulesPath, stream)
	if n := gentest.CheckViews(t, srv, db, truth); n < 300 {
		t.Fatalf("compared only %d rows on 18.16", n)
	}

	acc := "acc_" + strings.TrimPrefix(db, "test_")
	t.Cleanup(func() { _, _ = ch.TryQuery("DROP DATABASE IF EXISTS " + acc) })
	stmts := splitStatements(t, schemaOutput(t, "--server-version", "26.7", "--database", acc, "--rules", rulesPath))
	for _, s := range stmts {
		ch.Exec(t, s)
	}
	dir := t.TempDir()
	for _, table := range []string{"events", "conversions", "rejected_events", "conversion_rules"} {
		native := clickhouseClient(t, srv.Addr, "", "--query", "SELECT * FROM "+db+"."+table+" FORMAT Native")
		path := filepath.Join(dir, table+".native")
		if err := os.WriteFile(path, []byte(native), 0o644); err != nil {
			t.Fatal(err)
		}
		ch.Exec(t, "INSERT INTO "+acc+"."+table+" SELECT * FROM file('"+path+"', Native)")
	}
	if got := ch.Rows(t, "SELECT toString(uniqExact(event_id)) FROM "+acc+".events"); got != srv.Rows(t, "SELECT toString(uniqExact(event_id)) FROM "+db+".events") {
		t.Fatalf("chDB holds %s distinct events", got)
	}
	n := gentest.CheckViews(t, ch, acc, truth)
	// first_seen and last_seen: 26.7 shows the milliseconds 18.16 drops.
	ms := ch.Rows(t, "SELECT toString(countIf(toUnixTimestamp64Milli(first_seen) % 1000 != 0)) FROM "+acc+".conversion_summary WHERE first_seen IS NOT NULL")
	if ms == "0" {
		t.Errorf("conversion_summary.first_seen on 26.7 has no milliseconds")
	}
	t.Logf("%d view rows on ClickHouse 26.7 equal to the truth (%d statements of schema)", n, len(stmts))
}

// runStream runs the built binary's `run` over stream (produced to kfake)
// into a fresh database of srv with the rules at rulesPath, until every
// message is committed, and returns the database.
func runStream(t *testing.T, srv *chtest.Engine, rulesPath string, stream *gen.Stream) string {
	t.Helper()
	db := srv.Database(t)
	const topic = "clickstream"
	_, brokers := kafkatest.NewCluster(t, 3, topic)
	cl := kafkatest.Client(t, brokers)
	produceSpread(t, cl, topic, 3, stream.Messages)
	var logs syncBuffer
	cmd := startRun(t, binary(t), []string{
		"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"MICROCONV_KAFKA_TOPICS=" + topic,
		"MICROCONV_KAFKA_GROUP=schema-e2e",
		"MICROCONV_CLICKHOUSE_ADDR=" + srv.Addr,
		"MICROCONV_CLICKHOUSE_DATABASE=" + db,
		"MICROCONV_RULES=" + rulesPath,
		"MICROCONV_HTTP_ADDR=",
		"MICROCONV_BATCH_MAX_WAIT=200ms",
	}, &logs)
	kafkatest.WaitCommitted(t, cl, "schema-e2e", topic, 3*time.Minute)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	return db
}
