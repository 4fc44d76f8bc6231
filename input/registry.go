package input

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
)

// Defaults of the schema registry client, in one place.
var registryDefaults = struct {
	// timeout bounds one request: a registry that hangs must not hold a
	// partition longer than this before the consumer backs off and retries.
	timeout time.Duration
	// negativeTTL is how long "this id is unknown" (404) or "this schema
	// cannot be used" is remembered, so that a flood of such messages does
	// not become a flood of requests; after it the registry is asked again
	// (a registry replica that was catching up may know the id by then).
	negativeTTL time.Duration
	// maxSchemaBytes bounds a registry response.
	maxSchemaBytes int64
	// maxReferenceDepth bounds nested schema references.
	maxReferenceDepth int
}{
	timeout:           10 * time.Second,
	negativeTTL:       30 * time.Second,
	maxSchemaBytes:    8 << 20,
	maxReferenceDepth: 8,
}

// errUnknownSchema: the registry answered that it has no schema with this
// id (HTTP 404): the message cannot be decoded, now or later.
var errUnknownSchema = errors.New("unknown schema id")

// errUnusableSchema: the registry has the schema, but it is not Avro or not
// a valid Avro schema.
var errUnusableSchema = errors.New("unusable schema")

// registryError is a failed request: the registry is down, slow, refused the
// credentials or answered with an error. The message is retried later.
type registryError struct {
	msg string
}

func (e *registryError) Error() string { return e.msg }

// schemaRegistry fetches writer schemas from a Confluent-compatible schema
// registry (GET /schemas/ids/{id}) and keeps them: each id is fetched once,
// by one request at a time however many goroutines ask for it; a failed
// request is not remembered (the next call asks again). Safe for concurrent
// use.
//
// Credentials go into the Authorization header only: errors name the
// registry by scheme and host, never with userinfo or password.
type schemaRegistry struct {
	base     string // URL without userinfo and trailing slash
	host     string // for errors and logs
	user     string
	password string
	client   *http.Client
	now      func() time.Time

	mu      sync.Mutex
	entries map[uint32]*registryEntry
}

// registryEntry is the state of one schema id. done is closed when the
// fetch in flight ends; schema/err are then set.
type registryEntry struct {
	done    chan struct{}
	schema  *avroSchema
	err     error     // errUnknownSchema/errUnusableSchema (kept until expires) or a *registryError (dropped from the map)
	expires time.Time // for a negative answer
}

func newSchemaRegistry(rawURL, user, password string) (*schemaRegistry, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cannot use schema registry URL: want http(s)://host[:port][/path]")
	}
	if u.User != nil {
		// Config validation refuses this; keep the secret out of the URL anyway.
		if user == "" {
			user = u.User.Username()
			password, _ = u.User.Password()
		}
		u.User = nil
	}
	u.RawQuery, u.Fragment = "", ""
	return &schemaRegistry{
		base:     strings.TrimRight(u.String(), "/"),
		host:     u.Scheme + "://" + u.Host,
		user:     user,
		password: password,
		client:   &http.Client{Timeout: registryDefaults.timeout},
		now:      time.Now,
		entries:  make(map[uint32]*registryEntry),
	}, nil
}

// schema returns the writer schema with this id. Its error is
// errUnknownSchema or errUnusableSchema (wrapped) for an answer that will not
// change, or a *registryError for a failure to ask.
func (r *schemaRegistry) schema(id uint32) (*avroSchema, error) {
	for {
		r.mu.Lock()
		e := r.entries[id]
		if e != nil {
			select {
			case <-e.done:
				if e.err != nil && !r.now().Before(e.expires) {
					delete(r.entries, id) // negative answer expired: ask again
					r.mu.Unlock()
					continue
				}
				r.mu.Unlock()
				return e.schema, e.err
			default:
			}
			r.mu.Unlock()
			<-e.done // one request in flight per id: share its answer, a failure included
			return e.schema, e.err
		}
		e = &registryEntry{done: make(chan struct{})}
		r.entries[id] = e
		r.mu.Unlock()

		s, err := r.fetch(id)
		var rerr *registryError
		r.mu.Lock()
		e.schema, e.err = s, err
		switch {
		case err == nil:
		case errors.As(err, &rerr):
			delete(r.entries, id) // failures are not remembered: the next call asks again
		default:
			e.expires = r.now().Add(registryDefaults.negativeTTL)
		}
		close(e.done)
		r.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// schemaResponse is the body of GET /schemas/ids/{id} and of
// GET /subjects/{subject}/versions/{version}.
type schemaResponse struct {
	Schema     string            `json:"schema"`
	SchemaType string            `json:"schemaType"` // absent for Avro
	References []schemaReference `json:"references"`
}

type schemaReference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

func (r *schemaRegistry) fetch(id uint32) (*avroSchema, error) {
	var resp schemaResponse
	if err := r.get("/schemas/ids/"+strconv.FormatUint(uint64(id), 10), &resp); err != nil {
		return nil, err
	}
	cache := &avro.SchemaCache{}
	if err := r.resolveReferences(resp.References, cache, 0); err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	s, err := parseAvroSchema(resp, cache)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	return s, nil
}

// resolveReferences parses the schemas that a schema refers to by name into
// cache, depth first, so that the referring schema finds their named types.
func (r *schemaRegistry) resolveReferences(refs []schemaReference, cache *avro.SchemaCache, depth int) error {
	if len(refs) > 0 && depth >= registryDefaults.maxReferenceDepth {
		return fmt.Errorf("%w: schema references nested deeper than %d", errUnusableSchema, registryDefaults.maxReferenceDepth)
	}
	for _, ref := range refs {
		var resp schemaResponse
		path := "/subjects/" + url.PathEscape(ref.Subject) + "/versions/" + strconv.Itoa(ref.Version)
		if err := r.get(path, &resp); err != nil {
			if errors.Is(err, errUnknownSchema) {
				return fmt.Errorf("%w: referenced subject %q version %d not found", errUnusableSchema, ref.Subject, ref.Version)
			}
			return err
		}
		if err := r.resolveReferences(resp.References, cache, depth+1); err != nil {
			return err
		}
		if _, err := parseAvroSchema(resp, cache); err != nil {
			return fmt.Errorf("referenced subject %q version %d: %w", ref.Subject, ref.Version, err)
		}
	}
	return nil
}

// get fetches path and decodes its JSON body into dst. A 404 is
// errUnknownSchema; every other failure is a *registryError.
func (r *schemaRegistry) get(path string, dst *schemaResponse) error {
	ctx, cancel := context.WithTimeout(context.Background(), registryDefaults.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path, nil)
	if err != nil {
		return &registryError{msg: fmt.Sprintf("cannot build a request to schema registry %s: %s", r.host, err)}
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	if r.user != "" || r.password != "" {
		req.SetBasicAuth(r.user, r.password)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return &registryError{msg: fmt.Sprintf("cannot reach schema registry %s: %s", r.host, describeNetError(err))}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, registryDefaults.maxSchemaBytes+1))
	if err != nil {
		return &registryError{msg: fmt.Sprintf("cannot read the answer of schema registry %s to GET %s: %s", r.host, path, describeNetError(err))}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: schema registry %s answered GET %s with 404%s", errUnknownSchema, r.host, path, registryMessage(body))
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &registryError{msg: fmt.Sprintf("schema registry %s refused GET %s with %d%s: check MICROCONV_SCHEMA_REGISTRY_USERNAME and _PASSWORD",
			r.host, path, resp.StatusCode, registryMessage(body))}
	default:
		return &registryError{msg: fmt.Sprintf("schema registry %s answered GET %s with %d%s", r.host, path, resp.StatusCode, registryMessage(body))}
	}
	if int64(len(body)) > registryDefaults.maxSchemaBytes {
		return fmt.Errorf("%w: the answer to GET %s is larger than %d bytes", errUnusableSchema, path, registryDefaults.maxSchemaBytes)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		// A proxy's error page with status 200, a half-written answer: ask again later.
		return &registryError{msg: fmt.Sprintf("cannot parse the answer of schema registry %s to GET %s: %s", r.host, path, err)}
	}
	return nil
}

// registryMessage quotes the "message" of a registry error body, if any.
func registryMessage(body []byte) string {
	var e struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return ""
	}
	return fmt.Sprintf(" (error %d: %q)", e.Code, truncate(e.Message, 200))
}

// describeNetError drops the request URL from net/http's errors (it names
// the registry already) and keeps the cause.
func describeNetError(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if uerr.Timeout() {
			return "timed out after " + registryDefaults.timeout.String()
		}
		return uerr.Err.Error()
	}
	return err.Error()
}
