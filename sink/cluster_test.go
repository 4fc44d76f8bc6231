package sink

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/microconv/microconv/internal/testkit/chtest"
)

// The cluster schema: what each table becomes, and that everything but the
// table placement is the one-server schema.
func TestClusterSchema(t *testing.T) {
	rs := abRules()
	now := time.UnixMilli(1_760_000_000_000)
	for _, version := range []string{OldestServer, NewestServer} {
		one, err := NewSchema("shop", version, "")
		if err != nil {
			t.Fatal(err)
		}
		cl, err := NewSchema("shop", version, "prod-3x2.eu")
		if err != nil {
			t.Fatal(err)
		}
		single, err := one.Statements(&rs, now)
		if err != nil {
			t.Fatal(err)
		}
		multi, err := cl.Statements(&rs, now)
		if err != nil {
			t.Fatal(err)
		}
		tables := map[string]string{}
		var rest []string
		for _, s := range multi {
			switch {
			case strings.HasPrefix(s.What, "table "):
				tables[strings.TrimPrefix(s.What, "table ")] = s.SQL
			case strings.HasPrefix(s.What, "view "), strings.HasPrefix(s.What, "database "):
				if !strings.Contains(s.SQL, " ON CLUSTER `prod-3x2.eu`") {
					t.Errorf("%s: %s is not ON CLUSTER:\n%s", version, s.What, s.SQL)
				}
				sql := strings.Replace(s.SQL, " ON CLUSTER `prod-3x2.eu`", "", 1)
				if strings.HasPrefix(s.SQL, "CREATE") && strings.Contains(s.What, "view") {
					if !strings.HasSuffix(sql, "\n"+clusterReadSettings) {
						t.Errorf("%s: %s does not read fresh replicas:\n%s", version, s.What, s.SQL)
					}
					sql = strings.TrimSuffix(sql, "\n"+clusterReadSettings)
				}
				rest = append(rest, sql)
			default:
				if strings.Contains(s.SQL, "ON CLUSTER") {
					t.Errorf("%s: %s (an INSERT into a table replicated everywhere) must run once, not ON CLUSTER", version, s.What)
				}
				rest = append(rest, s.SQL)
			}
		}
		// Views, inserts and the database: the one-server statements.
		var want []string
		for _, s := range single {
			if !strings.HasPrefix(s.What, "table ") {
				want = append(want, s.SQL)
			}
		}
		if strings.Join(rest, ";\n") != strings.Join(want, ";\n") {
			t.Errorf("%s: the cluster's views and inserts differ from the one-server ones", version)
		}
		for _, tb := range []string{"events", "conversions", "rejected_events"} {
			local := tables[tb+"_local"]
			wantEngine := regexp.MustCompile(`ENGINE = ReplicatedReplacingMergeTree\('/clickhouse/tables/\{shard\}/shop/` + tb + `', '\{replica\}'\)`)
			if !strings.HasPrefix(local, "CREATE TABLE IF NOT EXISTS `shop`.`"+tb+"_local` ON CLUSTER `prod-3x2.eu` (") || !wantEngine.MatchString(local) {
				t.Errorf("%s: %s_local:\n%s", version, tb, local)
			}
			key := "cityHash64(user_key)"
			if tb == "rejected_events" {
				key = "cityHash64(topic, `partition`, `offset`)"
			}
			if got, want := tables[tb], "CREATE TABLE IF NOT EXISTS `shop`.`"+tb+"` ON CLUSTER `prod-3x2.eu` AS `shop`.`"+tb+"_local`\nENGINE = Distributed('prod-3x2.eu', 'shop', '"+tb+"_local', "+key+")"; got != want {
				t.Errorf("%s: %s:\n%s\nwant\n%s", version, tb, got, want)
			}
		}
		for _, tb := range []string{"conversion_rules", "conversion_funnels", "schema_views"} {
			if !strings.Contains(tables[tb], "ON CLUSTER `prod-3x2.eu` (") || !strings.Contains(tables[tb], "ENGINE = ReplicatedMergeTree('/clickhouse/tables/all_nodes/shop/"+tb+"', '{shard}-{replica}')") {
				t.Errorf("%s: %s is not replicated to every node:\n%s", version, tb, tables[tb])
			}
			if _, ok := tables[tb+"_local"]; ok {
				t.Errorf("%s: %s has a _local table", version, tb)
			}
		}
		if len(tables) != 9 {
			t.Errorf("%s: %d tables, want 9: %v", version, len(tables), tables)
		}
	}
	for _, bad := range []string{"a b", "c`", "c;DROP TABLE x", "'c'", "-c", strings.Repeat("c", 129)} {
		if _, err := NewSchema("shop", "", bad); !errors.Is(err, ErrInvalidCluster) {
			t.Errorf("cluster %q: %v, want ErrInvalidCluster", bad, err)
		}
	}
}

// ClickHouse 26.7 parses every statement of the cluster schema. chDB runs in
// one process without ZooKeeper or remote_servers, so it cannot execute ON
// CLUSTER, Replicated or Distributed DDL; the views and inserts are the
// one-server statements (TestClusterSchema), which every other test runs
// on 26.7.
func TestClusterSchemaParsesOnModern(t *testing.T) {
	e := chtest.ChDB(t)
	rs := abRules()
	s, err := NewSchema("shop", NewestServer, "prod")
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := s.Statements(&rs, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stmts {
		got, err := e.TryQuery("EXPLAIN AST " + st.SQL)
		if err != nil || len(got) == 0 {
			t.Errorf("ClickHouse 26.7 cannot parse %s: %v\n%s", st.What, err, st.SQL)
		}
	}
	if _, err := e.TryQuery("EXPLAIN AST CREATE TABLE x ON CLUSTER c (a Int) ENGINE = Nope(,)"); err == nil {
		t.Fatal("EXPLAIN AST accepts a syntax error: the check above proves nothing")
	}
}
