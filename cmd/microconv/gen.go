package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/microconv/microconv/gen"
	"github.com/microconv/microconv/internal/config"
	"github.com/microconv/microconv/rules"
)

// genFlags are the options of `microconv gen`.
type genFlags struct {
	seed       uint64
	users      int
	days       int
	malformed  int
	dups       float64
	rules      string
	out        string
	truth      string
	writeRules string
	kafka      bool
}

func parseGenFlags(args []string, stderr io.Writer) (genFlags, error) {
	var f genFlags
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Uint64Var(&f.seed, "seed", 1, "random seed: the same seed gives the same stream")
	fs.IntVar(&f.users, "users", gen.DefaultUsers, "people in the stream (the first ones play scripted edge cases)")
	fs.IntVar(&f.days, "days", gen.DefaultDays, "days the stream covers, from 2026-03-02")
	fs.IntVar(&f.malformed, "malformed", gen.DefaultMalformed, "malformed messages, of every rejection kind")
	fs.Float64Var(&f.dups, "dups", gen.DefaultDups, "share of events re-sent with the same messageId, 0 to 1")
	fs.StringVar(&f.rules, "rules", "", "rule file or directory to compute the truth for (default: the built-in rules)")
	fs.StringVar(&f.out, "out", "", "write the messages to `FILE`, one per line (- for stdout; the default unless --kafka)")
	fs.StringVar(&f.truth, "truth", "", "write the ground truth (JSON) to `FILE`")
	fs.StringVar(&f.writeRules, "write-rules", "", "write the built-in rules to `FILE`, for migrate and run")
	fs.BoolVar(&f.kafka, "kafka", false, "produce the messages to MICROCONV_KAFKA_BROKERS, topic MICROCONV_KAFKA_TOPICS (the first)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: microconv gen [flags]\n\nA seeded synthetic Segment clickstream and the figures the views must show for it.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case f.users < 1 || f.users > 10_000_000:
		return f, fmt.Errorf("--users: %d is out of range [1, 10000000]", f.users)
	case f.days < 1 || f.days > 3650:
		return f, fmt.Errorf("--days: %d is out of range [1, 3650]", f.days)
	case f.malformed < 0 || f.malformed > 1_000_000:
		return f, fmt.Errorf("--malformed: %d is out of range [0, 1000000]", f.malformed)
	case !(f.dups >= 0 && f.dups <= 1): // also refuses NaN
		return f, fmt.Errorf("--dups: %v is out of range [0, 1]", f.dups)
	case f.writeRules != "" && f.rules != "":
		return f, errors.New("--write-rules: writes the built-in rules, so it cannot go with --rules")
	}
	if f.out == "" && !f.kafka {
		f.out = "-"
	}
	return f, nil
}

// cmdGen is `microconv gen`: generate a stream, write it (file, stdout,
// Kafka) and its ground truth.
func cmdGen(args, environ []string, stdout, stderr io.Writer) int {
	f, err := parseGenFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "microconv gen: %v\n", err)
		return 2
	}

	var cfg config.Config
	if f.kafka {
		if cfg, err = config.Load(environ); err != nil {
			fmt.Fprintf(stderr, "microconv gen: --kafka: %v\n", err)
			return 2
		}
	}

	var set *rules.Set
	if f.rules != "" {
		if set, err = rules.Load(f.rules); err != nil {
			fmt.Fprintf(stderr, "microconv gen: --rules: cannot load rules from %q:\n", f.rules)
			printRuleErrors(stderr, err)
			return 1
		}
	} else if set, err = rules.Parse("built-in rules", []byte(gen.DefaultRules)); err != nil {
		fmt.Fprintf(stderr, "microconv gen: cannot parse the built-in rules: %v\n", err)
		return 1
	}
	if f.writeRules != "" {
		if err := os.WriteFile(f.writeRules, []byte(gen.DefaultRules), 0o644); err != nil {
			fmt.Fprintf(stderr, "microconv gen: --write-rules: %v\n", err)
			return 1
		}
	}

	o := gen.Options{Seed: f.seed, Users: f.users, Days: f.days, Malformed: f.malformed, Dups: f.dups}
	if o.Malformed == 0 {
		o.Malformed = -1 // none: a zero option means the default
	}
	if o.Dups == 0 {
		o.Dups = -1
	}
	s := gen.Generate(o)

	if f.out != "" {
		if err := writeFile(f.out, stdout, func(w io.Writer) error { return writeNDJSON(w, s) }); err != nil {
			fmt.Fprintf(stderr, "microconv gen: --out: %v\n", err)
			return 1
		}
	}
	if f.truth != "" {
		t, err := gen.ComputeTruth(s, set)
		if err != nil {
			fmt.Fprintf(stderr, "microconv gen: cannot compute the truth: %v\n", err)
			return 1
		}
		if err := writeFile(f.truth, stdout, func(w io.Writer) error { return gen.WriteTruth(w, t) }); err != nil {
			fmt.Fprintf(stderr, "microconv gen: --truth: %v\n", err)
			return 1
		}
	}
	if f.kafka {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := produce(ctx, cfg, s, stderr); err != nil {
			fmt.Fprintf(stderr, "microconv gen: --kafka: %v\n", err)
			return 1
		}
	}

	users := map[string]bool{}
	malformed, noID := 0, 0
	ids := map[string]bool{}
	dups := 0
	for _, m := range s.Messages {
		switch {
		case m.Event == nil:
			malformed++
		case m.Event.MessageID == "":
			noID++
		case ids[m.Event.MessageID]:
			dups++
		default:
			ids[m.Event.MessageID] = true
		}
		if m.Event != nil {
			users[m.Event.UserKey()] = true
		}
	}
	fmt.Fprintf(stderr, "microconv gen: seed %d: %d messages (%d rejected, %d duplicates, %d without messageId), %d users, %d days, rules version %s\n",
		f.seed, len(s.Messages), malformed, dups, noID, len(users), f.days, set.Version)
	return 0
}

// writeFile writes with fill to path, or to stdout when path is "-".
func writeFile(path string, stdout io.Writer, fill func(io.Writer) error) error {
	if path == "-" {
		bw := bufio.NewWriterSize(stdout, 1<<16)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(fh, 1<<16)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	return nil
}

// writeNDJSON writes one message value per line. Generated messages hold
// no newline, so every line is one message.
func writeNDJSON(w io.Writer, s *gen.Stream) error {
	for _, m := range s.Messages {
		if _, err := w.Write(m.Value); err != nil {
			return err
		}
		if _, err := w.Write([]byte{'\n'}); err != nil {
			return err
		}
	}
	return nil
}

// produce sends the stream to the first configured topic, keyed by user so
// that each user's messages keep their order in one partition, and reports
// progress on stderr every second.
func produce(ctx context.Context, cfg config.Config, s *gen.Stream, stderr io.Writer) error {
	transport, err := kafkaConfig(cfg).Transport()
	if err != nil {
		return err
	}
	defer transport.CloseIdleConnections()
	topic := cfg.KafkaTopics[0]
	w := &kafka.Writer{
		Addr:         kafka.TCP(cfg.KafkaBrokers...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    1000,
		BatchTimeout: 20 * time.Millisecond, // a partition's last, partial batch waits no longer than this
		Transport:    transport,
	}
	defer w.Close() // idempotent; the explicit Close below reports errors

	var sent atomic.Int64
	total := len(s.Messages)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(stderr, "microconv gen: sent %d / %d messages to %s\n", sent.Load(), total, topic)
			}
		}
	}()
	defer func() { close(done); <-finished }()

	if err := writeStream(ctx, w, s.Messages, 5000, &sent); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped after %d of %d messages: %w", sent.Load(), total, ctx.Err())
		}
		return fmt.Errorf("cannot produce to %q after %d of %d messages: %w", topic, sent.Load(), total, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("cannot close the producer: %w", err)
	}
	fmt.Fprintf(stderr, "microconv gen: sent %d / %d messages to %s\n", sent.Load(), total, topic)
	return nil
}

// writeStream writes msgs with w, keyed as generated, in chunks of chunk
// messages, adding each written chunk to sent. It stops between chunks when
// ctx is done.
func writeStream(ctx context.Context, w *kafka.Writer, msgs []gen.Message, chunk int, sent *atomic.Int64) error {
	batch := make([]kafka.Message, 0, chunk)
	for i := 0; i < len(msgs); i += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = batch[:0]
		for _, m := range msgs[i:min(i+chunk, len(msgs))] {
			batch = append(batch, kafka.Message{Key: m.Key, Value: m.Value})
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			return err
		}
		sent.Add(int64(len(batch)))
	}
	return nil
}
