package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
)

const maintainerVerifyEnrollmentHelp = `For admins. Checks an enrollment file: the attestation chain (Yubico's
roots unless --roots), that the attested key is the enrolled key, the PIN
and touch policies against the weakest accepted, the proof of possession
(signed by the key, for this project and key, carrying the nonce PyPI
issued, not older than --max-age-days at --at), each check named when it
fails. Exit status 4 when the enrollment is refused.

Example:
  ceremony maintainer verify-enrollment sampleproject.enrollment.json \
      --project sampleproject --nonce 3f9a…c2 --touch-policy always --max-age-days 30`

type maintainerVerifyEnrollmentOptions struct {
	project, nonce, roots, pinPolicy, touchPolicy, at *string
	maxAgeDays                                        *int
	json                                              *bool
}

func maintainerVerifyEnrollmentFlags(fs *flag.FlagSet) *maintainerVerifyEnrollmentOptions {
	return &maintainerVerifyEnrollmentOptions{
		project:     fs.String("project", "", "the project the enrollment must be for"),
		nonce:       fs.String("nonce", "", "the nonce PyPI issued for it"),
		roots:       fs.String("roots", "", "attestation roots (PEM) instead of Yubico's"),
		pinPolicy:   fs.String("pin-policy", "once", "the weakest PIN policy accepted"),
		touchPolicy: fs.String("touch-policy", "always", "the weakest touch policy accepted"),
		maxAgeDays:  fs.Int("max-age-days", 30, "how old the proof of possession may be"),
		at:          fs.String("at", "", "judge freshness at this time (RFC 3339; default now)"),
		json:        fs.Bool("json", false, "print JSON for scripts"),
	}
}

// runMaintainerVerifyEnrollment is 'ceremony maintainer verify-enrollment FILE'.
func runMaintainerVerifyEnrollment(ctx context.Context, e *env, o *maintainerVerifyEnrollmentOptions, args []string) error {
	if len(args) != 1 || *o.project == "" || *o.nonce == "" {
		return usageErrorf("give one enrollment file, --project and --nonce")
	}
	when, err := atFlag(*o.at)
	if err != nil {
		return err
	}
	rootPEM, _, err := attestRoots(*o.roots)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return exitcode.Mark(exitcode.ErrInput, err)
	}
	enr, err := ceremony.ParseEnrollment(b)
	if err != nil {
		// A malformed file is bad input, though the error says the
		// enrollment is refused.
		return exitcode.Mark(exitcode.ErrInput, err)
	}
	pol := ceremony.EnrollmentPolicy{Roots: rootPEM, PINPolicy: *o.pinPolicy, TouchPolicy: *o.touchPolicy, MaxAgeDays: *o.maxAgeDays}
	ev, err := ceremony.VerifyEnrollment(enr, *o.project, *o.nonce, pol, when, nil)
	if err != nil {
		return err
	}
	if *o.json {
		return writeJSON(e.stdout, ev)
	}
	fmt.Fprintf(e.stdout, "Enrollment verified: key %s for %s\n  YubiKey #%d, firmware %s, slot %s\n  PIN policy %s, touch policy %s\n  proof dated %s\n  slot certificate sha256 %s\n  device certificate sha256 %s\n",
		safe(ev.KeyID), safe(ev.Project), ev.Serial, safe(ev.Firmware), safe(ev.Slot), safe(ev.PINPolicy), safe(ev.TouchPolicy), safe(ev.ProofDate), safe(ev.SlotCert), safe(ev.DeviceCert))
	return nil
}
