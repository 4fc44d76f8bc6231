// Package inputkit is the input formats' test kit: a fake Confluent schema
// registry, Avro messages in the Confluent wire format, and Snowplow's
// e-commerce fixture rows as enriched TSV and JSON. The input package's
// tests and the consumer's end-to-end tests share it.
package inputkit

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Reference is a schema reference as the registry's JSON shows it.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Hold makes requests wait until the returned function is called.
func (r *FakeRegistry) Hold() (release func()) {
	ch := make(chan struct{})
	r.mu.Lock()
	r.hold = ch
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.hold = nil
		r.mu.Unlock()
		close(ch)
	}
}

// FakeRegistry is a Confluent-compatible schema registry for tests:
// GET /schemas/ids/{id} and GET /subjects/{subject}/versions/{version},
// behind basic auth. It can be made to fail (503), to hold requests, and be
// stopped and restarted on the same address.
type FakeRegistry struct {
	t          testing.TB
	user, pass string

	mu       sync.Mutex
	srv      *httptest.Server
	addr     string
	schemas  map[int]Schema
	subjects map[string]Schema // "subject/version"

	Down     atomic.Bool   // answer 503
	hold     chan struct{} // when set, requests wait for it to be closed
	Requests atomic.Int64  // GET /schemas/ids requests answered or held
	AuthFail atomic.Int64
}

type Schema struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
}

func NewFakeRegistry(t testing.TB, user, pass string) *FakeRegistry {
	r := &FakeRegistry{t: t, user: user, pass: pass, schemas: map[int]Schema{}, subjects: map[string]Schema{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.Stop)
	return r
}

func (r *FakeRegistry) serve(ln net.Listener) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(r.handle))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
}

// stop closes the server: connections are refused until restart.
func (r *FakeRegistry) Stop() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// restart serves again on the same address, with the same schemas.
func (r *FakeRegistry) Restart() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("cannot listen on %s again: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *FakeRegistry) URL() string { return "http://" + r.addr }

func (r *FakeRegistry) Add(id int, s Schema) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.schemas[id] = s
}

func (r *FakeRegistry) AddSubject(subject string, version int, s Schema) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subjects[subject+"/"+strconv.Itoa(version)] = s
}

func (r *FakeRegistry) handle(w http.ResponseWriter, req *http.Request) {
	answer := func(code int, v any) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	type regErr struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	if u, p, ok := req.BasicAuth(); r.user != "" && (!ok || u != r.user || p != r.pass) {
		r.AuthFail.Add(1)
		answer(http.StatusUnauthorized, regErr{40101, "Unauthorized"})
		return
	}
	if strings.HasPrefix(req.URL.Path, "/schemas/ids/") {
		r.Requests.Add(1)
	}
	r.mu.Lock()
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if r.Down.Load() {
		answer(http.StatusServiceUnavailable, regErr{50003, "Error while forwarding the request to the leader"})
		return
	}
	if req.Method != http.MethodGet {
		answer(http.StatusMethodNotAllowed, regErr{405, "method not allowed"})
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/"); {
	case len(parts) == 3 && parts[0] == "schemas" && parts[1] == "ids":
		id, _ := strconv.Atoi(parts[2])
		s, ok := r.schemas[id]
		if !ok {
			answer(http.StatusNotFound, regErr{40403, fmt.Sprintf("Schema %d not found", id)})
			return
		}
		answer(http.StatusOK, s)
	case len(parts) == 4 && parts[0] == "subjects" && parts[2] == "versions":
		s, ok := r.subjects[parts[1]+"/"+parts[3]]
		if !ok {
			answer(http.StatusNotFound, regErr{40401, "Subject not found"})
			return
		}
		answer(http.StatusOK, s)
	default:
		answer(http.StatusNotFound, regErr{404, "not found"})
	}
}
