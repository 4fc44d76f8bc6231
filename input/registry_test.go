package input

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/microconv/microconv/internal/testkit/inputkit"
)

const regRecord = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`

func TestRegistryFetchesOnceAndCaches(t *testing.T) {
	fr := inputkit.NewFakeRegistry(t, "svc", "s3cret")
	fr.Add(1, inputkit.Schema{Schema: regRecord})
	reg, err := newSchemaRegistry(fr.URL(), "svc", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if s, err := reg.schema(1); err != nil || s == nil {
			t.Fatalf("schema(1) = %v, %v", s, err)
		}
	}
	if n := fr.Requests.Load(); n != 1 {
		t.Fatalf("%d requests for one id, want 1", n)
	}
}

// Many goroutines asking for the same id while the registry is slow make
// one request.
func TestRegistryOneRequestInFlightPerID(t *testing.T) {
	fr := inputkit.NewFakeRegistry(t, "", "")
	fr.Add(7, inputkit.Schema{Schema: regRecord})
	release := fr.Hold()
	reg, _ := newSchemaRegistry(fr.URL(), "", "")
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
	for fr.Requests.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let every goroutine reach the registry
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fr.Requests.Load(); n != 1 {
		t.Fatalf("%d requests for one id asked by 16 goroutines, want 1", n)
	}
}

// A failed request is not remembered; the registry coming back is enough.
func TestRegistryFailureIsRetried(t *testing.T) {
	fr := inputkit.NewFakeRegistry(t, "", "")
	fr.Add(3, inputkit.Schema{Schema: regRecord})
	fr.Down.Store(true)
	reg, _ := newSchemaRegistry(fr.URL(), "", "")
	var rerr *registryError
	if _, err := reg.schema(3); !errors.As(err, &rerr) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("registry down: %v, want a registryError with 503", err)
	}
	fr.Down.Store(false)
	if _, err := reg.schema(3); err != nil {
		t.Fatalf("registry back: %v", err)
	}
	fr.Stop()
	if _, err := reg.schema(3); err != nil {
		t.Fatalf("a cached schema needs no registry: %v", err)
	}
	if _, err := reg.schema(4); !errors.As(err, &rerr) {
		t.Fatalf("registry stopped: %v, want a registryError", err)
	}
	fr.Add(4, inputkit.Schema{Schema: regRecord})
	fr.Restart()
	if _, err := reg.schema(4); err != nil {
		t.Fatalf("registry restarted: %v", err)
	}
}

// An unknown id (404) is an answer: remembered for negativeTTL, then asked again.
func TestRegistryUnknownID(t *testing.T) {
	fr := inputkit.NewFakeRegistry(t, "", "")
	reg, _ := newSchemaRegistry(fr.URL(), "", "")
	now := time.Unix(1000, 0)
	reg.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if _, err := reg.schema(99); !errors.Is(err, errUnknownSchema) || !strings.Contains(err.Error(), "Schema 99 not found") {
			t.Fatalf("unknown id: %v", err)
		}
	}
	if n := fr.Requests.Load(); n != 1 {
		t.Fatalf("%d requests for an unknown id within the TTL, want 1", n)
	}
	fr.Add(99, inputkit.Schema{Schema: regRecord})
	now = now.Add(registryDefaults.negativeTTL)
	if _, err := reg.schema(99); err != nil {
		t.Fatalf("after the TTL: %v", err)
	}
}

// Wrong credentials are the configuration's fault, not the message's: a
// retryable error that names the variables and never shows the password.
func TestRegistryWrongPassword(t *testing.T) {
	fr := inputkit.NewFakeRegistry(t, "svc", "right-password")
	fr.Add(1, inputkit.Schema{Schema: regRecord})
	for _, u := range []string{fr.URL(), "http://svc:wrong-password@" + strings.TrimPrefix(fr.URL(), "http://")} {
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
	if fr.AuthFail.Load() != 2 {
		t.Fatalf("%d refused requests, want 2", fr.AuthFail.Load())
	}
	// Credentials embedded in the URL are used (and kept out of errors).
	reg, _ := newSchemaRegistry("http://svc:right-password@"+strings.TrimPrefix(fr.URL(), "http://"), "", "")
	if _, err := reg.schema(1); err != nil {
		t.Fatalf("URL credentials: %v", err)
	}
	fr.Stop()
	_, err := reg.schema(2)
	if err == nil || strings.Contains(err.Error(), "right-password") {
		t.Fatalf("connection error shows the password or is nil: %v", err)
	}
}

// Schemas that cannot be used are rejected, not retried.
func TestRegistryUnusableSchemas(t *testing.T) {
	fr := inputkit.NewFakeRegistry(t, "", "")
	fr.Add(1, inputkit.Schema{Schema: `syntax = "proto3"; message M {}`, SchemaType: "PROTOBUF"})
	fr.Add(2, inputkit.Schema{Schema: `{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}`})
	fr.Add(3, inputkit.Schema{Schema: `{"type":"record","name":"R","fields":[{"name":"c","type":"com.acme.Campaign"}]}`,
		References: []inputkit.Reference{{Name: "com.acme.Campaign", Subject: "campaign", Version: 1}}})
	reg, _ := newSchemaRegistry(fr.URL(), "", "")
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
	fr := inputkit.NewFakeRegistry(t, "", "")
	fr.AddSubject("campaign", 1, inputkit.Schema{Schema: `{"type":"record","name":"Campaign","namespace":"com.acme","fields":[{"name":"source","type":"string"}]}`})
	fr.Add(5, inputkit.Schema{Schema: `{"type":"record","name":"R","fields":[{"name":"c","type":"com.acme.Campaign"}]}`,
		References: []inputkit.Reference{{Name: "com.acme.Campaign", Subject: "campaign", Version: 1}}})
	reg, _ := newSchemaRegistry(fr.URL(), "", "")
	s, err := reg.schema(5)
	if err != nil {
		t.Fatal(err)
	}
	d := avroDecoder{data: []byte{6, 'a', 'd', 's'}, limit: 1 << 20}
	if err := d.value(s.root, 0); err != nil || string(d.out) != `{"c":{"source":"ads"}}` {
		t.Fatalf("decoded %s, %v", d.out, err)
	}
}
