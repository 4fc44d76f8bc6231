package sink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/microconv/microconv/schemas"
)

// templateData is what every SQL template may use.
type templateData struct {
	DB      string // quoted database identifier
	TS      string // column type of timestamps
	LC      string // column type of low-cardinality strings
	InForce string // subquery of the rules in force: id, type, category, position
}

func (c *Schema) templateData() templateData {
	d := templateData{DB: c.db, TS: "DateTime('UTC')", LC: "String"}
	if c.server.Modern() {
		d.TS = "DateTime64(3, 'UTC')"
		d.LC = "LowCardinality(String)"
	}
	d.InForce = "(SELECT DISTINCT id, type, category, position FROM " + c.db + ".conversion_rules" +
		" WHERE seq = (SELECT max(seq) FROM " + c.db + ".conversion_rules))"
	return d
}

type statement struct{ name, sql string }

// renderDir renders every *.sql template of dir in name order. data nil
// means the client's templateData.
func (c *Schema) renderDir(dir string, data any) ([]statement, error) {
	names, err := fs.Glob(schemas.ClickHouse, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []statement
	for _, name := range names {
		sql, err := c.render(name, data)
		if err != nil {
			return nil, err
		}
		out = append(out, statement{name: name, sql: sql})
	}
	return out, nil
}

func (c *Schema) render(name string, data any) (string, error) {
	src, err := fs.ReadFile(schemas.ClickHouse, name)
	if err != nil {
		return "", err
	}
	td := c.templateData()
	if data == nil {
		data = td
	}
	tmpl, err := template.New(name).Funcs(template.FuncMap{
		"lc": func() string { return td.LC },
		// table and engine place a table on one server or a cluster
		// (cluster.go).
		"table":  c.tableClause,
		"engine": func(engine, table string) string { return c.engineClause(engine, table) },
		// ms turns an expression of Unix milliseconds into the server's
		// timestamp type: DateTime64(3) keeps them, DateTime has seconds.
		"ms": func(expr string) string {
			if td.TS == "DateTime('UTC')" {
				return "toDateTime(intDiv(" + expr + ", 1000), 'UTC')"
			}
			return "fromUnixTimestamp64Milli(" + expr + ", 'UTC')"
		},
	}).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", fmt.Errorf("cannot parse schema template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("cannot render schema template %s: %w", name, err)
	}
	return stripComments(buf.String()), nil
}

// stripComments drops whole-line "--" comments: old servers reject a
// statement that is only a comment, and the rest reads better in logs.
func stripComments(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimSpace(b.String())
}

// view is a view microconv manages: its name and the SELECT it stands for.
type view struct{ name, sql string }

var staticViewNames []string

func isStaticView(name string) bool { return slices.Contains(staticViewNames, name) }

func isFunnelView(name string) bool { return strings.HasPrefix(name, "funnel_") }

// staticViews renders the views of schemas/clickhouse/views: the file name
// is the view name.
func (c *Schema) staticViews() ([]view, error) {
	stmts, err := c.renderDir("clickhouse/views", nil)
	if err != nil {
		return nil, err
	}
	out := make([]view, len(stmts))
	for i, s := range stmts {
		out[i] = view{name: strings.TrimSuffix(path.Base(s.name), ".sql"), sql: s.sql}
	}
	return out, nil
}

func init() {
	names, _ := fs.Glob(schemas.ClickHouse, "clickhouse/views/*.sql")
	for _, n := range names {
		staticViewNames = append(staticViewNames, strings.TrimSuffix(path.Base(n), ".sql"))
	}
}

// funnelStep and funnelConv feed the funnel templates.
type funnelStep struct {
	N, Prev int    // 1-based step number and the one before
	Bit     uint64 // 1 << (N-1)
	Name    string // conversion id
}

type funnelConv struct {
	Name string
	Mask uint64 // the steps this conversion fills
}

type funnelData struct {
	templateData
	ID       string
	Users    string // quoted name of the funnel's users view
	WindowMS int64
	NSteps   int
	Steps    []funnelStep
	Convs    []funnelConv
}

// funnelViewKinds are the views of one funnel, in creation order (the users
// view first: the others read it).
var funnelViewKinds = []struct{ file, suffix string }{
	{"users.sql", "_users"},
	{"funnel.sql", ""},
	{"breakdown.sql", "_breakdown"},
	{"daily.sql", "_daily"},
	{"times.sql", "_times"},
}

// maxMaskSteps is the most steps the funnel SQL can render: one bit each of
// a UInt64 mask.
const maxMaskSteps = 64

// funnelViews renders the views of funnel f. Its id and step names were
// validated by the rules package ([a-z][a-z0-9_]*), and are checked again
// here because they are spliced into SQL.
func (c *Schema) funnelViews(f Funnel) ([]view, error) {
	if !ValidIdentifier(f.ID) || strings.ToLower(f.ID) != f.ID {
		return nil, fmt.Errorf("cannot create views for funnel %q: invalid id", f.ID)
	}
	// How many steps a funnel may have is for the rules to say
	// (rules.MaxFunnelSteps); here, only what the SQL can render.
	if len(f.Steps) == 0 || len(f.Steps) > maxMaskSteps {
		return nil, fmt.Errorf("cannot create views for funnel %q: %d steps, want 1 to %d", f.ID, len(f.Steps), maxMaskSteps)
	}
	if f.Window <= 0 {
		return nil, fmt.Errorf("cannot create views for funnel %q: window %s is not positive", f.ID, f.Window)
	}
	d := funnelData{
		templateData: c.templateData(),
		ID:           f.ID,
		Users:        c.db + "." + quoteIdent("funnel_"+f.ID+"_users"),
		WindowMS:     f.Window.Milliseconds(),
		NSteps:       len(f.Steps),
	}
	masks := map[string]uint64{}
	var order []string
	for i, s := range f.Steps {
		if !ValidIdentifier(s) || strings.ToLower(s) != s {
			return nil, fmt.Errorf("cannot create views for funnel %q: invalid step %q", f.ID, s)
		}
		bit := uint64(1) << i
		d.Steps = append(d.Steps, funnelStep{N: i + 1, Prev: i, Bit: bit, Name: s})
		if _, ok := masks[s]; !ok {
			order = append(order, s)
		}
		masks[s] |= bit
	}
	for _, s := range order {
		d.Convs = append(d.Convs, funnelConv{Name: s, Mask: masks[s]})
	}
	out := make([]view, 0, len(funnelViewKinds))
	for _, k := range funnelViewKinds {
		sql, err := c.render("clickhouse/funnel/"+k.file, d)
		if err != nil {
			return nil, err
		}
		out = append(out, view{name: "funnel_" + f.ID + k.suffix, sql: sql})
	}
	return out, nil
}

func (c *Client) syncFunnelViews(ctx context.Context, funnels []Funnel) error {
	var views []view
	for _, f := range funnels {
		v, err := c.funnelViews(f)
		if err != nil {
			return err
		}
		views = append(views, v...)
	}
	_, err := c.syncViews(ctx, views, isFunnelView)
	return err
}

func viewHash(sql string) string {
	h := sha256.Sum256([]byte(sql))
	return hex.EncodeToString(h[:8])
}

// syncViews makes the database hold exactly the desired views among those
// in scope: a view is (re-)created when missing or when its SQL changed since
// microconv created it, and a view microconv created earlier that is in
// scope but no longer desired (a removed funnel) is dropped. It returns how
// many views it created or dropped.
func (c *Client) syncViews(ctx context.Context, desired []view, inScope func(string) bool) (int, error) {
	recorded := map[string]string{}
	rows, err := c.be.query(ctx, "SELECT name, argMax(hash, seq) FROM "+c.db+".schema_views GROUP BY name")
	if err != nil {
		return 0, fmt.Errorf("cannot read %s.schema_views: %w", c.cfg.Database, scrub(err, c.cfg.Password))
	}
	for _, r := range rows {
		recorded[r[0]] = r[1]
	}
	existing := map[string]bool{}
	rows, err = c.be.query(ctx, "SELECT name FROM system.tables WHERE database = "+quoteString(c.cfg.Database)+" AND engine = 'View'")
	if err != nil {
		return 0, fmt.Errorf("cannot list views: %w", scrub(err, c.cfg.Password))
	}
	for _, r := range rows {
		existing[r[0]] = true
	}

	var changes []viewChange
	want := map[string]bool{}
	for _, v := range desired {
		want[v.name] = true
		h := viewHash(v.sql)
		if existing[v.name] && recorded[v.name] == h {
			continue
		}
		for _, st := range c.createView(v) {
			if err := c.exec(ctx, st.SQL); err != nil {
				return len(changes), fmt.Errorf("cannot create view %s: %w", v.name, err)
			}
		}
		changes = append(changes, viewChange{v.name, h})
	}
	// Obsolete views: dependents before the views they read (_users last).
	var obsolete []string
	for name, h := range recorded {
		if h != "" && !want[name] && inScope(name) {
			obsolete = append(obsolete, name)
		}
	}
	sort.Slice(obsolete, func(i, j int) bool {
		ui, uj := strings.HasSuffix(obsolete[i], "_users"), strings.HasSuffix(obsolete[j], "_users")
		if ui != uj {
			return uj
		}
		return obsolete[i] < obsolete[j]
	})
	for _, name := range obsolete {
		if err := c.exec(ctx, c.dropView(name)); err != nil {
			return len(changes), err
		}
		changes = append(changes, viewChange{name, ""})
	}
	if len(changes) == 0 {
		return 0, nil
	}
	if err := c.exec(ctx, c.recordChanges(changes, time.Now()).SQL); err != nil {
		return len(changes), fmt.Errorf("cannot record views: %w", err)
	}
	for _, ch := range changes {
		if ch.hash == "" {
			c.log.Info().Str("view", ch.name).Msg("dropped view")
		} else {
			c.log.Info().Str("view", ch.name).Msg("created view")
		}
	}
	return len(changes), nil
}
