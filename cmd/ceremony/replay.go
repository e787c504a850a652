package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/ceremony-tuf/ceremony/ceremony"
)

func init() {
	register(&command{
		name:    "transcript replay",
		summary: "re-run a ceremony from its transcript and compare what it published",
		usage:   "FILE [--against METADATA_DIR] [--json]",
		help: `Folds the transcript's events with the same engine code that ran the
ceremony: every staged role is derived again from the recorded plan and
trusted metadata and must match byte for byte, every signature is verified
against the recorded keys, every policy check is run again, and the files
the fold produces must be those the transcript says were published. With
--against, the files in that folder must match too (root.json and
timestamp.json may have moved on since). No hardware is needed.

Exit status 4 when anything does not match.

Example:
  ceremony transcript replay ws-2026-q4/transcript.jsonl --against metadata/`,
		setup: func(fs *flag.FlagSet) runFunc {
			against := fs.String("against", "", "a folder of published metadata to compare with")
			asJSON := fs.Bool("json", false, "print JSON for scripts")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("transcript replay takes one transcript file")
				}
				rep, err := ceremony.Replay(args[0], *against)
				if *asJSON && rep != nil {
					if jerr := writeJSON(e.stdout, rep); jerr != nil {
						return jerr
					}
				} else if rep != nil {
					fmt.Fprintf(e.stdout, "ceremony %s: %d roles, %d signatures verified, published: %v\n", rep.Ceremony, rep.Roles, rep.Signatures, rep.Published)
					for _, f := range rep.Files {
						status := "ok"
						if !f.Matches {
							status = "MISMATCH"
						}
						fmt.Fprintf(e.stdout, "  %-8s %-28s %s %s\n", status, f.Name, f.SHA256, f.OnDisk)
					}
				}
				if errors.Is(err, ceremony.ErrReplay) {
					return withCode(exitVerify, err)
				}
				return ceremonyError(err)
			}
		},
	})
}
