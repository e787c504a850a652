package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/internal/progress"
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
in PGP words. Some line must hash to it, and nothing but the checkpoint's
signatures may follow it: the head of the close ('ceremony close' shows it,
and the checkpoint signs it) and the transcript's last head both pass. The
report says which line the head is the hash of.

Nor can the chain show that history was rewritten: whoever can write the
file can change it and compute the chain again. With --root, the root
metadata file you trust, the transcript is checked beyond its chain: it
is replayed (every signature, policy check and staged byte), its roots
(the one it started from, those it loaded, the one it published) must
include the pinned root and chain from it, and its checkpoint must be
signed: a threshold of the keys each role it signed is delegated to has
signed the head of its close, and nothing but those signatures follows.
A rewritten history fails unless the same thresholds signed the rewrite.
An aborted ceremony needs no checkpoint: it verifies as "aborted,
unsigned". Without --root, only the chain and artifacts are checked, and
the report says so. The wall clock is never consulted.

Exit codes: 0 intact (and with --root, signed), 4 a check failed, 3 the
file cannot be read or --head or --root is malformed.

Example:
  ceremony transcript verify ceremony.jsonl --head 2bde86fa04862be456b34765fc5a10d1cdecee432b80d3423df512611e4af972
  ceremony transcript verify ws-2026-q4/transcript.jsonl --root 7.root.json`

type transcriptVerifyOptions struct {
	json       *bool
	head, root *string
}

func transcriptVerifyFlags(fs *flag.FlagSet) *transcriptVerifyOptions {
	return &transcriptVerifyOptions{
		json: fs.Bool("json", false, "print the report as JSON for scripts"),
		head: fs.String("head", "", "the expected head `digest`: 64 hex digits or 32 PGP words"),
		root: fs.String("root", "", "the root metadata `file` you trust: check the checkpoint signatures from it"),
	}
}

// runTranscriptVerify is 'ceremony transcript verify FILE'.
func runTranscriptVerify(ctx context.Context, e *env, o *transcriptVerifyOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("transcript verify takes one FILE, got %d arguments", len(args))
	}
	var pinned []byte
	if *o.root != "" {
		var err error
		if pinned, err = boundedfile.Read(*o.root, boundedfile.Metadata); err != nil {
			return exitcode.Mark(exitcode.ErrInput, fmt.Errorf("read the trusted root: %w", err))
		}
	}
	shown := showProgress(e, *o.json)
	r, err := verifyWitnessed(args[0], *o.head, shown)
	shown.Finish()
	if err != nil || pinned == nil {
		if werr := showReport(e, r, *o.json); werr != nil {
			return werr
		}
		if err == nil && !*o.json {
			fmt.Fprintln(e.stdout, "Only the hash chain and artifacts were checked, not who signed this history: give --root TRUSTED_ROOT to check its checkpoint signatures.")
		}
		return transcriptError(r, err)
	}
	signed, err := ceremony.VerifySigned(args[0], pinned)
	if *o.json {
		return errors.Join(writeJSON(e.stdout, transcriptVerifyJSON{Report: r, Signed: signed}), err)
	}
	printReport(e.stdout, r)
	if signed != nil {
		printSigned(e.stdout, signed)
	}
	return err
}

// transcriptVerifyJSON is the --json form of 'transcript verify' with
// --root: the chain's report and the checkpoint's.
type transcriptVerifyJSON struct {
	*transcripts.Report
	Signed *ceremony.SignedReport `json:"checkpoint,omitempty"`
}

// printSigned writes what VerifySigned found, for people.
func printSigned(w io.Writer, s *ceremony.SignedReport) {
	if s.Status == "aborted, unsigned" {
		fmt.Fprintf(w, "Ceremony %s: aborted, unsigned. It published nothing and needs no checkpoint; nothing vouches for its history.\n", safe(s.Ceremony))
		return
	}
	if s.Seq > 0 {
		fmt.Fprintf(w, "checkpoint  event %d, head %s\n", s.Seq, s.Head)
	}
	for _, p := range s.Thresholds {
		mark := "missing"
		if p.Reached {
			mark = "reached"
		}
		fmt.Fprintf(w, "  %-18s under %-12s %d needed, %d signed, %s: %s\n", safe(p.Role), safe(p.Under), p.Threshold, len(p.Signed), mark, listOrNone(safeAll(p.Signed)))
	}
	if len(s.Roots) > 0 {
		var vs []string
		for _, v := range s.Roots {
			vs = append(vs, fmt.Sprintf("v%d", v))
		}
		fmt.Fprintf(w, "roots       %s, from the pinned one\n", strings.Join(vs, " -> "))
	}
	if s.Status != "" {
		fmt.Fprintf(w, "OK: ceremony %s is %s: its checkpoint is signed by the keys the pinned root trusts.\n", safe(s.Ceremony), s.Status)
	}
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
	r, err := verifyWitnessed(path, head, shown)
	shown.Finish()
	if err != nil {
		showReport(e, r, asJSON)
	}
	return transcriptError(r, err)
}

// verifyWitnessed verifies the transcript at path against head, the one
// the witnesses wrote down (when not empty): the close's, so the
// checkpoint's signatures may follow it.
func verifyWitnessed(path, head string, shown *progress.Steps) (*transcripts.Report, error) {
	return transcripts.VerifyWith(path, transcripts.VerifyOptions{Head: head, After: ceremony.AfterClose(),
		Progress: stepProgress(shown, "checking artifacts")})
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
	if h := r.Witnessed; h != nil {
		fmt.Fprintf(w, "head given  %s\n", witnessedLine(h))
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

// witnessedLine says which line the head given to 'transcript verify' is
// the hash of: the last, or one followed by the checkpoint's signatures
// (the close's).
func witnessedLine(h *transcripts.HeadLine) string {
	if h.Following == 0 {
		return fmt.Sprintf("matches the last line, %d (%s)", h.Line, safe(h.Type))
	}
	return fmt.Sprintf("matches line %d (%s), followed only by the checkpoint's signatures: %d event(s)", h.Line, safe(h.Type), h.Following)
}
