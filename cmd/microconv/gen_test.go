package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/rules"
)

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func readTruth(t *testing.T, path string) *gen.Truth {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := gen.ReadTruth(f)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestGen(t *testing.T) {
	dir := t.TempDir()
	out, truth, rulesFile := filepath.Join(dir, "stream.ndjson"), filepath.Join(dir, "truth.json"), filepath.Join(dir, "rules.yaml")
	code, stdout, stderr := runMain("gen", "--seed", "5", "--users", "200", "--days", "3", "--out", out, "--truth", truth, "--write-rules", rulesFile)
	if code != 0 {
		t.Fatalf("gen = %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Fatalf("gen --out FILE wrote to stdout: %q", stdout)
	}
	for _, want := range []string{"seed 5", "users", "40 rejected", "rules version"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q: %s", want, stderr)
		}
	}
	lines := readLines(t, out)
	tr := readTruth(t, truth)
	if tr.Seed != 5 || tr.Messages != len(lines) || tr.Rejected != 40 || tr.Events == 0 || tr.Events > tr.Messages-tr.Rejected {
		t.Fatalf("truth seed %d messages %d rejected %d events %d; %d lines", tr.Seed, tr.Messages, tr.Rejected, tr.Events, len(lines))
	}
	for i, l := range lines {
		if len(l) == 0 {
			t.Fatalf("line %d is empty", i+1)
		}
	}
	set, err := rules.Load(rulesFile)
	if err != nil {
		t.Fatalf("written rules do not load: %v", err)
	}
	if set.Version != tr.RulesVersion {
		t.Fatalf("rules version %s, truth says %s", set.Version, tr.RulesVersion)
	}
	if len(tr.Funnels) != 4 || len(tr.ConversionSummary) != len(set.Conversions) {
		t.Fatalf("truth has %d funnels, %d summary rows", len(tr.Funnels), len(tr.ConversionSummary))
	}

	// The same seed to stdout gives the same lines; --rules FILE the same truth.
	truth2 := filepath.Join(dir, "truth2.json")
	code, stdout, stderr = runMain("gen", "--seed", "5", "--users", "200", "--days", "3", "--rules", rulesFile, "--truth", truth2)
	if code != 0 {
		t.Fatalf("gen to stdout = %d: %s", code, stderr)
	}
	if got := strings.Join(strings.Split(strings.TrimSuffix(stdout, "\n"), "\n"), "\n"); got != string(bytes.Join(lines, []byte("\n"))) {
		t.Fatal("the same seed gave another stream on stdout")
	}
	a, _ := os.ReadFile(truth)
	b, _ := os.ReadFile(truth2)
	if !bytes.Equal(a, b) {
		t.Fatal("the truth for --rules (the written built-in rules) differs from the built-in one")
	}

	// Without malformed messages and duplicates.
	out3 := filepath.Join(dir, "clean.ndjson")
	truth3 := filepath.Join(dir, "clean.json")
	if code, _, stderr := runMain("gen", "--users", "50", "--malformed", "0", "--dups", "0", "--out", out3, "--truth", truth3); code != 0 {
		t.Fatalf("gen clean = %d: %s", code, stderr)
	}
	if tr := readTruth(t, truth3); tr.Rejected != 0 || tr.Messages != len(readLines(t, out3)) {
		t.Fatalf("clean stream: %d rejected, %d messages", tr.Rejected, tr.Messages)
	}
}

func TestGenBadFlags(t *testing.T) {
	dir := t.TempDir()
	f := func(wantCode int, want string, args ...string) {
		t.Helper()
		code, _, stderr := runMain(append([]string{"gen"}, args...)...)
		if code != wantCode || !strings.Contains(stderr, want) {
			t.Errorf("gen %q = %d, %q; want %d and %q", args, code, stderr, wantCode, want)
		}
	}
	f(2, "--users", "--users", "0")
	f(2, "--days", "--days", "-1")
	f(2, "--dups", "--dups", "1.5")
	f(2, "--malformed", "--malformed", "-3")
	f(2, "-seed", "--seed", "x")
	f(2, "-bogus", "--bogus")
	f(2, "unexpected argument", "extra")
	f(2, "--write-rules", "--rules", "r.yaml", "--write-rules", filepath.Join(dir, "w.yaml"))
	f(1, "--rules", "--rules", filepath.Join(dir, "missing.yaml"))
	f(1, "--out", "--users", "5", "--out", filepath.Join(dir, "no", "such", "dir.ndjson"))

	var stderr bytes.Buffer
	code := mainWith([]string{"gen", "--kafka", "--users", "5"}, []string{"MICROCONV_KAFKA_BROKERS=no-port"}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "MICROCONV_KAFKA_BROKERS") {
		t.Errorf("gen --kafka with a bad broker = %d, %q", code, stderr.String())
	}
}

func TestGenKafka(t *testing.T) {
	const topic = "gen-clickstream"
	_, brokers := kafkatest.NewCluster(t, 3, topic)
	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.json")
	env := []string{"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","), "MICROCONV_KAFKA_TOPICS=" + topic + ",other"}
	var stdout, stderr bytes.Buffer
	if code := mainWith([]string{"gen", "--kafka", "--users", "300", "--truth", truth}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("gen --kafka = %d: %s", code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Fatalf("gen --kafka wrote to stdout: %d bytes", stdout.Len())
	}
	if !strings.Contains(stderr.String(), "sent ") {
		t.Errorf("no progress on stderr: %s", stderr.String())
	}
	tr := readTruth(t, truth)
	cl := kafkatest.Client(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var total int64
	for _, end := range kafkatest.EndOffsets(t, cl, topic) {
		total += end
	}
	if total != int64(tr.Messages) {
		t.Fatalf("%d messages in the topic, truth says %d", total, tr.Messages)
	}
	// Every user's messages are in one partition.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	partOf := map[string]int32{}
	var got int64
	for got < total && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			got++
			if r.Key == nil {
				return
			}
			if p, ok := partOf[string(r.Key)]; ok && p != r.Partition {
				t.Fatalf("user %s in partitions %d and %d", r.Key, p, r.Partition)
			}
			partOf[string(r.Key)] = r.Partition
		})
	}
	if got != total || len(partOf) != tr.Users {
		t.Fatalf("consumed %d of %d messages, %d keys for %d users", got, total, len(partOf), tr.Users)
	}
}
