// Package config reads microconv's configuration from MICROCONV_* environment
// variables (github.com/caarlos0/env/v11). Every variable is a field of
// Config; a bad value stops start-up with the variable's name and what is
// wrong. It imports only the standard library and env.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Prefix of every environment variable.
const Prefix = "MICROCONV_"

// DefaultMaxMessageBytes is the default of MICROCONV_MAX_MESSAGE_BYTES (the
// envDefault of MaxMessageBytes says the same), and of every consumer and
// input format given no limit: 1 MiB, Kafka's own default largest message.
const DefaultMaxMessageBytes = 1 << 20

// Config is every setting of microconv. The env tags are the public contract
// (README "Configuration"); defaults are chosen for a single instance next to
// a local Kafka and ClickHouse.
type Config struct {
	KafkaBrokers       []string `env:"KAFKA_BROKERS" envDefault:"localhost:9092" envSeparator:","`
	KafkaTopics        []string `env:"KAFKA_TOPICS" envDefault:"clickstream" envSeparator:","`
	KafkaGroup         string   `env:"KAFKA_GROUP" envDefault:"microconv"`
	KafkaStart         string   `env:"KAFKA_START" envDefault:"first"` // first | last: where a new group starts
	KafkaSASLMechanism string   `env:"KAFKA_SASL_MECHANISM"`           // "" | PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
	KafkaSASLUsername  string   `env:"KAFKA_SASL_USERNAME"`
	KafkaSASLPassword  string   `env:"KAFKA_SASL_PASSWORD"` // secret
	KafkaTLS           bool     `env:"KAFKA_TLS" envDefault:"false"`
	KafkaTLSCAFile     string   `env:"KAFKA_TLS_CA_FILE"`
	KafkaTLSCertFile   string   `env:"KAFKA_TLS_CERT_FILE"`
	KafkaTLSKeyFile    string   `env:"KAFKA_TLS_KEY_FILE"`
	KafkaTLSInsecure   bool     `env:"KAFKA_TLS_INSECURE_SKIP_VERIFY" envDefault:"false"`
	// KafkaSessionTimeout: a member that stops heartbeating (killed) loses
	// its partitions after this long. 10s, not Kafka's 45s: a restarted
	// instance gets back to work sooner after a crash.
	KafkaSessionTimeout time.Duration `env:"KAFKA_SESSION_TIMEOUT" envDefault:"10s"`
	// KafkaRebalanceTimeout: how long a rebalance waits for every member to
	// rejoin (and so for a dead one); members flush and commit within it.
	KafkaRebalanceTimeout time.Duration `env:"KAFKA_REBALANCE_TIMEOUT" envDefault:"15s"`
	// MaxMessageBytes: larger messages are rejected (reason too_large);
	// default DefaultMaxMessageBytes.
	MaxMessageBytes int `env:"MAX_MESSAGE_BYTES" envDefault:"1048576"`

	ClickHouseAddr     []string `env:"CLICKHOUSE_ADDR" envDefault:"localhost:9000" envSeparator:","`
	ClickHouseDatabase string   `env:"CLICKHOUSE_DATABASE" envDefault:"microconv"`
	// ClickHouseCluster is a remote_servers cluster: the schema is created
	// ON CLUSTER with Replicated and Distributed tables ("" is one server).
	ClickHouseCluster  string `env:"CLICKHOUSE_CLUSTER"`
	ClickHouseUsername string `env:"CLICKHOUSE_USERNAME" envDefault:"default"`
	ClickHousePassword string `env:"CLICKHOUSE_PASSWORD"` // secret
	ClickHouseTLS      bool   `env:"CLICKHOUSE_TLS" envDefault:"false"`
	ClickHouseTLSCA    string `env:"CLICKHOUSE_TLS_CA_FILE"`
	ClickHouseInsecure bool   `env:"CLICKHOUSE_TLS_INSECURE_SKIP_VERIFY" envDefault:"false"`
	// ClickHouseCompression of the native protocol: auto (lz4, or none when
	// every server is on this host, where compressing only costs CPU) | lz4 |
	// zstd | none.
	ClickHouseCompression string `env:"CLICKHOUSE_COMPRESSION" envDefault:"auto"`

	Rules string `env:"RULES" envDefault:"rules.yaml"`
	Input string `env:"INPUT" envDefault:"segment"` // segment | snowplow | ga4 | mapping
	// InputMapping: YAML field mapping of a custom shape (INPUT=mapping), or
	// overrides for the ga4 and snowplow presets.
	InputMapping string `env:"INPUT_MAPPING"`
	// SchemaRegistryURL enables Avro (Confluent wire format) via a
	// Confluent-compatible schema registry; JSON stays the default.
	SchemaRegistryURL      string `env:"SCHEMA_REGISTRY_URL"`
	SchemaRegistryUsername string `env:"SCHEMA_REGISTRY_USERNAME"`
	SchemaRegistryPassword string `env:"SCHEMA_REGISTRY_PASSWORD"` // secret

	// BatchMaxRows: ClickHouse writes a part per insert and prefers few big
	// ones: the fewer the parts, the less CPU its server spends per row.
	BatchMaxRows int `env:"BATCH_MAX_ROWS" envDefault:"100000"`
	// BatchMaxBytes bounds the memory of a batch (its encoded rows): at most
	// two batches exist, so the consumer's memory stays bounded whatever the
	// size of the events. 32 MiB holds about 100,000 typical Segment events
	// with their conversions (measured with `microconv bench`).
	BatchMaxBytes int `env:"BATCH_MAX_BYTES" envDefault:"33554432"`
	// BatchMaxWait: 1s bounds how stale the views are under a light load.
	BatchMaxWait time.Duration `env:"BATCH_MAX_WAIT" envDefault:"1s"`
	// ShutdownTimeout bounds the final flush and commit on SIGTERM.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"30s"`

	DLQTopic string `env:"DLQ_TOPIC"`

	HTTPAddr  string `env:"HTTP_ADDR" envDefault:":9464"`
	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid configuration")

// Load reads Config from environ (os.Environ() format; nil means the process
// environment) and validates it.
func Load(environ []string) (Config, error) {
	var c Config
	opts := env.Options{Prefix: Prefix}
	if environ != nil {
		opts.Environment = env.ToMap(environ)
	}
	if err := env.ParseWithOptions(&c, opts); err != nil {
		return c, explain(err)
	}
	// env treats an empty variable as unset; for the HTTP address, set and
	// empty (or "off") means no HTTP endpoint at all.
	vars := opts.Environment
	if vars == nil {
		vars = env.ToMap(os.Environ())
	}
	if v, ok := vars[Prefix+"HTTP_ADDR"]; ok && (v == "" || v == "off") {
		c.HTTPAddr = ""
	}
	return c, c.Validate()
}

var (
	topicRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	// clusterRE: names as remote_servers writes them (sink.ValidCluster).
	clusterRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// Validate checks every value and names the variable of the first bad one.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s%s: %s", ErrInvalid, Prefix, VarName(field), fmt.Sprintf(format, args...))
	}
	if len(c.KafkaBrokers) == 0 {
		return bad("KafkaBrokers", "no broker given")
	}
	for _, b := range c.KafkaBrokers {
		if !strings.Contains(b, ":") || strings.TrimSpace(b) != b || b == "" {
			return bad("KafkaBrokers", "%q is not host:port", b)
		}
	}
	if len(c.KafkaTopics) == 0 {
		return bad("KafkaTopics", "no topic given")
	}
	for _, t := range c.KafkaTopics {
		if !topicRE.MatchString(t) {
			return bad("KafkaTopics", "%q is not a valid topic name ([a-zA-Z0-9._-], 1 to 249 characters)", t)
		}
	}
	if strings.TrimSpace(c.KafkaGroup) == "" {
		return bad("KafkaGroup", "empty group id")
	}
	switch c.KafkaStart {
	case "first", "last":
	default:
		return bad("KafkaStart", "%q is not first or last", c.KafkaStart)
	}
	switch strings.ToUpper(c.KafkaSASLMechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return bad("KafkaSASLMechanism", "%q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.KafkaSASLMechanism)
	}
	if c.KafkaSASLMechanism != "" && c.KafkaSASLUsername == "" {
		return bad("KafkaSASLUsername", "required when %sKAFKA_SASL_MECHANISM is set", Prefix)
	}
	if (c.KafkaTLSCertFile == "") != (c.KafkaTLSKeyFile == "") {
		return bad("KafkaTLSCertFile", "client certificate and key (%sKAFKA_TLS_KEY_FILE) go together", Prefix)
	}
	if c.KafkaSessionTimeout < time.Second || c.KafkaSessionTimeout > 30*time.Minute {
		return bad("KafkaSessionTimeout", "%s is out of range [1s, 30m]", c.KafkaSessionTimeout)
	}
	if c.KafkaRebalanceTimeout < time.Second || c.KafkaRebalanceTimeout > 30*time.Minute {
		return bad("KafkaRebalanceTimeout", "%s is out of range [1s, 30m]", c.KafkaRebalanceTimeout)
	}
	if c.MaxMessageBytes < 1024 || c.MaxMessageBytes > 64<<20 {
		return bad("MaxMessageBytes", "%d is out of range [1024, 67108864]", c.MaxMessageBytes)
	}
	if len(c.ClickHouseAddr) == 0 {
		return bad("ClickHouseAddr", "no address given")
	}
	for _, a := range c.ClickHouseAddr {
		if !strings.Contains(a, ":") || strings.TrimSpace(a) != a {
			return bad("ClickHouseAddr", "%q is not host:port", a)
		}
	}
	if !identRE.MatchString(c.ClickHouseDatabase) {
		return bad("ClickHouseDatabase", "%q is not a valid database name ([A-Za-z_][A-Za-z0-9_]*, at most 64 characters)", c.ClickHouseDatabase)
	}
	if c.ClickHouseCluster != "" && !clusterRE.MatchString(c.ClickHouseCluster) {
		return bad("ClickHouseCluster", "%q is not a cluster name ([A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128 characters)", c.ClickHouseCluster)
	}
	switch c.ClickHouseCompression {
	case "auto", "lz4", "zstd", "none":
	default:
		return bad("ClickHouseCompression", "%q is not auto, lz4, zstd or none", c.ClickHouseCompression)
	}
	if c.Rules == "" {
		return bad("Rules", "empty path")
	}
	switch c.Input {
	case "segment", "snowplow":
		if c.InputMapping != "" {
			return bad("InputMapping", "a mapping applies to %sINPUT=mapping or ga4, not %q", Prefix, c.Input)
		}
	case "ga4":
	case "mapping":
		if c.InputMapping == "" {
			return bad("InputMapping", "required when %sINPUT=mapping", Prefix)
		}
	default:
		return bad("Input", "%q is not a known input format (segment, snowplow, ga4, mapping)", c.Input)
	}
	if c.SchemaRegistryURL != "" {
		u, err := url.Parse(c.SchemaRegistryURL)
		if err == nil && u.User != nil {
			// Not quoted: the URL holds a secret.
			return bad("SchemaRegistryURL", "put credentials in %sSCHEMA_REGISTRY_USERNAME/_PASSWORD, not in the URL", Prefix)
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("SchemaRegistryURL", "%q is not an http(s) URL", c.SchemaRegistryURL)
		}
	}
	if c.BatchMaxRows < 1 || c.BatchMaxRows > 1_000_000 {
		return bad("BatchMaxRows", "%d is out of range [1, 1000000]", c.BatchMaxRows)
	}
	if c.BatchMaxBytes < 1<<10 || c.BatchMaxBytes > 1<<30 {
		return bad("BatchMaxBytes", "%d is out of range [1024, 1073741824]", c.BatchMaxBytes)
	}
	if c.BatchMaxWait < time.Millisecond || c.BatchMaxWait > time.Hour {
		return bad("BatchMaxWait", "%s is out of range [1ms, 1h]", c.BatchMaxWait)
	}
	if c.ShutdownTimeout < time.Second {
		return bad("ShutdownTimeout", "%s is shorter than 1s", c.ShutdownTimeout)
	}
	if c.DLQTopic != "" && !topicRE.MatchString(c.DLQTopic) {
		return bad("DLQTopic", "%q is not a valid topic name", c.DLQTopic)
	}
	for _, t := range c.KafkaTopics {
		if t == c.DLQTopic {
			return bad("DLQTopic", "%q is also an input topic: rejected messages would be read again", t)
		}
	}
	if c.HTTPAddr != "" && !strings.Contains(c.HTTPAddr, ":") {
		return bad("HTTPAddr", "%q is not [host]:port", c.HTTPAddr)
	}
	switch c.LogLevel {
	case "trace", "debug", "info", "warn", "error":
	default:
		return bad("LogLevel", "%q is not one of trace, debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		return bad("LogFormat", "%q is not json or console", c.LogFormat)
	}
	return nil
}

// VarName returns the variable (without prefix) of a Config field.
func VarName(field string) string {
	f, ok := reflect.TypeOf(Config{}).FieldByName(field)
	if !ok {
		return field
	}
	return f.Tag.Get("env")
}

// Vars lists every variable with its default, in declaration order.
func Vars() [][2]string {
	t := reflect.TypeOf(Config{})
	out := make([][2]string, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, [2]string{Prefix + f.Tag.Get("env"), f.Tag.Get("envDefault")})
	}
	return out
}

// explain turns env's errors, which name struct fields, into ones that name
// the variable.
func explain(err error) error {
	var agg env.AggregateError
	if errors.As(err, &agg) && len(agg.Errors) > 0 {
		err = agg.Errors[0]
	}
	var pe env.ParseError
	if errors.As(err, &pe) {
		what := pe.Type.String()
		switch pe.Type.String() {
		case "time.Duration":
			what = "a duration such as 500ms, 2s or 1m"
		case "int":
			what = "an integer"
		case "bool":
			what = "true or false"
		}
		return fmt.Errorf("%w: %s%s: cannot parse the value as %s", ErrInvalid, Prefix, VarName(pe.Name), what)
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}

// Redacted returns c with secrets replaced, safe to log.
func (c Config) Redacted() Config {
	if c.KafkaSASLPassword != "" {
		c.KafkaSASLPassword = "****"
	}
	if c.ClickHousePassword != "" {
		c.ClickHousePassword = "****"
	}
	if c.SchemaRegistryPassword != "" {
		c.SchemaRegistryPassword = "****"
	}
	return c
}
