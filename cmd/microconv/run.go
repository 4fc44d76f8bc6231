package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/microconv/microconv/consumer"
	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/internal/backoff"
	"github.com/microconv/microconv/internal/config"
	"github.com/microconv/microconv/internal/logthrottle"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// app is one `microconv run` process: what the HTTP handlers and the reload
// path need to see.
type app struct {
	cfg  config.Config
	log  zerolog.Logger
	reg  *prometheus.Registry
	sink atomic.Pointer[sink.Client]
	cons atomic.Pointer[consumer.Consumer]

	rulesMu     sync.Mutex // serialises reloads
	rules       atomic.Pointer[rules.Set]
	rulesLoaded prometheus.Gauge
	reloads     *prometheus.CounterVec

	schema       schemaState // /readyz waits for it
	schemaErrors prometheus.Counter
}

// gcPercent is the garbage collector's target for `run` when GOGC is not set.
const gcPercent = 50

func cmdRun(args, environ []string, stdout, stderr io.Writer) int {
	cfg, _, err := loadConfig("run", args, environ, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "microconv run: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if path := os.Getenv("MICROCONV_CPU_PROFILE"); path != "" {
		// A CPU profile of the whole run, written at exit (for `bench`).
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stderr, "microconv run: cannot create MICROCONV_CPU_PROFILE: %v\n", err)
			return 2
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "microconv run: cannot start the CPU profile: %v\n", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	if path := os.Getenv("MICROCONV_ALLOC_PROFILE"); path != "" {
		// Where the run allocated (every allocation sampled), written at exit.
		runtime.MemProfileRate = 4096
		defer func() {
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintf(stderr, "microconv run: cannot create MICROCONV_ALLOC_PROFILE: %v\n", err)
				return
			}
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			_ = f.Close()
		}()
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		// Batches are large, pointer-free buffers: collecting when the heap
		// has grown by half (not doubled) keeps the resident memory near
		// what is alive, for little CPU (measured with `microconv bench`).
		debug.SetGCPercent(gcPercent)
	}
	a := &app{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	a.registerMetrics()

	set, err := rules.Load(cfg.Rules)
	if err != nil {
		a.reloads.WithLabelValues("error").Inc()
		fmt.Fprintf(stderr, "microconv run: cannot load rules from %q:\n", cfg.Rules)
		printRuleErrors(stderr, err)
		return 1
	}
	a.setRules(set)
	// The input format (a mapping file, a registry URL) fails now, not after
	// ClickHouse is reachable.
	if _, err := input.NewFormat(consumerConfig(cfg).Input); err != nil {
		fmt.Fprintf(stderr, "microconv run: %v\n", err)
		return 1
	}
	log.Info().Str("version", buildVersion()).Str("rules", cfg.Rules).Str("rules_version", set.Version).
		Int("conversions", len(set.Conversions)).Int("funnels", len(set.Funnels)).
		Strs("brokers", cfg.KafkaBrokers).Strs("topics", cfg.KafkaTopics).Str("group", cfg.KafkaGroup).
		Strs("clickhouse", cfg.ClickHouseAddr).Str("database", cfg.ClickHouseDatabase).
		Bool("sasl", cfg.KafkaSASLMechanism != "").Bool("kafka_tls", cfg.KafkaTLS).Bool("dlq", cfg.DLQTopic != "").
		Msg("starting")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		stopping := false
		for s := range sigs {
			switch {
			case s == syscall.SIGHUP:
				a.reload("sighup")
			case !stopping:
				stopping = true
				log.Info().Str("signal", s.String()).Dur("timeout", cfg.ShutdownTimeout).Msg("stopping: no more fetching, flushing and committing (a second signal exits at once)")
				cancel()
			default:
				log.Warn().Str("signal", s.String()).Msg("second signal: exiting at once; uncommitted messages will be read again")
				os.Exit(1)
			}
		}
	}()

	go a.watchRules(ctx)

	var httpSrv *http.Server
	if cfg.HTTPAddr != "" {
		// A taken port must not stop the consumer (several instances on one
		// host with the default address): say so loudly and go on without
		// the endpoints.
		if ln, err := net.Listen("tcp", cfg.HTTPAddr); err != nil {
			log.Error().Err(err).Str("addr", cfg.HTTPAddr).Msg("cannot listen on MICROCONV_HTTP_ADDR: running without /metrics, /healthz, /readyz")
		} else {
			httpSrv = &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second}
			go func() { _ = httpSrv.Serve(ln) }()
			log.Info().Str("addr", ln.Addr().String()).Msg("serving /metrics, /healthz, /readyz")
		}
	}
	defer func() {
		if httpSrv != nil {
			sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
			_ = httpSrv.Shutdown(sctx)
			c()
		}
	}()

	sinkMetrics := sink.NewMetrics(a.reg)
	client, err := openSink(ctx, sinkConfig(cfg), log, sinkMetrics)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintf(stderr, "microconv run: %v\n", err)
		return 1
	}
	defer client.Close()
	a.sink.Store(client)
	// The schema is created while the consumer joins its group and decodes
	// its first batch (creating the tables and views of a new database is
	// slow DDL on some servers); the first insert and /readyz wait for it.
	client.HoldInserts()
	go func() { client.ReleaseInserts(a.createSchema(ctx, client)) }()

	cons, err := consumer.New(consumerConfig(cfg), client, log, consumer.NewMetrics(a.reg))
	if err != nil {
		fmt.Fprintf(stderr, "microconv run: %v\n", err)
		return 1
	}
	cons.SetRules(set)
	a.cons.Store(cons)
	if err := cons.Run(ctx); err != nil {
		log.Error().Err(err).Msg("stopped with rows not written")
		return 1
	}
	return 0
}

// createSchema creates the database, tables and views and stores the rules
// in force, retrying until it succeeds or ctx ends. Every failure is
// counted, logged (throttled) and kept for /readyz, which answers 503 until
// this succeeds.
func (a *app) createSchema(ctx context.Context, client *sink.Client) error {
	err := retry(ctx, a.log, "create the schema", func(ctx context.Context) error {
		if err := client.Migrate(ctx); err != nil {
			return err
		}
		// The rules in force now, under the reload lock: a reload that
		// happened meanwhile stored its rules already (or failed and
		// kept these), and none can store newer ones in between.
		a.rulesMu.Lock()
		defer a.rulesMu.Unlock()
		_, err := client.PutRules(ctx, sinkRules(a.rules.Load()))
		return err
	}, func(err error) {
		a.schemaErrors.Inc()
		a.schema.failed(err)
	})
	if err == nil {
		a.schema.created()
	}
	return err
}

// schemaState is how far run got creating the schema and storing the rules
// in force: not yet, failing (with the last error) or done.
type schemaState struct {
	mu   sync.Mutex
	done bool
	err  error // the last failure, until done
}

func (s *schemaState) failed(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *schemaState) created() {
	s.mu.Lock()
	s.done, s.err = true, nil
	s.mu.Unlock()
}

// check returns nil once the schema is created and the rules stored, else
// why not (the last error from ClickHouse while it fails; the sink scrubs
// the password from its errors).
func (s *schemaState) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.done:
		return nil
	case s.err != nil:
		return fmt.Errorf("cannot create the schema: %w", s.err)
	default:
		return errors.New("the schema is not created yet")
	}
}

// retry calls fn until it succeeds or ctx ends, with capped backoff (250ms
// doubling up to 5s). Each failure goes to failed (when not nil) and is
// logged: the first at once, then at most every 10 s.
func retry(ctx context.Context, log zerolog.Logger, what string, fn func(context.Context) error, failed func(error)) error {
	var pace backoff.Backoff
	errLog := logthrottle.New(logthrottle.Interval)
	for failures := 1; ; failures++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if failed != nil {
			failed(err)
		}
		if errLog.Allow() {
			log.Error().Err(err).Int("failures", failures).Msgf("cannot %s, retrying", what)
		}
		if err := pace.Wait(ctx, failures); err != nil {
			return err
		}
	}
}

func (a *app) registerMetrics() {
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "microconv_build_info",
		Help:        "Build information; always 1.",
		ConstLabels: prometheus.Labels{"version": buildVersion(), "goversion": runtime.Version()},
	})
	info.Set(1)
	a.rulesLoaded = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "microconv_rules_loaded",
		Help: "Conversion rules in force.",
	})
	a.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "microconv_rules_reloads_total",
		Help: "Rule reloads, by result (success, error, unchanged).",
	}, []string{"result"})
	for _, r := range []string{"success", "error", "unchanged"} {
		a.reloads.WithLabelValues(r)
	}
	a.schemaErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "microconv_sink_schema_errors_total",
		Help: "Failed attempts to create the schema and store the rules in force at start-up. Each is retried; /readyz answers 503 until one succeeds.",
	})
	a.reg.MustRegister(info, a.rulesLoaded, a.reloads, a.schemaErrors)
}

func (a *app) setRules(set *rules.Set) {
	a.rules.Store(set)
	a.rulesLoaded.Set(float64(len(set.Conversions)))
	if c := a.cons.Load(); c != nil {
		c.SetRules(set)
	}
}

// reload reads the rules again. A broken file is refused with its errors and
// the rules in force stay; a valid change applies to the next events.
func (a *app) reload(why string) {
	a.rulesMu.Lock()
	defer a.rulesMu.Unlock()
	set, err := rules.Load(a.cfg.Rules)
	if err != nil {
		a.reloads.WithLabelValues("error").Inc()
		a.log.Error().Err(err).Str("trigger", why).Str("rules", a.cfg.Rules).Msg("cannot reload rules; the rules in force stay")
		return
	}
	if old := a.rules.Load(); old != nil && old.Version == set.Version {
		a.reloads.WithLabelValues("unchanged").Inc()
		return
	}
	if c := a.sink.Load(); c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := c.PutRules(ctx, sinkRules(set))
		cancel()
		if err != nil {
			a.reloads.WithLabelValues("error").Inc()
			a.log.Error().Err(err).Msg("cannot store reloaded rules in ClickHouse; the rules in force stay")
			return
		}
	}
	a.setRules(set)
	a.reloads.WithLabelValues("success").Inc()
	a.log.Info().Str("trigger", why).Str("rules_version", set.Version).Int("conversions", len(set.Conversions)).Msg("rules reloaded")
}

// handler serves read-only routes: /metrics, /healthz, /readyz.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	return mux
}

// ready returns nil when the instance does its job: rules loaded,
// ClickHouse answers, the schema is created and the rules in force stored,
// and the consumer is a member of its group. Else the first reason it is not.
func (a *app) ready(ctx context.Context) error {
	if a.rules.Load() == nil {
		return errors.New("no rules loaded")
	}
	c := a.sink.Load()
	if c == nil {
		return errors.New("clickhouse not connected yet")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		return fmt.Errorf("clickhouse unreachable: %v", err)
	}
	if err := a.schema.check(); err != nil {
		return err
	}
	if c := a.cons.Load(); c == nil || !c.Joined() {
		return errors.New("not a member of the kafka consumer group yet")
	}
	return nil
}
