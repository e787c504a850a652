package main

import (
	"context"
	"flag"

	"github.com/ceremony-tuf/ceremony/hsm"
)

const signHelp = `In the ceremony room: signs every staged role the key may sign and has not
signed yet, after showing the review and asking you to type "yes". The key
must be one the plan names; any other is refused before anything is signed.
The PIN is asked once per device, without echo (or read from the key URI's
pin-source), and every signature is verified in software at once.

On an air-gapped machine, with no workspace: given a signing request file,
shows what it signs, asks for "yes", signs and writes the response file.
Without --key, in a terminal, a focused one-signer view lists the devices
plugged in and walks the signer through it; leaving it without signing
exits with status 7, as not typing "yes" does.

Exit status 8 means the ceremony is publishing or closed, or the key has
nothing left to sign.

Examples:
  ceremony sign --workspace ws-2026-q4 --key 'pkcs11:token=alice;object=root'
  ceremony sign claimed-v8.request.json --key 'piv:serial=12345678;slot=9c' --out claimed-v8.alice.response.json`

type signOptions struct {
	workspace, key, out *string
	allowLastPINTry     *bool
}

func signFlags(fs *flag.FlagSet) *signOptions {
	return &signOptions{
		workspace:       workspaceFlags(fs),
		key:             fs.String("key", "", "the key URI (pkcs11: or piv:)"),
		out:             fs.String("out", "", "with REQUEST: the response file to write"),
		allowLastPINTry: fs.Bool("allow-last-pin-try", false, "let the login spend the device's last PIN try"),
	}
}

// runSign is 'ceremony sign': in a workspace, or on a request file.
func runSign(ctx context.Context, e *env, o *signOptions, args []string) error {
	if *o.key == "" && len(args) == 1 && isTerminal(e.stdin) && isTerminal(e.stdout) {
		// A request and no key, in a terminal: the one-signer view, which
		// lists the devices and lets the signer choose.
		return runRequestTUI(ctx, e, args[0], *o.out, *o.allowLastPINTry)
	}
	if *o.key == "" {
		return usageErrorf("--key is required: name the device key with a pkcs11: or piv: URI")
	}
	auth := terminalAuth(e, *o.allowLastPINTry)
	if len(args) == 1 {
		if *o.out == "" {
			return usageErrorf("--out is required with a request file")
		}
		return signRequestFile(ctx, e, args[0], *o.key, *o.out, auth)
	}
	if len(args) > 1 {
		return usageErrorf("sign takes at most one request file")
	}
	eng, err := openWorkspace(*o.workspace)
	if err != nil {
		return err
	}
	defer eng.Release()
	signer, err := hsm.Open(ctx, *o.key, auth)
	if err != nil {
		return err
	}
	defer signer.Close()
	printReview(e.stderr, eng.State())
	if err := confirm(e, "sign these with "+signer.Key().Device.String()); err != nil {
		return err
	}
	return signWith(e, eng, signer)
}
