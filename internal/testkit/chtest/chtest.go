// Package chtest gives tests a real ClickHouse server: the one `make test`
// starts (MICROCONV_TEST_CLICKHOUSE_ADDR) and a fresh database per test.
//
// Without a server a test skips with a message saying how to run it, except
// in CI (CI set), where a missing server fails the test.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// EnvAddr names the variable that holds the test server's host:port.
const EnvAddr = "MICROCONV_TEST_CLICKHOUSE_ADDR"

// Addr returns the address of the test server, or skips (fails in CI).
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set and CI is: integration tests must not skip in CI; run them with `make test`", EnvAddr)
		}
		t.Skipf("no ClickHouse: set %s=host:port or run `make test`, which starts a private clickhouse-server", EnvAddr)
	}
	return addr
}

// Conn opens a connection to the test server for assertions.
func Conn(t testing.TB) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{Addr(t)}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("cannot open ClickHouse: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Database returns the name of a fresh, empty database on the test server,
// dropped when the test ends (kept when it failed, to look at).
func Database(t testing.TB) string {
	t.Helper()
	conn := Conn(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("cannot create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("MICROCONV_TEST_KEEP_DB") != "" {
			t.Logf("kept database %s", name)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	})
	return name
}

// QueryStrings runs q and returns every row as strings (columns converted
// with toString in the query are easiest to compare).
func QueryStrings(t testing.TB, conn driver.Conn, q string, args ...any) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		t.Fatalf("cannot query %q: %v", q, err)
	}
	defer rows.Close()
	n := len(rows.Columns())
	var out [][]string
	for rows.Next() {
		vals := make([]string, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("cannot scan %q: %v (convert columns with toString)", q, err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("cannot read %q: %v", q, err)
	}
	return out
}
