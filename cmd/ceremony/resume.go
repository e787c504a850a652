package main

import (
	"context"
	"fmt"
)

const resumeHelp = `Folds the workspace's transcript (repairing a torn last line, which a crash
in the middle of a write leaves, and recording the repair), finishes a
publish that was cut short, and prints where the ceremony stands.

Example:
  ceremony resume --workspace ws-2026-q4`

// runResume is 'ceremony resume'.
func runResume(ctx context.Context, e *env, ws *string, args []string) error {
	eng, err := openWorkspace(*ws)
	if err != nil {
		return err
	}
	defer eng.Release()
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
