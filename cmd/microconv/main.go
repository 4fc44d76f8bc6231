// Command microconv reads clickstream events from Kafka, tags micro- and
// macro-conversions with YAML rules and writes them into ClickHouse.
//
// This package is wiring only: configuration, subcommands, signals, HTTP.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

const usage = `microconv — Kafka clickstream → micro/macro-conversions → ClickHouse

Usage:
  microconv run                 consume Kafka, tag conversions, write to ClickHouse
  microconv migrate             create/update tables and views (idempotent)
  microconv schema [--server-version X.Y] [--database DB] [--rules PATH]
                                print the statements migrate runs, without connecting
  microconv rules check PATH    validate a rule file or directory
  microconv rules test PATH --events FILE [--expect FILE] [--json] [--input NAME] [--mapping FILE]
                                what each sample event tags (and why not)
  microconv gen [flags]         seeded synthetic clickstream + ground truth ("microconv gen -h")
  microconv demo                embedded Kafka + gen + consumer + ClickHouse, then a report
  microconv bench               throughput against ceilings measured in the same run, latency, RSS
  microconv lag [--group G] [--json]
                                per-partition lag of a consumer group
  microconv version             print the version

Configuration comes from MICROCONV_* environment variables; every variable
also has a flag (run "microconv run -h" for the list).
`

func main() {
	os.Exit(mainWith(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// mainWith runs one subcommand and returns the exit code.
func mainWith(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], environ, stdout, stderr)
	case "migrate":
		return cmdMigrate(args[1:], environ, stdout, stderr)
	case "schema":
		return cmdSchema(args[1:], environ, stdout, stderr)
	case "rules":
		return cmdRules(args[1:], stdout, stderr)
	case "gen":
		return cmdGen(args[1:], environ, stdout, stderr)
	case "lag":
		return cmdLag(args[1:], environ, stdout, stderr)
	case "demo":
		return cmdDemo(args[1:], environ, stdout, stderr)
	case "bench":
		return cmdBench(args[1:], environ, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "microconv", buildVersion())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "microconv: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
