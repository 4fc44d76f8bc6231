package consumer

import (
	"encoding/json"
	"errors"
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

// fakeRegistry is a Confluent-compatible schema registry for tests:
// GET /schemas/ids/{id} and GET /subjects/{subject}/versions/{version},
// behind basic auth. It can be made to fail (503), to hold requests, and be
// stopped and restarted on the same address.
type fakeRegistry struct {
	t          *testing.T
	user, pass string

	mu       sync.Mutex
	srv      *httptest.Server
	addr     string
	schemas  map[int]fakeSchema
	subjects map[string]fakeSchema // "subject/version"

	down     atomic.Bool   // answer 503
	hold     chan struct{} // when set, requests wait for it to be closed
	requests atomic.Int64  // GET /schemas/ids requests answered or held
	authFail atomic.Int64
}

type fakeSchema struct {
	Schema     string            `json:"schema"`
	SchemaType string            `json:"schemaType,omitempty"`
	References []schemaReference `json:"references,omitempty"`
}

func newFakeRegistry(t *testing.T, user, pass string) *fakeRegistry {
	r := &fakeRegistry{t: t, user: user, pass: pass, schemas: map[int]fakeSchema{}, subjects: map[string]fakeSchema{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.stop)
	return r
}

func (r *fakeRegistry) serve(ln net.Listener) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(r.handle))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
}

// stop closes the server: connections are refused until restart.
func (r *fakeRegistry) stop() {
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
func (r *fakeRegistry) restart() {
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

func (r *fakeRegistry) url() string { return "http://" + r.addr }

func (r *fakeRegistry) add(id int, s fakeSchema) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.schemas[id] = s
}

func (r *fakeRegistry) addSubject(subject string, version int, s fakeSchema) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subjects[subject+"/"+strconv.Itoa(version)] = s
}

func (r *fakeRegistry) handle(w http.ResponseWriter, req *http.Request) {
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
		r.authFail.Add(1)
		answer(http.StatusUnauthorized, regErr{40101, "Unauthorized"})
		return
	}
	if strings.HasPrefix(req.URL.Path, "/schemas/ids/") {
		r.requests.Add(1)
	}
	r.mu.Lock()
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if r.down.Load() {
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

const regRecord = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`

func TestRegistryFetchesOnceAndCaches(t *testing.T) {
	fr := newFakeRegistry(t, "svc", "s3cret")
	fr.add(1, fakeSchema{Schema: regRecord})
	reg, err := newSchemaRegistry(fr.url(), "svc", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if s, err := reg.schema(1); err != nil || s == nil {
			t.Fatalf("schema(1) = %v, %v", s, err)
		}
	}
	if n := fr.requests.Load(); n != 1 {
		t.Fatalf("%d requests for one id, want 1", n)
	}
}

// Many goroutines asking for the same id while the registry is slow make
// one request.
func TestRegistryOneRequestInFlightPerID(t *testing.T) {
	fr := newFakeRegistry(t, "", "")
	fr.add(7, fakeSchema{Schema: regRecord})
	fr.mu.Lock()
	fr.hold = make(chan struct{})
	fr.mu.Unlock()
	reg, _ := newSchemaRegistry(fr.url(), "", "")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := reg.schema(7)
			errs <- err
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for fr.requests.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let every goroutine reach the registry
	fr.mu.Lock()
	close(fr.hold)
	fr.hold = nil
	fr.mu.Unlock()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fr.requests.Load(); n != 1 {
		t.Fatalf("%d requests for one id asked by 16 goroutines, want 1", n)
	}
}

// A failed request is not remembered; the registry coming back is enough.
func TestRegistryFailureIsRetried(t *testing.T) {
	fr := newFakeRegistry(t, "", "")
	fr.add(3, fakeSchema{Schema: regRecord})
	fr.down.Store(true)
	reg, _ := newSchemaRegistry(fr.url(), "", "")
	var rerr *registryError
	if _, err := reg.schema(3); !errors.As(err, &rerr) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("registry down: %v, want a registryError with 503", err)
	}
	fr.down.Store(false)
	if _, err := reg.schema(3); err != nil {
		t.Fatalf("registry back: %v", err)
	}
	fr.stop()
	if _, err := reg.schema(3); err != nil {
		t.Fatalf("a cached schema needs no registry: %v", err)
	}
	if _, err := reg.schema(4); !errors.As(err, &rerr) {
		t.Fatalf("registry stopped: %v, want a registryError", err)
	}
	fr.add(4, fakeSchema{Schema: regRecord})
	fr.restart()
	if _, err := reg.schema(4); err != nil {
		t.Fatalf("registry restarted: %v", err)
	}
}

// An unknown id (404) is an answer: remembered for negativeTTL, then asked again.
func TestRegistryUnknownID(t *testing.T) {
	fr := newFakeRegistry(t, "", "")
	reg, _ := newSchemaRegistry(fr.url(), "", "")
	now := time.Unix(1000, 0)
	reg.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if _, err := reg.schema(99); !errors.Is(err, errUnknownSchema) || !strings.Contains(err.Error(), "Schema 99 not found") {
			t.Fatalf("unknown id: %v", err)
		}
	}
	if n := fr.requests.Load(); n != 1 {
		t.Fatalf("%d requests for an unknown id within the TTL, want 1", n)
	}
	fr.add(99, fakeSchema{Schema: regRecord})
	now = now.Add(registryDefaults.negativeTTL)
	if _, err := reg.schema(99); err != nil {
		t.Fatalf("after the TTL: %v", err)
	}
}

// Wrong credentials are the configuration's fault, not the message's: a
// retryable error that names the variables and never shows the password.
func TestRegistryWrongPassword(t *testing.T) {
	fr := newFakeRegistry(t, "svc", "right-password")
	fr.add(1, fakeSchema{Schema: regRecord})
	for _, u := range []string{fr.url(), "http://svc:wrong-password@" + fr.addr} {
		reg, err := newSchemaRegistry(u, "svc", "wrong-password")
		if err != nil {
			t.Fatal(err)
		}
		_, err = reg.schema(1)
		var rerr *registryError
		if !errors.As(err, &rerr) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "PASSWORD") {
			t.Fatalf("wrong password: %v", err)
		}
		if strings.Contains(err.Error(), "wrong-password") || strings.Contains(err.Error(), "svc:") {
			t.Fatalf("error shows the credentials: %v", err)
		}
	}
	if fr.authFail.Load() != 2 {
		t.Fatalf("%d refused requests, want 2", fr.authFail.Load())
	}
	// Credentials embedded in the URL are used (and kept out of errors).
	reg, _ := newSchemaRegistry("http://svc:right-password@"+fr.addr, "", "")
	if _, err := reg.schema(1); err != nil {
		t.Fatalf("URL credentials: %v", err)
	}
	fr.stop()
	_, err := reg.schema(2)
	if err == nil || strings.Contains(err.Error(), "right-password") {
		t.Fatalf("connection error shows the password or is nil: %v", err)
	}
}

// Schemas that cannot be used are rejected, not retried.
func TestRegistryUnusableSchemas(t *testing.T) {
	fr := newFakeRegistry(t, "", "")
	fr.add(1, fakeSchema{Schema: `syntax = "proto3"; message M {}`, SchemaType: "PROTOBUF"})
	fr.add(2, fakeSchema{Schema: `{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}`})
	fr.add(3, fakeSchema{Schema: `{"type":"record","name":"R","fields":[{"name":"c","type":"com.acme.Campaign"}]}`,
		References: []schemaReference{{Name: "com.acme.Campaign", Subject: "campaign", Version: 1}}})
	reg, _ := newSchemaRegistry(fr.url(), "", "")
	for id := uint32(1); id <= 3; id++ {
		if _, err := reg.schema(id); !errors.Is(err, errUnusableSchema) {
			t.Errorf("schema %d: %v, want errUnusableSchema", id, err)
		}
	}
	if _, err := newSchemaRegistry("ftp://x", "", ""); err == nil {
		t.Error("ftp URL accepted")
	}
}

// A schema that refers to a named type of another subject gets it from
// GET /subjects/{subject}/versions/{version}.
func TestRegistrySchemaReferences(t *testing.T) {
	fr := newFakeRegistry(t, "", "")
	fr.addSubject("campaign", 1, fakeSchema{Schema: `{"type":"record","name":"Campaign","namespace":"com.acme","fields":[{"name":"source","type":"string"}]}`})
	fr.add(5, fakeSchema{Schema: `{"type":"record","name":"R","fields":[{"name":"c","type":"com.acme.Campaign"}]}`,
		References: []schemaReference{{Name: "com.acme.Campaign", Subject: "campaign", Version: 1}}})
	reg, _ := newSchemaRegistry(fr.url(), "", "")
	s, err := reg.schema(5)
	if err != nil {
		t.Fatal(err)
	}
	d := avroDecoder{data: []byte{6, 'a', 'd', 's'}, limit: 1 << 20}
	if err := d.value(s.root, 0); err != nil || string(d.out) != `{"c":{"source":"ads"}}` {
		t.Fatalf("decoded %s, %v", d.out, err)
	}
}
