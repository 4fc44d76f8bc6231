package tlsconf

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/microconv/microconv/internal/testkit/testcerts"
)

func TestClientErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	f := func(service, caFile, want string) {
		t.Helper()
		tc, err := Client(service, caFile, false)
		if err == nil || !strings.Contains(err.Error(), want) || tc != nil {
			t.Fatalf("Client(%q, %q) = %v, %v; want an error with %q", service, caFile, tc, err, want)
		}
	}
	f("Kafka", missing, "cannot read Kafka CA file: open "+missing)
	f("ClickHouse", missing, "cannot read ClickHouse CA file: open "+missing)
	f("Kafka", notPEM, `cannot use Kafka CA file "`+notPEM+`": no PEM certificate in it`)
	f("ClickHouse", notPEM, `cannot use ClickHouse CA file "`+notPEM+`": no PEM certificate in it`)
}

func TestClientSystemPool(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		tc, err := Client("Kafka", "", insecure)
		if err != nil {
			t.Fatal(err)
		}
		if tc.RootCAs != nil || tc.InsecureSkipVerify != insecure || tc.MinVersion != tls.VersionTLS12 {
			t.Errorf("Client(\"\", %v): RootCAs %v, InsecureSkipVerify %v, MinVersion %x", insecure, tc.RootCAs, tc.InsecureSkipVerify, tc.MinVersion)
		}
	}
}

// A server whose certificate the CA file signed is trusted; without the CA
// file (the system pool) it is not.
func TestClientVerifiesWithCAFile(t *testing.T) {
	certs := testcerts.New(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", certs.ServerConfig(false))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	handshake := func(tc *tls.Config) error {
		c, err := tls.Dial("tcp", ln.Addr().String(), tc)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	tc, err := Client("ClickHouse", certs.CAFile, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(tc); err != nil {
		t.Errorf("handshake trusting the CA file: %v", err)
	}
	sys, err := Client("ClickHouse", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(sys); err == nil {
		t.Error("handshake with the system pool succeeded; want an unknown authority")
	}
}
