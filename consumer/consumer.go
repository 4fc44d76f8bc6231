package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/microconv/microconv/input"
	"github.com/microconv/microconv/internal/backoff"
	"github.com/microconv/microconv/internal/config"
	"github.com/microconv/microconv/internal/logthrottle"
	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// Writer is where batches go: *sink.Client. Flush must retry until every row
// is written or ctx ends, and reset the batch on success.
type Writer interface {
	Flush(ctx context.Context, b *sink.Batch) error
}

// Config of a consumer. Zero durations and sizes take the defaults below.
type Config struct {
	Kafka  KafkaConfig
	Topics []string
	Group  string
	// StartLast makes a group without committed offsets start at the end of
	// each partition instead of the beginning (MICROCONV_KAFKA_START=last).
	StartLast bool
	// DLQTopic receives every rejected message when set.
	DLQTopic string
	// Input chooses the message format (default: Segment JSON).
	Input input.Config
	// MaxMessageBytes: larger messages are rejected as too_large (default
	// config.DefaultMaxMessageBytes, 1 MiB).
	MaxMessageBytes int
	// BatchMaxRows, BatchMaxBytes and BatchMaxWait: a batch is flushed when
	// one of its tables holds BatchMaxRows rows, its encoded rows take
	// BatchMaxBytes, or its first row is BatchMaxWait old (defaults 100000,
	// 32 MiB and 1s).
	BatchMaxRows  int
	BatchMaxBytes int
	BatchMaxWait  time.Duration
	// ShutdownTimeout bounds the final flush and commit (default 30s).
	ShutdownTimeout time.Duration
	// RebalanceFlushTimeout bounds the flush and commit when partitions are
	// revoked (default 10s); rows not written by then are written later but
	// their offsets are left to the next owner, which reads them again.
	RebalanceFlushTimeout time.Duration

	// Group session tuning (defaults 30s, 30s, 3s, as Kafka's).
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	HeartbeatInterval time.Duration
	// PartitionWatchInterval: how often new partitions are looked for (default 5s).
	PartitionWatchInterval time.Duration
	// FetchMaxBytes bounds one fetch response per partition (default 2 MiB:
	// with many partitions, fetch buffers are most of the memory);
	// FetchMaxWait is how long a fetch waits for data (default 5s: kafka-go
	// keeps up to 1s of it as network slack, and shorter waits time out on
	// idle partitions);
	FetchMaxBytes int
	FetchMaxWait  time.Duration
	// LagInterval is how often the lag metrics are refreshed (default 5s;
	// negative disables them, and the stall watch below).
	LagInterval time.Duration
	// StallRebalanceAfter: when partitions owned by other members lag
	// without any commit for this long while this member's own partitions
	// progress, this member rejoins the group to force a rebalance, which
	// drops members that died without leaving (default 3 × SessionTimeout,
	// at least 30s; negative disables).
	StallRebalanceAfter time.Duration
}

func (c *Config) setDefaults() {
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = config.DefaultMaxMessageBytes
	}
	if c.BatchMaxRows <= 0 {
		c.BatchMaxRows = 100000
	}
	if c.BatchMaxBytes <= 0 {
		c.BatchMaxBytes = 32 << 20
	}
	if c.BatchMaxWait <= 0 {
		c.BatchMaxWait = time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.RebalanceFlushTimeout <= 0 {
		c.RebalanceFlushTimeout = 10 * time.Second
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 30 * time.Second
	}
	if c.RebalanceTimeout <= 0 {
		c.RebalanceTimeout = 30 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 3 * time.Second
	}
	if c.PartitionWatchInterval <= 0 {
		c.PartitionWatchInterval = 5 * time.Second
	}
	if c.FetchMaxBytes <= 0 {
		c.FetchMaxBytes = 2 << 20
	}
	c.FetchMaxBytes = max(c.FetchMaxBytes, c.MaxMessageBytes+64<<10)
	if c.FetchMaxWait <= 0 {
		c.FetchMaxWait = 5 * time.Second
	}
	if c.LagInterval == 0 {
		c.LagInterval = 5 * time.Second
	}
	if c.StallRebalanceAfter == 0 {
		c.StallRebalanceAfter = max(3*c.SessionTimeout, 30*time.Second)
	}
}

// Consumer reads the group's partitions and writes rows through a Writer.
type Consumer struct {
	cfg     Config
	log     zerolog.Logger
	out     Writer
	metrics *Metrics
	dialer  *kafka.Dialer
	dlq     *kafka.Writer
	rules   atomic.Pointer[rules.Set]
	pipe    *pipeline

	newFormat func() input.Format

	joined atomic.Bool // a generation is active
	// assigned is this member's partitions in the current generation (nil
	// outside one); rejoin asks runGeneration to end it (stall watch).
	assigned atomic.Pointer[map[tp]bool]
	rejoin   chan struct{}

	// Rejections are logged as a throttled sample: a flood of bad messages
	// must not flood the log (they are all in rejected_events and counted).
	rejLog      *logthrottle.Throttle
	rejSinceLog atomic.Int64
}

// New creates a consumer. metrics may be nil. Rules must be set with
// SetRules before Run.
func New(cfg Config, out Writer, log zerolog.Logger, metrics *Metrics) (*Consumer, error) {
	cfg.setDefaults()
	if len(cfg.Kafka.Brokers) == 0 || len(cfg.Topics) == 0 || cfg.Group == "" {
		return nil, errors.New("cannot create a consumer without brokers, topics and a group")
	}
	dialer, err := cfg.Kafka.Dialer()
	if err != nil {
		return nil, err
	}
	if cfg.Input.MaxMessageBytes == 0 {
		cfg.Input.MaxMessageBytes = cfg.MaxMessageBytes
	}
	newFormat, err := input.NewFormat(cfg.Input)
	if err != nil {
		return nil, err
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	c := &Consumer{
		cfg:     cfg,
		log:     log.With().Str("component", "consumer").Logger(),
		out:     out,
		metrics: metrics,
		dialer:  dialer,
		rejLog:  logthrottle.New(logthrottle.Interval),
		rejoin:  make(chan struct{}, 1),

		newFormat: newFormat,
	}
	c.pipe = newPipeline(cfg.BatchMaxRows, cfg.BatchMaxBytes)
	if cfg.DLQTopic != "" {
		tr, err := cfg.Kafka.Transport()
		if err != nil {
			return nil, err
		}
		c.dlq = &kafka.Writer{
			Addr:         kafka.TCP(cfg.Kafka.Brokers...),
			Topic:        cfg.DLQTopic,
			Balancer:     &kafka.Hash{},
			RequiredAcks: kafka.RequireAll,
			BatchTimeout: 5 * time.Millisecond,
			MaxAttempts:  3,
			Transport:    tr,
		}
	}
	return c, nil
}

// SetRules puts a rule set in force for the next messages. Safe to call
// while Run is running (hot reload).
func (c *Consumer) SetRules(s *rules.Set) { c.rules.Store(s) }

// Joined reports whether the consumer is a member of a group generation.
func (c *Consumer) Joined() bool { return c.joined.Load() }

// Run consumes until ctx is done, then stops fetching, flushes what it holds
// within ShutdownTimeout, commits it and leaves the group. It returns nil
// after a clean shutdown, and an error when rows could not be written in
// time (their offsets are not committed: they will be read again).
func (c *Consumer) Run(ctx context.Context) error {
	if c.rules.Load() == nil {
		return errors.New("cannot run the consumer without rules")
	}
	start := kafka.FirstOffset
	if c.cfg.StartLast {
		start = kafka.LastOffset
	}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                     c.cfg.Group,
		Brokers:                c.cfg.Kafka.Brokers,
		Dialer:                 c.dialer,
		Topics:                 c.cfg.Topics,
		HeartbeatInterval:      c.cfg.HeartbeatInterval,
		SessionTimeout:         c.cfg.SessionTimeout,
		RebalanceTimeout:       c.cfg.RebalanceTimeout,
		PartitionWatchInterval: c.cfg.PartitionWatchInterval,
		WatchPartitionChanges:  true,
		JoinGroupBackoff:       time.Second,
		StartOffset:            start,
		Timeout:                10 * time.Second,
		ErrorLogger:            kafkaLogger(c.log, "group"),
	})
	if err != nil {
		return fmt.Errorf("cannot create consumer group %q: %w", c.cfg.Group, err)
	}

	// hardCtx ends writes: only when the shutdown deadline has passed. A
	// flush in progress when ctx ends is not cut short.
	hardCtx, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()
	flusherDone := make(chan struct{})
	go func() {
		defer close(flusherDone)
		c.flushLoop(hardCtx)
	}()

	if c.cfg.LagInterval > 0 {
		lagDone := make(chan struct{})
		defer func() { <-lagDone }()
		go func() {
			defer close(lagDone)
			c.lagLoop(ctx)
		}()
	}
	c.log.Info().Strs("topics", c.cfg.Topics).Str("group", c.cfg.Group).Strs("brokers", c.cfg.Kafka.Brokers).Msg("consumer started")
	errLog := logthrottle.New(logthrottle.Interval)
	for ctx.Err() == nil {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errLog.Allow() {
				c.log.Error().Err(err).Msg("cannot join the consumer group, retrying")
			}
			continue
		}
		c.metrics.Generations.Inc()
		gen.Start(func(gctx context.Context) { c.runGeneration(ctx, gctx, gen) })
	}

	// Shutdown: stop fetching (closing the group ends the generation, whose
	// cleanup flushes and commits), then write what is left, within the deadline.
	began := time.Now()
	deadline := time.AfterFunc(c.cfg.ShutdownTimeout, hardCancel)
	defer deadline.Stop()
	_ = cg.Close()
	c.log.Info().Dur("took", time.Since(began)).Msg("left the consumer group")
	rest := c.requestFlush(hardCtx, "shutdown")
	hardCancel()
	<-flusherDone
	if c.dlq != nil {
		_ = c.dlq.Close()
	}
	left := c.pipe.rows()
	if rest != nil || left > 0 {
		return fmt.Errorf("cannot write %d rows within the shutdown timeout of %s; their offsets are not committed and they will be read again: %w", left, c.cfg.ShutdownTimeout, rest)
	}
	c.log.Info().Dur("took", time.Since(began)).Msg("consumer stopped")
	return nil
}

// generation is this member's view of one group generation.
type generation struct {
	gen  *kafka.Generation
	live atomic.Bool // offsets may be committed through it
}

// runGeneration fetches every assigned partition until the generation ends,
// then flushes and commits what was read in it.
func (c *Consumer) runGeneration(rootCtx, gctx context.Context, kgen *kafka.Generation) {
	g := &generation{gen: kgen}
	g.live.Store(true)
	n := 0
	for _, parts := range kgen.Assignments {
		n += len(parts)
	}
	c.metrics.Assigned.Set(float64(n))
	mine := make(map[tp]bool, n)
	for topic, parts := range kgen.Assignments {
		for _, pa := range parts {
			mine[tp{topic: topic, partition: int32(pa.ID)}] = true
		}
	}
	c.assigned.Store(&mine)
	select { // a request of the previous generation is void
	case <-c.rejoin:
	default:
	}
	c.joined.Store(true)
	c.log.Info().Int32("generation", kgen.ID).Str("member", kgen.MemberID).Int("partitions", n).Msg("joined generation")

	fctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for topic, parts := range kgen.Assignments {
		for _, pa := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.fetchPartition(fctx, g, topic, pa)
			}()
		}
	}
	select {
	case <-gctx.Done():
	case <-c.rejoin:
		c.metrics.ForcedRebalances.Inc()
		c.log.Warn().Int32("generation", kgen.ID).Msg("partitions of other members make no progress: rejoining the group to force a rebalance")
	}
	cancel()
	wg.Wait()

	trigger, timeout := "rebalance", c.cfg.RebalanceFlushTimeout
	if rootCtx.Err() != nil {
		trigger, timeout = "shutdown", c.cfg.ShutdownTimeout
	}
	fctx, fcancel := context.WithTimeout(context.Background(), timeout)
	err := c.requestFlush(fctx, trigger)
	fcancel()
	g.live.Store(false)
	c.assigned.Store(nil)
	c.joined.Store(false)
	c.metrics.Assigned.Set(0)
	if err != nil {
		c.log.Warn().Err(err).Int32("generation", kgen.ID).Msg("generation ended before its rows were written; the next owner of its partitions reads them again")
		return
	}
	c.log.Info().Int32("generation", kgen.ID).Str("trigger", trigger).Msg("generation ended, its rows written and committed")
}

// A message that a format cannot decode yet (input.Rejection.Retry) is decoded
// again after a backoff that doubles from 250ms to 5s: soon enough to catch
// up quickly when the schema registry is back, rarely enough not to hammer
// it while it is down.
var decodeBackoff = backoff.Backoff{Min: backoff.DefaultMin, Max: backoff.DefaultMax}

// fetchPartition reads one partition from the assigned offset and hands each
// message to the pipeline; it blocks (and so stops fetching) while the
// pipeline is full.
func (c *Consumer) fetchPartition(ctx context.Context, g *generation, topic string, pa kafka.PartitionAssignment) {
	log := c.log.With().Str("topic", topic).Int("partition", pa.ID).Logger()
	f := &partitionFetcher{
		dialer:    c.dialer,
		brokers:   c.cfg.Kafka.Brokers,
		topic:     topic,
		partition: pa.ID,
		maxBytes:  c.cfg.FetchMaxBytes,
		maxWait:   c.cfg.FetchMaxWait,
		log:       log,
		offset:    pa.Offset,
		whole:     c.dlq != nil,
	}
	log.Debug().Int64("offset", pa.Offset).Msg("fetching partition")
	w := newWorker(c.newFormat(), c.metrics)
	consumed := c.metrics.Consumed.WithLabelValues(topic)
	retryLog := logthrottle.New(logthrottle.Interval)
	p := tp{topic: topic, partition: int32(pa.ID)}
	_ = f.run(ctx, func(chunk []kafka.Message) error {
		// One clock read per chunk (the messages arrived together, and a
		// clock read per message is a visible cost), again after waiting.
		now := time.Now()
		for i := range chunk {
			waited, err := c.handle(ctx, g, p, w, &chunk[i], now, log, retryLog)
			if err != nil {
				consumed.Add(float64(i + 1))
				return err
			}
			if waited {
				now = time.Now()
			}
		}
		consumed.Add(float64(len(chunk)))
		return nil
	})
}

// handle processes one message read at now and adds its rows to the
// pipeline; waited reports that the pipeline made it wait (or that the
// message was retried): now is stale. It fails only when the generation is
// over: the message is then not marked, so not committed.
func (c *Consumer) handle(ctx context.Context, g *generation, p tp, w *worker, msg *kafka.Message, now time.Time,
	log zerolog.Logger, retryLog *logthrottle.Throttle) (waited bool, err error) {
	w.process(msg, c.rules.Load(), now.UnixMilli())
	for failures := 1; w.retry; failures++ {
		// Not the message's fault (schema registry unreachable): keep the
		// partition on this message, neither rejected nor committed.
		if retryLog.Allow() {
			log.Warn().Str("error", w.retryErr).Int64("offset", msg.Offset).Dur("backoff", decodeBackoff.Delay(failures)).Msg("cannot decode the message yet, retrying")
		}
		if err := decodeBackoff.Wait(ctx, failures); err != nil {
			return true, err // not marked, so not committed: read again later
		}
		now, waited = time.Now(), true
		w.process(msg, c.rules.Load(), now.UnixMilli())
	}
	if w.hasRej {
		c.logRejection(&w.rej)
	}
	if w.dlqMsg != nil && c.dlq == nil {
		w.dlqMsg = nil
	}
	w2, err := c.pipe.add(ctx, g, p, msg.Offset, w, now)
	return waited || w2, err
}

// requestFlush asks the flush loop to write everything pending and commit
// it, and waits for the answer or ctx.
func (c *Consumer) requestFlush(ctx context.Context, trigger string) error {
	req := flushRequest{ctx: ctx, trigger: trigger, done: make(chan error, 1)}
	select {
	case c.pipe.requests <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kafkaLogger adapts kafka-go's logger to zerolog, throttled: a broker that
// is down makes kafka-go log on every retry.
func kafkaLogger(log zerolog.Logger, part string) kafka.LoggerFunc {
	th := logthrottle.New(logthrottle.Interval)
	l := log.With().Str("kafka", part).Logger()
	return func(format string, args ...any) {
		if th.Allow() {
			l.Warn().Msgf(format, args...)
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// logRejection logs one rejected message in ten seconds at most, with how
// many were rejected since the last line.
func (c *Consumer) logRejection(r *sink.Rejected) {
	n := c.rejSinceLog.Add(1)
	if !c.rejLog.Allow() {
		return
	}
	c.rejSinceLog.Add(-n)
	c.log.Warn().Str("reason", r.Reason).Str("error", r.Error).Str("topic", r.Topic).Int32("partition", r.Partition).
		Int64("offset", r.Offset).Int64("rejected_since_last_log", n).Msg("rejected a message (sampled: see rejected_events)")
}
