package main

import (
	"context"
	"fmt"

	"github.com/ceremony-tuf/ceremony/ceremony"
)

const closeHelp = `Records the end of the ceremony; nothing can be added after it. Prints the
transcript's head digest in hex and PGP words, for witnesses to write
down: 'ceremony transcript verify --head' checks a transcript against it.
A ceremony that has not published is refused (abort it instead, if it
will not go on), as is one already closed or aborted (exit status 8);
nothing is recorded then.

Example:
  ceremony close --workspace ws-2026-q4`

// runClose is 'ceremony close'.
func runClose(ctx context.Context, e *env, o *workspaceJSONOptions, args []string) error {
	eng, err := openWorkspace(*o.workspace)
	if err != nil {
		return err
	}
	defer eng.Release()
	if err := eng.End(); err != nil {
		return err
	}
	return printHead(e, eng, *o.json)
}

// printHead prints the transcript's head for the witnesses, in hex and in
// PGP words.
func printHead(e *env, eng *ceremony.Engine, asJSON bool) error {
	h := eng.Head()
	if asJSON {
		return writeJSON(e.stdout, map[string]string{"head": h.String(), "head_words": h.Words()})
	}
	fmt.Fprintf(e.stdout, "transcript head: %s\nin words: %s\n", h, h.Words())
	return nil
}
