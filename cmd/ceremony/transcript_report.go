package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ceremony-tuf/ceremony/ceremony/report"
)

const transcriptReportHelp = `Writes the audit report of one ceremony into the folder DIR (made if
need be): report.html, one self-contained page for the ceremony binder, and
with --json report.json beside it, the same summary for scripts.

The report is derived from the transcript FILE and its artifacts alone: no
device, no workspace, no network. First the transcript is checked as
'ceremony transcript verify' checks it, then replayed as 'ceremony
transcript replay' replays it; a report is written only of a transcript
that passes both. It shows who was present, with their devices, serials,
firmware and attestation; the plan; each role's review as the signers saw
it; the policy checks; every signature with its device and time; the
thresholds reached; what was published, with digests; the checkpoints; the
transcript's head in hex and PGP words, large, for witnesses to compare;
and a timeline of every event.

The page holds no script and loads nothing: its stylesheet is inline. It
reads on screen and prints from any browser on A4 or Letter, a section a
page, with page numbers. Every string from the transcript is escaped. The
same transcript always gives the same bytes. The command starts no browser.

It never writes over a file: if DIR holds a report.html (or, with --json,
a report.json), nothing is written (exit 6). Exit codes: 0 written, 4 the
transcript is not intact or does not replay, 3 it cannot be read or DIR
cannot be made or written.

Examples:
  ceremony transcript report ws-2026-q4/transcript.jsonl --out binder/2026-q4
  ceremony transcript report ws-2026-q4/transcript.jsonl --out binder/2026-q4 --json
  chromium --headless --print-to-pdf=2026-q4.pdf binder/2026-q4/report.html`

type transcriptReportOptions struct {
	out  *string
	json *bool
}

func transcriptReportFlags(fs *flag.FlagSet) *transcriptReportOptions {
	return &transcriptReportOptions{
		out:  fs.String("out", "", "the `folder` to write report.html (and report.json) into"),
		json: fs.Bool("json", false, "write report.json, the summary for scripts, beside report.html"),
	}
}

// runTranscriptReport is 'ceremony transcript report FILE --out DIR'.
func runTranscriptReport(ctx context.Context, e *env, o *transcriptReportOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("transcript report takes one transcript file, got %d arguments", len(args))
	}
	if *o.out == "" {
		return usageErrorf("transcript report needs --out DIR, the folder to write the report into")
	}
	if err := verifyTranscript(e, args[0], "", false); err != nil {
		return err
	}
	s, err := report.Build(args[0], report.Options{Generator: "ceremony " + version})
	if err != nil {
		return err
	}
	paths, err := s.Write(*o.out, *o.json)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintf(e.stdout, "Wrote %s\n", safe(p))
	}
	return nil
}
