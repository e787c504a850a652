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
never over an existing version. With --online-key it first makes and signs
the online roles (snapshot, timestamp; for a bootstrap recently-claimed and
the unclaimed bins) so the result is complete for a stock TUF client.
A publish cut short is finished by running publish (or resume) again.

Exit status 4 means a threshold is not reached yet; 8 that the ceremony
has published already.

Example:
  ceremony publish --workspace ws-2026-q4 --online-key 'pkcs11:token=online;object=online'`

type publishOptions struct {
	workspace, onlineKey *string
	allowLastPINTry      *bool
}

func publishFlags(fs *flag.FlagSet) *publishOptions {
	return &publishOptions{
		workspace:       workspaceFlags(fs),
		onlineKey:       fs.String("online-key", "", "the online key's URI (default: the plan's online.key_uri)"),
		allowLastPINTry: fs.Bool("allow-last-pin-try", false, "let the login spend the device's last PIN try"),
	}
}

// runPublish is 'ceremony publish'.
func runPublish(ctx context.Context, e *env, o *publishOptions, args []string) error {
	eng, err := openWorkspace(*o.workspace)
	if err != nil {
		return err
	}
	defer eng.Release()
	uri := *o.onlineKey
	if p := eng.State().Plan; uri == "" && p.Online != nil {
		uri = p.Online.KeyURI
	}
	var signer hsm.Signer
	var dev *hsm.Device
	if uri != "" && !eng.State().Publishing() {
		if signer, err = hsm.Open(ctx, uri, terminalAuth(e, *o.allowLastPINTry)); err != nil {
			return err
		}
		defer signer.Close()
		d := signer.Key().Device
		dev = &d
	}
	var res *ceremony.PublishResult
	if signer != nil {
		res, err = eng.Publish(signer, dev)
	} else {
		res, err = eng.Publish(nil, nil)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %d files into %s\n", len(res.Files), res.Dir)
	return nil
}
