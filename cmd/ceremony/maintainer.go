package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/piv"
	"github.com/ceremony-tuf/ceremony/roles"
)

// attestRoots reads a --roots file for attestation checks; empty means
// Yubico's roots.
func attestRoots(path string) ([]byte, piv.AttestOptions, error) {
	if path == "" {
		return nil, piv.AttestOptions{}, nil
	}
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, piv.AttestOptions{}, withCode(exitInput, fmt.Errorf("read --roots: %w", err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, piv.AttestOptions{}, withCode(exitInput, fmt.Errorf("--roots %s holds no PEM certificate", path))
	}
	return pemBytes, piv.AttestOptions{Roots: pool}, nil
}

func enrollmentError(err error) error {
	if errors.Is(err, ceremony.ErrEnrollment) {
		return withCode(exitVerify, err)
	}
	return err
}

func init() {
	register(&command{
		name:    "maintainer enroll",
		summary: "enroll a YubiKey key for a project: attestation and proof of possession",
		usage:   "--project NAME --nonce HEX --key piv:URI [--generate] [--out FILE]",
		help: `For maintainers (PEP 480). Uses the key in a YubiKey slot, or with
--generate makes one there first (PIN and touch policies as given; touch
"always" by default), fetches and verifies the slot's attestation, and signs
a proof-of-possession statement binding the project, the keyid, the date and
the nonce PyPI issued for this enrollment. Writes the enrollment file that
PyPI's admins check in a ceremony (docs/ENROLLMENT.md). Never overwrites a
file.

Example:
  ceremony maintainer enroll --project sampleproject --nonce 3f9a…c2 \
      --key 'piv:serial=12345678;slot=9c' --generate --out sampleproject.enrollment.json`,
		setup: func(fs *flag.FlagSet) runFunc {
			project := fs.String("project", "", "the project's name on PyPI")
			nonce := fs.String("nonce", "", "the nonce PyPI issued for this enrollment")
			key := fs.String("key", "", "the YubiKey slot, as a piv: URI")
			generate := fs.Bool("generate", false, "generate a new key in the slot first")
			keyType := fs.String("type", "ecdsa-p256", "with --generate: ed25519, ecdsa-p256 or ecdsa-p384")
			pinPolicy := fs.String("pin-policy", "once", "with --generate: never, once or always")
			touchPolicy := fs.String("touch-policy", "always", "with --generate: never, cached or always")
			out := fs.String("out", "", "the enrollment file to write (default PROJECT.enrollment.json)")
			roots := fs.String("roots", "", "attestation roots (PEM) instead of Yubico's: for tests and private CAs")
			allowLast := fs.Bool("allow-last-pin-try", false, "let the login spend the YubiKey's last PIN try")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 || *project == "" || *nonce == "" || *key == "" {
					return usageErrorf("--project, --nonce and --key are required")
				}
				if *out == "" {
					*out = *project + ".enrollment.json"
				}
				if _, err := os.Stat(*out); err == nil {
					return withCode(exitConflict, fmt.Errorf("%s exists; an enrollment is never overwritten: choose another --out", *out))
				}
				_, opts, err := attestRoots(*roots)
				if err != nil {
					return err
				}
				auth := terminalAuth(e, *allowLast)
				if *generate {
					kt, err := hsm.ParseKeyType(*keyType)
					if err != nil {
						return usageErrorf("%v", err)
					}
					b, err := backendFor(*key)
					if err != nil {
						return err
					}
					if _, err := b.Generate(ctx, *key, kt, hsm.GenerateOptions{PINPolicy: *pinPolicy, TouchPolicy: *touchPolicy}, auth); err != nil {
						return keyErr(err)
					}
				}
				att, err := piv.Attest(ctx, *key, opts)
				if err != nil {
					return withCode(exitVerify, err)
				}
				s, err := hsm.Open(ctx, *key, auth)
				if err != nil {
					return keyErr(err)
				}
				defer s.Close()
				tk, err := roles.KeyFromPublic(s.Public())
				if err != nil {
					return err
				}
				enr, err := ceremony.NewEnrollment(tk, s, att, *project, *nonce, time.Now())
				if err != nil {
					return err
				}
				b, err := json.MarshalIndent(enr, "", "  ")
				if err != nil {
					return err
				}
				b = append(b, '\n')
				if err := ceremony.WriteFileAtomic(*out, b, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "enrolled key %s for %s (YubiKey #%d, firmware %s, slot %s, PIN %s, touch %s)\nwrote %s\n",
					tk.ID(), *project, att.Serial, att.Firmware, att.Slot, att.PINPolicy, att.TouchPolicy, *out)
				return nil
			}
		},
	})

	register(&command{
		name:    "maintainer verify-enrollment",
		summary: "check an enrollment: attestation, policies, proof of possession",
		usage:   "FILE --project NAME --nonce HEX [--roots PEM] [--pin-policy P] [--touch-policy P] [--max-age-days N] [--at TIME] [--json]",
		help: `For admins. Checks an enrollment file: the attestation chain (Yubico's
roots unless --roots), that the attested key is the enrolled key, the PIN
and touch policies against the weakest accepted, the proof of possession
(signed by the key, for this project and key, carrying the nonce PyPI
issued, not older than --max-age-days at --at), each check named when it
fails. Exit status 4 when the enrollment is refused.

Example:
  ceremony maintainer verify-enrollment sampleproject.enrollment.json \
      --project sampleproject --nonce 3f9a…c2 --touch-policy always --max-age-days 30`,
		setup: func(fs *flag.FlagSet) runFunc {
			project := fs.String("project", "", "the project the enrollment must be for")
			nonce := fs.String("nonce", "", "the nonce PyPI issued for it")
			roots := fs.String("roots", "", "attestation roots (PEM) instead of Yubico's")
			pinPolicy := fs.String("pin-policy", "once", "the weakest PIN policy accepted")
			touchPolicy := fs.String("touch-policy", "always", "the weakest touch policy accepted")
			maxAge := fs.Int("max-age-days", 30, "how old the proof of possession may be")
			at := fs.String("at", "", "judge freshness at this time (RFC 3339; default now)")
			asJSON := fs.Bool("json", false, "print JSON for scripts")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 || *project == "" || *nonce == "" {
					return usageErrorf("give one enrollment file, --project and --nonce")
				}
				when := time.Now().UTC()
				if *at != "" {
					t, err := time.Parse(time.RFC3339, *at)
					if err != nil {
						return usageErrorf("--at %q is not an RFC 3339 time", *at)
					}
					when = t.UTC()
				}
				rootPEM, _, err := attestRoots(*roots)
				if err != nil {
					return err
				}
				b, err := os.ReadFile(args[0])
				if err != nil {
					return withCode(exitInput, err)
				}
				enr, err := ceremony.ParseEnrollment(b)
				if err != nil {
					return withCode(exitInput, err)
				}
				pol := ceremony.EnrollmentPolicy{Roots: rootPEM, PINPolicy: *pinPolicy, TouchPolicy: *touchPolicy, MaxAgeDays: *maxAge}
				ev, err := ceremony.VerifyEnrollment(enr, *project, *nonce, pol, when, nil)
				if err != nil {
					return enrollmentError(err)
				}
				if *asJSON {
					return writeJSON(e.stdout, ev)
				}
				fmt.Fprintf(e.stdout, "Enrollment verified: key %s for %s\n  YubiKey #%d, firmware %s, slot %s\n  PIN policy %s, touch policy %s\n  proof dated %s\n  slot certificate sha256 %s\n  device certificate sha256 %s\n",
					ev.KeyID, ev.Project, ev.Serial, ev.Firmware, ev.Slot, ev.PINPolicy, ev.TouchPolicy, ev.ProofDate, ev.SlotCert, ev.DeviceCert)
				return nil
			}
		},
	})

	register(&command{
		name:    "maintainer sign",
		summary: "sign a project's delegated targets metadata with a YubiKey",
		usage:   "METADATA --key URI [--out FILE]",
		help: `For maintainers. Signs the project's delegated targets metadata (its
canonical signed bytes, with the key's scheme), checks the signature in
software, and adds it to the file, which is rewritten atomically (or written
to --out). A signature by the same key is replaced.

Example:
  ceremony maintainer sign 4.sampleproject.json --key 'piv:serial=12345678;slot=9c'`,
		setup: func(fs *flag.FlagSet) runFunc {
			key := fs.String("key", "", "the key URI (piv: or pkcs11:)")
			out := fs.String("out", "", "write here instead of over METADATA")
			allowLast := fs.Bool("allow-last-pin-try", false, "let the login spend the device's last PIN try")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 || *key == "" {
					return usageErrorf("give one metadata file and --key")
				}
				b, err := os.ReadFile(args[0])
				if err != nil {
					return withCode(exitInput, err)
				}
				m, err := roles.Parse[*roles.Targets](b)
				if err != nil {
					return withCode(exitInput, err)
				}
				s, err := hsm.Open(ctx, *key, terminalAuth(e, *allowLast))
				if err != nil {
					return keyErr(err)
				}
				defer s.Close()
				tk, err := roles.KeyFromPublic(s.Public())
				if err != nil {
					return err
				}
				sig, err := roles.Sign(s, tk, m.CanonicalSigned())
				if err != nil {
					return err
				}
				m.AddSignature(sig)
				pub, err := m.MarshalJSON()
				if err != nil {
					return err
				}
				dst := args[0]
				if *out != "" {
					dst = *out
				}
				if err := ceremony.WriteFileAtomic(dst, pub, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "signed %s v%d with key %s, verified; wrote %s\n", args[0], m.Signed.Version, tk.ID()[:8], dst)
				return nil
			}
		},
	})

	register(&command{
		name:    "maintainer request",
		summary: "a signing request for a project's metadata, for maintainers who sign apart",
		usage:   "METADATA --project NAME --delegator FILE --out REQUEST",
		help: `For projects that need several maintainers' signatures. Writes a signing
request for the project's delegated metadata, in the ceremony's request
format, under the delegation the delegating file (claimed, or the claimed bin
holding the project) gives it. Each maintainer runs
'ceremony sign REQUEST --key URI --out RESPONSE' on their own machine, and
'ceremony maintainer collect' adds the signatures.

Example:
  ceremony maintainer request 4.sampleproject.json --project sampleproject \
      --delegator 12.claimed.json --out sampleproject-v4.request.json`,
		setup: func(fs *flag.FlagSet) runFunc {
			project := fs.String("project", "", "the project's role name")
			delegator := fs.String("delegator", "", "the metadata that delegates to the project (claimed or its bin)")
			out := fs.String("out", "", "the request file to write")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 || *project == "" || *delegator == "" || *out == "" {
					return usageErrorf("give one metadata file, --project, --delegator and --out")
				}
				m, del, err := readProjectFiles(args[0], *delegator)
				if err != nil {
					return err
				}
				req, err := ceremony.ProjectRequest(m, *project, del)
				if err != nil {
					return withCode(exitInput, err)
				}
				b, err := req.Marshal()
				if err != nil {
					return err
				}
				if _, err := os.Stat(*out); err == nil {
					return withCode(exitConflict, fmt.Errorf("%s exists; choose another --out", *out))
				}
				if err := ceremony.WriteFileAtomic(*out, b, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "wrote %s: %s v%d, %d of %d maintainer keys must sign\n", *out, *project, req.Version, req.Thresholds[0].Threshold, len(req.Signers))
				return nil
			}
		},
	})

	register(&command{
		name:    "maintainer collect",
		summary: "add maintainers' response signatures to a project's metadata",
		usage:   "METADATA --project NAME --delegator FILE RESPONSE...",
		help: `Checks each response against the project's metadata and the maintainer
keys the delegating file gives it (the project, the version and the signed
bytes, a trusted key, a signature that verifies, no key twice) and adds the
signatures, rewriting METADATA atomically. Nothing is written if any
response is refused.

Example:
  ceremony maintainer collect 4.sampleproject.json --project sampleproject \
      --delegator 12.claimed.json alice.response.json bob.response.json`,
		setup: func(fs *flag.FlagSet) runFunc {
			project := fs.String("project", "", "the project's role name")
			delegator := fs.String("delegator", "", "the metadata that delegates to the project (claimed or its bin)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) < 2 || *project == "" || *delegator == "" {
					return usageErrorf("give the metadata file, --project, --delegator and at least one response")
				}
				m, del, err := readProjectFiles(args[0], *delegator)
				if err != nil {
					return err
				}
				for _, rp := range args[1:] {
					b, err := os.ReadFile(rp)
					if err != nil {
						return withCode(exitInput, err)
					}
					resp, err := ceremony.ParseResponse(b)
					if err != nil {
						return withCode(exitInput, fmt.Errorf("%s: %w", rp, err))
					}
					if err := ceremony.AddProjectResponse(m, *project, del, resp); err != nil {
						return reqErr(fmt.Errorf("%s: %w", rp, err))
					}
				}
				pub, err := m.MarshalJSON()
				if err != nil {
					return err
				}
				if err := ceremony.WriteFileAtomic(args[0], pub, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "added %d signatures to %s\n", len(args)-1, args[0])
				return nil
			}
		},
	})
}

// readProjectFiles reads a project's metadata and its delegator's file.
func readProjectFiles(metadata, delegator string) (*roles.Metadata[*roles.Targets], []byte, error) {
	b, err := os.ReadFile(metadata)
	if err != nil {
		return nil, nil, withCode(exitInput, err)
	}
	m, err := roles.Parse[*roles.Targets](b)
	if err != nil {
		return nil, nil, withCode(exitInput, err)
	}
	del, err := os.ReadFile(delegator)
	if err != nil {
		return nil, nil, withCode(exitInput, err)
	}
	return m, del, nil
}
