package sink

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/microconv/microconv/internal/backoff"
)

// Config says where ClickHouse is and how to write to it.
type Config struct {
	// Addr lists host:port of the native protocol (default localhost:9000).
	Addr []string
	// Database that holds microconv's tables and views (default microconv).
	Database string
	// Cluster, when set, is the remote_servers cluster the schema is
	// created on (ON CLUSTER, Replicated and Distributed tables; see
	// cluster.go). Inserts then wait until every shard has its rows.
	Cluster  string
	Username string
	Password string // never logged
	// TLS connects with TLS (default false).
	TLS bool
	// TLSCAFile, when set, is a PEM file of CAs that verify the server.
	TLSCAFile string
	// TLSInsecureSkipVerify disables server certificate verification (tests only).
	TLSInsecureSkipVerify bool

	// Compression of the native protocol: auto (default: lz4, or none when
	// every server is on this host), lz4, zstd or none.
	Compression string

	// DialTimeout bounds connecting to the server (default 5s).
	DialTimeout time.Duration
	// InsertTimeout bounds one insert attempt; a slower one is retried (default 60s).
	InsertTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between insert attempts
	// (defaults backoff.DefaultMin and DefaultMax: 250ms and 5s).
	RetryMin, RetryMax time.Duration
}

// Errors returned by Validate, wrapped with the offending value.
var (
	ErrNoAddr          = errors.New("no ClickHouse address")
	ErrInvalidDatabase = errors.New("invalid database name")
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ValidIdentifier reports whether s may be used as a database, table or view
// name without quoting surprises: [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes.
func ValidIdentifier(s string) bool { return identRE.MatchString(s) }

func (c *Config) setDefaults() {
	if len(c.Addr) == 0 {
		c.Addr = []string{"localhost:9000"}
	}
	if c.Database == "" {
		c.Database = "microconv"
	}
	if c.Username == "" {
		c.Username = "default"
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.InsertTimeout <= 0 {
		c.InsertTimeout = 60 * time.Second
	}
	if c.RetryMin <= 0 {
		c.RetryMin = backoff.DefaultMin
	}
	if c.RetryMax <= 0 {
		c.RetryMax = backoff.DefaultMax
	}
}

// Validate checks the configuration after defaults are applied.
func (c *Config) Validate() error {
	c.setDefaults()
	for _, a := range c.Addr {
		if a == "" {
			return fmt.Errorf("%w: empty entry in %q", ErrNoAddr, c.Addr)
		}
	}
	if !ValidIdentifier(c.Database) {
		return fmt.Errorf("%w %q: want [A-Za-z_][A-Za-z0-9_]*, at most 64 characters", ErrInvalidDatabase, c.Database)
	}
	if err := ValidCluster(c.Cluster); err != nil {
		return err
	}
	return nil
}
