package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/microconv/microconv/rules"
)

func cmdRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: microconv rules check PATH")
		return 2
	}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: microconv rules check PATH")
			return 2
		}
		return rulesCheck(args[1], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "microconv rules: unknown command %q (want check)\n", args[0])
		return 2
	}
}

// rulesCheck prints every error of the rule file or directory at path, one
// per line as file:line:col: message, and exits 1; or a summary and 0.
func rulesCheck(path string, stdout, stderr io.Writer) int {
	set, err := rules.Load(path)
	if err != nil {
		printRuleErrors(stderr, err)
		return 1
	}
	micro, macro := 0, 0
	for _, c := range set.Conversions {
		if c.Type == "macro" {
			macro++
		} else {
			micro++
		}
	}
	fmt.Fprintf(stdout, "%s: ok: %d conversions (%d micro, %d macro), %d funnels, version %s\n",
		path, len(set.Conversions), micro, macro, len(set.Funnels), set.Version)
	return 0
}

func printRuleErrors(w io.Writer, err error) {
	var list rules.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(w, e.Error())
		}
		fmt.Fprintf(w, "%d error(s)\n", len(list))
		return
	}
	fmt.Fprintln(w, err.Error())
}
