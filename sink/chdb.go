package sink

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/microconv/microconv/internal/chdb"
)

// chdbBackend is chDB, ClickHouse in-process (builds with the chdb tag):
// the modern engine the tests run every statement on. A batch's rows reach
// it as a file in ClickHouse's Native format, written straight from the
// batch's columns, and one INSERT … SELECT * FROM file(…, Native) per
// table: the server converts each column to the table's type (String to
// LowCardinality(String), DateTime64(3) to DateTime …) as an INSERT over
// the native protocol does.
type chdbBackend struct {
	s   *chdb.Session
	cfg Config
	dir string // where insert files are written
	n   atomic.Uint64
}

func openChDB(ctx context.Context, cfg Config, path string, log zerolog.Logger, metrics *Metrics) (*Client, error) {
	s, err := chdb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open ClickHouse at %q: %w", "chdb:"+path, err)
	}
	dir := filepath.Join(s.Path(), "microconv-inserts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	c := newClient(cfg, &chdbBackend{s: s, cfg: cfg, dir: dir}, log, metrics)
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (b *chdbBackend) exec(_ context.Context, sql string) error { return b.s.Exec(sql) }
func (b *chdbBackend) ping(context.Context) error               { return b.s.Exec("SELECT 1") }

// close leaves the session open: it is the process's only one, shared by
// every Client on it.
func (b *chdbBackend) close() error { return nil }

func (b *chdbBackend) query(_ context.Context, q string) ([][]string, error) {
	return b.s.Query(q, Null)
}

func (b *chdbBackend) version(ctx context.Context) (serverInfo, error) {
	rows, err := b.query(ctx, "SELECT version()")
	if err != nil {
		return serverInfo{}, err
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		return serverInfo{}, fmt.Errorf("cannot read chDB's version: %q", rows)
	}
	v, err := ParseServerVersion(rows[0][0])
	v.Name = "chDB"
	return v, err
}

func (b *chdbBackend) insert(ctx context.Context, table string, cols []string, blk *tableBlock, from, to int) error {
	path := filepath.Join(b.dir, fmt.Sprintf("%d-%s.native", b.n.Add(1), table))
	if err := os.WriteFile(path, nativeBlock(cols, blk, from, to), 0o600); err != nil {
		return fmt.Errorf("cannot write rows for %q: %w", table, err)
	}
	defer os.Remove(path)
	q := insertQuery(quoteIdent(b.cfg.Database), table, cols) + " SELECT * FROM file(" + quoteString(path) + ", Native)"
	if err := b.exec(ctx, q); err != nil {
		return fmt.Errorf("cannot insert %d rows into %q: %w", to-from, table, err)
	}
	return nil
}

// nativeBlock encodes rows [from, to) of blk as one block of ClickHouse's
// Native format: the number of columns and of rows, then per column its
// name, its type and its values.
func nativeBlock(cols []string, blk *tableBlock, from, to int) []byte {
	var out []byte
	out = binary.AppendUvarint(out, uint64(len(cols)))
	out = binary.AppendUvarint(out, uint64(to-from))
	str := func(s string) {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	for i, name := range cols {
		c := blk.cols[i].rowRange(from, to)
		str(strings.Trim(name, "`"))
		switch c.kind {
		case kindString:
			str("String")
			for r := 1; r < len(c.ends); r++ {
				s := c.buf[c.ends[r-1]:c.ends[r]]
				out = binary.AppendUvarint(out, uint64(len(s)))
				out = append(out, s...)
			}
		case kindInt64:
			str("Int64")
			out = append(out, c.buf...)
		case kindInt32:
			str("Int32")
			out = append(out, c.buf...)
		case kindMillis:
			// Unix milliseconds are DateTime64(3)'s values.
			str("DateTime64(3, 'UTC')")
			out = append(out, c.buf...)
		case kindNullFloat:
			str("Nullable(Float64)")
			out = append(out, c.nulls...)
			out = append(out, c.buf...)
		}
	}
	return out
}
