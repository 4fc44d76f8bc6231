package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/microconv/microconv/consumer"
	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/internal/backoff"
	"github.com/microconv/microconv/internal/config"
	"github.com/microconv/microconv/internal/logthrottle"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

func sinkConfig(c config.Config) sink.Config {
	return sink.Config{
		Addr:                  c.ClickHouseAddr,
		Database:              c.ClickHouseDatabase,
		Cluster:               c.ClickHouseCluster,
		Username:              c.ClickHouseUsername,
		Password:              c.ClickHousePassword,
		TLS:                   c.ClickHouseTLS,
		TLSCAFile:             c.ClickHouseTLSCA,
		TLSInsecureSkipVerify: c.ClickHouseInsecure,
		Compression:           c.ClickHouseCompression,
	}
}

func kafkaConfig(c config.Config) consumer.KafkaConfig {
	return consumer.KafkaConfig{
		Brokers:       c.KafkaBrokers,
		SASLMechanism: c.KafkaSASLMechanism,
		SASLUsername:  c.KafkaSASLUsername,
		SASLPassword:  c.KafkaSASLPassword,
		TLS:           c.KafkaTLS,
		TLSCAFile:     c.KafkaTLSCAFile,
		TLSCertFile:   c.KafkaTLSCertFile,
		TLSKeyFile:    c.KafkaTLSKeyFile,
		TLSInsecure:   c.KafkaTLSInsecure,
	}
}

func consumerConfig(c config.Config) consumer.Config {
	return consumer.Config{
		Kafka:     kafkaConfig(c),
		Topics:    c.KafkaTopics,
		Group:     c.KafkaGroup,
		StartLast: c.KafkaStart == "last",
		DLQTopic:  c.DLQTopic,
		Input: input.Config{
			Name:                   c.Input,
			MappingFile:            c.InputMapping,
			SchemaRegistryURL:      c.SchemaRegistryURL,
			SchemaRegistryUsername: c.SchemaRegistryUsername,
			SchemaRegistryPassword: c.SchemaRegistryPassword,
		},
		MaxMessageBytes:  c.MaxMessageBytes,
		BatchMaxRows:     c.BatchMaxRows,
		BatchMaxBytes:    c.BatchMaxBytes,
		BatchMaxWait:     c.BatchMaxWait,
		ShutdownTimeout:  c.ShutdownTimeout,
		SessionTimeout:   c.KafkaSessionTimeout,
		RebalanceTimeout: c.KafkaRebalanceTimeout,
		// Flush and commit of revoked partitions must end well within the
		// rebalance timeout, or the group moves on without this member.
		RebalanceFlushTimeout: c.KafkaRebalanceTimeout * 2 / 3,
		HeartbeatInterval:     max(c.KafkaSessionTimeout/10, 100*time.Millisecond),
	}
}

// openSink connects to ClickHouse, retrying with capped backoff (250ms
// doubling up to 5s) until it answers or ctx ends: a ClickHouse that starts
// after microconv is normal.
func openSink(ctx context.Context, cfg sink.Config, log zerolog.Logger, m *sink.Metrics) (*sink.Client, error) {
	var pace backoff.Backoff
	errLog := logthrottle.New(logthrottle.Interval)
	for attempt := 1; ; attempt++ {
		c, err := sink.Open(ctx, cfg, log, m)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, sink.ErrInvalidDatabase) || errors.Is(err, sink.ErrNoAddr) || errors.Is(err, sink.ErrInvalidCluster) {
			return nil, err
		}
		if errLog.Allow() {
			log.Error().Err(err).Int("attempt", attempt).Msg("cannot connect to clickhouse, retrying")
		}
		if werr := pace.Wait(ctx, attempt); werr != nil {
			return nil, fmt.Errorf("%w (last error: %v)", werr, err)
		}
	}
}

// rulesPathDefaulted reports whether MICROCONV_RULES was left at its default
// and that default does not exist.
func rulesPathMissing(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// sinkRules describes a rule set for the sink: the rules in force
// (conversion_rules) and the funnels whose views it creates. The glue
// between rules and sink, which know nothing of each other.
func sinkRules(s *rules.Set) sink.RuleSet {
	rs := sink.RuleSet{Version: s.Version}
	for _, c := range s.Conversions {
		rs.Rules = append(rs.Rules, sink.Rule{ID: c.ID, Type: c.Type, Category: c.Category, Description: c.Description})
	}
	for _, f := range s.Funnels {
		rs.Funnels = append(rs.Funnels, sink.Funnel{ID: f.ID, Window: f.Window, Steps: f.Steps})
	}
	return rs
}
