package consumer

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/microconv/microconv/internal/testkit/chtest"
	"github.com/microconv/microconv/internal/testkit/kafkatest"
	"github.com/microconv/microconv/internal/testkit/segtest"
	"github.com/microconv/microconv/internal/testkit/testcerts"
	"github.com/microconv/microconv/rules"
)

// secureEnv starts a kfake cluster with opts, produces the test stream with
// a client configured by kopts, and prepares ClickHouse.
func secureEnv(t *testing.T, opts []kfake.Opt, kopts ...kgo.Opt) *env {
	t.Helper()
	addr := chtest.Addr(t)
	db := chtest.Database(t)
	_, brokers := kafkatest.NewClusterWith(t, 2, []string{topic}, opts...)
	cl := kafkatest.Client(t, brokers, kopts...)
	stream := segtest.Generate(segtest.Options{Seed: 3, Users: 150, Partitions: 2, Dups: 0.03, Malformed: 15})
	recs := make([]kafkatest.Record, len(stream.Messages))
	for i, m := range stream.Messages {
		recs[i] = kafkatest.Record{Partition: m.Partition, Value: m.Value}
	}
	kafkatest.Produce(t, cl, topic, recs)
	set, err := rules.Parse("rules.yaml", []byte(segtest.Rules))
	if err != nil {
		t.Fatal(err)
	}
	client := openSinkForTest(t, addr, db, set)
	return &env{brokers: brokers, db: db, client: client, set: set, stream: stream}
}

// Every SASL mechanism microconv offers, against a broker that requires it.
func TestSASL(t *testing.T) {
	const user, pass = "svc-microconv", "Pa55-w0rd-in-no-log"
	for _, c := range []struct {
		mech string
		kopt kgo.Opt
	}{
		{"PLAIN", kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism())},
		{"SCRAM-SHA-256", kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism())},
		{"SCRAM-SHA-512", kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism())},
	} {
		t.Run(c.mech, func(t *testing.T) {
			e := secureEnv(t, []kfake.Opt{kfake.EnableSASL(), kfake.Superuser(c.mech, user, pass)}, c.kopt)
			cfg := e.config("sasl")
			cfg.Kafka.SASLMechanism, cfg.Kafka.SASLUsername, cfg.Kafka.SASLPassword = c.mech, user, pass
			_, stop := start(t, cfg, e.client, e.set)
			kafkatest.WaitCommitted(t, kafkatest.Client(t, e.brokers, c.kopt), "sasl", topic, time.Minute)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			checkViews(t, e)
		})
	}
}

// A wrong password: the consumer keeps retrying, commits nothing, stops
// cleanly, and never logs the password.
func TestSASLWrongPasswordNotLogged(t *testing.T) {
	const user, pass, wrong = "svc", "right-password-1", "wrong-Secret-4242"
	e := secureEnv(t, []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", user, pass)},
		kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
	cfg := e.config("wrong")
	cfg.Kafka.SASLMechanism, cfg.Kafka.SASLUsername, cfg.Kafka.SASLPassword = "SCRAM-SHA-256", user, wrong
	var logs bytes.Buffer
	c, err := New(cfg, e.client, zerolog.New(&syncWriter{w: &logs}).Level(zerolog.DebugLevel), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetRules(e.set)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	out := logs.String()
	if strings.Contains(out, wrong) || strings.Contains(out, pass) {
		t.Fatalf("a password appears in the logs:\n%s", out)
	}
	if !strings.Contains(out, "cannot join the consumer group") {
		t.Errorf("the authentication failure was not logged:\n%s", out)
	}
	if got := kafkatest.Committed(t, kafkatest.Client(t, e.brokers, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism())), "wrong", topic); len(got) != 0 {
		t.Fatalf("committed %v without being able to authenticate", got)
	}
}

// TLS with a private CA, and mutual TLS with a client certificate.
func TestTLS(t *testing.T) {
	certs := testcerts.New(t)
	for _, mutual := range []bool{false, true} {
		name := "server-auth"
		if mutual {
			name = "mutual"
		}
		t.Run(name, func(t *testing.T) {
			e := secureEnv(t, []kfake.Opt{kfake.TLS(certs.ServerConfig(mutual))}, kgo.DialTLSConfig(certs.ClientConfig(t, mutual)))
			cfg := e.config("tls")
			cfg.Kafka.TLS, cfg.Kafka.TLSCAFile = true, certs.CAFile
			if mutual {
				cfg.Kafka.TLSCertFile, cfg.Kafka.TLSKeyFile = certs.ClientCert, certs.ClientKey
			}
			_, stop := start(t, cfg, e.client, e.set)
			kafkatest.WaitCommitted(t, kafkatest.Client(t, e.brokers, kgo.DialTLSConfig(certs.ClientConfig(t, mutual))), "tls", topic, time.Minute)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			checkViews(t, e)
		})
	}
}

// TLS against a broker whose certificate the configured CA did not sign:
// nothing is consumed.
func TestTLSUntrustedBroker(t *testing.T) {
	certs, other := testcerts.New(t), testcerts.New(t)
	e := secureEnv(t, []kfake.Opt{kfake.TLS(certs.ServerConfig(false))}, kgo.DialTLSConfig(certs.ClientConfig(t, false)))
	cfg := e.config("untrusted")
	cfg.Kafka.TLS, cfg.Kafka.TLSCAFile = true, other.CAFile
	c, err := New(cfg, e.client, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetRules(e.set)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rows := chtest.QueryStrings(t, chtest.Conn(t), "SELECT toString(count()) FROM "+e.db+".events"); rows[0][0] != "0" {
		t.Fatalf("consumed %s events from an untrusted broker", rows[0][0])
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
