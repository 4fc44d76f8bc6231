package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/microconv/microconv/consumer"
	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/config"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// cmdDemo runs the whole pipeline on one machine: an embedded Kafka-protocol
// broker (kfake), `gen` streaming a seeded clickstream into it, the consumer
// writing to ClickHouse (MICROCONV_CLICKHOUSE_ADDR), and a terminal report of
// the views, checked against the generator's ground truth. It stops what it
// started and exits 0 when every figure matches.
func cmdDemo(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	users := fs.Int("users", 5000, "people in the generated clickstream")
	seed := fs.Uint64("seed", 42, "random seed of the clickstream")
	partitions := fs.Int("partitions", 4, "partitions of the embedded topic")
	database := fs.String("database", "microconv_demo", "ClickHouse database to (re)create for the demo")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: microconv demo [flags]\n\nEmbedded Kafka + gen + consumer + ClickHouse (MICROCONV_CLICKHOUSE_ADDR), then a report.\nThe database is dropped and re-created; it is kept afterwards for you to query.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !sink.ValidIdentifier(*database) {
		fmt.Fprintf(stderr, "microconv demo: --database %q is not a valid name\n", *database)
		return 2
	}
	if *users < 100 || *partitions < 1 || *partitions > 64 {
		fmt.Fprintln(stderr, "microconv demo: --users must be at least 100 and --partitions 1 to 64")
		return 2
	}
	cfg, err := config.Load(environ)
	if err != nil {
		fmt.Fprintf(stderr, "microconv demo: %v\n", err)
		return 2
	}
	cfg.ClickHouseDatabase = *database
	// The progress bars and the logger write to stderr from several
	// goroutines: serialise them.
	tty := isTerminal(stderr)
	stderr = &lockedWriter{w: stderr}
	level := cfg.LogLevel
	if level == "info" {
		level = "warn" // the report is the output; say more only when asked
	}
	log := newLogger(level, "console", stderr)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d := &demo{cfg: cfg, log: log, out: stdout, errw: stderr, tty: tty, users: *users, seed: *seed, partitions: *partitions}
	if err := d.run(ctx); err != nil {
		fmt.Fprintf(stderr, "microconv demo: %v\n", err)
		return 1
	}
	return 0
}

type demo struct {
	cfg        config.Config
	log        zerolog.Logger
	out, errw  io.Writer
	tty        bool // stderr is a terminal: redraw the progress bars in place
	users      int
	seed       uint64
	partitions int
}

const demoTopic = "clickstream"

func (d *demo) run(ctx context.Context) error {
	began := time.Now()
	set, err := rules.Parse("builtin-rules.yaml", []byte(gen.DefaultRules))
	if err != nil {
		return fmt.Errorf("cannot parse the built-in rules: %w", err)
	}
	stream := gen.Generate(gen.Options{Seed: d.seed, Users: d.users})
	truth, err := gen.ComputeTruth(stream, set)
	if err != nil {
		return err
	}

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(d.partitions), demoTopic))
	if err != nil {
		return fmt.Errorf("cannot start the embedded Kafka: %w", err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	// ClickHouse: a fresh database with the schema and the rules in force.
	scfg := sinkConfig(d.cfg)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	client, err := openSink(cctx, scfg, d.log, nil)
	cancel()
	if err != nil {
		return fmt.Errorf("cannot reach ClickHouse at %s (set MICROCONV_CLICKHOUSE_ADDR, or run `make demo`, which starts one): %w", strings.Join(d.cfg.ClickHouseAddr, ","), err)
	}
	defer client.Close()
	if err := client.DropDatabase(ctx); err != nil {
		return err
	}
	if err := client.Migrate(ctx); err != nil {
		return err
	}
	if _, err := client.PutRules(ctx, sinkRules(set)); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "microconv demo: %d users, %d messages (%d malformed, upstream duplicates included) → embedded Kafka (%d partitions) → ClickHouse %s at %s, database %s\n\n",
		d.users, len(stream.Messages), truth.Rejected, d.partitions, client.ServerVersion(), strings.Join(d.cfg.ClickHouseAddr, ","), d.cfg.ClickHouseDatabase)

	// The consumer, exactly as `run` wires it.
	ccfg := consumerConfig(d.cfg)
	ccfg.Kafka = consumer.KafkaConfig{Brokers: brokers}
	ccfg.Topics = []string{demoTopic}
	ccfg.Group = "microconv-demo"
	ccfg.BatchMaxWait = 250 * time.Millisecond
	ccfg.LagInterval = -1
	cons, err := consumer.New(ccfg, client, d.log, nil)
	if err != nil {
		return err
	}
	cons.SetRules(set)
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	runErr := make(chan error, 1)
	go func() { runErr <- cons.Run(runCtx) }()

	if err := d.produce(ctx, brokers, stream); err != nil {
		return err
	}
	if err := d.waitConsumed(ctx, brokers, len(stream.Messages)); err != nil {
		return err
	}
	stopRun()
	if err := <-runErr; err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nall %d messages consumed, written and committed in %s\n\n", len(stream.Messages), time.Since(began).Round(100*time.Millisecond))
	return d.report(ctx, client, set, truth)
}

// produce streams the messages into the embedded broker with a progress bar.
func (d *demo) produce(ctx context.Context, brokers []string, s *gen.Stream) error {
	w := &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        demoTopic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    1000,
		BatchTimeout: 10 * time.Millisecond,
	}
	defer w.Close()
	total := len(s.Messages)
	var sent atomic.Int64
	done := make(chan struct{})
	go d.progress("producing", done, func() (int64, int64) { return sent.Load(), int64(total) })
	defer func() { <-done }()
	if err := writeStream(ctx, w, s.Messages, 2000, &sent); err != nil {
		sent.Store(int64(total)) // ends the bar
		return fmt.Errorf("cannot produce to the embedded broker: %w", err)
	}
	return nil
}

// waitConsumed shows the group's committed total until it reaches total.
func (d *demo) waitConsumed(ctx context.Context, brokers []string, total int) error {
	lc, err := consumer.NewLagClient(consumer.KafkaConfig{Brokers: brokers})
	if err != nil {
		return err
	}
	var committed atomic.Int64
	done := make(chan struct{})
	go d.progress("consuming", done, func() (int64, int64) { return committed.Load(), int64(total) })
	defer func() { <-done }()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		lags, err := lc.Lag(ctx, "microconv-demo", []string{demoTopic}, false)
		if err == nil {
			var n int64
			for _, l := range lags {
				n += max(l.Committed, 0)
			}
			committed.Store(n)
			if n >= int64(total) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			committed.Store(int64(total))
			return fmt.Errorf("the consumer did not commit all %d messages within 5 minutes", total)
		}
		select {
		case <-ctx.Done():
			committed.Store(int64(total))
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// progress draws a bar on stderr until value reaches total, then closes done.
func (d *demo) progress(what string, done chan<- struct{}, value func() (int64, int64)) {
	defer close(done)
	tty := d.tty
	start := time.Now()
	last := time.Time{}
	for {
		v, total := value()
		if tty || time.Since(last) >= 2*time.Second || v >= total {
			rate := float64(v) / max(time.Since(start).Seconds(), 0.001)
			line := fmt.Sprintf("%-10s %s %7d/%d  %6.0f msg/s", what, bar(float64(v)/float64(max(total, 1)), 32), v, total, rate)
			if tty {
				fmt.Fprintf(d.errw, "\r%s", line)
			} else {
				fmt.Fprintln(d.errw, line)
			}
			last = time.Now()
		}
		if v >= total {
			if tty {
				fmt.Fprintln(d.errw)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// bar draws a horizontal bar of width cells for a fraction in [0, 1].
func bar(frac float64, width int) string {
	frac = min(max(frac, 0), 1)
	eighths := int(frac*float64(width)*8 + 0.5)
	full, rest := eighths/8, eighths%8
	b := strings.Repeat("█", full)
	if rest > 0 && full < width {
		b += string([]rune(" ▏▎▍▌▋▊▉")[rest])
		full++
	}
	return b + strings.Repeat(" ", width-full)
}

// report prints the funnels, the conversion summary, the top
// micro-conversions by lift and the rejected count, and checks each figure
// against the ground truth.
func (d *demo) report(ctx context.Context, client *sink.Client, set *rules.Set, truth *gen.Truth) error {
	conn := client.Conn()
	db := d.cfg.ClickHouseDatabase
	checked, wrong := 0, 0
	check := func(what string, got, want any) {
		checked++
		if fmt.Sprint(got) != fmt.Sprint(want) {
			wrong++
			fmt.Fprintf(d.out, "  ✗ %s: the view says %v, the ground truth %v\n", what, got, want)
		}
	}
	for _, f := range set.Funnels {
		rows, err := conn.Query(ctx, "SELECT step, name, users, from_previous, from_start FROM "+db+".funnel_"+f.ID+" ORDER BY step")
		if err != nil {
			return fmt.Errorf("cannot read funnel_%s: %w", f.ID, err)
		}
		fmt.Fprintf(d.out, "Funnel %s (window %s)\n", f.ID, formatWindow(f.Window))
		i := 0
		for rows.Next() {
			var step uint32
			var name string
			var users uint64
			var prev, start float64
			if err := rows.Scan(&step, &name, &users, &prev, &start); err != nil {
				rows.Close()
				return err
			}
			note := ""
			if step > 1 {
				note = fmt.Sprintf("  (%5.1f%% of step %d)", prev*100, step-1)
			}
			fmt.Fprintf(d.out, "  %d %-22s %s %6d %6.1f%%%s\n", step, name, bar(start, 40), users, start*100, note)
			if ft := truth.Funnels[f.ID]; ft != nil && i < len(ft.Steps) {
				check(fmt.Sprintf("funnel %s step %d users", f.ID, step), users, ft.Steps[i].Users)
			}
			i++
		}
		rows.Close()
		fmt.Fprintln(d.out)
	}

	fmt.Fprintln(d.out, "Conversions (conversion_summary: distinct users and events)")
	fmt.Fprintf(d.out, "  %-24s %-6s %-11s %7s %7s\n", "conversion", "type", "category", "users", "events")
	rows, err := conn.Query(ctx, "SELECT conversion, conversion_type, category, users, events FROM "+db+".conversion_summary")
	if err != nil {
		return err
	}
	want := map[string]gen.ConversionSummary{}
	for _, s := range truth.ConversionSummary {
		want[s.Conversion] = s
	}
	for rows.Next() {
		var conv, typ, cat string
		var users, events uint64
		if err := rows.Scan(&conv, &typ, &cat, &users, &events); err != nil {
			rows.Close()
			return err
		}
		fmt.Fprintf(d.out, "  %-24s %-6s %-11s %7d %7d\n", conv, typ, cat, users, events)
		check("conversion_summary "+conv, fmt.Sprint(users, "/", events), fmt.Sprint(want[conv].Users, "/", want[conv].Events))
	}
	rows.Close()
	fmt.Fprintln(d.out)

	fmt.Fprintln(d.out, "Top micro-conversions by lift on purchase (micro_lift)")
	fmt.Fprintf(d.out, "  %-24s %10s %10s %13s %7s\n", "micro", "users_with", "rate_with", "rate_without", "lift")
	rows, err = conn.Query(ctx, "SELECT micro, users_with, converted_with, rate_with, rate_without, lift FROM "+db+".micro_lift WHERE macro = 'purchase' AND lift IS NOT NULL ORDER BY lift DESC, micro LIMIT 5")
	if err != nil {
		return err
	}
	lifts := map[string]gen.MicroLift{}
	for _, l := range truth.MicroLift {
		lifts[l.Micro+"/"+l.Macro] = l
	}
	for rows.Next() {
		var micro string
		var uw, cw uint64
		var rw, rwo float64
		var lift *float64
		if err := rows.Scan(&micro, &uw, &cw, &rw, &rwo, &lift); err != nil {
			rows.Close()
			return err
		}
		fmt.Fprintf(d.out, "  %-24s %10d %9.1f%% %12.1f%% %7.2f\n", micro, uw, rw*100, rwo*100, *lift)
		l := lifts[micro+"/purchase"]
		check("micro_lift "+micro, fmt.Sprint(uw, "/", cw), fmt.Sprint(l.UsersWith, "/", l.ConvertedWith))
	}
	rows.Close()
	fmt.Fprintln(d.out)

	var rejected uint64
	byReason := map[string]uint64{}
	rows, err = conn.Query(ctx, "SELECT reason, messages FROM "+db+".rejected_summary")
	if err != nil {
		return err
	}
	for rows.Next() {
		var reason string
		var n uint64
		if err := rows.Scan(&reason, &n); err != nil {
			rows.Close()
			return err
		}
		byReason[reason] = n
		rejected += n
	}
	rows.Close()
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	var parts []string
	for _, r := range reasons {
		parts = append(parts, fmt.Sprintf("%s %d", r, byReason[r]))
	}
	fmt.Fprintf(d.out, "Rejected: %d messages (%s) — see %s.rejected_events\n", rejected, strings.Join(parts, ", "), db)
	check("rejected messages", rejected, truth.Rejected)

	if wrong > 0 {
		return errors.New(fmt.Sprint(wrong, " of ", checked, " figures differ from the ground truth"))
	}
	fmt.Fprintf(d.out, "\n✓ all %d figures above equal the ground truth computed independently by `microconv gen`.\n", checked)
	if os.Getenv("MICROCONV_DEMO_PRIVATE_CLICKHOUSE") != "" {
		fmt.Fprintln(d.out, "  (`make demo` stops its private ClickHouse now; DEMO_KEEP=1 make demo keeps it running to query.)")
	} else {
		fmt.Fprintf(d.out, "  The data stays in database %s: try  SELECT * FROM %s.funnel_checkout\n", db, db)
	}
	return nil
}

// formatWindow writes a funnel window as an analyst wrote it: 24h, 7d, 30m.
func formatWindow(w time.Duration) string {
	if w%(24*time.Hour) == 0 && w >= 48*time.Hour {
		return fmt.Sprintf("%dd", w/(24*time.Hour))
	}
	s := w.String()
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	return s
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
