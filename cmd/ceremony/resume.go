package main

import (
	"context"
	"fmt"

	"github.com/ceremony-tuf/ceremony/ceremony"
)

const resumeHelp = `Goes on with the ceremony in the workspace after a crash. It is the one
command that mends a transcript, and it says what it did: a last event that
lacks only its newline is completed; any other torn last line (a write cut
short) is moved, byte for byte, into an artifact, and a transcript.torn
event records that. It then stages the roles a start cut short left
unstaged, finishes a publish that was cut short, and prints where the
ceremony stands. Every other command refuses such a transcript and leaves
it as it is.

Example:
  ceremony resume --workspace ws-2026-q4`

// runResume is 'ceremony resume'.
func runResume(ctx context.Context, e *env, ws *string, args []string) error {
	if err := hasCeremony(*ws); err != nil {
		return err
	}
	shown := showProgress(e, false)
	eng, err := ceremony.Resume(*ws, ceremony.Options{AfterAppend: afterAppend, Progress: engineProgress(shown)})
	shown.Finish()
	if err != nil {
		return err
	}
	defer eng.Release()
	if r := eng.Repaired(); r != nil {
		fmt.Fprintf(e.stdout, "repaired the transcript: %s\n", r)
	} else {
		fmt.Fprintln(e.stdout, "the transcript needed no repair")
	}
	st := eng.State()
	if st.Publishing() && !st.Published {
		res, err := eng.Publish(nil, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "finished publishing %d files into %s\n", len(res.Files), res.Dir)
	}
	printProgress(e.stdout, st)
	fmt.Fprintf(e.stdout, "published: %v\n", st.Published)
	return nil
}
