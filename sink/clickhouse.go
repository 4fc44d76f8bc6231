package sink

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/microconv/microconv/internal/chsql"
	"github.com/microconv/microconv/internal/tlsconf"
)

// Client is a connection pool to one ClickHouse deployment.
type Client struct {
	Schema  // the SQL of the server's version, for cfg.Database
	cfg     Config
	be      backend
	conn    driver.Conn // the native protocol's pool; nil on chDB
	log     zerolog.Logger
	metrics *Metrics
	gate    atomic.Pointer[insertGate] // nil: inserts go at once
}

// Open connects to ClickHouse and reads the server version. metrics may be nil.
func Open(ctx context.Context, cfg Config, log zerolog.Logger, metrics *Metrics) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := &clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     cfg.Addr,
		Auth: clickhouse.Auth{
			Username: cfg.Username,
			Password: cfg.Password,
		},
		Compression:     compression(cfg.Compression, cfg.Addr),
		DialTimeout:     cfg.DialTimeout,
		MaxOpenConns:    4,
		MaxIdleConns:    2,
		ConnMaxLifetime: time.Hour,
		ClientInfo: clickhouse.ClientInfo{
			Products: []struct{ Name, Version string }{{Name: "microconv", Version: "1"}},
		},
	}
	if path, ok := chdbPath(cfg.Addr); ok {
		if cfg.Cluster != "" {
			return nil, fmt.Errorf("%w: cluster %q on chDB (%s): chDB is one process, not a cluster; unset the cluster", ErrInvalidCluster, cfg.Cluster, cfg.Addr[0])
		}
		return openChDB(ctx, cfg, path, log, metrics)
	}
	if cfg.Cluster != "" {
		// An insert into a Distributed table returns once every shard
		// has its rows (one replica each), so that an offset is committed
		// only for rows that are on their shard; by default the rows would
		// wait in a local queue of the node and be sent later.
		opts.Settings = clickhouse.Settings{"insert_distributed_sync": 1}
	}
	if cfg.TLS {
		tc, err := tlsconf.Client("ClickHouse", cfg.TLSCAFile, cfg.TLSInsecureSkipVerify)
		if err != nil {
			return nil, err
		}
		opts.TLS = tc
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot open ClickHouse at %q: %w", cfg.Addr, scrub(err, cfg.Password))
	}
	c := newClient(cfg, &nativeBackend{conn: conn, cfg: cfg}, log, metrics)
	c.conn = conn
	if err := c.connect(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

func newClient(cfg Config, be backend, log zerolog.Logger, metrics *Metrics) *Client {
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	return &Client{
		Schema:  Schema{database: cfg.Database, db: quoteIdent(cfg.Database), cluster: cfg.Cluster},
		cfg:     cfg,
		be:      be,
		log:     log.With().Str("component", "sink").Logger(),
		metrics: metrics,
	}
}

// chdbPath reports whether addr names chDB ("chdb:" and a data directory)
// rather than servers.
func chdbPath(addr []string) (string, bool) {
	if len(addr) != 1 {
		return "", false
	}
	return strings.CutPrefix(addr[0], "chdb:")
}

// connect pings the server and reads its version.
func (c *Client) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout+5*time.Second)
	defer cancel()
	if err := c.be.ping(ctx); err != nil {
		return fmt.Errorf("cannot reach ClickHouse at %q: %w", c.cfg.Addr, scrub(err, c.cfg.Password))
	}
	v, err := c.be.version(ctx)
	if err != nil {
		return fmt.Errorf("cannot read ClickHouse server version: %w", scrub(err, c.cfg.Password))
	}
	c.server = v
	if c.cluster != "" {
		if err := c.checkCluster(func(q string) ([][]string, error) { return c.be.query(ctx, q) }); err != nil {
			return scrub(err, c.cfg.Password)
		}
	}
	c.metrics.Up.Set(1)
	c.log.Info().Str("server_version", c.server.String()).Bool("modern", c.server.Modern()).Msg("connected to clickhouse")
	return nil
}

// Close closes the connection pool.
func (c *Client) Close() error { return c.be.close() }

// Ping reports whether the server answers.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.be.ping(ctx); err != nil {
		c.metrics.Up.Set(0)
		return scrub(err, c.cfg.Password)
	}
	c.metrics.Up.Set(1)
	return nil
}

// Conn exposes the native protocol's connection pool (nil on chDB).
func (c *Client) Conn() driver.Conn { return c.conn }

// Exec runs one statement (reports, tools, tests).
func (c *Client) Exec(ctx context.Context, sql string) error { return c.exec(ctx, sql) }

// Query runs q and returns its rows as text: numbers as ClickHouse prints
// them, NULL as Null (reports, tools, tests: small results).
func (c *Client) Query(ctx context.Context, q string) ([][]string, error) {
	rows, err := c.be.query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("cannot query %q: %w", firstLine(q), scrub(err, c.cfg.Password))
	}
	return rows, nil
}

// Null is how Query shows a NULL.
const Null = chsql.Null

// Database is the configured database name (unquoted).
func (c *Client) Database() string { return c.cfg.Database }

// ServerVersion is the server's version as "major.minor.patch".
func (c *Client) ServerVersion() string { return c.server.String() }

// serverInfo is the part of the server version that decides which SQL to use.
type serverInfo struct {
	Major, Minor, Patch int
	Name                string
}

func (s serverInfo) String() string {
	return strconv.Itoa(s.Major) + "." + strconv.Itoa(s.Minor) + "." + strconv.Itoa(s.Patch)
}

// Modern reports whether the server has DateTime64 and LowCardinality
// (ClickHouse 20.1 and later). Older servers (18.x, 19.x) get DateTime and
// String columns; the views read the same column names either way.
func (s serverInfo) Modern() bool { return s.Major >= 20 }

// quoteIdent quotes a validated identifier with backticks.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// scrub removes a secret from an error's text: drivers sometimes echo the DSN.
func scrub(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return scrubbedError{msg: strings.ReplaceAll(err.Error(), secret, "****"), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }

// compression maps the configured method to the driver's. "auto" (the
// default) is LZ4, except when every server is on this host: over loopback,
// compressing costs CPU on both sides and saves no time.
func compression(method string, addrs []string) *clickhouse.Compression {
	if method == "" || method == "auto" {
		method = "lz4"
		if allLoopback(addrs) {
			method = "none"
		}
	}
	switch method {
	case "none":
		return &clickhouse.Compression{Method: clickhouse.CompressionNone}
	case "zstd":
		return &clickhouse.Compression{Method: clickhouse.CompressionZSTD}
	default:
		return &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
}

func allLoopback(addrs []string) bool {
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		if host == "localhost" {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return len(addrs) > 0
}
