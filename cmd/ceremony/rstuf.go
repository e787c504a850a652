package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/rstuf"
)

const rstufPayloadHelpTail = `
The payload holds root with the signatures the ceremony has so far: at
least one. When a threshold is not reached yet, the payload is written all
the same and the command says who is missing; RSTUF keeps the root pending
until they sign it ('ceremony rstuf sign', or 'rstuf admin metadata sign').
The file is written atomically and never over an existing one.

The --json form is {"path", "kind", "root_version", "complete",
"thresholds": [{"under", "threshold", "reached", "signed", "missing"}],
"payload_sha256"}.

Exit status 3 means there is no ceremony in the workspace; 4 that nobody
has signed root yet; 6 that the output file exists; 8 that the ceremony's
plan is not layout: rstuf, or is of the other kind (a bootstrap or a
rotation).
`

const rstufBootstrapHelp = `Writes the body of RSTUF's POST /api/v1/bootstrap/ from an RSTUF
bootstrap ceremony (a plan with layout: rstuf and no start:): the online
roles' settings the plan gives (expiration policies, bins or custom
delegations), root v1 as signed in the ceremony, and the timeout. It is
the file 'rstuf admin ceremony' writes, in the same shape: send it with
'rstuf admin send bootstrap FILE' or POST it to the API. docs/RSTUF.md
walks the whole bootstrap.
` + rstufPayloadHelpTail + `
Example:
  ceremony rstuf bootstrap-payload --workspace ws-rstuf --out /media/usb/bootstrap-payload.json`

const rstufUpdateHelp = `Writes the body of RSTUF's POST /api/v1/metadata/ from an RSTUF root
rotation (a plan with layout: rstuf and start:): {"metadata": {"root":
root N+1}}, as 'rstuf admin metadata update' writes it. A client takes
root N+1 once it reaches both root N's threshold and its own: the command
says where each stands. Send it with 'rstuf admin send update FILE' or
POST it to the API. docs/RSTUF.md walks a rotation.
` + rstufPayloadHelpTail + `
Example:
  ceremony rstuf update-payload --workspace ws-rotate --out /media/usb/update-payload.json --json`

type rstufPayloadOptions struct {
	workspace, out *string
	json           *bool
}

func rstufPayloadFlags(fs *flag.FlagSet) *rstufPayloadOptions {
	return &rstufPayloadOptions{
		workspace: workspaceFlags(fs),
		out:       fs.String("out", "", "the payload `file` to write (it must not exist)"),
		json:      fs.Bool("json", false, "print what was written as JSON"),
	}
}

// rstufPayloadJSON is the --json form of the payload commands.
type rstufPayloadJSON struct {
	Path       string               `json:"path"`
	Kind       string               `json:"kind"`
	Version    int64                `json:"root_version"`
	Complete   bool                 `json:"complete"`
	Thresholds []rstufThresholdJSON `json:"thresholds"`
	Digest     string               `json:"payload_sha256"`
}

type rstufThresholdJSON struct {
	Under     string   `json:"under"`
	Threshold int64    `json:"threshold"`
	Reached   bool     `json:"reached"`
	Signed    []string `json:"signed"`
	Missing   []string `json:"missing"`
}

func runRSTUFBootstrap(ctx context.Context, e *env, o *rstufPayloadOptions, args []string) error {
	return writeRSTUFPayload(e, o, args, "bootstrap")
}

func runRSTUFUpdate(ctx context.Context, e *env, o *rstufPayloadOptions, args []string) error {
	return writeRSTUFPayload(e, o, args, "update")
}

// writeRSTUFPayload is 'rstuf bootstrap-payload' (kind "bootstrap") and
// 'rstuf update-payload' ("update").
func writeRSTUFPayload(e *env, o *rstufPayloadOptions, args []string, kind string) error {
	if len(args) > 0 {
		return usageErrorf("rstuf %s-payload takes no arguments; name the file with --out", kind)
	}
	if *o.out == "" {
		return usageErrorf("name the payload file to write with --out, e.g. --out %s-payload.json", kind)
	}
	eng, err := viewWorkspace(*o.workspace)
	if err != nil {
		return err
	}
	p, err := eng.State().RSTUFPayload()
	if err != nil {
		return err
	}
	switch {
	case kind == "bootstrap" && !p.Bootstrap:
		return fmt.Errorf("%w: this ceremony rotates root (its plan has start:): write its payload with 'ceremony rstuf update-payload'", ceremony.ErrState)
	case kind == "update" && p.Bootstrap:
		return fmt.Errorf("%w: this ceremony bootstraps (its plan has no start:): write its payload with 'ceremony rstuf bootstrap-payload'", ceremony.ErrState)
	}
	if err := reqRefuseExisting(*o.out); err != nil {
		return err
	}
	if err := ceremony.WriteFileAtomic(*o.out, p.Body, 0o644); err != nil {
		return exitcode.Mark(exitcode.ErrInput, err)
	}
	sum := sha256.Sum256(p.Body)
	rep := rstufPayloadJSON{Path: *o.out, Kind: kind, Version: p.Version, Complete: p.Complete, Thresholds: []rstufThresholdJSON{}, Digest: hex.EncodeToString(sum[:])}
	for _, pr := range p.Progress {
		rep.Thresholds = append(rep.Thresholds, rstufThresholdJSON{Under: pr.Under, Threshold: pr.Threshold, Reached: pr.Reached, Signed: nonNil(pr.Signed), Missing: nonNil(pr.Missing)})
	}
	if *o.json {
		return writeJSON(e.stdout, rep)
	}
	fmt.Fprintf(e.stdout, "Wrote %s: RSTUF %s payload with root v%d (sha256 %s).\n", safe(*o.out), kind, p.Version, rep.Digest)
	for _, t := range rep.Thresholds {
		state := "reached"
		if !t.Reached {
			state = "NOT reached; missing " + strings.Join(safeAll(t.Missing), ", ")
		}
		fmt.Fprintf(e.stdout, "  under %s: %d signed of %d needed (%s): %s\n", safe(t.Under), len(t.Signed), t.Threshold, strings.Join(safeAll(t.Signed), ", "), state)
	}
	send := map[string]string{"bootstrap": "rstuf admin send bootstrap", "update": "rstuf admin send update"}[kind]
	if p.Complete {
		fmt.Fprintf(e.stdout, "Every threshold holds. Send it: %s %s\n", send, safe(*o.out))
	} else {
		fmt.Fprintf(e.stdout, "RSTUF will hold root v%d pending and wait for more signatures: send it (%s %s), then each missing signer runs 'ceremony rstuf sign' on the body of GET /api/v1/metadata/sign.\n", p.Version, send, safe(*o.out))
	}
	return nil
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

const rstufSignHelp = `Signs a root that RSTUF holds pending, on an air-gapped machine, with no
workspace. PENDING is the body of RSTUF's GET /api/v1/metadata/sign saved
to a file ({"data": {"metadata": {"root": …, "trusted_root": …}}}). The
review is computed from the pending bytes against the trusted root it
carries: what changes (keys, thresholds, expiry), who has signed and who
must still sign under the trusted root and under the pending root's own
keys; with --root, the trusted root is first checked to be the root you
pin. A pending root with members RSTUF's API drops (a signature over them
would not verify once stored), with a key under another key's keyid, or
that is not the trusted root's next version is refused. The key is found
among the root keys by its public half, before any PIN; then the digest,
"yes" typed, the PIN; the signature is verified at once, and the body for
POST /api/v1/metadata/sign/ ({"signature": {"keyid", "sig"}, "role":
"root"}) is written atomically, never over an existing file. Send it with
'rstuf admin send sign FILE' or POST it to the API.

Only root is signed here; a pending delegated role (trusted_targets) is
refused, named.

Exit status 3 means PENDING is malformed or holds what RSTUF drops; 4 that
the key may not sign this root, or the trusted root is not the one --root
pins; 5 a device or PIN problem; 6 that the output exists or the key has
signed already; 7 that "yes" was not typed.

Example:
  ceremony rstuf sign pending.json --key 'piv:serial=12345678;slot=9c' --root 3.root.json --out alice-signature.json`

type rstufSignOptions struct {
	key, out, root  *string
	allowLastPINTry *bool
}

func rstufSignFlags(fs *flag.FlagSet) *rstufSignOptions {
	return &rstufSignOptions{
		key:             fs.String("key", "", "the key URI (pkcs11: or piv:)"),
		out:             fs.String("out", "", "the signature `file` to write, the body of POST /api/v1/metadata/sign/"),
		root:            fs.String("root", "", "the root `file` you trust: the pending body's trusted root must be it"),
		allowLastPINTry: fs.Bool("allow-last-pin-try", false, "let the login spend the device's last PIN try"),
	}
}

// runRSTUFSign is 'ceremony rstuf sign PENDING --key URI --out FILE'.
func runRSTUFSign(ctx context.Context, e *env, o *rstufSignOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("rstuf sign takes one file: the body of GET /api/v1/metadata/sign, saved")
	}
	if *o.key == "" {
		return usageErrorf("name the key to sign with with --key URI (see 'ceremony devices')")
	}
	if *o.out == "" {
		return usageErrorf("name the signature file to write with --out, e.g. --out alice-signature.json")
	}
	b, err := reqReadFile(args[0], "pending metadata")
	if err != nil {
		return err
	}
	pr, err := ceremony.ReadPendingRoot(b)
	if err != nil {
		return rstufInput(args[0], err)
	}
	if err := reqRefuseExisting(*o.out); err != nil {
		return err
	}
	note := "The trusted root the pending body carries is NOT checked against a root you pin: give --root FILE to check it."
	if pr.Trusted == nil {
		note = "RSTUF's bootstrap waits for this root: there is no trusted root yet."
	}
	if *o.root != "" {
		pinned, err := boundedfile.Read(*o.root, boundedfile.Metadata)
		if err != nil {
			return exitcode.Mark(exitcode.ErrInput, err)
		}
		v, err := pr.VerifyTrusted(pinned)
		if err != nil {
			return fmt.Errorf("%s: %w; nothing was signed", safe(*o.root), err)
		}
		note = fmt.Sprintf("The trusted root the pending body carries is your pinned root v%d.", v)
	}
	key, tk, err := lookupKey(ctx, *o.key)
	if err != nil {
		return err
	}
	pub, err := tk.PublicKey()
	if err != nil {
		return err
	}
	id, _, err := pr.Key(pub)
	if err != nil {
		return err
	}
	printPendingReview(e.stdout, args[0], pr, note, fmt.Sprintf("key %s on %s", id[:16], safe(key.Device.String())))
	if err := confirmYes(e, "Compare the digest with the one the other signers read.", fmt.Sprintf("root v%d", pr.Pending.Signed.Version)); err != nil {
		return err
	}
	signer, err := openLookedUp(ctx, *o.key, tk, terminalAuth(e, *o.allowLastPINTry))
	if err != nil {
		return err
	}
	defer signer.Close()
	sig, err := pr.Sign(signer)
	if err != nil {
		return err
	}
	out, err := rstuf.Marshal(sig)
	if err != nil {
		return err
	}
	if err := reqRefuseExisting(*o.out); err != nil {
		return err
	}
	if err := ceremony.WriteFileAtomic(*o.out, out, 0o644); err != nil {
		return exitcode.Mark(exitcode.ErrInput, err)
	}
	dev := signer.Key().Device
	fmt.Fprintf(e.stdout, "Signed root v%d with key %s on %s.\nWrote %s: send it with 'rstuf admin send sign %s', or POST it to /api/v1/metadata/sign/.\n",
		pr.Pending.Signed.Version, id[:16], safe(dev.String()), safe(*o.out), safe(*o.out))
	return nil
}

// rstufInput marks an RSTUF payload refusal as bad input, naming the file.
func rstufInput(path string, err error) error {
	if errors.Is(err, rstuf.ErrInvalid) {
		return exitcode.Errorf(exitcode.ErrInput, "%s: %w; nothing was signed", safe(path), err)
	}
	return fmt.Errorf("%s: %w; nothing was signed", safe(path), err)
}

// printPendingReview shows a pending root as a signer must read it: what
// the bytes say against the trusted root, where each threshold stands,
// then the digest, last, right above the "yes" prompt.
func printPendingReview(w io.Writer, path string, pr *ceremony.PendingRoot, note, who string) {
	rv := pr.Review
	fmt.Fprintf(w, "Pending root from RSTUF, %s\n  to be signed with %s\n", safe(path), who)
	fmt.Fprintf(w, "\nWhat the bytes to sign say, read from them by this tool:\n")
	printSummary(w, "  ", append([]string{rv.Head}, rv.Holds...))
	fmt.Fprintf(w, "\n%s\n", note)
	printSummary(w, "  ", rv.Changes)
	fmt.Fprintf(w, "\nSignatures so far:\n")
	for _, t := range pr.Thresholds {
		fmt.Fprintf(w, "  under %s: %d of %d needed; signed: %s; still to sign: %s\n", safe(t.Under), len(t.Signed), t.Threshold,
			listOrNone(safeAll(t.Signed)), listOrNone(safeAll(t.Missing)))
	}
	fmt.Fprintln(w)
	printDigest(w, fmt.Sprintf("root v%d", pr.Pending.Signed.Version), pr.Signed)
}
