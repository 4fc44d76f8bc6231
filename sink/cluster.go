package sink

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// On a cluster (Config.Cluster, MICROCONV_CLICKHOUSE_CLUSTER) every
// statement runs ON CLUSTER, and each table takes one of two placements:
//
//   - sharded (events, conversions, rejected_events): T_local is a
//     Replicated*MergeTree on every node, its replicas found through the
//     server's {shard} and {replica} macros, and T is a Distributed table
//     over T_local, sharded by the key below. cityHash64(user_key) keeps all
//     of a user's rows on one shard; a rejected message's re-deliveries go
//     to one shard, where ReplacingMergeTree folds them.
//   - everywhere (conversion_rules, conversion_funnels, schema_views): T is
//     a Replicated*MergeTree with one replica on every node of the cluster.
//     These tables are small and read inside the views' subqueries, which a
//     Distributed query runs on each shard: a local, complete copy gives the
//     same rules on every node and needs no GLOBAL subqueries.
//
// Analysts and the views keep using the names T on any node.
var shardingKeys = map[string]string{
	"events":          "cityHash64(user_key)",
	"conversions":     "cityHash64(user_key)",
	"rejected_events": "cityHash64(topic, `partition`, `offset`)",
}

// clusterReadSettings end every view's SELECT on a cluster: a Distributed
// read takes a shard's replica that is at most a second behind when there
// is one. By default (300 s) a replica back from a crash serves reads
// while it still fetches the parts it missed, and a view would count a
// shard's users short (seen on 18.16: a count through the Distributed table
// alternating between the replicas' two totals). With every replica
// behind, the freshest answers (fallback_to_stale_replicas_for_distributed_queries).
const clusterReadSettings = "SETTINGS max_replica_delay_for_distributed_queries = 1"

// ErrInvalidCluster is returned for a cluster name that is not a plain name.
var ErrInvalidCluster = errors.New("invalid ClickHouse cluster name")

var clusterRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidCluster checks a cluster name ("" is no cluster): letters, digits,
// '_', '.', '-', as remote_servers names are written.
func ValidCluster(name string) error {
	if name == "" || clusterRE.MatchString(name) {
		return nil
	}
	return fmt.Errorf("%w %q: want [A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128 characters", ErrInvalidCluster, name)
}

// onCluster is the ON CLUSTER clause of a DDL statement ("" on one server).
func (c *Schema) onCluster() string {
	if c.cluster == "" {
		return ""
	}
	return " ON CLUSTER " + quoteIdent(c.cluster)
}

// tableName is the table a template's CREATE TABLE makes: T on one server
// and for the tables kept everywhere, T_local for a sharded table.
func (c *Schema) tableName(table string) string {
	if _, sharded := shardingKeys[table]; sharded && c.cluster != "" {
		return table + "_local"
	}
	return table
}

// tableClause is what follows CREATE TABLE IF NOT EXISTS in a template.
func (c *Schema) tableClause(table string) string {
	return c.db + "." + quoteIdent(c.tableName(table)) + c.onCluster()
}

// engineClause is the table engine of a template: engine as it is on one
// server, its Replicated variant on a cluster. A sharded table has one
// ZooKeeper path per shard; a table kept everywhere has one path and a
// replica per node, named after both macros.
func (c *Schema) engineClause(engine, table string) string {
	if c.cluster == "" {
		return engine + "()"
	}
	path, replica := "/clickhouse/tables/all_nodes/"+c.database+"/"+table, "{shard}-{replica}"
	if _, sharded := shardingKeys[table]; sharded {
		path, replica = "/clickhouse/tables/{shard}/"+c.database+"/"+table, "{replica}"
	}
	return "Replicated" + engine + "(" + quoteString(path) + ", " + quoteString(replica) + ")"
}

// tableStatements renders the tables; on a cluster each sharded table is
// followed by its Distributed table.
func (c *Schema) tableStatements() ([]Statement, error) {
	rendered, err := c.renderDir("clickhouse/tables", nil)
	if err != nil {
		return nil, err
	}
	var out []Statement
	for _, t := range rendered {
		table := tableOfTemplate(t.name)
		out = append(out, Statement{What: "table " + c.tableName(table), SQL: t.sql})
		key, sharded := shardingKeys[table]
		if !sharded || c.cluster == "" {
			continue
		}
		local := c.tableName(table)
		out = append(out, Statement{What: "table " + table, SQL: "CREATE TABLE IF NOT EXISTS " + c.db + "." + quoteIdent(table) + c.onCluster() +
			" AS " + c.db + "." + quoteIdent(local) + "\n" +
			"ENGINE = Distributed(" + quoteString(c.cluster) + ", " + quoteString(c.database) + ", " + quoteString(local) + ", " + key + ")"})
	}
	return out, nil
}

// tableOfTemplate is the table a template file creates: 010_events.sql →
// events.
func tableOfTemplate(name string) string {
	base := name[strings.LastIndexByte(name, '/')+1:]
	if i := strings.IndexByte(base, '_'); i >= 0 {
		base = base[i+1:]
	}
	return strings.TrimSuffix(base, ".sql")
}

// checkCluster makes sure the server can hold microconv's tables on the
// configured cluster: the cluster is in its remote_servers and it has the
// shard and replica macros the Replicated tables are named with.
func (c *Client) checkCluster(q func(string) ([][]string, error)) error {
	rows, err := q("SELECT DISTINCT cluster FROM system.clusters")
	if err != nil {
		return fmt.Errorf("cannot list the server's clusters: %w", err)
	}
	var names []string
	for _, r := range rows {
		if r[0] == c.cluster {
			names = nil
			break
		}
		names = append(names, r[0])
	}
	if names != nil || len(rows) == 0 {
		sort.Strings(names)
		return fmt.Errorf("%w: cluster %q is not in the server's remote_servers (it has: %s)", ErrInvalidCluster, c.cluster, strings.Join(names, ", "))
	}
	rows, err = q("SELECT macro FROM system.macros")
	if err != nil {
		return fmt.Errorf("cannot read the server's macros: %w", err)
	}
	missing := map[string]bool{"shard": true, "replica": true}
	for _, r := range rows {
		delete(missing, r[0])
	}
	if len(missing) > 0 {
		var m []string
		for k := range missing {
			m = append(m, "{"+k+"}")
		}
		sort.Strings(m)
		return fmt.Errorf("%w: the server has no %s macro: a cluster's Replicated tables need <macros><shard>…</shard><replica>…</replica></macros> in every node's config", ErrInvalidCluster, strings.Join(m, " and "))
	}
	return nil
}
