//go:build chdb

package chdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	chdbpurego "github.com/chdb-io/chdb-go/chdb-purego"
)

// Available reports whether this build has chDB.
const Available = true

// ErrUnavailable is returned by Open when the session cannot start.
var ErrUnavailable = errors.New("chDB is unavailable")

// Session is the process's chDB session. Its methods may be called from
// several goroutines: they take turns.
type Session struct {
	mu   sync.Mutex
	conn chdbpurego.ChdbConn
	path string
}

var (
	openMu  sync.Mutex
	current *Session
)

// Open returns the session whose data lives in dir, starting it on the
// first call. chDB has one session per process: asking for another
// directory while one is open is an error.
func Open(dir string) (*Session, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot use chDB directory %q: %w", dir, err)
	}
	openMu.Lock()
	defer openMu.Unlock()
	if current != nil {
		if current.path != abs {
			return nil, fmt.Errorf("cannot open chDB in %q: this process has its session in %q (one per process)", abs, current.path)
		}
		return current, nil
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create chDB directory: %w", err)
	}
	conn, err := chdbpurego.NewConnectionFromConnString(abs)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot start a session in %q: %v", ErrUnavailable, abs, err)
	}
	current = &Session{conn: conn, path: abs}
	return current, nil
}

// Path is the session's data directory.
func (s *Session) Path() string { return s.path }

func (s *Session) run(sql, format string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.conn.Query(sql, format)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, nil
	}
	defer res.Free()
	if err := res.Error(); err != nil {
		return nil, err
	}
	return bytes.Clone(res.Buf()), nil
}

// Exec runs one statement.
func (s *Session) Exec(sql string) error {
	_, err := s.run(sql, "TabSeparated")
	return err
}

// Query runs q and returns its rows as text: strings as they are, numbers
// as ClickHouse prints them, arrays and tuples as JSON, NULL as null.
func (s *Session) Query(q, null string) ([][]string, error) {
	out, err := s.run(q, "JSONCompactEachRow")
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var rows [][]string
	for {
		var row []any
		if err := dec.Decode(&row); err == io.EOF {
			return rows, nil
		} else if err != nil {
			return nil, fmt.Errorf("cannot read chDB's answer to %q: %w", q, err)
		}
		text := make([]string, len(row))
		for i, v := range row {
			switch x := v.(type) {
			case nil:
				text[i] = null
			case string:
				text[i] = x
			case json.Number:
				text[i] = x.String()
			case bool:
				text[i] = fmt.Sprint(x)
			default:
				b, _ := json.Marshal(x)
				text[i] = string(b)
			}
		}
		rows = append(rows, text)
	}
}
