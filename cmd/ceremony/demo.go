package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/ceremony/demo"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/tui"
)

const demoHelp = `Runs two real ceremonies on SoftHSM tokens made for the occasion, with
nothing needed but the Debian package softhsm2, and leaves a complete
PEP 458/480 repository that a stock TUF client can refresh.

It makes SoftHSM tokens, in a temporary folder of their own, for five
admins (alice, bob, carol, dave, erin), two holders of claimed's keys, the
online key and the projects' maintainers, and generates every key on its
token (Ed25519 and ECDSA P-256). PINs are random and kept in files next to
the tokens; none is on a command line, printed or in a transcript.

Then:
  1. a bootstrap: root v1 (3 of 5 admins), targets v1, claimed v1 with one
     project, revocations v1; recently-claimed and the unclaimed hash bins,
     snapshot and timestamp signed with the online key;
  2. a quarterly ceremony from what was published: erin's root key replaced
     and the threshold raised to 4 of 5, claimed's keys rotated, three
     projects moved into claimed, a maintainer key revoked and replaced;
     dave signs as an air-gapped signer, through a signing request file and
     a response file.
Each project's metadata is signed by its maintainer's key, with a file
under targets/, and snapshot lists every role. The demo verifies the
repository from the pinned root, verifies and replays both transcripts,
and prints what it did and where everything is:

  DIR/metadata/           consistent-snapshot files, root.json, timestamp.json
  DIR/trusted-root.json   root v1, the pin a client starts from
  DIR/transcripts/        one workspace per ceremony: transcript and artifacts
  DIR/plans/              the plans it ran (they double as examples)
  DIR/keys/               every public key, as 'keys show --json' writes it
  DIR/targets/            the projects' files
  DIR/requests/           the air-gapped signer's requests and response

Expiry is counted from the time the demo runs, truncated to the hour, so a
client accepts the repository today. DIR must be empty or new; an existing
folder with anything in it is refused (exit 6).

With --tui, the quarterly ceremony's signing, publishing and closing happen
in the TUI, as in the ceremony room, with each demo token's PIN shown on the
PIN screen: a newcomer tries the whole flow in a few minutes.

Examples:
  ceremony demo --out /tmp/pypi-demo
  ceremony demo --tui`

type demoOptions struct {
	out *string
	tui *bool
}

func demoFlags(fs *flag.FlagSet) *demoOptions {
	return &demoOptions{
		out: fs.String("out", "", "the output folder, empty or new (default: a new temporary folder)"),
		tui: fs.Bool("tui", false, "run the quarterly ceremony's signing, publishing and closing in the TUI, with the demo tokens' PINs on screen"),
	}
}

// runDemo is 'ceremony demo'.
func runDemo(ctx context.Context, e *env, o *demoOptions, args []string) error {
	if len(args) > 0 {
		return usageErrorf("demo takes no arguments, only --out DIR and --tui")
	}
	if *o.tui && (!isTerminal(e.stdin) || !isTerminal(e.stdout)) {
		return usageErrorf("--tui needs a terminal: run it in one")
	}
	dir := *o.out
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ceremony-demo-"); err != nil {
			return fmt.Errorf("make a temporary output folder: %w (give one with --out DIR)", err)
		}
	}
	facts, _ := readBuildFacts()
	opts := demo.Options{Dir: dir, Out: e.stdout,
		Tool: facts.tool()}
	if *o.tui {
		opts.Interactive = func(ctx context.Context, eng *ceremony.Engine, pins map[string]string) error {
			o := tuiOptions(ctx, eng, "", false)
			o.DemoPINs = pins
			return tui.Run(o, e.stdin, e.stdout)
		}
	}
	res, err := demo.Run(ctx, opts)
	if err != nil {
		return err
	}
	demoNext(e, res)
	return nil
}

// demoNext suggests commands to look at the result with.
func demoNext(e *env, res *demo.Result) {
	last := res.Ceremonies[len(res.Ceremonies)-1]
	fmt.Fprintf(e.stdout, "\nLook at it:\n")
	for _, line := range []string{
		"ceremony transcript verify " + last.Transcript + " --head " + last.CheckpointHead.String() + "  # the witnesses' head, the close's",
		"ceremony transcript replay " + last.Transcript + " --against " + res.Metadata,
		"ceremony verify " + res.Metadata + " --root " + res.TrustedRoot,
		"ceremony status --workspace " + last.Workspace,
	} {
		fmt.Fprintf(e.stdout, "  %s\n", line)
	}
	fmt.Fprintf(e.stdout, "\nEverything is in %s\n", res.Dir)
}
