package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
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

// A ZooKeeper and 2 shards × 2 replicas of ClickHouse 18.16: two `run`
// instances with MICROCONV_CLICKHOUSE_CLUSTER create the schema themselves
// and ingest a gen stream in three parts: with every node up, while a
// replica is SIGKILLed and restarted, and while a whole shard is stopped for
// 30 s and brought back. After each part every view, read on two nodes of
// different shards, equals the truth of the stream so far; no offset is
// committed past rows the stopped shard could not take; all of a user's
// rows are on one shard; migrate afterwards changes nothing.
func TestClusterEndToEnd(t *testing.T) {
	cl := chtest.StartCluster(t)
	bin := binary(t)
	db := fmt.Sprintf("cluster_%d", time.Now().UnixNano()%1e9)
	const topic, group, parts = "clickstream", "cluster", 4
	_, brokers := kafkatest.NewCluster(t, parts, topic)
	kc := kafkatest.Client(t, brokers)
	stream, truth, rulesPath := defaultScenario(t, 17, 2500)
	environ := func(addrs ...string) []string {
		return []string{
			"MICROCONV_KAFKA_BROKERS=" + strings.Join(brokers, ","),
			"MICROCONV_KAFKA_TOPICS=" + topic,
			"MICROCONV_KAFKA_GROUP=" + group,
			"MICROCONV_CLICKHOUSE_ADDR=" + strings.Join(addrs, ","),
			"MICROCONV_CLICKHOUSE_DATABASE=" + db,
			"MICROCONV_CLICKHOUSE_CLUSTER=" + cl.Name,
			"MICROCONV_RULES=" + rulesPath,
			"MICROCONV_HTTP_ADDR=off",
			"MICROCONV_BATCH_MAX_ROWS=800",
			"MICROCONV_BATCH_MAX_WAIT=100ms",
		}
	}
	var logs syncBuffer
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	}()
	set, err := rules.Parse("rules.yaml", []byte(gen.DefaultRules))
	if err != nil {
		t.Fatal(err)
	}
	// check waits until the group has committed everything produced, then
	// compares every view, read on a node of each shard, with the truth of
	// the stream so far.
	check := func(phase string, upTo int) {
		t.Helper()
		kafkatest.WaitCommitted(t, kc, group, topic, 3*time.Minute)
		cl.SyncReplicas(t, db)
		want := truth
		if upTo < len(stream.Messages) {
			if want, err = gen.ComputeTruth(&gen.Stream{Seed: stream.Seed, Messages: stream.Messages[:upTo]}, set); err != nil {
				t.Fatal(err)
			}
		}
		for _, i := range []int{0, 3} {
			rows := gentest.CheckViews(t, chtest.ServerAt(t, cl.Nodes[i]), db, want)
			t.Logf("%s: node %d: %d view rows equal the truth of %d messages", phase, i+1, rows, upTo)
		}
	}
	n := len(stream.Messages)
	third := n / 3
	produceSpread(t, kc, topic, parts, stream.Messages[:third])
	// a writes through node 2 (a replica of shard 1) first, node 1 if it
	// is down; b through node 3, then node 4.
	a := startRun(t, bin, environ(cl.Nodes[1], cl.Nodes[0]), &logs)
	b := startRun(t, bin, environ(cl.Nodes[2], cl.Nodes[3]), &logs)
	check("all nodes up", third)

	// A replica dies (SIGKILL) while rows flow, and comes back.
	produceSpread(t, kc, topic, parts, stream.Messages[third:2*third])
	cl.Kill(t, 1)
	waitRows(t, cl, db, uint64(third)+uint64(third)/2)
	cl.StartNode(t, 1)
	check("replica killed and back", 2*third)

	// A whole shard (nodes 3 and 4) is stopped for 30 s: rows of its users
	// cannot be written, so offsets past them must not be committed.
	cl.StopNode(t, 2)
	cl.StopNode(t, 3)
	produceSpread(t, kc, topic, parts, stream.Messages[2*third:])
	ends := kafkatest.EndOffsets(t, kc, topic)
	time.Sleep(30 * time.Second)
	done := 0
	for p, off := range kafkatest.Committed(t, kc, group, topic) {
		if off == ends[p] {
			done++
		}
	}
	if done == parts {
		t.Errorf("every partition was committed to its end while shard 2 was down: rows of its users cannot have been written")
	}
	// Fetching stops while the batches wait for the shard: memory stays
	// that of two batches, whatever is waiting in Kafka.
	for name, c := range map[string]*exec.Cmd{"a": a, "b": b} {
		if rss := rssMiB(t, c.Process.Pid); rss > 400 {
			t.Errorf("instance %s holds %d MiB while a shard is down", name, rss)
		} else {
			t.Logf("instance %s: %d MiB resident while a shard is down", name, rss)
		}
	}
	cl.StartNode(t, 2)
	cl.StartNode(t, 3)
	check("shard stopped 30 s and back", n)
	for name, c := range map[string]*exec.Cmd{"a": a, "b": b} {
		_ = c.Process.Signal(syscall.SIGTERM)
		if err := c.Wait(); err != nil {
			t.Fatalf("instance %s: %v after SIGTERM", name, err)
		}
	}

	// All of a user's rows on one shard: the users of the two shards'
	// local tables add up to the users of the whole.
	var perShard uint64
	for _, i := range []int{0, 2} {
		perShard += queryUint(t, cl, i, "SELECT uniqExact(user_key) FROM "+db+".conversions_local")
	}
	if whole := queryUint(t, cl, 1, "SELECT uniqExact(user_key) FROM "+db+".conversions"); perShard != whole || whole == 0 {
		t.Errorf("users per shard add up to %d, the Distributed table has %d: a user's rows are on two shards", perShard, whole)
	}
	// The replicas of a shard hold the same rows, and the rule-set tables
	// are the same on every node.
	for _, tb := range []string{"events_local", "conversions_local", "conversion_rules", "conversion_funnels", "schema_views"} {
		var got []uint64
		for i := range cl.Nodes {
			got = append(got, queryUint(t, cl, i, "SELECT count() FROM "+db+"."+tb))
		}
		if got[0] != got[1] || got[2] != got[3] || (!strings.HasSuffix(tb, "_local") && got[0] != got[2]) || got[0] == 0 {
			t.Errorf("%s: rows per node %v", tb, got)
		}
	}

	// A replica that falls behind is not read: node 2 stops fetching, node
	// 1 (its shard's other replica) takes 500 more conversions; views read
	// on node 4 must count them every time, not only when the Distributed
	// table happens to pick node 1 (without the views' replica-delay
	// setting, about half the reads would miss them).
	cl.Exec(t, 1, "SYSTEM STOP FETCHES "+db+".conversions_local")
	cl.Exec(t, 0, "INSERT INTO "+db+".conversions_local SELECT conversion, conversion_type, category, concat('late-', event_id), event, user_key, session_id, ts, ts_ms, value, utm_source, utm_medium, utm_campaign, utm_term, utm_content, device, country, rules_version, received_at FROM "+db+".conversions_local LIMIT 500")
	waitFor(t, "node 2 to fall 2 s behind", time.Minute, func() bool {
		return queryUint(t, cl, 1, "SELECT max(absolute_delay) FROM system.replicas WHERE database = '"+db+"' AND table = 'conversions_local'") >= 2
	})
	fresh := queryUint(t, cl, 0, "SELECT sum(events) FROM "+db+".conversion_summary")
	for i := 0; i < 8; i++ {
		if got := queryUint(t, cl, 3, "SELECT sum(events) FROM "+db+".conversion_summary"); got != fresh {
			t.Fatalf("read %d on node 4: conversion_summary counts %d events, the fresh replica %d: a lagging replica was read", i+1, got, fresh)
		}
	}
	cl.Exec(t, 1, "SYSTEM START FETCHES "+db+".conversions_local")
	cl.SyncReplicas(t, db)

	// migrate on another node: nothing to do, nothing recorded.
	before := queryUint(t, cl, 3, "SELECT count() FROM "+db+".schema_views")
	cmd := exec.Command(bin, "migrate")
	cmd.Env = environ(cl.Nodes[3])
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "unchanged") {
		t.Fatalf("migrate on node 4: %v\n%s", err, out)
	}
	cl.SyncReplicas(t, db)
	if after := queryUint(t, cl, 0, "SELECT count() FROM "+db+".schema_views"); after != before {
		t.Errorf("migrate re-created views: schema_views %d → %d rows", before, after)
	}

	// A new funnel, stored through node 4, reaches every node: its views
	// exist everywhere and read the whole cluster.
	grown := strings.TrimRight(gen.DefaultRules, "\n") + "\n  - id: mini\n    window: 1h\n    steps: [product_viewed, add_to_cart]\n"
	cmd = exec.Command(bin, "migrate")
	cmd.Env = append(environ(cl.Nodes[3]), "MICROCONV_RULES="+writeRules(t, t.TempDir(), grown)) // the last value counts
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "stored") {
		t.Fatalf("migrate with a new funnel on node 4: %v\n%s", err, out)
	}
	var viewed int
	for _, c := range truth.ConversionSummary {
		if c.Conversion == "product_viewed" {
			viewed = c.Users
		}
	}
	for i := range cl.Nodes {
		if got := queryUint(t, cl, i, "SELECT users FROM "+db+".funnel_mini WHERE step = 1"); got != uint64(viewed) || viewed == 0 {
			t.Errorf("node %d: funnel_mini step 1 has %d users, want %d (product_viewed users)", i+1, got, viewed)
		}
	}
}

// waitRows waits until the cluster's events table (read on node 1) holds at
// least want rows.
func waitRows(t *testing.T, cl *chtest.Cluster, db string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		rows, err := chtest.ServerAt(t, cl.Nodes[0]).TryQuery("SELECT count() FROM " + db + ".events")
		if err == nil && len(rows) == 1 {
			if got, err := strconv.ParseUint(rows[0][0], 10, 64); err == nil && got >= want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s.events did not reach %d rows within 2 minutes", db, want)
}

func queryUint(t *testing.T, cl *chtest.Cluster, node int, q string) uint64 {
	t.Helper()
	rows := cl.Query(t, node, q)
	var v uint64
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s on node %d: %v", q, node+1, rows)
	}
	if _, err := fmt.Sscan(rows[0][0], &v); err != nil {
		t.Fatalf("%s on node %d: %q: %v", q, node+1, rows[0][0], err)
	}
	return v
}

// rssMiB is the resident memory of process pid.
func rssMiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
