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
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/internal/progress"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// env is what a command sees of the world; tests substitute its parts.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// limits are the sizes the limit flags set, by flag (see limit).
	limits map[string]int64
	// progress, when set, is how progress is drawn (see showProgress):
	// tests draw it at once, where a person sees it after a second.
	progress *progress.Options
}

// limit returns the limit in force for a kind of file: kind's default,
// or the size its flag set.
func (e *env) limit(kind boundedfile.Limit) boundedfile.Limit {
	if n, ok := e.limits[kind.Flag]; ok && kind.Flag != "" {
		kind.Max = n
	}
	return kind
}

// softMemoryLimit is the heap size past which the garbage collector works
// harder rather than let the heap double (GOGC's default): at PyPI's
// scale a command's live data is 100 to 140 MB, and a ceremony machine
// may be small. It is a soft limit: a command that needs more gets more.
// GOMEMLIMIT, when set, overrides it.
const softMemoryLimit = 170 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
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
	do := c.flags(fs, e)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(e.stdout, c)
			return int(exitcode.OK)
		}
		fmt.Fprintf(e.stderr, "ceremony %s: %s. Usage: ceremony %s %s (see 'ceremony help %s').\n", c.name, untrusted.Text(err.Error()), c.name, c.usage, c.name)
		return int(exitcode.Usage)
	}
	var before transcripts.Event
	if c.appends {
		before, _ = transcripts.ReadHead(transcriptOf(fs))
	}
	err = do(ctx, e, positional)
	if c.appends {
		printHeadIfMoved(e, fs, before)
	}
	if err != nil {
		code := exitcode.Of(err)
		fmt.Fprintf(e.stderr, "ceremony %s: %s\n", c.name, untrusted.Text(err.Error()))
		if code == exitcode.Usage {
			fmt.Fprintf(e.stderr, "Usage: ceremony %s %s (see 'ceremony help %s').\n", c.name, c.usage, c.name)
		}
		return int(code)
	}
	return int(exitcode.OK)
}

// flags declares c's flags on fs, and then a flag for the limit of each
// kind of file it reads (unless declared already: kinds may share one),
// parsed with boundedfile.ParseSize into e.limits. It returns what runs
// the command.
func (c *command) flags(fs *flag.FlagSet, e *env) runFunc {
	run := c.setup(fs)
	for _, l := range c.limits {
		name := strings.TrimPrefix(l.Flag, "--")
		if name == "" || fs.Lookup(name) != nil {
			continue
		}
		usage := fmt.Sprintf("the most bytes %s may hold: a `SIZE` in bytes, KiB, MiB, GiB or TiB (default %s; docs/LIMITS.md)", l.What, boundedfile.FormatSize(l.Max))
		fs.Func(name, usage, func(s string) error {
			n, err := boundedfile.ParseSize(s)
			if err != nil {
				return err
			}
			if e.limits == nil {
				e.limits = map[string]int64{}
			}
			e.limits[l.Flag] = n
			return nil
		})
	}
	return run
}

// transcriptOf is the transcript of the workspace a command's --workspace
// flag names, or "" for a command without one.
func transcriptOf(fs *flag.FlagSet) string {
	f := fs.Lookup("workspace")
	if f == nil {
		return ""
	}
	return filepath.Join(f.Value.String(), ceremony.TranscriptName)
}

// printHeadIfMoved prints the head of the transcript a command appended
// to, when it moved from before, for witnesses to write down after every
// command that appends: on stdout, or on stderr when the command printed
// JSON there. It reads the head from the file, without the lock, so it
// is the head on disk whatever the command did. After a checkpoint
// signature it says so, and that the witnesses keep the close's head.
func printHeadIfMoved(e *env, fs *flag.FlagSet, before transcripts.Event) {
	ev, err := transcripts.ReadHead(transcriptOf(fs))
	if err != nil || ev.Hash() == before.Hash() {
		return
	}
	w := e.stdout
	if f := fs.Lookup("json"); f != nil && f.Value.String() == "true" {
		w = e.stderr
	}
	h := ev.Hash()
	if slices.Contains(ceremony.AfterClose(), ev.Type) {
		// What follows the close (the checkpoint's signatures): the
		// witnesses keep the close's head; this one only tells one
		// signature from the next.
		fmt.Fprintf(w, "\nTranscript head after event %d (%s): %s. The witnesses keep the head of the close, which 'ceremony status' shows.\n", ev.Seq, ev.Type, h)
		return
	}
	words := strings.Fields(h.Words())
	fmt.Fprintf(w, "\nTranscript head after event %d, for the witnesses to write down:\n  %s\n  %s\n  %s\n",
		ev.Seq, h, strings.Join(words[:16], " "), strings.Join(words[16:], " "))
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
	c.flags(fs, &env{})
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}
