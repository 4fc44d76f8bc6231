package sink

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rule describes one conversion rule in force, as stored in conversion_rules.
type Rule struct {
	ID, Type, Category, Description string
}

// Funnel describes one funnel in force, as stored in conversion_funnels.
type Funnel struct {
	ID     string
	Window time.Duration
	Steps  []string
}

// RuleSet is what the sink needs to know of the rules in force.
type RuleSet struct {
	Version string
	Rules   []Rule
	Funnels []Funnel
}

// Migrate creates the database, the tables and the views that do not depend
// on the rules, and re-creates a view only when its SQL changed (a new
// microconv). It is idempotent: a second run changes nothing. Its
// statements are those Schema.Statements renders.
func (c *Client) Migrate(ctx context.Context) error {
	all, err := c.Statements(nil, time.Now())
	if err != nil {
		return err
	}
	// What exists already is not created again: on a cluster every
	// CREATE … ON CLUSTER waits for every node, so a restart while a node
	// is down would wait for it although nothing is to be done.
	have, err := c.existingTables(ctx)
	if err != nil {
		return err
	}
	tables := 0
	for _, s := range all {
		if strings.HasPrefix(s.What, "view ") || strings.HasPrefix(s.What, "record ") {
			continue
		}
		if name, ok := strings.CutPrefix(s.What, "table "); ok && have[name] {
			continue
		}
		if strings.HasPrefix(s.What, "database ") && have != nil {
			continue
		}
		if err := c.exec(ctx, s.SQL); err != nil {
			return fmt.Errorf("cannot create %s: %w", s.What, err)
		}
		tables++
	}
	views, err := c.staticViews()
	if err != nil {
		return err
	}
	changed, err := c.syncViews(ctx, views, isStaticView)
	if err != nil {
		return err
	}
	c.log.Info().Str("database", c.cfg.Database).Int("created", tables).Int("views", len(views)).Int("views_changed", changed).Msg("schema is up to date")
	return nil
}

// DropDatabase drops the database with everything in it (on every node of
// the cluster, and with it the replicas' ZooKeeper entries): for the demo
// and the bench, which start from nothing.
func (c *Client) DropDatabase(ctx context.Context) error {
	if err := c.exec(ctx, "DROP DATABASE IF EXISTS "+c.db+c.onCluster()); err != nil {
		return fmt.Errorf("cannot drop database %s: %w", c.cfg.Database, err)
	}
	return nil
}

// existingTables returns the tables and views of the database on the server
// (on a cluster: on the node connected to), nil when the database does not
// exist.
func (c *Client) existingTables(ctx context.Context) (map[string]bool, error) {
	rows, err := c.be.query(ctx, "SELECT name FROM system.databases WHERE name = "+quoteString(c.cfg.Database))
	if err != nil {
		return nil, fmt.Errorf("cannot list databases: %w", scrub(err, c.cfg.Password))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	rows, err = c.be.query(ctx, "SELECT name FROM system.tables WHERE database = "+quoteString(c.cfg.Database))
	if err != nil {
		return nil, fmt.Errorf("cannot list tables: %w", scrub(err, c.cfg.Password))
	}
	have := make(map[string]bool, len(rows))
	for _, r := range rows {
		have[r[0]] = true
	}
	return have, nil
}

func (c *Client) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.InsertTimeout)
	defer cancel()
	if err := c.be.exec(ctx, sql); err != nil {
		return fmt.Errorf("cannot execute %q: %w", firstLine(sql), scrub(err, c.cfg.Password))
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// InForce returns the version of the rule set in force in ClickHouse and its
// sequence number ("" and 0 when none was ever stored).
func (c *Client) InForce(ctx context.Context) (version string, seq uint64, err error) {
	q := "SELECT version, seq FROM " + c.db + ".conversion_rules ORDER BY seq DESC LIMIT 1"
	rows, err := c.be.query(ctx, q)
	if err != nil {
		return "", 0, fmt.Errorf("cannot read the rules in force: %w", scrub(err, c.cfg.Password))
	}
	if len(rows) == 0 {
		return "", 0, nil
	}
	if len(rows[0]) != 2 {
		return "", 0, fmt.Errorf("cannot read the rules in force: %d columns", len(rows[0]))
	}
	seq, err = strconv.ParseUint(rows[0][1], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("cannot read the rules in force: seq %q: %w", rows[0][1], err)
	}
	return rows[0][0], seq, nil
}

// PutRules makes rs the rule set in force: when its version differs from the
// one stored, it appends the rules and funnels under a new, greater sequence
// number. It reports whether anything was written; storing the same version
// again is a no-op, so PutRules is idempotent.
func (c *Client) PutRules(ctx context.Context, rs RuleSet) (bool, error) {
	version, _, err := c.InForce(ctx)
	if err != nil {
		return false, err
	}
	if version == rs.Version {
		// Same rules: make sure their funnel views exist and are current.
		return false, c.syncFunnelViews(ctx, rs.Funnels)
	}
	// The same INSERTs `microconv schema` prints: sequence numbers follow
	// the clock (readable, and distinct between instances) but never go
	// back, even if the clock does; funnels first, rules last.
	stmts, err := c.rulesInserts(rs, time.Now())
	if err != nil {
		return false, err
	}
	for _, f := range rs.Funnels {
		if _, err := c.funnelViews(f); err != nil {
			return false, err
		}
	}
	for _, s := range stmts {
		if err := c.exec(ctx, s.SQL); err != nil {
			return false, fmt.Errorf("cannot store the %s: %w", s.What, err)
		}
	}
	if err := c.syncFunnelViews(ctx, rs.Funnels); err != nil {
		return true, err
	}
	c.log.Info().Str("version", rs.Version).Str("previous", version).Int("rules", len(rs.Rules)).Int("funnels", len(rs.Funnels)).Msg("rules in force updated")
	return true, nil
}
