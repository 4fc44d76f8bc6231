package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/microconv/microconv/rules"
	"github.com/microconv/microconv/sink"
)

// cmdSchema prints, without connecting, every statement migrate would run
// (tables, views, the rules in force) on a server of --server-version, for
// DBAs who apply DDL through their own tooling. Each statement ends with
// ";" at the end of a line: `clickhouse-client --multiquery` runs the
// output as it is.
func cmdSchema(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("server-version", sink.NewestServer, "ClickHouse version X.Y the statements are for (tested: "+sink.OldestServer+" and "+sink.NewestServer+")")
	database := fs.String("database", envOr(environ, "MICROCONV_CLICKHOUSE_DATABASE", "microconv"), "database (default $MICROCONV_CLICKHOUSE_DATABASE, else microconv)")
	rulesPath := fs.String("rules", envOr(environ, "MICROCONV_RULES", "rules.yaml"), "rule file or directory whose rules and funnels are stored (default $MICROCONV_RULES, else rules.yaml)")
	cluster := fs.String("cluster", envOr(environ, "MICROCONV_CLICKHOUSE_CLUSTER", ""), "ClickHouse cluster (default $MICROCONV_CLICKHOUSE_CLUSTER)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: microconv schema [--server-version X.Y] [--database DB] [--rules PATH] [--cluster NAME]\n\nPrints every statement `microconv migrate` runs, without connecting.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "microconv schema: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	s, err := sink.NewSchema(*database, *version, *cluster)
	if err != nil {
		fmt.Fprintf(stderr, "microconv schema: --database/--server-version/--cluster: %v\n", err)
		return 2
	}
	var rs *sink.RuleSet
	what := "no rules stored"
	if rulesPathMissing(*rulesPath) {
		fmt.Fprintf(stderr, "microconv schema: no rule file at %q: tables and views only; pass --rules or set MICROCONV_RULES to store the rules in force\n", *rulesPath)
	} else {
		set, err := rules.Load(*rulesPath)
		if err != nil {
			fmt.Fprintf(stderr, "microconv schema: cannot load rules from %q:\n", *rulesPath)
			printRuleErrors(stderr, err)
			return 1
		}
		r := sinkRules(set)
		rs = &r
		what = fmt.Sprintf("rules version %s (%d conversions, %d funnels)", set.Version, len(set.Conversions), len(set.Funnels))
	}
	stmts, err := s.Statements(rs, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "microconv schema: %v\n", err)
		return 1
	}
	var b strings.Builder
	where := ""
	if *cluster != "" {
		where = " on cluster " + *cluster
	}
	fmt.Fprintf(&b, "-- microconv %s: schema of database %s%s for ClickHouse %s, %s.\n", buildVersion(), *database, where, *version, what)
	for i, st := range stmts {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(st.SQL)
		b.WriteString(";\n")
	}
	_, _ = io.WriteString(stdout, b.String())
	return 0
}
