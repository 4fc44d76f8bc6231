package sink

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the sink. Create them once per process with NewMetrics.
type Metrics struct {
	Rows          *prometheus.CounterVec // by table
	FlushDuration prometheus.Histogram
	Flushes       *prometheus.CounterVec // by trigger: rows | bytes | wait | quiet | shutdown | rebalance | retry
	Errors        *prometheus.CounterVec // by table
	Retries       prometheus.Counter
	Up            prometheus.Gauge
}

// NewMetrics registers the sink metrics on reg (nil: not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microconv_sink_rows_total",
			Help: "Rows inserted into ClickHouse, by table.",
		}, []string{"table"}),
		FlushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "microconv_sink_flush_duration_seconds",
			Help:    "Time to insert one batch into ClickHouse, retries included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		Flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microconv_sink_flushes_total",
			Help: "Batches flushed, by what triggered the flush (rows, bytes, wait, quiet, shutdown, rebalance, retry).",
		}, []string{"trigger"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microconv_sink_errors_total",
			Help: "Failed insert attempts into ClickHouse, by table. Each is retried.",
		}, []string{"table"}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microconv_sink_retries_total",
			Help: "Insert attempts that were retries of a failed one.",
		}),
		Up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "microconv_sink_up",
			Help: "1 when the last insert or ping of ClickHouse succeeded, else 0.",
		}),
	}
	for _, t := range tableNames {
		m.Rows.WithLabelValues(t)
		m.Errors.WithLabelValues(t)
	}
	for _, t := range []string{"rows", "wait", "quiet", "shutdown", "rebalance", "retry"} {
		m.Flushes.WithLabelValues(t)
	}
	if reg != nil {
		reg.MustRegister(m.Rows, m.FlushDuration, m.Flushes, m.Errors, m.Retries, m.Up)
	}
	return m
}
