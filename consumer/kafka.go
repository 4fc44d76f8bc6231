package consumer

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/microconv/microconv/internal/tlsconf"
)

// KafkaConfig says how to reach the brokers.
type KafkaConfig struct {
	Brokers       []string
	SASLMechanism string // "" (none), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	SASLUsername  string
	SASLPassword  string // never logged
	TLS           bool
	TLSCAFile     string // PEM CAs verifying the brokers; system pool when empty
	TLSCertFile   string // client certificate (mutual TLS)
	TLSKeyFile    string
	TLSInsecure   bool // skip verification (tests only)
	// ClientID sent to the brokers (default "microconv").
	ClientID string
}

// mechanism builds the SASL mechanism, nil when none is configured.
func (k KafkaConfig) mechanism() (sasl.Mechanism, error) {
	switch strings.ToUpper(k.SASLMechanism) {
	case "":
		return nil, nil
	case "PLAIN":
		return plain.Mechanism{Username: k.SASLUsername, Password: k.SASLPassword}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, k.SASLUsername, k.SASLPassword)
	case "SCRAM-SHA-512":
		return scram.Mechanism(scram.SHA512, k.SASLUsername, k.SASLPassword)
	default:
		return nil, fmt.Errorf("cannot use SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", k.SASLMechanism)
	}
}

func (k KafkaConfig) tlsConfig() (*tls.Config, error) {
	if !k.TLS {
		return nil, nil
	}
	tc, err := tlsconf.Client("Kafka", k.TLSCAFile, k.TLSInsecure)
	if err != nil {
		return nil, err
	}
	if k.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(k.TLSCertFile, k.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot load Kafka client certificate %q: %w", k.TLSCertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// client returns what every connection to the brokers uses: the SASL
// mechanism (nil when none), the TLS configuration (nil without TLS) and the
// client id.
func (k KafkaConfig) client() (sasl.Mechanism, *tls.Config, string, error) {
	mech, err := k.mechanism()
	if err != nil {
		return nil, nil, "", err
	}
	tc, err := k.tlsConfig()
	if err != nil {
		return nil, nil, "", err
	}
	id := k.ClientID
	if id == "" {
		id = "microconv"
	}
	return mech, tc, id, nil
}

// Dialer returns a kafka-go dialer with SASL and TLS as configured.
func (k KafkaConfig) Dialer() (*kafka.Dialer, error) {
	mech, tc, id, err := k.client()
	if err != nil {
		return nil, err
	}
	nd := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &kafka.Dialer{
		ClientID:      id,
		Timeout:       10 * time.Second,
		SASLMechanism: mech,
		TLS:           tc,
		DialFunc: func(ctx context.Context, network, address string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, address)
			if err != nil {
				return nil, err
			}
			return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, connReadBuffer)}, nil
		},
	}, nil
}

// connReadBuffer is the read buffer under each Kafka connection. kafka-go
// reads a fetch response through a 4 KiB buffer, a read system call per
// 4 KiB; with this buffer one call reads up to 128 KiB.
const connReadBuffer = 128 << 10

// bufferedConn is a connection whose reads go through a large buffer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Transport returns a kafka-go transport (for writers and the admin client).
func (k KafkaConfig) Transport() (*kafka.Transport, error) {
	mech, tc, id, err := k.client()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		DialTimeout: 10 * time.Second,
		IdleTimeout: 30 * time.Second,
		MetadataTTL: 10 * time.Second,
		ClientID:    id,
		SASL:        mech,
		TLS:         tc,
	}, nil
}
