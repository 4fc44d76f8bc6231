// Package tlsconf builds the TLS client configurations of microconv's
// connections (Kafka brokers, ClickHouse servers) from their settings. It
// imports only the standard library.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Client returns a client configuration (TLS 1.2 at least) that verifies the
// server with the PEM certificates of caFile, or with the system's pool when
// caFile is empty; insecure skips verification (tests only). service names
// the server in errors ("Kafka", "ClickHouse").
func Client(service, caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // opt-in, for tests
	if caFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s CA file: %w", service, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("cannot use %s CA file %q: no PEM certificate in it", service, caFile)
	}
	tc.RootCAs = pool
	return tc, nil
}
