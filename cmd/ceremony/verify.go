package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

func init() {
	register(&command{
		name:    "verify",
		summary: "verify a whole published TUF repository from a trusted root",
		usage:   "METADATA_DIR --root TRUSTED_ROOT [--at TIME] [--json]",
		help: `Verifies the published metadata in METADATA_DIR as a TUF client would, from
the root you trust, and more strictly: the root chain (N.root.json from the
trusted version on, each signed by a threshold of the previous root's keys
and of its own; expiry checked on the newest), timestamp.json, the snapshot
it names (version, length and hashes), targets, and every delegated role
reachable from targets, breadth first (claimed, its projects, hash bins):
each at the version snapshot lists, matching snapshot's length and hashes,
signed by a threshold of distinct keys its delegator names, not expired,
and listing only targets under its delegated paths. When snapshot lists
revocations.json, the revocation list is verified under the keys targets
delegates to claimed, and no key that any role trusts may be on it.

Any TUF 1.0 repository verifies, not only those this tool made. Beyond
what stock clients check, it refuses by name: duplicate JSON member names,
versions below 1, a spec version other than 1.x, ECDSA signatures not in
DER, keys listed under a keyid that is not theirs, a role name delegated
twice, a top-level role name delegated, and root versions published beyond
a gap in the chain.

Every check has a stable name (root.chain, timestamp.signature,
snapshot.meta.claimed.json.hash, delegation.claimed.threshold,
revocation.no-revoked-key-trusted, ...) and, when it fails, a reason
(expired, hash-mismatch, threshold-not-reached, duplicate-name, ...);
--json prints them all.

Exit status 4 when a check fails, 3 when a file is malformed or cannot be
read (or METADATA_DIR has no timestamp.json), 2 for bad flags.

Example:
  ceremony verify metadata/ --root trusted-root.json
  ceremony verify metadata/ --root trusted-root.json --at 2027-01-15T00:00:00Z --json`,
		setup: func(fs *flag.FlagSet) runFunc {
			rootPath := fs.String("root", "", "the root metadata file you trust (required)")
			atFlag := fs.String("at", "", "verify as of this time, RFC 3339 (default: now)")
			asJSON := fs.Bool("json", false, "print every check as JSON for scripts")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("verify takes one metadata folder")
				}
				if *rootPath == "" {
					return usageErrorf("--root is required: give the root metadata file you trust")
				}
				at := time.Now().UTC()
				if *atFlag != "" {
					t, err := time.Parse(time.RFC3339, *atFlag)
					if err != nil {
						return usageErrorf("--at %q is not an RFC 3339 time such as 2027-01-15T00:00:00Z", *atFlag)
					}
					at = t.UTC()
				}
				trusted, err := os.ReadFile(*rootPath)
				if err != nil {
					return withCode(exitInput, fmt.Errorf("cannot read the trusted root: %w; give the root metadata file you trust with --root", err))
				}
				rep, err := repoverify.Verify(args[0], trusted, at)
				if rep != nil {
					var werr error
					if *asJSON {
						werr = writeJSON(e.stdout, rep)
					} else {
						werr = printRepoReport(e.stdout, rep)
					}
					if werr != nil && err == nil {
						return werr
					}
				}
				return verifyError(err)
			}
		},
	})
}

// verifyError gives a verification error its exit code: bad input (3)
// for a malformed or unreadable file, verification (4) for the rest.
func verifyError(err error) error {
	if err == nil {
		return nil
	}
	var ve *repoverify.Error
	if errors.As(err, &ve) {
		if errors.Is(ve, repoverify.ErrBadInput) {
			return withCode(exitInput, err)
		}
		return withCode(exitVerify, err)
	}
	var se *roles.SyntaxError
	var pe *os.PathError
	if errors.As(err, &se) || errors.As(err, &pe) {
		return withCode(exitInput, err)
	}
	return withCode(exitVerify, err)
}

// printRepoReport prints what was verified, one role a line, then every
// failed or warned check.
func printRepoReport(w io.Writer, rep *repoverify.Report) error {
	status := "verified"
	if !rep.OK {
		status = "DOES NOT VERIFY"
	}
	fmt.Fprintf(w, "repository %s as of %s: %s\n", rep.Dir, rep.At.Format(roles.TimeFormat), status)
	for _, s := range rep.RootSteps {
		fmt.Fprintf(w, "  root v%-4d %-28s %d keys signed (threshold %d) under root v%d, %d (threshold %d) under its own\n",
			s.Version, s.File, len(s.OldSigned), s.OldThreshold, s.Version-1, len(s.NewSigned), s.NewThreshold)
	}
	for _, r := range rep.Roles {
		fmt.Fprintf(w, "  %-16s v%-4d %-28s expires %s  %d of %d keys signed, threshold %d\n",
			r.Name, r.Version, r.File, r.Expires.Format(roles.TimeFormat), len(r.Signed), r.KeyIDs, r.Threshold)
	}
	passed := 0
	var notes []string
	for _, c := range rep.Checks {
		if c.Passed {
			passed++
			continue
		}
		notes = append(notes, fmt.Sprintf("  %-7s %s (%s) %s: %s", strings.ToUpper(string(c.Severity)), c.Name, c.Reason, c.File, c.Message))
	}
	fmt.Fprintf(w, "%d checks passed, %d failed\n", passed, len(rep.Failures))
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}
