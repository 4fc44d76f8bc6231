package sink

import (
	"context"
	"fmt"
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
// microconv). It is idempotent: a second run changes nothing.
func (c *Client) Migrate(ctx context.Context) error {
	if err := c.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+c.db); err != nil {
		return err
	}
	tables, err := c.renderDir("clickhouse/tables", nil)
	if err != nil {
		return err
	}
	for _, s := range tables {
		if err := c.exec(ctx, s.sql); err != nil {
			return fmt.Errorf("cannot apply %s: %w", s.name, err)
		}
	}
	views, err := c.staticViews()
	if err != nil {
		return err
	}
	changed, err := c.syncViews(ctx, views, isStaticView)
	if err != nil {
		return err
	}
	c.log.Info().Str("database", c.cfg.Database).Int("tables", len(tables)).Int("views", len(views)).Int("views_changed", changed).Msg("schema is up to date")
	return nil
}

func (c *Client) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.InsertTimeout)
	defer cancel()
	if err := c.conn.Exec(ctx, sql); err != nil {
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
	rows, err := c.conn.Query(ctx, q)
	if err != nil {
		return "", 0, fmt.Errorf("cannot read the rules in force: %w", scrub(err, c.cfg.Password))
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&version, &seq); err != nil {
			return "", 0, fmt.Errorf("cannot read the rules in force: %w", err)
		}
	}
	return version, seq, rows.Err()
}

// PutRules makes rs the rule set in force: when its version differs from the
// one stored, it appends the rules and funnels under a new, greater sequence
// number. It reports whether anything was written; storing the same version
// again is a no-op, so PutRules is idempotent.
func (c *Client) PutRules(ctx context.Context, rs RuleSet) (bool, error) {
	version, seq, err := c.InForce(ctx)
	if err != nil {
		return false, err
	}
	if version == rs.Version {
		// Same rules: make sure their funnel views exist and are current.
		return false, c.syncFunnelViews(ctx, rs.Funnels)
	}
	// Sequence numbers follow the clock (readable, and distinct between
	// instances) but never go back, even if the clock does.
	next := max(uint64(time.Now().UnixMilli()), seq+1)
	now := time.Now().UTC().Truncate(time.Second)

	if len(rs.Funnels) > 0 {
		fb, err := c.conn.PrepareBatch(ctx, insertQuery(c.db, "conversion_funnels", []string{"id", "window_ms", "steps", "version", "seq", "loaded_at"}))
		if err != nil {
			return false, fmt.Errorf("cannot prepare insert into %q: %w", "conversion_funnels", err)
		}
		for _, f := range rs.Funnels {
			if err := fb.Append(f.ID, f.Window.Milliseconds(), f.Steps, rs.Version, next, now); err != nil {
				_ = fb.Abort()
				return false, fmt.Errorf("cannot append funnel %q: %w", f.ID, err)
			}
		}
		if err := fb.Send(); err != nil {
			return false, fmt.Errorf("cannot store funnels: %w", scrub(err, c.cfg.Password))
		}
	}
	// conversion_rules last: its greatest seq marks the set in force, so a
	// set is only in force once all of it is stored.
	rb, err := c.conn.PrepareBatch(ctx, insertQuery(c.db, "conversion_rules", []string{"id", "type", "category", "description", "position", "version", "seq", "loaded_at"}))
	if err != nil {
		return false, fmt.Errorf("cannot prepare insert into %q: %w", "conversion_rules", err)
	}
	for i, r := range rs.Rules {
		if err := rb.Append(r.ID, r.Type, r.Category, r.Description, uint32(i), rs.Version, next, now); err != nil {
			_ = rb.Abort()
			return false, fmt.Errorf("cannot append rule %q: %w", r.ID, err)
		}
	}
	if err := rb.Send(); err != nil {
		return false, fmt.Errorf("cannot store rules: %w", scrub(err, c.cfg.Password))
	}
	if err := c.syncFunnelViews(ctx, rs.Funnels); err != nil {
		return true, err
	}
	c.log.Info().Str("version", rs.Version).Str("previous", version).Int("rules", len(rs.Rules)).Int("funnels", len(rs.Funnels)).Msg("rules in force updated")
	return true, nil
}
