package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/microconv/microconv/internal/chdb"
	"github.com/microconv/microconv/internal/chsql"
)

// EnvChDBDir names the variable that holds the directory under which test
// processes keep their chDB data (make test sets and removes it; else a
// temporary directory).
const EnvChDBDir = "MICROCONV_TEST_CHDB_DIR"

// Engine is a ClickHouse the tests run SQL on: the 18.16 server over the
// native protocol, or ClickHouse 26.x in-process through chDB.
type Engine struct {
	// Name is "server" or "chdb" (subtest names).
	Name string
	// Addr is what sink.Config.Addr takes: host:port, or chdb:DIR.
	Addr string

	conn driver.Conn // server
	s    *chdb.Session
}

// Server is the test server as an Engine (skips, or fails in CI, without one).
func Server(t testing.TB) *Engine {
	t.Helper()
	return &Engine{Name: "server", Addr: Addr(t), conn: Conn(t)}
}

// ServerAt is the server at addr (host:port) as an Engine.
func ServerAt(t testing.TB, addr string) *Engine {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("cannot open ClickHouse at %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &Engine{Name: "server", Addr: addr, conn: conn}
}

var (
	chdbOnce sync.Once
	chdbDir  string
	chdbErr  error
)

// ChDB is chDB as an Engine. In a build without the chdb tag, or without
// CHDB_LIB_PATH, a test skips with a message saying how to run it, and
// fails in CI.
func ChDB(t testing.TB) *Engine {
	t.Helper()
	if !chdb.Available || os.Getenv("CHDB_LIB_PATH") == "" {
		msg := "no chDB: run `make test` (installs chDB and builds the tests with -tags chdb), or set CHDB_LIB_PATH=…/libchdb.so and pass -tags chdb"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s; integration tests must not skip in CI", msg)
		}
		t.Skip(msg)
	}
	chdbOnce.Do(func() {
		base := os.Getenv(EnvChDBDir)
		if base == "" {
			base = os.TempDir()
		}
		chdbDir = filepath.Join(base, fmt.Sprintf("chdb-%d", os.Getpid()))
		_, chdbErr = chdb.Open(chdbDir)
	})
	if chdbErr != nil {
		t.Fatalf("cannot start chDB: %v", chdbErr)
	}
	s, err := chdb.Open(chdbDir)
	if err != nil {
		t.Fatal(err)
	}
	return &Engine{Name: "chdb", Addr: "chdb:" + chdbDir, s: s}
}

// Engines returns every engine the SQL is tested on: the server and chDB.
func Engines(t testing.TB) []*Engine {
	t.Helper()
	return []*Engine{Server(t), ChDB(t)}
}

// Each runs f as a subtest on the server and on chDB.
func Each(t *testing.T, f func(t *testing.T, e *Engine)) {
	t.Helper()
	for _, name := range []string{"server", "chdb"} {
		t.Run(name, func(t *testing.T) {
			var e *Engine
			if name == "server" {
				e = Server(t)
			} else {
				e = ChDB(t)
			}
			f(t, e)
		})
	}
}

// Exec runs one statement.
func (e *Engine) Exec(t testing.TB, sql string) {
	t.Helper()
	if err := e.exec(sql); err != nil {
		t.Fatalf("cannot execute %q on %s: %v", sql, e.Name, err)
	}
}

func (e *Engine) exec(sql string) error {
	if e.s != nil {
		return e.s.Exec(sql)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return e.conn.Exec(ctx, sql)
}

// Query runs q and returns its rows as text (see chsql.ScanText; chDB
// gives the same text).
func (e *Engine) Query(t testing.TB, q string) [][]string {
	t.Helper()
	rows, err := e.TryQuery(q)
	if err != nil {
		t.Fatalf("cannot query %q on %s: %v", q, e.Name, err)
	}
	return rows
}

// TryQuery is Query returning its error.
func (e *Engine) TryQuery(q string) ([][]string, error) {
	if e.s != nil {
		return e.s.Query(q, chsql.Null)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rows, err := e.conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return chsql.ScanText(rows)
}

// Rows is Query with the rows joined: columns by " ", rows by "\n".
func (e *Engine) Rows(t testing.TB, q string) string {
	t.Helper()
	var out []string
	for _, r := range e.Query(t, q) {
		out = append(out, strings.Join(r, " "))
	}
	return strings.Join(out, "\n")
}

// Database returns the name of a fresh, empty database on e, dropped when
// the test ends (kept when it failed, to look at).
func (e *Engine) Database(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "test_" + hex.EncodeToString(b[:])
	e.Exec(t, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("MICROCONV_TEST_KEEP_DB") != "" {
			t.Logf("kept database %s on %s", name, e.Name)
			return
		}
		_ = e.exec("DROP DATABASE IF EXISTS " + name)
	})
	return name
}
