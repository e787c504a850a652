package main

import (
	"context"
	"fmt"
)

const closeHelp = `Records the end of the ceremony; nothing can be added after it. Prints the
transcript's head digest in hex and PGP words, for witnesses to write
down: 'ceremony transcript verify --head' checks a transcript against it.
A ceremony already closed is refused (exit status 8).

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
	h := eng.Head()
	if *o.json {
		return writeJSON(e.stdout, map[string]string{"head": h.String(), "head_words": h.Words()})
	}
	fmt.Fprintf(e.stdout, "transcript head: %s\nin words: %s\n", h, h.Words())
	return nil
}
