package chtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Cluster is a private ZooKeeper and 2 shards × 2 replicas of ClickHouse
// 18.16 on loopback, started by .ci/cluster: Nodes[0] and Nodes[1] are the
// replicas of shard 1, Nodes[2] and Nodes[3] those of shard 2.
type Cluster struct {
	Name  string   // the remote_servers cluster
	Dir   string   // configs, data and logs
	ZK    string   // ZooKeeper host:port
	Nodes []string // native-protocol host:port of each node
	root  string
}

// StartCluster starts a cluster for this test and stops it when the test
// ends. Without clickhouse-server, or without root to install ZooKeeper, it
// skips with how to run it (fails in CI).
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	root := repoRoot(t)
	if _, err := exec.LookPath("clickhouse-server"); err != nil && os.Getuid() != 0 {
		msg := "no clickhouse-server for a cluster: run `make test`, or install clickhouse-server and zookeeper and try `.ci/cluster start DIR`"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s; integration tests must not skip in CI", msg)
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "microconv-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, root: root}
	t.Cleanup(func() {
		_ = c.script("stop")
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("cluster logs kept in %s", dir)
		}
	})
	out, err := exec.Command(filepath.Join(root, ".ci", "cluster"), "start", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "" && strings.Contains(string(out), "this is not root") {
			t.Skipf("cannot start a ClickHouse cluster: %s", out)
		}
		t.Fatalf(".ci/cluster start: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		switch {
		case !ok:
		case k == "CLUSTER":
			c.Name = v
		case k == "ZK":
			c.ZK = v
		case strings.HasPrefix(k, "NODE"):
			c.Nodes = append(c.Nodes, v)
		}
	}
	if c.Name == "" || len(c.Nodes) != 4 {
		t.Fatalf(".ci/cluster start printed no cluster of four nodes:\n%s", out)
	}
	return c
}

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func (c *Cluster) script(args ...string) error {
	cmd := exec.Command(filepath.Join(c.root, ".ci", "cluster"), append([]string{args[0], c.Dir}, args[1:]...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf(".ci/cluster %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *Cluster) node(t testing.TB, verb string, i int) {
	t.Helper()
	if err := c.script(verb, fmt.Sprint(i+1)); err != nil {
		t.Fatal(err)
	}
}

// Kill SIGKILLs node i (0-based).
func (c *Cluster) Kill(t testing.TB, i int) { t.Helper(); c.node(t, "kill", i) }

// StopNode stops node i gracefully.
func (c *Cluster) StopNode(t testing.TB, i int) { t.Helper(); c.node(t, "stopnode", i) }

// StartNode starts node i again with its config, ports and data, and
// waits until it answers.
func (c *Cluster) StartNode(t testing.TB, i int) { t.Helper(); c.node(t, "startnode", i) }

// Query runs q on node i and returns its rows as text.
func (c *Cluster) Query(t testing.TB, i int, q string) [][]string {
	t.Helper()
	return ServerAt(t, c.Nodes[i]).Query(t, q)
}

// Exec runs one statement on node i.
func (c *Cluster) Exec(t testing.TB, i int, sql string) {
	t.Helper()
	ServerAt(t, c.Nodes[i]).Exec(t, sql)
}

// SyncReplicas waits, on every node, until each Replicated table of db has
// fetched what its other replicas hold, so that figures compared afterwards
// do not depend on replication lag.
func (c *Cluster) SyncReplicas(t testing.TB, db string) {
	t.Helper()
	for i := range c.Nodes {
		for _, r := range c.Query(t, i, "SELECT name FROM system.tables WHERE database = '"+db+"' AND engine LIKE 'Replicated%'") {
			c.Exec(t, i, "SYSTEM SYNC REPLICA "+db+"."+r[0])
		}
	}
}
