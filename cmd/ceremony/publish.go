package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
)

const publishHelp = `Once every staged role reaches every threshold, writes the metadata
atomically (temporary file, fsync, rename) with consistent-snapshot names,
never over an existing version with other bytes. With --online-key (or the
plan's online.key_uri) it first makes and signs the online roles (snapshot,
timestamp; for a bootstrap recently-claimed and the unclaimed bins) so the
result is complete for a stock TUF client.

Its last step before anything is recorded or written is the whole
repository verification ('ceremony verify') over the folder as it would be
once published, as of the reference time and as of the machine's clock: a
repository that would not verify, or has expired already, is refused,
naming the checks. Missing signatures are reported before the online key
is asked for.

The metadata goes into the folder the ceremony was started with (relative
to the workspace), or with --into into another one, such as a copy of the
repository. A publish cut short is finished by running publish (or resume)
again, into the same folder.

Exit status 2 means --online-key was given for a plan with no online:
section; 4 that a threshold is not reached yet, the online key is not the
plan's, or the repository would not verify; 6
that a version is already in the folder with other bytes; 8 that the
ceremony has published already, or is closed or aborted; 9 that the folder
cannot be written (make it writable and publish again).

Example:
  ceremony publish --workspace ws-2026-q4 --online-key 'pkcs11:token=online;object=online'
  ceremony publish --workspace ws-2026-q4 --into /media/usb/repo-copy/metadata`

type publishOptions struct {
	workspace, onlineKey, into *string
	allowLastPINTry            *bool
}

func publishFlags(fs *flag.FlagSet) *publishOptions {
	return &publishOptions{
		workspace:       workspaceFlags(fs),
		onlineKey:       fs.String("online-key", "", "the online key's URI (default: the plan's online.key_uri)"),
		into:            fs.String("into", "", "publish into this folder instead of the one the ceremony was started with"),
		allowLastPINTry: fs.Bool("allow-last-pin-try", false, "let the login spend the device's last PIN try"),
	}
}

// runPublish is 'ceremony publish'.
func runPublish(ctx context.Context, e *env, o *publishOptions, args []string) error {
	shown := showProgress(e, false)
	defer shown.Finish()
	eng, err := openWorkspaceShowing(*o.workspace, shown)
	shown.Finish() // before any PIN prompt
	if err != nil {
		return err
	}
	defer eng.Release()
	// Who is missing is said before any device is touched.
	if err := eng.ReadyToPublish(); err != nil {
		return err
	}
	st := eng.State()
	uri := *o.onlineKey
	if uri != "" && st.Plan.Online == nil {
		return usageErrorf("--online-key: the plan names no online key (it has no online: section), so publishing signs no online roles; publish without --online-key, and the online service signs snapshot and timestamp")
	}
	if uri == "" && st.Plan.Online != nil {
		uri = st.Plan.Online.KeyURI
	}
	var signer hsm.Signer
	var dev *hsm.Device
	if uri != "" && !st.Publishing() {
		if signer, err = hsm.Open(ctx, uri, terminalAuth(e, *o.allowLastPINTry)); err != nil {
			return err
		}
		defer signer.Close()
		d := signer.Key().Device
		dev = &d
	}
	var res *ceremony.PublishResult
	if signer != nil {
		res, err = eng.PublishInto(*o.into, signer, dev)
	} else {
		res, err = eng.PublishInto(*o.into, nil, nil)
	}
	shown.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %d files into %s\n", len(res.Files), res.Dir)
	return nil
}
