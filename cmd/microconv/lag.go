package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/microconv/microconv/consumer"
	"github.com/microconv/microconv/internal/config"
)

// cmdLag prints the lag of a consumer group (any group, not only
// microconv's) on every partition of its topics: a table, or with --json a
// list of {topic, partition, end, committed, lag, lag_seconds}.
func cmdLag(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lag", flag.ContinueOnError)
	fs.SetOutput(stderr)
	group := fs.String("group", "", "consumer group (default MICROCONV_KAFKA_GROUP)")
	topics := fs.String("topics", "", "comma-separated topics (default: the topics the group has committed offsets for, else MICROCONV_KAFKA_TOPICS)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	noAge := fs.Bool("no-seconds", false, "do not measure the age of the oldest uncommitted message")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: microconv lag [--group G] [--topics T1,T2] [--json]\n\nBrokers, SASL and TLS come from the MICROCONV_KAFKA_* variables.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(environ)
	if err != nil {
		fmt.Fprintf(stderr, "microconv lag: %v\n", err)
		return 2
	}
	g := *group
	if g == "" {
		g = cfg.KafkaGroup
	}
	lc, err := consumer.NewLagClient(kafkaConfig(cfg))
	if err != nil {
		fmt.Fprintf(stderr, "microconv lag: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var ts []string
	if *topics != "" {
		ts = strings.Split(*topics, ",")
	} else {
		if ts, err = lc.GroupTopics(ctx, g); err != nil {
			fmt.Fprintf(stderr, "microconv lag: %v\n", err)
			return 1
		}
		if len(ts) == 0 {
			ts = cfg.KafkaTopics
		}
	}
	lags, err := lc.Lag(ctx, g, ts, !*noAge)
	if err != nil {
		fmt.Fprintf(stderr, "microconv lag: %v\n", err)
		return 1
	}
	if *asJSON {
		if lags == nil {
			lags = []consumer.PartitionLag{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(lags); err != nil {
			fmt.Fprintf(stderr, "microconv lag: %v\n", err)
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "TOPIC\tPARTITION\tEND\tCOMMITTED\tLAG\tLAG_SECONDS\t\n")
	var total int64
	var oldest float64
	for _, l := range lags {
		committed := fmt.Sprint(l.Committed)
		if l.Committed < 0 {
			committed = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%.1f\t\n", l.Topic, l.Partition, l.End, committed, l.Lag, l.LagSeconds)
		total += l.Lag
		oldest = max(oldest, l.LagSeconds)
	}
	fmt.Fprintf(tw, "TOTAL\t\t\t\t%d\t%.1f\t\n", total, oldest)
	_ = tw.Flush()
	fmt.Fprintf(stdout, "group %s\n", g)
	return 0
}
