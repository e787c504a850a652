package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/piv"
)

const maintainerEnrollHelp = `For maintainers (PEP 480). Uses the key in a YubiKey slot, or with
--generate makes one there first (PIN and touch policies as given; touch
"always" by default), fetches and verifies the slot's attestation, and signs
a proof-of-possession statement binding the project, the keyid, the date and
the nonce PyPI issued for this enrollment. Writes the enrollment file that
PyPI's admins check in a ceremony (docs/ENROLLMENT.md). Never overwrites a
file.

Example:
  ceremony maintainer enroll --project sampleproject --nonce 3f9a…c2 \
      --key 'piv:serial=12345678;slot=9c' --generate --out sampleproject.enrollment.json`

type maintainerEnrollOptions struct {
	project, nonce, key, keyType, pinPolicy, touchPolicy, out, roots *string
	generate, allowLastPINTry                                        *bool
}

func maintainerEnrollFlags(fs *flag.FlagSet) *maintainerEnrollOptions {
	return &maintainerEnrollOptions{
		project:         fs.String("project", "", "the project's name on PyPI"),
		nonce:           fs.String("nonce", "", "the nonce PyPI issued for this enrollment"),
		key:             fs.String("key", "", "the YubiKey slot, as a piv: URI"),
		generate:        fs.Bool("generate", false, "generate a new key in the slot first"),
		keyType:         fs.String("type", "ecdsa-p256", "with --generate: ed25519, ecdsa-p256 or ecdsa-p384"),
		pinPolicy:       fs.String("pin-policy", "once", "with --generate: never, once or always"),
		touchPolicy:     fs.String("touch-policy", "always", "with --generate: never, cached or always"),
		out:             fs.String("out", "", "the enrollment file to write (default PROJECT.enrollment.json)"),
		roots:           fs.String("roots", "", "attestation roots (PEM) instead of Yubico's: for tests and private CAs"),
		allowLastPINTry: fs.Bool("allow-last-pin-try", false, "let the login spend the YubiKey's last PIN try"),
	}
}

// runMaintainerEnroll is 'ceremony maintainer enroll'.
func runMaintainerEnroll(ctx context.Context, e *env, o *maintainerEnrollOptions, args []string) error {
	if len(args) > 0 || *o.project == "" || *o.nonce == "" || *o.key == "" {
		return usageErrorf("--project, --nonce and --key are required")
	}
	out := *o.out
	if out == "" {
		out = *o.project + ".enrollment.json"
	}
	if _, err := os.Stat(out); err == nil {
		return exitcode.Errorf(ceremony.ErrConflict, "%s exists; an enrollment is never overwritten: choose another --out", out)
	}
	_, opts, err := attestRoots(*o.roots)
	if err != nil {
		return err
	}
	auth := terminalAuth(e, *o.allowLastPINTry)
	if *o.generate {
		kt, err := hsm.ParseKeyType(*o.keyType)
		if err != nil {
			return usageErrorf("%w", err)
		}
		b, err := hsm.BackendFor(*o.key)
		if err != nil {
			return err
		}
		if _, err := b.Generate(ctx, *o.key, kt, hsm.GenerateOptions{PINPolicy: *o.pinPolicy, TouchPolicy: *o.touchPolicy}, auth); err != nil {
			return err
		}
	}
	att, err := piv.Attest(ctx, *o.key, opts)
	if err != nil {
		return err
	}
	s, tk, err := openSigner(ctx, *o.key, auth)
	if err != nil {
		return err
	}
	defer s.Close()
	enr, err := ceremony.NewEnrollment(tk, s, att, *o.project, *o.nonce, time.Now())
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(enr, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := ceremony.WriteFileAtomic(out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "enrolled key %s for %s (YubiKey #%d, firmware %s, slot %s, PIN %s, touch %s)\nwrote %s\n",
		tk.ID(), safe(*o.project), att.Serial, safe(att.Firmware), safe(att.Slot), safe(att.PINPolicy), safe(att.TouchPolicy), safe(out))
	return nil
}
