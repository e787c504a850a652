package main

import (
	"context"
)

const statusHelp = `Prints, per staged role, who has signed and who may still sign, against
each threshold the role must reach (for a new root, the old root's and its
own), and whether the ceremony is ready to publish.

Status only reads: it changes no byte of the transcript and needs no lock,
so it works while a signer sits at a PIN or "yes" prompt. A transcript
that a crash left with a torn last line, or a start cut short, is left as
it is: status says to run 'ceremony resume' (exit status 8).

Example:
  ceremony status --workspace ws-2026-q4 --json`

// runStatus is 'ceremony status'.
func runStatus(ctx context.Context, e *env, o *workspaceJSONOptions, args []string) error {
	shown := showProgress(e, *o.json)
	eng, err := viewWorkspaceShowing(*o.workspace, shown)
	shown.Finish()
	if err != nil {
		return err
	}
	defer eng.Release()
	return printStatus(e, eng, *o.json)
}
