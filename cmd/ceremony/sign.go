package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/ceremony-tuf/ceremony/roles"
	"io"

	"github.com/ceremony-tuf/ceremony/ceremony"
)

const signHelp = `In the ceremony room: signs every staged role the key may sign and has not
signed yet. The key is found by its public half first, without a PIN: a
key that is no participant's, a key with nothing left to sign, or a
ceremony already publishing is refused before anything is shown or asked.
Then the review of the roles it signs (what each holds and changes, the
policy checks, and last the digests to compare with the ones read out),
"yes" typed, and only then the PIN, once per device, without echo (or from
the key URI's pin-source). Every signature is verified in software at
once. Once the ceremony is closed, it signs the ceremony's checkpoint
instead ('ceremony help close'), the same way: the key must be one the
checkpoint still needs; the review shows the events it covers, the roles
published and the head in hex and PGP words; then "yes", then the PIN.

On an air-gapped machine, with no workspace: given a signing request file,
shows what the bytes to sign say, read from them (and, with --root, from
the previous version the request carries, verified under the root you
trust), the requester's own words apart, and the digest last; refuses a
key the request does not list before any PIN; asks for "yes", then the
PIN; signs and writes the response file. A checkpoint request is signed
the same way. Without --key, in a terminal, a
focused one-signer view lists the devices plugged in and walks the signer
through it; leaving it without signing exits with status 7, as not typing
"yes" does.

Exit status 4 means the key is not one the plan or request names, or the
request's previous version does not verify under --root; 8 that the
ceremony is publishing or closed, or the key has nothing left to sign.

Examples:
  ceremony sign --workspace ws-2026-q4 --key 'pkcs11:token=alice;object=root'
  ceremony sign claimed-v8.request.json --key 'piv:serial=12345678;slot=9c' --root 7.root.json --out claimed-v8.alice.response.json`

type signOptions struct {
	workspace, key, out, root *string
	allowLastPINTry           *bool
}

func signFlags(fs *flag.FlagSet) *signOptions {
	return &signOptions{
		workspace:       workspaceFlags(fs),
		key:             fs.String("key", "", "the key URI (pkcs11: or piv:)"),
		out:             fs.String("out", "", "with REQUEST: the response file to write"),
		root:            fs.String("root", "", "with REQUEST: the repository's root `file` you trust, to verify the previous version the request carries"),
		allowLastPINTry: fs.Bool("allow-last-pin-try", false, "let the login spend the device's last PIN try"),
	}
}

// runSign is 'ceremony sign': in a workspace, or on a request file.
func runSign(ctx context.Context, e *env, o *signOptions, args []string) error {
	if *o.key == "" && len(args) == 1 {
		if b, err := reqReadFile(args[0], "request"); err == nil && ceremony.IsCheckpointFile(b) {
			return usageErrorf("%s is a checkpoint request: name the key to sign it with --key URI (see 'ceremony devices')", safe(args[0]))
		}
	}
	if *o.key == "" && len(args) == 1 && isTerminal(e.stdin) && isTerminal(e.stdout) {
		// A request and no key, in a terminal: the one-signer view, which
		// lists the devices and lets the signer choose.
		return runRequestTUI(ctx, e, args[0], *o.out, *o.root, *o.allowLastPINTry)
	}
	if *o.key == "" {
		return usageErrorf("--key is required: name the device key with a pkcs11: or piv: URI")
	}
	auth := terminalAuth(e, *o.allowLastPINTry)
	if len(args) == 1 {
		if *o.out == "" {
			return usageErrorf("--out is required with a request file")
		}
		return signRequestFile(ctx, e, args[0], *o.key, *o.out, *o.root, auth)
	}
	if len(args) > 1 {
		return usageErrorf("sign takes at most one request file")
	}
	if *o.root != "" {
		return usageErrorf("--root goes with a request file; in the room the workspace holds the trusted root")
	}
	shown := showProgress(e, false)
	defer shown.Finish()
	eng, err := openWorkspaceShowing(*o.workspace, shown)
	shown.Finish() // before the review
	if err != nil {
		return err
	}
	defer eng.Release()
	review, sign := signingFor(eng.State())
	tk, who, err := review(ctx, e.stderr, eng, *o.key)
	if err != nil {
		return err
	}
	if err := confirm(e, "sign these with "+who); err != nil {
		return err
	}
	signer, err := openLookedUp(ctx, *o.key, tk, auth)
	if err != nil {
		return err
	}
	defer signer.Close()
	return sign(e, eng, signer)
}

// reviewToSign refuses first: the key the URI names, found without a PIN,
// must have something to sign in this ceremony as it stands. Then it shows
// the review of what it would sign, and says who signs, for the prompt.
// 'ceremony sign' and the TUI's plain mode both sign this way.
func reviewToSign(ctx context.Context, w io.Writer, eng *ceremony.Engine, uri string) (*roles.Key, string, error) {
	key, tk, err := lookupKey(ctx, uri)
	if err != nil {
		return nil, "", err
	}
	rs, err := eng.State().ToSign(tk.ID())
	if err != nil {
		return nil, "", err
	}
	who := fmt.Sprintf("key %s on %s", tk.ID()[:16], safe(key.Device.String()))
	printSigningReview(w, rs, who)
	return tk, who, nil
}

// printSigningReview shows the roles a key is about to sign: each role's
// review and checks, then, last, the digest of each, computed here from
// the bytes, right above the "yes" prompt.
func printSigningReview(w io.Writer, rs []*ceremony.RoleState, who string) {
	fmt.Fprintf(w, "Signing with %s: %d role(s) to sign.\n", who, len(rs))
	for _, r := range rs {
		printRole(w, r)
	}
	fmt.Fprintln(w)
	for _, r := range rs {
		printDigest(w, fmt.Sprintf("%s v%d", safe(r.Role), r.Version), r.Canonical)
	}
}
