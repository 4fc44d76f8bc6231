package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/microconv/microconv/internal/config"
)

// loadConfig parses flags (one per environment variable: MICROCONV_KAFKA_BROKERS
// is --kafka-brokers) over the environment and returns the configuration.
// Flags override variables.
func loadConfig(name string, args, environ []string, stderr io.Writer) (config.Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	keys := map[string]string{} // flag name → variable
	for _, v := range config.Vars() {
		key := v[0]
		flagName := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(key, config.Prefix)), "_", "-")
		def := v[1]
		help := "overrides " + key
		if def != "" {
			help += " (default " + def + ")"
		}
		fs.String(flagName, "", help)
		keys[flagName] = key
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: microconv %s [flags]\n\nEvery flag overrides the environment variable it names.\n\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, err
	}
	env := append([]string(nil), environ...)
	fs.Visit(func(f *flag.Flag) {
		env = append(env, keys[f.Name]+"="+f.Value.String())
	})
	cfg, err := config.Load(env)
	return cfg, fs.Args(), err
}
