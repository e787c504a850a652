package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

const transcriptVerifyHelp = `Checks the transcript FILE (a .jsonl file) and its artifacts (in the
directory beside it, FILE without .jsonl plus .artifacts): every line parses
strictly, sequence numbers count up by one, times never go backwards, each
line names the SHA-256 of the line before, nothing follows the last newline,
no event holds a secret, and every artifact an event names is there and
hashes to its name. Every problem is listed with its line, sequence number,
byte offset and the check that failed. docs/TRANSCRIPT.md specifies the
format.

The chain cannot show that lines were cut from the end: give the head digest
the witnesses wrote down at the close of the ceremony with --head, in hex or
in PGP words, and the transcript must end there.

Exit codes: 0 intact, 4 a check failed, 3 the file cannot be read or --head
is malformed.

Example:
  ceremony transcript verify ceremony.jsonl --head 2bde86fa04862be456b34765fc5a10d1cdecee432b80d3423df512611e4af972`

type transcriptVerifyOptions struct {
	json *bool
	head *string
}

func transcriptVerifyFlags(fs *flag.FlagSet) *transcriptVerifyOptions {
	return &transcriptVerifyOptions{
		json: fs.Bool("json", false, "print the report as JSON for scripts"),
		head: fs.String("head", "", "the expected head `digest`: 64 hex digits or 32 PGP words"),
	}
}

// runTranscriptVerify is 'ceremony transcript verify FILE'.
func runTranscriptVerify(ctx context.Context, e *env, o *transcriptVerifyOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("transcript verify takes one FILE, got %d arguments", len(args))
	}
	shown := showProgress(e, *o.json)
	r, err := transcripts.VerifyShowing(args[0], *o.head, stepProgress(shown, "checking artifacts"))
	shown.Finish()
	if werr := showReport(e, r, *o.json); werr != nil {
		return werr
	}
	return transcriptError(r, err)
}

// showReport prints a verification report, if there is one: as JSON with
// asJSON, else for people.
func showReport(e *env, r *transcripts.Report, asJSON bool) error {
	switch {
	case r == nil:
		return nil
	case asJSON:
		return writeJSON(e.stdout, r)
	}
	printReport(e.stdout, r)
	return nil
}

// transcriptError says what a failed transcript verification means: a
// transcript that is not as it was written is trusted by no one; one that
// gave no report could not be read, or the head was malformed.
func transcriptError(r *transcripts.Report, err error) error {
	switch {
	case err == nil:
		return nil
	case r == nil:
		return exitcode.Mark(exitcode.ErrInput, err)
	case errors.Is(err, transcripts.ErrIntegrity):
		return fmt.Errorf("%w. It is not as it was written: do not replay or publish from it; compare it with another copy and with the head the witnesses wrote down", err)
	}
	return err
}

// verifyTranscript checks the transcript at path, against head when not
// empty, before a replay: nothing is replayed from a transcript that is
// not as it was written. The report is printed only when it fails (as
// JSON with asJSON, on stdout), so that a replay prints its own.
func verifyTranscript(e *env, path, head string, asJSON bool) error {
	shown := showProgress(e, asJSON)
	r, err := transcripts.VerifyShowing(path, head, stepProgress(shown, "checking artifacts"))
	shown.Finish()
	if err != nil {
		showReport(e, r, asJSON)
	}
	return transcriptError(r, err)
}

// printReport writes a verification report for people.
func printReport(w io.Writer, r *transcripts.Report) {
	fmt.Fprintf(w, "transcript  %s\n", safe(r.Path))
	if r.Ceremony != "" {
		fmt.Fprintf(w, "ceremony    %s (format %d, written by %s)\n", safe(r.Ceremony), r.Format, safe(fmt.Sprint(r.Tool)))
	}
	fmt.Fprintf(w, "events      %d\nartifacts   %d\n", r.Events, r.Artifacts)
	if r.Events > 0 {
		fmt.Fprintf(w, "head        %s\n            %s\n", r.Head, r.HeadWords)
	}
	if r.OK {
		fmt.Fprintln(w, "OK: every line, the hash chain and every artifact are intact.")
		return
	}
	n := len(r.Problems) + r.Omitted
	fmt.Fprintf(w, "FAILED: %d problem(s):\n", n)
	for i := range r.Problems {
		fmt.Fprintf(w, "  %s\n", safe(r.Problems[i].Error()))
	}
	if r.Omitted > 0 {
		fmt.Fprintf(w, "  ... and %d more\n", r.Omitted)
	}
}
