package consumer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/microconv/microconv/input"
)

// Metrics of the consumer. Create them once per process with NewMetrics.
type Metrics struct {
	Consumed     *prometheus.CounterVec // by topic
	Rejected     *prometheus.CounterVec // by reason
	Conversions  *prometheus.CounterVec // by conversion, type
	Commits      prometheus.Counter
	CommitErrors prometheus.Counter
	Generations  prometheus.Counter
	Assigned     prometheus.Gauge
	DLQMessages  prometheus.Counter
	DLQErrors    prometheus.Counter
	PipelineRows prometheus.Gauge
	LagMessages  *prometheus.GaugeVec // by topic, partition
	LagSeconds   *prometheus.GaugeVec // by topic, partition
	LagErrors    prometheus.Counter
	// ForcedRebalances counts rejoins asked by the stall watch.
	ForcedRebalances prometheus.Counter
}

// NewMetrics registers the consumer metrics on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microconv_consumer_events_consumed_total",
			Help: "Kafka messages read and decoded (accepted or rejected), by topic.",
		}, []string{"topic"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microconv_consumer_events_rejected_total",
			Help: "Messages rejected into rejected_events, by reason.",
		}, []string{"reason"}),
		Conversions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microconv_rules_conversions_total",
			Help: "Conversions tagged, by conversion rule id and type (micro|macro).",
		}, []string{"conversion", "type"}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microconv_consumer_commits_total",
			Help: "Successful offset commits.",
		}),
		CommitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microconv_consumer_commit_errors_total",
			Help: "Failed offset commits (retried while this member owns the partition).",
		}),
		Generations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microconv_consumer_generations_total",
			Help: "Consumer group generations joined (rebalances).",
		}),
		Assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "microconv_consumer_assigned_partitions",
			Help: "Partitions assigned to this member in the current generation.",
		}),
		DLQMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microconv_consumer_dlq_messages_total",
			Help: "Rejected messages written to the DLQ topic.",
		}),
		DLQErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microconv_consumer_dlq_errors_total",
			Help: "Failed attempts to write to the DLQ topic (retried).",
		}),
		PipelineRows: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "microconv_consumer_pending_rows",
			Help: "Rows held in memory waiting for ClickHouse.",
		}),
		LagMessages: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "microconv_consumer_lag_messages",
			Help: "Messages not yet committed by the group: high watermark − committed offset, per partition of the group's topics (all members' partitions).",
		}, []string{"topic", "partition"}),
		LagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "microconv_consumer_lag_seconds",
			Help: "Age of the oldest message not yet committed by the group, per partition; 0 when caught up.",
		}, []string{"topic", "partition"}),
		LagErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microconv_consumer_lag_errors_total",
			Help: "Failed lag measurements.",
		}),
		ForcedRebalances: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microconv_consumer_forced_rebalances_total",
			Help: "Rejoins of the group because partitions of other members made no progress (a member that died without leaving).",
		}),
	}
	for _, r := range input.Reasons {
		m.Rejected.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.Consumed, m.Rejected, m.Conversions, m.Commits, m.CommitErrors, m.Generations,
			m.Assigned, m.DLQMessages, m.DLQErrors, m.PipelineRows, m.LagMessages, m.LagSeconds, m.LagErrors, m.ForcedRebalances)
	}
	return m
}
