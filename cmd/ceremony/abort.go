package main

import (
	"context"
	"flag"
	"strings"
)

const abortHelp = `Records that the ceremony is given up, and why: a token lost, a plan found
wrong, a threshold that cannot be reached. Nothing is published afterwards
and nothing can be added; no close is needed. status and the TUI show the
ceremony aborted, with the reason; transcript verify and replay accept it.
Prints the transcript's head for the witnesses, as close does.

A ceremony whose publishing has started cannot be aborted (files may be on
disk already): finish publishing, then close. Start a new ceremony, in a
new workspace, to try again.

Exit status 2 means the reason is missing or holds a control character; 8
that the ceremony has published, is publishing, or is closed or aborted.

Example:
  ceremony abort --workspace ws-2026-q4 --reason "carol's token was lost; we meet again on 12 December"`

type abortOptions struct {
	workspace, reason *string
	json              *bool
}

func abortFlags(fs *flag.FlagSet) *abortOptions {
	return &abortOptions{
		workspace: workspaceFlags(fs),
		reason:    fs.String("reason", "", "why the ceremony is given up, in words, for the record (required)"),
		json:      fs.Bool("json", false, "print JSON for scripts"),
	}
}

// runAbort is 'ceremony abort'.
func runAbort(ctx context.Context, e *env, o *abortOptions, args []string) error {
	if len(args) != 0 {
		return usageErrorf("abort takes no arguments: give the reason with --reason")
	}
	if strings.TrimSpace(*o.reason) == "" {
		return usageErrorf("abort needs --reason: say why the ceremony is given up, for the record")
	}
	eng, err := openWorkspace(*o.workspace)
	if err != nil {
		return err
	}
	defer eng.Release()
	if err := eng.Abort(*o.reason); err != nil {
		return err
	}
	return printHead(e, eng, *o.json)
}
