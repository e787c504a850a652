package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"os"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
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

type keysAttestOptions struct {
	json  *bool
	roots *string
}

func keysAttestFlags(fs *flag.FlagSet) *keysAttestOptions {
	return &keysAttestOptions{
		json:  fs.Bool("json", false, "print JSON for scripts and transcripts (with both certificates)"),
		roots: fs.String("roots", "", "verify against the CA certificates in this PEM `file` instead of Yubico's roots"),
	}
}

// runKeysAttest is 'ceremony keys attest URI'.
func runKeysAttest(ctx context.Context, e *env, o *keysAttestOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("keys attest takes one key URI, such as 'piv:serial=12345678;slot=9c'")
	}
	_, opts, err := attestRoots(*o.roots)
	if err != nil {
		return err
	}
	a, err := piv.Attest(ctx, args[0], opts)
	if err != nil {
		return err
	}
	if *o.json {
		return writeJSON(e.stdout, a)
	}
	matches := "yes: the slot holds the attested key"
	if !a.KeyMatches {
		matches = "unknown: this firmware cannot show the slot's key without a stored certificate"
	}
	roots := "Yubico's PIV attestation roots"
	if a.Roots != "yubico" {
		roots = "the roots in " + safe(*o.roots)
	}
	fmt.Fprintf(e.stdout, "Attestation verified against %s.\n", roots)
	fmt.Fprintf(e.stdout, "  key          %s\n", safe(a.URI))
	fmt.Fprintf(e.stdout, "  serial       %d\n", a.Serial)
	fmt.Fprintf(e.stdout, "  firmware     %s\n", safe(a.Firmware))
	if a.FormFactor != "" {
		fmt.Fprintf(e.stdout, "  form factor  %s\n", safe(a.FormFactor))
	}
	fmt.Fprintf(e.stdout, "  slot         %s\n", safe(a.Slot))
	fmt.Fprintf(e.stdout, "  key type     %s\n", a.KeyType)
	fmt.Fprintf(e.stdout, "  PIN policy   %s\n", safe(a.PINPolicy))
	fmt.Fprintf(e.stdout, "  touch policy %s\n", safe(a.TouchPolicy))
	fmt.Fprintf(e.stdout, "  key matches  %s\n", matches)
	return nil
}

// attestRoots reads a --roots file of CA certificates for attestation
// checks; an empty path means Yubico's roots.
func attestRoots(path string) ([]byte, piv.AttestOptions, error) {
	if path == "" {
		return nil, piv.AttestOptions{}, nil
	}
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, piv.AttestOptions{}, exitcode.Errorf(exitcode.ErrInput, "read --roots: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, piv.AttestOptions{}, exitcode.Errorf(exitcode.ErrInput, "--roots %s holds no PEM certificate: give the CA certificates in PEM form", path)
	}
	return pemBytes, piv.AttestOptions{Roots: pool}, nil
}
