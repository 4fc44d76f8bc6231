package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/gentest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/rules"
)

// TestInputEndToEnd: one generated clickstream written as Segment messages,
// as GA4 messages (up to five events of one user per message) and in a
// custom shape read through a mapping file, each on its own topic, consumed
// by the built binary with MICROCONV_INPUT=segment / ga4 / mapping into its
// own database. The three conversion_summary tables are identical, every
// view of each database equals the truth gen computes from the Segment
// stream, and the events with ids carry the same normalized fields.
//
// Rules: each shape gets gen.DefaultRules with its `where` and `value`
// paths rewritten for the shape (ruleRewrites), because rules see the raw
// message (GA4: the per-event document). Event-name-only rules would not
// test where-paths on GA4 documents and mapped messages, nor keep the
// truth's rule set; rewritten rules keep every condition of the pack.
func TestInputEndToEnd(t *testing.T) {
	chAddr := chtest.Addr(t)
	bin := binary(t)
	s := gen.Generate(gen.Options{Seed: 23, Users: 1500})
	set, err := rules.Parse("gen.yaml", []byte(gen.DefaultRules))
	if err != nil {
		t.Fatal(err)
	}
	truth, err := gen.ComputeTruth(s, set)
	if err != nil {
		t.Fatal(err)
	}
	shapes := inputShapes(t)
	msgs := map[string][]shapeMessage{"segment": toSegment(s), "ga4": toGA4(t, s, 5), "mapping": toCustom(t, s)}
	const partitions = 3
	topics := []string{"segment", "ga4", "mapping"}
	_, brokers := kafkatest.NewCluster(t, partitions, topics...)
	cl := kafkatest.Client(t, brokers)
	for _, shape := range shapes {
		recs := make([]kafkatest.Record, len(msgs[shape.name]))
		for i, m := range msgs[shape.name] {
			recs[i] = kafkatest.Record{Partition: partitionOf(m.key, i, partitions), Key: m.key, Value: m.value}
		}
		kafkatest.Produce(t, cl, shape.name, recs)
	}
	t.Logf("%d Segment messages, %d GA4 messages, %d custom messages; %d events, %d rejected",
		len(msgs["segment"]), len(msgs["ga4"]), len(msgs["mapping"]), truth.Events, truth.Rejected)

	type running struct {
		cmd    *exec.Cmd
		logs   *syncBuffer
		exited chan error
	}
	dbs := map[string]string{}
	procs := map[string]*running{}
	for _, shape := range shapes {
		db := chtest.Database(t)
		dbs[shape.name] = db
		dir := t.TempDir()
		rulesPath := writeRules(t, dir, shape.rules)
		environ := []string{
			"PATH=" + os.Getenv("PATH"),
			"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
			"MICROCONV_KAFKA_TOPICS=" + shape.name,
			"MICROCONV_KAFKA_GROUP=input-" + shape.name,
			"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
			"MICROCONV_CLICKHOUSE_DATABASE=" + db,
			"MICROCONV_RULES=" + rulesPath,
			"MICROCONV_HTTP_ADDR=" + freeAddr(t),
			"MICROCONV_BATCH_MAX_WAIT=200ms",
			"MICROCONV_INPUT=" + shape.name,
		}
		if shape.mapping != "" {
			mappingPath := filepath.Join(dir, "shop.mapping.yaml")
			if err := os.WriteFile(mappingPath, []byte(shape.mapping), 0o644); err != nil {
				t.Fatal(err)
			}
			environ = append(environ, "MICROCONV_INPUT_MAPPING="+mappingPath)
		}
		cmd := exec.Command(bin, "migrate")
		cmd.Env = environ
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: migrate: %v\n%s", shape.name, err, out)
		}
		r := &running{cmd: exec.Command(bin, "run"), logs: &syncBuffer{}, exited: make(chan error, 1)}
		r.cmd.Env = environ
		r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { r.exited <- r.cmd.Wait() }()
		procs[shape.name] = r
		t.Cleanup(func() {
			_ = r.cmd.Process.Kill()
			if t.Failed() {
				t.Logf("%s: run logs:\n%s", shape.name, r.logs.String())
			}
		})
	}
	// The three consumers run at once; each must commit its whole topic
	// and stop cleanly on SIGTERM.
	for _, shape := range shapes {
		kafkatest.WaitCommitted(t, cl, "input-"+shape.name, shape.name, 3*time.Minute)
	}
	for _, shape := range shapes {
		r := procs[shape.name]
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-r.exited:
			if err != nil {
				t.Fatalf("%s: run exited with %v", shape.name, err)
			}
		case <-time.After(45 * time.Second):
			t.Fatalf("%s: run did not exit within 45s of SIGTERM", shape.name)
		}
	}

	conn := chtest.Conn(t)
	summaries := map[string][][]string{}
	for _, shape := range shapes {
		db := dbs[shape.name]
		t.Run(shape.name, func(t *testing.T) {
			if n := gentest.CheckViews(t, chtest.Server(t), db, truth); n < 300 {
				t.Errorf("compared only %d view rows", n)
			}
		})
		summaries[shape.name] = chtest.QueryStrings(t, conn, "SELECT conversion, conversion_type, category, toString(users), toString(events) FROM "+db+".conversion_summary")
	}
	for _, name := range []string{"ga4", "mapping"} {
		if !slices.EqualFunc(summaries[name], summaries["segment"], slices.Equal) {
			t.Errorf("conversion_summary of %s differs from segment's:\n%v\n%v", name, summaries[name], summaries["segment"])
		}
	}
	if len(summaries["segment"]) != len(set.Conversions) {
		t.Errorf("conversion_summary has %d rows, want %d", len(summaries["segment"]), len(set.Conversions))
	}
	t.Logf("conversion_summary, identical in the three databases:\n%s", formatRows(summaries["segment"]))

	// The events the messages give ids to (not the hashes "k…" of a position
	// or "c…" of a content): the same normalized fields
	// (GA4 knows no identify and names pages page_view: type and event are
	// compared for the custom shape only).
	fields := func(db string, withNames bool) [][]string {
		cols := "event_id, user_key, toString(ts), utm_source, utm_medium, utm_campaign, device, country, url, path, referrer"
		if withNames {
			cols += ", type, event"
		}
		return chtest.QueryStrings(t, conn, "SELECT DISTINCT "+cols+" FROM "+db+".events WHERE event_id NOT LIKE 'k%' AND event_id NOT LIKE 'c%' ORDER BY event_id")
	}
	for _, c := range []struct {
		name      string
		withNames bool
	}{{"ga4", false}, {"mapping", true}} {
		got, want := fields(dbs[c.name], c.withNames), fields(dbs["segment"], c.withNames)
		if len(want) < truth.Events/2 || !slices.EqualFunc(got, want, slices.Equal) {
			for i := range min(len(got), len(want)) {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("%s: first differing event:\n got %q\nwant %q", c.name, got[i], want[i])
					break
				}
			}
			t.Errorf("%s: %d events with ids, segment %d (of %d events)", c.name, len(got), len(want), truth.Events)
		}
	}
}

func formatRows(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString("  " + strings.Join(r, " ") + "\n")
	}
	return b.String()
}

// A broken mapping file stops `run` at start-up with the file, line and key.
func TestInputBadMappingStopsRun(t *testing.T) {
	chAddr := chtest.Addr(t)
	bin := binary(t)
	_, brokers := kafkatest.NewCluster(t, 1, "clickstream")
	dir := t.TempDir()
	rulesPath, mappingPath := filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(rulesPath, []byte(gen.DefaultRules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mappingPath, []byte("event: action\nuser_key: who\ntimestamp: {path: at, fromat: unix_ms}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, input := range []string{"mapping", "ga4"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, bin, "run")
		cmd.Env = []string{
			"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
			"MICROCONV_KAFKA_TOPICS=clickstream",
			"MICROCONV_CLICKHOUSE_ADDR=" + chAddr,
			"MICROCONV_CLICKHOUSE_DATABASE=" + chtest.Database(t),
			"MICROCONV_RULES=" + rulesPath,
			"MICROCONV_HTTP_ADDR=" + freeAddr(t),
			"MICROCONV_INPUT=" + input,
			"MICROCONV_INPUT_MAPPING=" + mappingPath,
		}
		out, err := cmd.CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || timedOut {
			t.Fatalf("run with a broken mapping (%s): %v\n%s", input, err, out)
		}
		if want := mappingPath + `:3:23: unknown key "fromat" in the mapping of "timestamp"; expected path, format`; !strings.Contains(string(out), want) {
			t.Errorf("run with a broken mapping (%s) printed:\n%s\nwant %q", input, out, want)
		}
	}
}
