package sink

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/microconv/microconv/internal/chsql"
)

// backend is how a Client talks to ClickHouse: a server over the native
// protocol (clickhouse-go), or chDB, ClickHouse in-process, in builds with
// the chdb tag (MICROCONV_CLICKHOUSE_ADDR=chdb:DIR; see chdb.go). Every
// statement the sink runs goes through exec and query as SQL text; only
// the batch's rows take a way of their own (insert).
type backend interface {
	exec(ctx context.Context, sql string) error
	// query returns rows as text, NULL as Null.
	query(ctx context.Context, sql string) ([][]string, error)
	// insert writes rows [from, to) of blk into table in one INSERT.
	insert(ctx context.Context, table string, cols []string, blk *tableBlock, from, to int) error
	ping(ctx context.Context) error
	version(ctx context.Context) (serverInfo, error)
	close() error
}

// nativeBackend is a ClickHouse server over the native protocol.
type nativeBackend struct {
	conn driver.Conn
	cfg  Config
}

func (n *nativeBackend) exec(ctx context.Context, sql string) error { return n.conn.Exec(ctx, sql) }
func (n *nativeBackend) ping(ctx context.Context) error             { return n.conn.Ping(ctx) }
func (n *nativeBackend) close() error                               { return n.conn.Close() }

func (n *nativeBackend) version(context.Context) (serverInfo, error) {
	v, err := n.conn.ServerVersion()
	if err != nil {
		return serverInfo{}, err
	}
	return serverInfo{Major: int(v.Version.Major), Minor: int(v.Version.Minor), Patch: int(v.Version.Patch), Name: v.DisplayName}, nil
}

func (n *nativeBackend) query(ctx context.Context, q string) ([][]string, error) {
	rows, err := n.conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return chsql.ScanText(rows)
}
