package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ceremony-tuf/ceremony/ceremony"
)

const transcriptReplayHelp = `Folds the transcript's events with the same engine code that ran the
ceremony: every staged role is derived again from the recorded plan and
trusted metadata and must match byte for byte, every signature is verified
against the recorded keys, every policy check is run again, and the files
the fold produces must be those the transcript says were published. With
--against, the files in that folder must match too (root.json and
timestamp.json may have moved on since); each is read within the length of
the bytes the replay produced for it. No hardware is needed.

First the transcript is checked as 'ceremony transcript verify' checks it:
its hash chain and every artifact. The chain cannot show that lines were
cut from the end: give the head digest the witnesses wrote down with
--head, in hex or in PGP words, and the transcript must end there before
anything is replayed. Replay only reads: a torn last line is reported, and
left for 'ceremony resume' in the ceremony's workspace.

Exit status 4 when anything does not match or the transcript is not
intact, 3 when a file cannot be read or --head is malformed.

Example:
  ceremony transcript replay ws-2026-q4/transcript.jsonl --against metadata/
  ceremony transcript replay ws-2026-q4/transcript.jsonl --head 2bde86fa04862be456b34765fc5a10d1cdecee432b80d3423df512611e4af972`

type transcriptReplayOptions struct {
	against, head *string
	json          *bool
}

func transcriptReplayFlags(fs *flag.FlagSet) *transcriptReplayOptions {
	return &transcriptReplayOptions{
		against: fs.String("against", "", "a folder of published metadata to compare with"),
		head:    fs.String("head", "", "the expected head `digest`: 64 hex digits or 32 PGP words"),
		json:    fs.Bool("json", false, "print JSON for scripts"),
	}
}

// runTranscriptReplay is 'ceremony transcript replay FILE'.
func runTranscriptReplay(ctx context.Context, e *env, o *transcriptReplayOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("transcript replay takes one transcript file")
	}
	if err := verifyTranscript(e, args[0], *o.head, *o.json); err != nil {
		return err
	}
	shown := showProgress(e, *o.json)
	rep, err := ceremony.ReplayWith(args[0], *o.against, engineProgress(shown))
	shown.Finish()
	if *o.json && rep != nil {
		if jerr := writeJSON(e.stdout, rep); jerr != nil {
			return jerr
		}
	} else if rep != nil {
		fmt.Fprintf(e.stdout, "ceremony %s: %d roles, %d signatures verified, published: %v\n", safe(rep.Ceremony), rep.Roles, rep.Signatures, rep.Published)
		if rep.Recorded {
			fmt.Fprintf(e.stdout, "  judged by rules %d, which this tool does not have: its reviews and policy verdicts are as recorded, not recomputed\n", rep.Rules)
		}
		for _, f := range rep.Files {
			status := "ok"
			if !f.Matches {
				status = "MISMATCH"
			}
			fmt.Fprintf(e.stdout, "  %-8s %-28s %s %s\n", status, safe(f.Name), f.SHA256, safe(f.OnDisk))
		}
	}
	return err
}
