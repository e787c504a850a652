package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/roles"
)

const startHelp = `Opens a new ceremony in the workspace (created if missing; it must hold no
transcript yet). It records the plan, the tool, the host and the machine's
clock in the transcript, verifies the trusted repository from the pinned
root, stages every change the plan makes, runs the policy checks, and prints
the review: per role, the change in plain words, the checks by name, and the
digest of the bytes to be signed in hex and PGP words.

Before anything is written it also runs the whole repository verification
('ceremony verify') over the repository as the ceremony would publish it,
as of the reference time and as of the machine's clock (signatures aside,
and the metadata of projects, which may be included later), checks that
the plan's online key, when it names one (online.key_uri), is present and
is the key the plan gives the online participant, and refuses a
reference_time more than a day from the machine's clock unless
--allow-reference-time says it is meant (the review then says so). A plan
refused leaves no workspace behind.

Project metadata files in the trusted folder named as a newer version of
a project claimed delegates to, but that cannot be read, do not parse or
are not signed by a threshold of the project's keys, are passed over:
the review lists each after the thresholds, with why (--json:
passed_over), since those maintainers' uploads will not be published.

The publish folder (--publish-dir) is recorded relative to the workspace,
so a copied workspace publishes into its own copy of it.

The machine must be off every network unless the plan says allow_network
(exit status 8 otherwise, as for a reference time far from the clock).
Exit status 3 means the plan or the trusted repository is malformed or
cannot be read; 4 that the repository does not verify from the pinned
root, a staged role fails a policy check, the repository as it would be
published does not verify, or the online key is another key; 5 that the
online key is not present.

Example:
  ceremony start plans/2026-q4.yaml --workspace ws-2026-q4
  ceremony start plans/2027-q1.yaml --workspace ws-2027-q1 --allow-reference-time`

type startOptions struct {
	workspace, publishDir *string
	allowReferenceTime    *bool
	json                  *bool
}

func startFlags(fs *flag.FlagSet) *startOptions {
	return &startOptions{
		workspace:          workspaceFlags(fs),
		publishDir:         fs.String("publish-dir", "", "where publish writes metadata (default: the plan's start.metadata, or WORKSPACE/metadata for a bootstrap)"),
		allowReferenceTime: fs.Bool("allow-reference-time", false, "let the plan's reference_time be more than a day from the machine's clock"),
		json:               fs.Bool("json", false, "print JSON for scripts"),
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
	if err := checkOnlineKey(ctx, plan); err != nil {
		return err
	}
	facts, _ := readBuildFacts()
	shown := showProgress(e, *o.json)
	eng, err := ceremony.Begin(*o.workspace, plan, ceremony.Options{Tool: facts.tool(), PublishDir: *o.publishDir, MaxMetadata: e.limit(boundedfile.Metadata).Max,
		AfterAppend: afterAppend, Now: time.Now, AllowReferenceTime: *o.allowReferenceTime, Progress: engineProgress(shown)})
	shown.Finish()
	if err != nil {
		return err
	}
	defer eng.Release()
	if err := printStatus(e, eng, *o.json); err != nil || *o.json {
		return err
	}
	if lines := ceremony.PassedOverLines(eng.PassedOver(), ceremony.ReviewProjectLines); lines != nil {
		fmt.Fprintln(e.stdout)
		printSummary(e.stdout, "NOTE: ", lines[:1])
		printSummary(e.stdout, "  ", lines[1:])
	}
	fmt.Fprintf(e.stdout, "\nNext: each key holder runs `ceremony sign --workspace %s --key URI`,\nor `ceremony request export` for signers who are elsewhere.\n", *o.workspace)
	return nil
}

// checkOnlineKey checks, before anyone signs, that the online key the plan
// names is plugged in and is the online participant's key: publish needs it
// after every signature, and a typo found then costs the room its
// ceremony. A plan without one (the online service signs) has nothing to
// check.
func checkOnlineKey(ctx context.Context, plan *ceremony.Plan) error {
	on := plan.Online
	if on == nil || on.KeyURI == "" {
		return nil
	}
	k, err := hsm.Lookup(ctx, on.KeyURI)
	if err != nil {
		return fmt.Errorf("the plan's online key (online.key_uri): %w", err)
	}
	got, err := roles.KeyFromPublic(k.Public)
	if err != nil {
		return fmt.Errorf("the plan's online key (online.key_uri): %w", err)
	}
	for _, pt := range plan.Participants {
		if pt.Name == on.Participant && pt.KeyID != got.ID() {
			return fmt.Errorf("%w: the plan's online key (online.key_uri) is key %s on %s, but participant %s's keyid is %s: correct key_uri or the participant's key file and keyid",
				ceremony.ErrWrongKey, got.ID(), k.Device, on.Participant, pt.KeyID)
		}
	}
	return nil
}
