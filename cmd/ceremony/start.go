package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
)

const startHelp = `Opens a new ceremony in the workspace (created if missing; it must hold no
transcript yet). It records the plan, the tool and the host in the
transcript, verifies the trusted repository from the pinned root, stages
every change the plan makes, runs the policy checks, and prints the review:
per role, the change in plain words, the checks by name, and the digest of
the bytes to be signed in hex and PGP words. A plan that fails a check, or a
repository that does not verify, leaves no workspace behind.

The machine must be off every network unless the plan says allow_network
(exit status 8 otherwise). Exit status 3 means the plan or the trusted
repository is malformed or cannot be read; 4 that the repository does not
verify from the pinned root or a staged role fails a policy check.

Example:
  ceremony start plans/2026-q4.yaml --workspace ws-2026-q4`

type startOptions struct {
	workspace, publishDir *string
	json                  *bool
}

func startFlags(fs *flag.FlagSet) *startOptions {
	return &startOptions{
		workspace:  workspaceFlags(fs),
		publishDir: fs.String("publish-dir", "", "where publish writes metadata (default: the plan's start.metadata, or WORKSPACE/metadata for a bootstrap)"),
		json:       fs.Bool("json", false, "print JSON for scripts"),
	}
}

// runStart is 'ceremony start PLAN'.
func runStart(ctx context.Context, e *env, o *startOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("start takes one plan file")
	}
	plan, err := ceremony.LoadPlan(args[0])
	if err != nil {
		return err
	}
	facts, _ := readBuildFacts()
	eng, err := ceremony.Begin(*o.workspace, plan, ceremony.Options{Tool: facts.tool(), PublishDir: *o.publishDir, MaxMetadata: e.limit(boundedfile.Metadata).Max, AfterAppend: afterAppend})
	if err != nil {
		return err
	}
	defer eng.Release()
	if err := printStatus(e, eng, *o.json); err != nil || *o.json {
		return err
	}
	fmt.Fprintf(e.stdout, "\nNext: each key holder runs `ceremony sign --workspace %s --key URI`,\nor `ceremony request export` for signers who are elsewhere.\n", *o.workspace)
	return nil
}
