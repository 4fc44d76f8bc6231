package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// cmdMigrate creates the database, tables and views, and stores the rules in
// force (MICROCONV_RULES) so that the views follow them. Running it again
// changes nothing.
func cmdMigrate(args, environ []string, stdout, stderr io.Writer) int {
	cfg, _, err := loadConfig("migrate", args, environ, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "microconv migrate: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	var set *rules.Set
	if rulesPathMissing(cfg.Rules) {
		log.Warn().Str("rules", cfg.Rules).Msg("no rule file: creating tables and views only; set MICROCONV_RULES to store the rules in force")
	} else {
		set, err = rules.Load(cfg.Rules)
		if err != nil {
			fmt.Fprintf(stderr, "microconv migrate: cannot load rules from %q:\n", cfg.Rules)
			printRuleErrors(stderr, err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	client, err := sink.Open(ctx, sinkConfig(cfg), log, nil)
	if err != nil {
		fmt.Fprintf(stderr, "microconv migrate: %v\n", err)
		return 1
	}
	defer client.Close()
	if err := client.Migrate(ctx); err != nil {
		fmt.Fprintf(stderr, "microconv migrate: %v\n", err)
		return 1
	}
	if set != nil {
		changed, err := client.PutRules(ctx, sinkRules(set))
		if err != nil {
			fmt.Fprintf(stderr, "microconv migrate: %v\n", err)
			return 1
		}
		state := "unchanged"
		if changed {
			state = "stored"
		}
		fmt.Fprintf(stdout, "database %s on ClickHouse %s: schema up to date; rules version %s %s (%d conversions, %d funnels)\n",
			cfg.ClickHouseDatabase, client.ServerVersion(), set.Version, state, len(set.Conversions), len(set.Funnels))
		return 0
	}
	fmt.Fprintf(stdout, "database %s on ClickHouse %s: schema up to date; no rules stored\n", cfg.ClickHouseDatabase, client.ServerVersion())
	return 0
}
