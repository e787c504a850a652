package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/piv"
)

const keysAttestHelp = `Fetches the attestation of the key in a YubiKey's PIV slot and verifies it:
the slot's attestation certificate must chain through the YubiKey's own
attestation certificate (slot F9) to Yubico's PIV attestation roots. It then
prints what the attestation proves: the YubiKey's serial and firmware, the
slot, the key type, the PIN and touch policies, and that the attested public
key is the one the slot holds. Such a key was generated on the YubiKey and
cannot be copied out of it. No PIN is needed.

URI names the key as 'piv:serial=N;slot=S' (see docs/URIS-piv.md); slot 9c
is the default. --roots replaces Yubico's roots with the certificates in a
PEM file: only for test cards and private CAs. With --json the output carries
both certificates in PEM, for the transcript.

Exit status 4 means the attestation does not verify; 5 that the YubiKey is
missing or its slot is empty; 3 that the URI or the roots file is malformed.

Example:
  ceremony keys attest 'piv:serial=12345678;slot=9c'
  ceremony keys attest --json 'piv:slot=9c' > attestation.json`

func init() {
	register(&command{
		name:    "keys attest",
		summary: "verify a YubiKey key's attestation and print what it proves",
		usage:   "[--json] [--roots PEM] URI",
		help:    keysAttestHelp,
		setup: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print JSON for scripts and transcripts (with both certificates)")
			rootsFile := fs.String("roots", "", "verify against the CA certificates in this PEM `file` instead of Yubico's roots")
			return func(ctx context.Context, e *env, args []string) error {
				// Flags may also follow the URI: 'keys attest URI --json'.
				if len(args) > 1 {
					if err := fs.Parse(args[1:]); err != nil {
						return usageErrorf("%v", err)
					}
					args = append(args[:1], fs.Args()...)
				}
				if len(args) != 1 {
					return usageErrorf("keys attest takes one key URI, such as 'piv:serial=12345678;slot=9c'")
				}
				var opts piv.AttestOptions
				if *rootsFile != "" {
					pem, err := os.ReadFile(*rootsFile)
					if err != nil {
						return withCode(exitInput, fmt.Errorf("read --roots: %w", err))
					}
					opts.Roots = x509.NewCertPool()
					if !opts.Roots.AppendCertsFromPEM(pem) {
						return withCode(exitInput, fmt.Errorf("--roots %s holds no PEM certificate: give the CA certificates in PEM form", *rootsFile))
					}
				}
				a, err := piv.Attest(ctx, args[0], opts)
				switch {
				case errors.Is(err, hsm.ErrBadURI):
					return withCode(exitInput, err)
				case errors.Is(err, piv.ErrAttestation):
					return withCode(exitVerify, err)
				case err != nil:
					return withCode(exitCode(err), err)
				}
				if *asJSON {
					return writeJSON(e.stdout, a)
				}
				matches := "yes: the slot holds the attested key"
				if !a.KeyMatches {
					matches = "unknown: this firmware cannot show the slot's key without a stored certificate"
				}
				roots := "Yubico's PIV attestation roots"
				if a.Roots != "yubico" {
					roots = "the roots in " + *rootsFile
				}
				fmt.Fprintf(e.stdout, "Attestation verified against %s.\n", roots)
				fmt.Fprintf(e.stdout, "  key          %s\n", a.URI)
				fmt.Fprintf(e.stdout, "  serial       %d\n", a.Serial)
				fmt.Fprintf(e.stdout, "  firmware     %s\n", a.Firmware)
				if a.FormFactor != "" {
					fmt.Fprintf(e.stdout, "  form factor  %s\n", a.FormFactor)
				}
				fmt.Fprintf(e.stdout, "  slot         %s\n", a.Slot)
				fmt.Fprintf(e.stdout, "  key type     %s\n", a.KeyType)
				fmt.Fprintf(e.stdout, "  PIN policy   %s\n", a.PINPolicy)
				fmt.Fprintf(e.stdout, "  touch policy %s\n", a.TouchPolicy)
				fmt.Fprintf(e.stdout, "  key matches  %s\n", matches)
				return nil
			}
		},
	})
}
