package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
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
	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/internal/config"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// cmdBench measures the pipeline end to end against ceilings measured in the
// same run, on the same generated topic: a raw kafka-go fetch, kcat (when
// installed), decoding and tagging alone, and a raw ClickHouse insert of the
// same rows. Then the produce→queryable latency at a fixed rate, and the
// peak RSS of `microconv run`.
func cmdBench(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.Int("events", 380_000, "approximate number of messages in the topic")
	partitions := fs.Int("partitions", 8, "partitions of the topic")
	rate := fs.Int("rate", 20_000, "events/s produced during the latency measurement")
	latencyFor := fs.Duration("latency-for", 10*time.Second, "how long the latency measurement produces (0 skips it)")
	database := fs.String("database", "microconv_bench", "ClickHouse database to (re)create")
	runs := fs.Int("runs", 1, "end-to-end runs, each after timing kcat again (the machine's speed drifts: compare ratios of one run)")
	runExe := fs.String("run-exe", "", "comma-separated microconv binaries whose `run` the end-to-end runs alternate between (A/B; default: this one)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: microconv bench [flags]\n\nEnd-to-end throughput against ceilings measured in the same run, latency and memory.\nClickHouse: MICROCONV_CLICKHOUSE_ADDR; batch settings: MICROCONV_BATCH_*.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !sink.ValidIdentifier(*database) || *events < 1000 || *partitions < 1 || *runs < 1 {
		fmt.Fprintln(stderr, "microconv bench: bad --database, --events (>= 1000), --partitions or --runs")
		return 2
	}
	cfg, err := config.Load(environ)
	if err != nil {
		fmt.Fprintf(stderr, "microconv bench: %v\n", err)
		return 2
	}
	cfg.ClickHouseDatabase = *database
	b := &bench{cfg: cfg, out: stdout, log: newLogger("warn", "console", stderr), events: *events,
		partitions: *partitions, rate: *rate, latencyFor: *latencyFor, environ: environ, runs: *runs}
	if *runExe != "" {
		b.exes = strings.Split(*runExe, ",")
	}
	if err := b.run(context.Background()); err != nil {
		fmt.Fprintf(stderr, "microconv bench: %v\n", err)
		return 1
	}
	return 0
}

type bench struct {
	cfg        config.Config
	out        io.Writer
	log        zerolog.Logger
	events     int
	partitions int
	rate       int
	latencyFor time.Duration
	environ    []string
	runs       int
	exes       []string // binaries of the end-to-end runs (empty: this one)
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.out, format, args...) }

func (b *bench) run(ctx context.Context) error {
	set, err := rules.Parse("builtin-rules.yaml", []byte(gen.DefaultRules))
	if err != nil {
		return err
	}
	// gen makes about 8.3 messages per user.
	stream := gen.Generate(gen.Options{Seed: 7, Users: max(b.events*10/83, 100)})
	truth, err := gen.ComputeTruth(stream, set)
	if err != nil {
		return err
	}
	n := len(stream.Messages)
	bytes := 0
	for _, m := range stream.Messages {
		bytes += len(m.Value)
	}

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(b.partitions), "bench", "latency"))
	if err != nil {
		return err
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	client, err := sink.Open(ctx, sinkConfig(b.cfg), b.log, nil)
	if err != nil {
		return fmt.Errorf("cannot reach ClickHouse (MICROCONV_CLICKHOUSE_ADDR): %w", err)
	}
	defer client.Close()
	b.printf("microconv bench: %d messages (%.0f bytes each on average) in %d partitions of an embedded broker; ClickHouse %s; %d CPUs; batches of %d rows / %d MiB / %s\n\n",
		n, float64(bytes)/float64(n), b.partitions, client.ServerVersion(), runtime.NumCPU(), b.cfg.BatchMaxRows, b.cfg.BatchMaxBytes>>20, b.cfg.BatchMaxWait)

	start := time.Now()
	if err := produceAll(ctx, brokers, "bench", stream.Messages); err != nil {
		return err
	}
	b.printf("%-44s %12.0f msg/s\n", "produce (kafka-go writer, setup)", float64(n)/time.Since(start).Seconds())

	fetch, err := rawFetch(ctx, brokers, "bench", b.partitions, n)
	if err != nil {
		return err
	}
	b.printf("%-44s %12.0f msg/s\n", "ceiling: raw kafka-go fetch, all partitions", fetch)
	kcat := max(kcatRead(brokers, "bench", n), kcatRead(brokers, "bench", n)) // best of two: kcat's start-up varies
	if kcat > 0 {
		b.printf("%-44s %12.0f msg/s\n", "ceiling: kcat reading the topic", kcat)
	}

	decodeRate, batches, err := decodeAll(stream, set, b.cfg.BatchMaxRows, b.cfg.BatchMaxBytes)
	if err != nil {
		return err
	}
	b.printf("%-44s %12.0f msg/s\n", "ceiling: decode + tag, one goroutine", decodeRate)

	chPIDs := clickhousePIDs()
	chStart := cpuSeconds(chPIDs...)
	var evs, convs, rejs int
	for _, batch := range batches {
		e, c, r := batch.Counts()
		evs, convs, rejs = evs+e, convs+c, rejs+r
	}
	insertRate, err := b.rawInsert(ctx, client, batches)
	if err != nil {
		return err
	}
	b.printf("%-44s %12.0f events/s (%d events, %d conversions, %d rejected rows)\n", "ceiling: ClickHouse insert of the same rows", insertRate,
		evs, convs, rejs)
	if len(chPIDs) > 0 {
		b.printf("  CPU seconds of the local clickhouse-server meanwhile: %.2f\n", cpuSeconds(chPIDs...)-chStart)
	}

	exes := b.exes
	if len(exes) == 0 {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		exes = []string{self}
	}
	ratios := map[string][]float64{}
	for i := range b.runs {
		exe := exes[i%len(exes)]
		if i > 0 && kcat > 0 {
			kcat = max(kcatRead(brokers, "bench", n), kcatRead(brokers, "bench", n))
			b.printf("\n%-44s %12.0f msg/s\n", "ceiling: kcat reading the topic", kcat)
		}
		e2e, rss, cpu, err := b.endToEnd(ctx, client, brokers, truth, n, exe, fmt.Sprintf("bench-%d", i))
		if err != nil {
			return err
		}
		what := "microconv run, start to all committed"
		if len(exes) > 1 {
			what = fmt.Sprintf("%s run (%d)", exe, i+1)
		}
		b.printf("%-44s %12.0f msg/s\n", what, e2e)
		b.printf("  CPU seconds during the run: microconv %.2f, broker (this process) %.2f", cpu.run, cpu.broker)
		if cpu.clickhouse >= 0 {
			b.printf(", local clickhouse-server %.2f", cpu.clickhouse)
		}
		b.printf(" (%d CPUs × %.2f s wall = %.2f); ClickHouse merged %d rows meanwhile\n", runtime.NumCPU(), float64(n)/e2e, float64(runtime.NumCPU())*float64(n)/e2e, cpu.merged)
		b.printf("  ratios: %.2f of the raw fetch, %.2f of decode + tag (one core), %.2f of the raw insert", e2e/fetch, e2e/decodeRate, e2e/insertRate)
		if kcat > 0 {
			b.printf(", %.2f of kcat", e2e/kcat)
			ratios[exe] = append(ratios[exe], e2e/kcat)
		}
		b.printf("\n%-44s %12.0f MiB\n", "peak RSS of microconv run", rss)
	}
	if b.runs > 1 {
		for _, exe := range exes {
			r := ratios[exe]
			if len(r) == 0 {
				continue
			}
			slices.Sort(r)
			b.printf("%-44s median %.2f of kcat over %d runs (min %.2f, max %.2f)\n", filepath.Base(exe)+" end to end", r[len(r)/2], len(r), r[0], r[len(r)-1])
		}
	}

	if b.latencyFor > 0 {
		p50, p99, count, err := b.latency(ctx, client, brokers, set)
		if err != nil {
			return err
		}
		b.printf("%-44s p50 %.3f s, p99 %.3f s over %d events at %d events/s (batch wait %s)\n",
			"produce → queryable latency", p50.Seconds(), p99.Seconds(), count, b.rate, b.cfg.BatchMaxWait)
	}
	return nil
}

func produceAll(ctx context.Context, brokers []string, topic string, msgs []gen.Message) error {
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchSize: 2000, BatchBytes: 8 << 20, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	var sent atomic.Int64
	if err := writeStream(ctx, w, msgs, 20000, &sent); err != nil {
		return fmt.Errorf("cannot produce: %w", err)
	}
	return nil
}

// rawFetch reads every partition with plain kafka-go readers, doing nothing
// with the messages: the fetch ceiling.
func rawFetch(ctx context.Context, brokers []string, topic string, partitions, total int) (float64, error) {
	lc, err := consumer.NewLagClient(consumer.KafkaConfig{Brokers: brokers})
	if err != nil {
		return 0, err
	}
	lags, err := lc.Lag(ctx, "nobody", []string{topic}, false)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	var read atomic.Int64
	for _, l := range lags {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: l.Partition,
				MinBytes: 1, MaxBytes: 8 << 20, MaxWait: 5 * time.Second, QueueCapacity: 256})
			// Close waits for the prefetch in flight (up to MaxWait): not timed.
			defer func() { go r.Close() }()
			for i := int64(0); i < l.End; i++ {
				if _, err := r.FetchMessage(ctx); err != nil {
					return
				}
				read.Add(1)
			}
		}()
	}
	wg.Wait()
	if int(read.Load()) != total {
		return 0, fmt.Errorf("raw fetch read %d of %d messages", read.Load(), total)
	}
	return float64(total) / time.Since(start).Seconds(), nil
}

// kcatRead times kcat consuming the whole topic (0 when kcat is missing).
func kcatRead(brokers []string, topic string, total int) float64 {
	path, err := exec.LookPath("kcat")
	if err != nil {
		return 0
	}
	start := time.Now()
	cmd := exec.Command(path, "-C", "-b", strings.Join(brokers, ","), "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%o\n")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0
	}
	if err := cmd.Start(); err != nil {
		return 0
	}
	lines := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines++
	}
	_ = cmd.Wait()
	if lines != total {
		return 0
	}
	return float64(total) / time.Since(start).Seconds()
}

// decodeAll decodes and tags every message on one goroutine (the per-core
// ceiling of the consumer's CPU work) and returns the rows in batches cut
// as the consumer cuts them (maxRows rows or maxBytes bytes).
func decodeAll(s *gen.Stream, set *rules.Set, maxRows, maxBytes int) (float64, []*sink.Batch, error) {
	proc, err := consumer.NewProcessor(input.Config{MaxMessageBytes: config.DefaultMaxMessageBytes})
	if err != nil {
		return 0, nil, err
	}
	batches := []*sink.Batch{new(sink.Batch)}
	msg := kafka.Message{Topic: "bench"}
	start := time.Now()
	for i, m := range s.Messages {
		b := batches[len(batches)-1]
		if b.Len() >= maxRows || b.Bytes() >= maxBytes {
			b = new(sink.Batch)
			batches = append(batches, b)
		}
		msg.Offset, msg.Value = int64(i), m.Value
		proc.Process(&msg, set, 0, b)
	}
	return float64(len(s.Messages)) / time.Since(start).Seconds(), batches, nil
}

// rawInsert inserts the batches into a scratch database and returns events/s.
func (b *bench) rawInsert(ctx context.Context, client *sink.Client, batches []*sink.Batch) (float64, error) {
	scfg := sinkConfig(b.cfg)
	scfg.Database = b.cfg.ClickHouseDatabase + "_ceiling"
	scratch, err := sink.Open(ctx, scfg, b.log, nil)
	if err != nil {
		return 0, err
	}
	if err := scratch.DropDatabase(ctx); err != nil {
		_ = scratch.Close()
		return 0, err
	}
	defer func() {
		_ = scratch.DropDatabase(context.Background())
		_ = scratch.Close()
	}()
	if err := scratch.Migrate(ctx); err != nil {
		return 0, err
	}
	events := 0
	start := time.Now()
	for _, batch := range batches {
		n, _, _ := batch.Counts()
		events += n
		if err := scratch.Flush(ctx, batch); err != nil {
			return 0, err
		}
	}
	return float64(events) / time.Since(start).Seconds(), nil
}

// endToEnd runs the real binary (`microconv run`) against the topic and
// times it from start until every partition is committed to its end; then
// checks that ClickHouse holds every event.
func (b *bench) endToEnd(ctx context.Context, client *sink.Client, brokers []string, truth *gen.Truth, total int, exe, group string) (float64, float64, cpuUse, error) {
	// A new database: run creates the schema, as on a first deployment
	// (and in the check, which times run from its start).
	if err := client.DropDatabase(ctx); err != nil {
		return 0, 0, cpuUse{}, err
	}
	dir, err := os.MkdirTemp("", "microconv-bench-")
	if err != nil {
		return 0, 0, cpuUse{}, err
	}
	defer os.RemoveAll(dir)
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(gen.DefaultRules), 0o644); err != nil {
		return 0, 0, cpuUse{}, err
	}
	env := append(slices.Clone(b.environ),
		"MICROCONV_KAFKA_BROKERS="+strings.Join(brokers, ","),
		"MICROCONV_KAFKA_TOPICS=bench",
		"MICROCONV_KAFKA_GROUP="+group,
		"MICROCONV_CLICKHOUSE_DATABASE="+b.cfg.ClickHouseDatabase,
		"MICROCONV_RULES="+rulesPath,
		"MICROCONV_HTTP_ADDR=",
		"MICROCONV_LOG_LEVEL="+envOr(b.environ, "MICROCONV_BENCH_RUN_LOG_LEVEL", "warn"),
	)
	lc, err := consumer.NewLagClient(consumer.KafkaConfig{Brokers: brokers})
	if err != nil {
		return 0, 0, cpuUse{}, err
	}
	cmd := exec.Command(exe, "run")
	cmd.Env = env
	cmd.Stderr = os.Stderr
	chPIDs := clickhousePIDs()
	chStart, selfStart := cpuSeconds(chPIDs...), cpuSeconds(os.Getpid())
	merged0 := mergedRows(ctx, client)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, cpuUse{}, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	peak := 0.0
	for {
		peak = max(peak, vmHWM(cmd.Process.Pid))
		lags, err := lc.Lag(ctx, group, []string{"bench"}, false)
		if err == nil {
			var committed int64
			for _, l := range lags {
				committed += max(l.Committed, 0)
			}
			if committed >= int64(total) {
				break
			}
		}
		if time.Since(start) > 10*time.Minute {
			return 0, 0, cpuUse{}, fmt.Errorf("microconv run did not commit %d messages within 10 minutes", total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	peak = max(peak, vmHWM(cmd.Process.Pid))
	cpu := cpuUse{run: cpuSeconds(cmd.Process.Pid), broker: cpuSeconds(os.Getpid()) - selfStart, clickhouse: -1,
		merged: mergedRows(ctx, client) - merged0}
	if len(chPIDs) > 0 {
		cpu.clickhouse = cpuSeconds(chPIDs...) - chStart
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return 0, 0, cpuUse{}, fmt.Errorf("microconv run: %w", err)
	}
	var events uint64
	row := client.Conn().QueryRow(ctx, "SELECT uniqExact(event_id) FROM "+b.cfg.ClickHouseDatabase+".events")
	if err := row.Scan(&events); err != nil {
		return 0, 0, cpuUse{}, err
	}
	if int(events) != truth.Events {
		return 0, 0, cpuUse{}, fmt.Errorf("ClickHouse holds %d distinct events, the stream has %d", events, truth.Events)
	}
	return float64(total) / elapsed.Seconds(), peak, cpu, nil
}

// cpuUse is the CPU time spent by each party of the end-to-end run, and
// the rows ClickHouse merged meanwhile (background work it did on top of
// the inserts).
type cpuUse struct {
	run, broker, clickhouse float64
	merged                  int64
}

// mergedRows is the server's count of rows merged since it started.
func mergedRows(ctx context.Context, client *sink.Client) int64 {
	var n uint64
	if err := client.Conn().QueryRow(ctx, "SELECT toUInt64(sum(value)) FROM system.events WHERE event = 'MergedRows'").Scan(&n); err != nil {
		return 0
	}
	return int64(n)
}

// cpuSeconds is the user + system CPU time consumed so far by the processes.
func cpuSeconds(pids ...int) float64 {
	total := 0.0
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces) start at ") ".
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		total += (ut + st) / 100 // USER_HZ is 100 on Linux
	}
	return total
}

// clickhousePIDs finds clickhouse-server processes on this machine (the
// bench's ClickHouse is usually local): their CPU time shows how the cores
// are shared during the run.
func clickhousePIDs() []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile("/proc/" + d.Name() + "/comm"); err == nil && strings.HasPrefix(string(comm), "clickhouse") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// vmHWM is the peak resident memory of a process, in MiB.
func vmHWM(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// latencyWriter records, for every event written, the time from its
// production (encoded in its messageId) to the end of the insert that made
// it queryable.
type latencyWriter struct {
	out consumer.Writer
	mu  sync.Mutex
	lat []time.Duration
}

func (l *latencyWriter) Flush(ctx context.Context, b *sink.Batch) error {
	var ids []string
	b.EachEventID(func(id string) {
		if strings.HasPrefix(id, "lat-") {
			ids = append(ids, id)
		}
	})
	if err := l.out.Flush(ctx, b); err != nil {
		return err
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if rest, ok := strings.CutPrefix(id, "lat-"); ok {
			if ns, err := strconv.ParseInt(rest[:strings.IndexByte(rest, '-')], 10, 64); err == nil {
				l.lat = append(l.lat, now.Sub(time.Unix(0, ns)))
			}
		}
	}
	return nil
}

// latency produces at a fixed rate into a fresh topic while an in-process
// consumer (the same code as `run`) writes to ClickHouse.
func (b *bench) latency(ctx context.Context, client *sink.Client, brokers []string, set *rules.Set) (time.Duration, time.Duration, int, error) {
	lw := &latencyWriter{out: client}
	ccfg := consumerConfig(b.cfg)
	ccfg.Kafka = consumer.KafkaConfig{Brokers: brokers}
	ccfg.Topics = []string{"latency"}
	ccfg.Group = "latency"
	ccfg.StartLast = false
	ccfg.LagInterval = -1
	cons, err := consumer.New(ccfg, lw, b.log, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	cons.SetRules(set)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cons.Run(runCtx) }()
	for !cons.Joined() {
		time.Sleep(10 * time.Millisecond)
	}
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: "latency", Balancer: &kafka.RoundRobin{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, BatchSize: 1000}
	defer w.Close()
	// Send every 10 ms the events due by then.
	start := time.Now()
	sent := 0
	tick := time.NewTicker(10 * time.Millisecond)
	for time.Since(start) < b.latencyFor {
		<-tick.C
		due := int(time.Since(start).Seconds() * float64(b.rate))
		var msgs []kafka.Message
		for ; sent < due; sent++ {
			now := time.Now()
			msgs = append(msgs, kafka.Message{Value: fmt.Appendf(nil,
				`{"type":"track","event":"Product Viewed","userId":"u%d","messageId":"lat-%d-%d","timestamp":%q,"properties":{"price":10}}`,
				sent%5000, now.UnixNano(), sent, now.UTC().Format(time.RFC3339Nano))})
		}
		if len(msgs) > 0 {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				tick.Stop()
				cancel()
				<-done
				return 0, 0, 0, err
			}
		}
	}
	tick.Stop()
	deadline := time.Now().Add(time.Minute)
	for {
		lw.mu.Lock()
		n := len(lw.lat)
		lw.mu.Unlock()
		if n >= sent || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		return 0, 0, 0, err
	}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.lat) == 0 {
		return 0, 0, 0, fmt.Errorf("no latency measured")
	}
	slices.Sort(lw.lat)
	q := func(p float64) time.Duration { return lw.lat[min(int(p*float64(len(lw.lat))), len(lw.lat)-1)] }
	return q(0.5), q(0.99), len(lw.lat), nil
}

func envOr(environ []string, key, def string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, key+"="); ok && v != "" {
			return v
		}
	}
	return def
}
