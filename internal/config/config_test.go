package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := Load([]string{})
	if err != nil {
		t.Fatal(err)
	}
	// The defaults DESIGN.md documents.
	if strings.Join(c.KafkaBrokers, ",") != "localhost:9092" || strings.Join(c.KafkaTopics, ",") != "clickstream" ||
		c.KafkaGroup != "microconv" || strings.Join(c.ClickHouseAddr, ",") != "localhost:9000" ||
		c.ClickHouseDatabase != "microconv" || c.Input != "segment" || c.DLQTopic != "" ||
		c.HTTPAddr != ":9464" || c.LogLevel != "info" || c.LogFormat != "json" || c.KafkaStart != "first" {
		t.Fatalf("defaults = %+v", c)
	}
	if c.MaxMessageBytes != DefaultMaxMessageBytes {
		t.Fatalf("MaxMessageBytes default = %d, want DefaultMaxMessageBytes (%d)", c.MaxMessageBytes, DefaultMaxMessageBytes)
	}
	if c.BatchMaxRows != 100000 || c.BatchMaxBytes != 32<<20 || c.BatchMaxWait != time.Second {
		t.Fatalf("batch defaults = %d rows, %d bytes, %s", c.BatchMaxRows, c.BatchMaxBytes, c.BatchMaxWait)
	}
}

func TestHTTPAddrOff(t *testing.T) {
	for _, v := range []string{"MICROCONV_HTTP_ADDR=", "MICROCONV_HTTP_ADDR=off"} {
		c, err := Load([]string{v})
		if err != nil || c.HTTPAddr != "" {
			t.Fatalf("Load(%q) = %q, %v; want no HTTP address", v, c.HTTPAddr, err)
		}
	}
	if c, _ := Load([]string{}); c.HTTPAddr != ":9464" {
		t.Fatalf("default HTTP address %q", c.HTTPAddr)
	}
}

func TestParsesLists(t *testing.T) {
	c, err := Load([]string{"MICROCONV_KAFKA_BROKERS=a:1,b:2", "MICROCONV_KAFKA_TOPICS=t1,t2", "MICROCONV_BATCH_MAX_WAIT=250ms", "MICROCONV_KAFKA_TLS=true"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.KafkaBrokers, "|") != "a:1|b:2" || strings.Join(c.KafkaTopics, "|") != "t1|t2" || c.BatchMaxWait != 250*time.Millisecond || !c.KafkaTLS {
		t.Fatalf("got %+v", c)
	}
}

// A bad value stops start-up with the variable's name.
func TestBadValueNamesVariable(t *testing.T) {
	f := func(kv, wantVar string) {
		t.Helper()
		_, err := Load([]string{kv})
		if err == nil {
			t.Fatalf("Load(%q) succeeded, want an error naming %s", kv, wantVar)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("Load(%q) = %v, not ErrInvalid", kv, err)
		}
		if !strings.Contains(err.Error(), wantVar) {
			t.Fatalf("Load(%q) = %q, want it to name %s", kv, err, wantVar)
		}
	}
	f("MICROCONV_BATCH_MAX_ROWS=abc", "MICROCONV_BATCH_MAX_ROWS")
	f("MICROCONV_BATCH_MAX_ROWS=0", "MICROCONV_BATCH_MAX_ROWS")
	f("MICROCONV_BATCH_MAX_BYTES=12", "MICROCONV_BATCH_MAX_BYTES")
	f("MICROCONV_BATCH_MAX_BYTES=32MiB", "MICROCONV_BATCH_MAX_BYTES")
	f("MICROCONV_BATCH_MAX_WAIT=soon", "MICROCONV_BATCH_MAX_WAIT")
	f("MICROCONV_BATCH_MAX_WAIT=0s", "MICROCONV_BATCH_MAX_WAIT")
	f("MICROCONV_KAFKA_TLS=maybe", "MICROCONV_KAFKA_TLS")
	f("MICROCONV_CLICKHOUSE_TLS=2", "MICROCONV_CLICKHOUSE_TLS")
	f("MICROCONV_KAFKA_START=middle", "MICROCONV_KAFKA_START")
	f("MICROCONV_KAFKA_BROKERS=nohost", "MICROCONV_KAFKA_BROKERS")
	f("MICROCONV_KAFKA_TOPICS=bad topic", "MICROCONV_KAFKA_TOPICS")
	f("MICROCONV_KAFKA_SASL_MECHANISM=GSSAPI", "MICROCONV_KAFKA_SASL_MECHANISM")
	f("MICROCONV_KAFKA_SASL_MECHANISM=PLAIN", "MICROCONV_KAFKA_SASL_USERNAME")
	f("MICROCONV_CLICKHOUSE_DATABASE=x;drop", "MICROCONV_CLICKHOUSE_DATABASE")
	f("MICROCONV_CLICKHOUSE_CLUSTER=c1 ON CLUSTER c2", "MICROCONV_CLICKHOUSE_CLUSTER")
	f("MICROCONV_CLICKHOUSE_ADDR=localhost", "MICROCONV_CLICKHOUSE_ADDR")
	f("MICROCONV_INPUT=xml", "MICROCONV_INPUT")
	f("MICROCONV_INPUT=mapping", "MICROCONV_INPUT_MAPPING")
	_, err := Load([]string{"MICROCONV_INPUT=segment", "MICROCONV_INPUT_MAPPING=m.yaml"})
	if err == nil || !strings.Contains(err.Error(), "MICROCONV_INPUT_MAPPING") {
		t.Fatalf("a mapping with INPUT=segment: %v", err)
	}
	f("MICROCONV_SCHEMA_REGISTRY_URL=ftp://x", "MICROCONV_SCHEMA_REGISTRY_URL")
	f("MICROCONV_SCHEMA_REGISTRY_URL=https://user:pw@registry:8081", "MICROCONV_SCHEMA_REGISTRY_URL")
	f("MICROCONV_DLQ_TOPIC=clickstream", "MICROCONV_DLQ_TOPIC")
	f("MICROCONV_LOG_LEVEL=loud", "MICROCONV_LOG_LEVEL")
	f("MICROCONV_LOG_FORMAT=xml", "MICROCONV_LOG_FORMAT")
	f("MICROCONV_HTTP_ADDR=9464", "MICROCONV_HTTP_ADDR")
	f("MICROCONV_MAX_MESSAGE_BYTES=-1", "MICROCONV_MAX_MESSAGE_BYTES")
}

// A secret in a bad variable never shows in the error, and Redacted hides it.
func TestSecretsNotInErrors(t *testing.T) {
	const secret = "hunter2-very-secret"
	_, err := Load([]string{"MICROCONV_KAFKA_SASL_PASSWORD=" + secret, "MICROCONV_CLICKHOUSE_PASSWORD=" + secret, "MICROCONV_BATCH_MAX_ROWS=x"})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("error %v", err)
	}
	if _, err := Load([]string{"MICROCONV_SCHEMA_REGISTRY_URL=https://u:" + secret + "@registry:8081"}); err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("registry URL with a password: %v", err)
	}
	c, err := Load([]string{"MICROCONV_KAFKA_SASL_PASSWORD=" + secret, "MICROCONV_CLICKHOUSE_PASSWORD=" + secret})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	if strings.Contains(strings.Join([]string{r.KafkaSASLPassword, r.ClickHousePassword}, " "), secret) {
		t.Fatalf("Redacted kept the secret: %+v", r)
	}
	if c.KafkaSASLPassword != secret {
		t.Fatal("Redacted changed the original")
	}
}

func TestEveryFieldHasVariable(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Vars() {
		if v[0] == Prefix || seen[v[0]] {
			t.Fatalf("field without or with duplicate env tag: %q", v[0])
		}
		seen[v[0]] = true
	}
}
