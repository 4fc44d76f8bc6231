package sink

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schema renders the SQL microconv runs on one database of one server
// version: the tables, the views, the rules in force. Migrate executes it
// statement by statement (views only when their SQL changed), and
// `microconv schema` prints it without connecting. One renderer, one source
// of SQL.
type Schema struct {
	server   serverInfo
	database string // unquoted
	db       string // quoted database identifier
	// cluster is the remote_servers cluster everything is created on ("":
	// one server). See table for what each table becomes on a cluster.
	cluster string
}

// NewSchema returns the renderer for database on a server of version
// ("X.Y" or "X.Y.Z"; "" means NewestServer) and, when cluster is not "",
// on that cluster (ON CLUSTER, Replicated and Distributed tables).
func NewSchema(database, version, cluster string) (*Schema, error) {
	if err := ValidCluster(cluster); err != nil {
		return nil, err
	}
	if version == "" {
		version = NewestServer
	}
	s, err := ParseServerVersion(version)
	if err != nil {
		return nil, err
	}
	if !ValidIdentifier(database) {
		return nil, fmt.Errorf("%w %q: want [A-Za-z_][A-Za-z0-9_]*, at most 64 characters", ErrInvalidDatabase, database)
	}
	return &Schema{server: s, database: database, db: quoteIdent(database), cluster: cluster}, nil
}

// NewestServer is the newest ClickHouse version the SQL is tested on (chDB
// 3.4.0's engine); OldestServer the oldest (Debian's clickhouse-server).
const (
	NewestServer = "26.7"
	OldestServer = "18.16"
)

// ErrServerVersion is returned for a version that is not X.Y[.Z...].
var ErrServerVersion = fmt.Errorf("invalid ClickHouse server version")

// ParseServerVersion reads "X.Y", "X.Y.Z" or a longer dotted version.
func ParseServerVersion(v string) (serverInfo, error) {
	parts := strings.Split(strings.TrimSpace(v), ".")
	if len(parts) < 2 {
		return serverInfo{}, fmt.Errorf("%w %q: want X.Y, e.g. %s", ErrServerVersion, v, NewestServer)
	}
	var n [3]int
	for i := 0; i < len(parts) && i < 3; i++ {
		x, err := strconv.Atoi(parts[i])
		if err != nil || x < 0 {
			return serverInfo{}, fmt.Errorf("%w %q: want X.Y, e.g. %s", ErrServerVersion, v, NewestServer)
		}
		n[i] = x
	}
	if n[0] < 18 {
		return serverInfo{}, fmt.Errorf("%w %q: ClickHouse %s or later is needed", ErrServerVersion, v, OldestServer)
	}
	return serverInfo{Major: n[0], Minor: n[1], Patch: n[2]}, nil
}

// Statement is one SQL statement with what it is for.
type Statement struct {
	What string // e.g. "table events", "view micro_lift"
	SQL  string
}

// Statements returns every statement Migrate and PutRules would run on an
// empty database for rs (nil: tables and views only), in order: the
// database, the tables, the views that do not depend on the rules, the
// rules in force, the funnel views, and the record of the views created.
// now stamps the rules (their sequence number is at least now in
// milliseconds, and greater than any stored) and the view records.
func (c *Schema) Statements(rs *RuleSet, now time.Time) ([]Statement, error) {
	out := []Statement{{What: "database " + c.database, SQL: "CREATE DATABASE IF NOT EXISTS " + c.db + c.onCluster()}}
	tables, err := c.tableStatements()
	if err != nil {
		return nil, err
	}
	out = append(out, tables...)
	static, err := c.staticViews()
	if err != nil {
		return nil, err
	}
	for _, v := range static {
		out = append(out, c.createView(v)...)
	}
	views := static
	if rs != nil {
		ins, err := c.rulesInserts(*rs, now)
		if err != nil {
			return nil, err
		}
		out = append(out, ins...)
		for _, f := range rs.Funnels {
			fv, err := c.funnelViews(f)
			if err != nil {
				return nil, err
			}
			for _, v := range fv {
				out = append(out, c.createView(v)...)
			}
			views = append(views, fv...)
		}
	}
	out = append(out, c.recordViews(views, now))
	return out, nil
}

// createView returns the statements that (re-)create v: CREATE OR REPLACE
// VIEW where the server has it (21.x and later), else DROP and CREATE.
func (c *Schema) createView(v view) []Statement {
	q := c.db + "." + quoteIdent(v.name) + c.onCluster()
	sql := v.sql
	if c.cluster != "" {
		sql += "\n" + clusterReadSettings
	}
	if c.server.Major >= 21 {
		return []Statement{{What: "view " + v.name, SQL: "CREATE OR REPLACE VIEW " + q + " AS\n" + sql}}
	}
	return []Statement{
		{What: "view " + v.name, SQL: "DROP TABLE IF EXISTS " + q},
		{What: "view " + v.name, SQL: "CREATE VIEW " + q + " AS\n" + sql},
	}
}

// dropView is the statement that drops view name (on every node of the
// cluster).
func (c *Schema) dropView(name string) string {
	return "DROP TABLE IF EXISTS " + c.db + "." + quoteIdent(name) + c.onCluster()
}

// viewChange is a view (re-)created (hash of its SQL) or dropped (hash "").
type viewChange struct{ name, hash string }

// recordViews is the INSERT into schema_views that records the views as
// created from their SQL now.
func (c *Schema) recordViews(views []view, now time.Time) Statement {
	ch := make([]viewChange, len(views))
	for i, v := range views {
		ch[i] = viewChange{v.name, viewHash(v.sql)}
	}
	return c.recordChanges(ch, now)
}

func (c *Schema) recordChanges(changes []viewChange, now time.Time) Statement {
	names, hashes := make([]string, len(changes)), make([]string, len(changes))
	for i, ch := range changes {
		names[i], hashes[i] = quoteString(ch.name), quoteString(ch.hash)
	}
	// INSERT … SELECT, not VALUES: over the native protocol ClickHouse
	// 18.16 waits for data blocks after an INSERT … VALUES sent as a query.
	return Statement{What: "record of the views", SQL: "INSERT INTO " + c.db + ".schema_views (name, hash, seq, updated_at)\n" +
		fmt.Sprintf("SELECT name, hash, toUInt64(%d) + toUInt64(n), toDateTime(%d)\n", now.UnixNano(), now.Unix()) +
		"FROM system.one\n" +
		"ARRAY JOIN [" + strings.Join(names, ", ") + "] AS name, [" + strings.Join(hashes, ", ") + "] AS hash, range(" + strconv.Itoa(len(changes)) + ") AS n"}
}

// rulesInserts stores rs as the rules in force: its funnels, then its
// rules (the greatest seq of conversion_rules marks the set in force, so a
// set is in force only once all of it is stored). Each INSERT writes
// nothing when rs's version is already in force, so running them twice
// changes nothing; both compute the same seq: at least now in
// milliseconds and greater than every stored one, so a set stored later
// wins even when the clocks of two hosts disagree.
func (c *Schema) rulesInserts(rs RuleSet, now time.Time) ([]Statement, error) {
	if rs.Version == "" {
		return nil, fmt.Errorf("cannot store rules without a version")
	}
	rules := c.db + ".conversion_rules"
	ver := quoteString(rs.Version)
	seq := fmt.Sprintf("greatest(toUInt64(%d), (SELECT max(seq) FROM %s) + 1)", now.UnixMilli(), rules)
	guard := fmt.Sprintf("(SELECT argMax(version, seq) FROM %s) != %s", rules, ver)
	loaded := fmt.Sprintf("toDateTime(%d)", now.Unix())
	var out []Statement
	if len(rs.Funnels) > 0 {
		ids, windows, steps := make([]string, len(rs.Funnels)), make([]string, len(rs.Funnels)), make([]string, len(rs.Funnels))
		for i, f := range rs.Funnels {
			ids[i] = quoteString(f.ID)
			windows[i] = "toInt64(" + strconv.FormatInt(f.Window.Milliseconds(), 10) + ")"
			ss := make([]string, len(f.Steps))
			for j, s := range f.Steps {
				ss[j] = quoteString(s)
			}
			steps[i] = "CAST([" + strings.Join(ss, ", ") + "] AS Array(String))"
		}
		out = append(out, Statement{What: "funnels in force", SQL: "INSERT INTO " + c.db + ".conversion_funnels (id, window_ms, steps, version, seq, loaded_at)\n" +
			"SELECT id, window_ms, steps, " + ver + ", " + seq + ", " + loaded + "\n" +
			"FROM system.one\n" +
			"ARRAY JOIN [" + strings.Join(ids, ", ") + "] AS id, [" + strings.Join(windows, ", ") + "] AS window_ms, [" + strings.Join(steps, ", ") + "] AS steps\n" +
			"WHERE " + guard})
	}
	if len(rs.Rules) == 0 {
		return out, nil
	}
	ids, types, cats, descs, pos := make([]string, len(rs.Rules)), make([]string, len(rs.Rules)), make([]string, len(rs.Rules)), make([]string, len(rs.Rules)), make([]string, len(rs.Rules))
	for i, r := range rs.Rules {
		ids[i], types[i], cats[i], descs[i] = quoteString(r.ID), quoteString(r.Type), quoteString(r.Category), quoteString(r.Description)
		pos[i] = "toUInt32(" + strconv.Itoa(i) + ")"
	}
	out = append(out, Statement{What: "rules in force", SQL: "INSERT INTO " + rules + " (id, type, category, description, position, version, seq, loaded_at)\n" +
		"SELECT id, type, category, description, position, " + ver + ", " + seq + ", " + loaded + "\n" +
		"FROM system.one\n" +
		"ARRAY JOIN [" + strings.Join(ids, ", ") + "] AS id, [" + strings.Join(types, ", ") + "] AS type, [" + strings.Join(cats, ", ") + "] AS category,\n" +
		"    [" + strings.Join(descs, ", ") + "] AS description, [" + strings.Join(pos, ", ") + "] AS position\n" +
		"WHERE " + guard})
	return out, nil
}

// quoteString is s as a ClickHouse string literal: every byte kept, quotes
// and backslashes escaped, and control bytes written as escapes so that a
// statement stays on the lines it was rendered on.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		default:
			if ch < 0x20 || ch == 0x7f {
				fmt.Fprintf(&b, `\x%02X`, ch)
				continue
			}
			b.WriteByte(ch)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
