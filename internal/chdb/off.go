//go:build !chdb

package chdb

import "errors"

// Available reports whether this build has chDB.
const Available = false

// ErrUnavailable is returned by Open in builds without the chdb tag.
var ErrUnavailable = errors.New("this build has no chDB: build with -tags chdb and set CHDB_LIB_PATH to libchdb.so")

// Session is a chDB session (never opened in this build).
type Session struct{}

// Open fails: this build has no chDB.
func Open(string) (*Session, error) { return nil, ErrUnavailable }

// Exec fails: this build has no chDB.
func (*Session) Exec(string) error { return ErrUnavailable }

// Query fails: this build has no chDB.
func (*Session) Query(string, string) ([][]string, error) { return nil, ErrUnavailable }

// Path is the session's data directory.
func (*Session) Path() string { return "" }
