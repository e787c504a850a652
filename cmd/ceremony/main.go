// Command ceremony runs hardware-backed, offline key ceremonies for a TUF
// repository laid out as PyPI lays it out (PEP 458, PEP 480).
//
// commands.go lists every subcommand; each runs in a named function in a
// file of its own. This file holds the dispatch and the help. What exit
// code an error gives is decided in one place, the table in
// internal/exitcode, which the TUI shares.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
)

// env is what a command sees of the world; tests substitute its parts.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
}

// run dispatches args to a command and turns its error into an exit code and
// a one-paragraph message on stderr.
func run(ctx context.Context, e *env, args []string) int {
	// In a workspace, in a terminal, plain 'ceremony' opens the TUI.
	if handled, code := maybeTUI(ctx, e, args); handled {
		return code
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := lookup(args[1:]); c != nil {
				printHelp(e.stdout, c)
				return int(exitcode.OK)
			}
		}
		printOverview(e.stdout)
		if len(args) == 0 {
			return int(exitcode.Usage)
		}
		return int(exitcode.OK)
	}
	c := lookup(args)
	if c == nil {
		fmt.Fprintf(e.stderr, "ceremony: unknown command %q. Run 'ceremony help' for the list of commands.\n", strings.Join(args[:min(2, len(args))], " "))
		return int(exitcode.Usage)
	}
	args = args[len(strings.Fields(c.name)):]
	fs := flag.NewFlagSet("ceremony "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	do := c.setup(fs)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(e.stdout, c)
			return int(exitcode.OK)
		}
		fmt.Fprintf(e.stderr, "ceremony %s: %s. Usage: ceremony %s %s (see 'ceremony help %s').\n", c.name, untrusted.Text(err.Error()), c.name, c.usage, c.name)
		return int(exitcode.Usage)
	}
	if err := do(ctx, e, positional); err != nil {
		code := exitcode.Of(err)
		fmt.Fprintf(e.stderr, "ceremony %s: %s\n", c.name, untrusted.Text(err.Error()))
		if code == exitcode.Usage {
			fmt.Fprintf(e.stderr, "Usage: ceremony %s %s (see 'ceremony help %s').\n", c.name, c.usage, c.name)
		}
		return int(code)
	}
	return int(exitcode.OK)
}

// usageErrorf is a usage error: bad arguments or flags.
func usageErrorf(format string, args ...any) error {
	return exitcode.Errorf(exitcode.ErrUsage, format, args...)
}

// parseInterspersed parses flags wherever they stand among the arguments
// ('sign REQUEST --key URI'), as people type them; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// lookup finds the command named by the first one or two words of args.
func lookup(args []string) *command {
	find := func(name string) *command {
		if i := slices.IndexFunc(commands, func(c *command) bool { return c.name == name }); i >= 0 {
			return commands[i]
		}
		return nil
	}
	if len(args) >= 2 {
		if c := find(args[0] + " " + args[1]); c != nil {
			return c
		}
	}
	return find(args[0])
}

func printOverview(w io.Writer) {
	fmt.Fprint(w, `ceremony runs offline, hardware-backed key ceremonies for a TUF repository
laid out as PyPI lays it out (PEP 458, PEP 480). Keys stay on PKCS#11 tokens
and YubiKeys; every step is recorded in a transcript auditors can replay.

Usage: ceremony COMMAND [FLAGS] [ARGS]

Commands:
`)
	sorted := slices.SortedFunc(slices.Values(commands), func(a, b *command) int { return strings.Compare(a.name, b.name) })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-22s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'ceremony help COMMAND' for a command's flags and an example.
Exit codes are listed in 'ceremony help exit-codes' and the README.
`)
}

func printHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: ceremony %s %s\n\n%s\n", c.name, c.usage, strings.TrimSpace(c.help))
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs)
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}
