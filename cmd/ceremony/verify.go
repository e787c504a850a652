package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

const verifyHelp = `Verifies the published metadata in METADATA_DIR as a TUF client would, from
the root you trust, and more strictly: the root chain (N.root.json from the
trusted version on, each signed by a threshold of the previous root's keys
and of its own; expiry checked on the newest), timestamp.json, the snapshot
it names (version, length and hashes), targets, and every delegated role
reachable from targets, depth first as a client searches them (claimed, its
first bin, that bin's projects, the next bin, ...; hash bins):
each at the version snapshot lists, matching snapshot's length and hashes,
signed by a threshold of distinct keys its delegator names, not expired,
and listing only targets under its delegated paths. When snapshot lists
revocations.json, the revocation list is verified under the keys targets
delegates to claimed, and no key that any role trusts may be on it.

Any TUF 1.0 repository verifies, not only those this tool made. Beyond
what stock clients check, it refuses by name: duplicate JSON member names,
versions below 1, a spec version other than 1.x, times not in UTC
(metadata from before TUF 1.0), ECDSA signatures not in DER, a role name
delegated twice, a top-level role name delegated, and root versions
published beyond a gap in the chain. A key listed under a keyid that is
not its hash (a legacy keyid, TAP 12) is a warning: clients count keys,
not keyids.

Every check has a stable name (root.chain, timestamp.signature,
snapshot.meta.claimed.json.hash, delegation.claimed.threshold,
revocation.no-revoked-key-trusted, ...) and, when it fails, a reason
(expired, hash-mismatch, threshold-not-reached, duplicate-name, ...).
The text report lists the top-level roles and the revocation list, counts
the delegated targets roles, and lists the checks that failed; --json
prints every role and every check, and the warnings apart, as one JSON
object whose members come in this order: dir, at, checks (every check, in
the order run), ok, root_steps, roles (every role verified, in the order
reached), passed, failures, warnings, and strict under --strict. It is
written as the walk goes, the roles kept in a temporary file ($TMPDIR)
until the checks are written, so that memory stays small whatever the
number of roles.

Some failures are warnings here, as the severity table of the ceremony's
checks says (roles.SeverityOf): what is valid TUF that a ceremony would
not sign, or what one reference client accepts and another refuses. An
RSA-PSS signature whose salt is not as long as the digest counts (python-
tuf accepts it) with a warning naming its key (go-tuf refuses it), and
the warning says whether the threshold holds without it. --strict makes
every warning a failure.

Every file is read only if it is a regular file, and within a limit: the
length snapshot or timestamp lists for it, else --max-metadata-size
(docs/LIMITS.md).

With --transcripts DIR, the root and target files that link a previous
ceremony's transcript (x-ceremony-previous-head: its id and the head its
checkpoint covers) must each find it in DIR, intact and its checkpoint
signed under a root of the chain verified from yours ('ceremony
transcript verify --root' checks one transcript so).

Exit status 4 when a check fails (or, with --strict, warns), 3 when a file
is malformed, cannot be read, is not a regular file or is over its limit
(or METADATA_DIR has no timestamp.json), 2 for bad flags.

Example:
  ceremony verify metadata/ --root trusted-root.json
  ceremony verify metadata/ --root trusted-root.json --at 2027-01-15T00:00:00Z --json
  ceremony verify metadata/ --root trusted-root.json --transcripts transcripts/`

type verifyOptions struct {
	root, at, transcripts *string
	json, strict          *bool
}

func verifyFlags(fs *flag.FlagSet) *verifyOptions {
	return &verifyOptions{
		root:        fs.String("root", "", "the root metadata file you trust (required)"),
		at:          fs.String("at", "", "verify as of this time, RFC 3339 (default: now)"),
		json:        fs.Bool("json", false, "print every check as JSON for scripts"),
		strict:      fs.Bool("strict", false, "fail on any warning too"),
		transcripts: fs.String("transcripts", "", "a `folder` of ceremony transcripts: check every one the metadata links"),
	}
}

// runVerify is 'ceremony verify METADATA_DIR --root TRUSTED_ROOT'.
func runVerify(ctx context.Context, e *env, o *verifyOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("verify takes one metadata folder")
	}
	if *o.root == "" {
		return usageErrorf("--root is required: give the root metadata file you trust")
	}
	at, err := atFlag(*o.at)
	if err != nil {
		return err
	}
	lim := e.limit(boundedfile.Metadata)
	trusted, err := boundedfile.Read(*o.root, lim)
	if err != nil {
		return exitcode.Errorf(exitcode.ErrInput, "cannot read the trusted root: %w; give the root metadata file you trust with --root", err)
	}
	opts := repoverify.Options{At: at, Scope: roles.ScopeVerify, Strict: *o.strict, MaxMetadata: lim.Max,
		FailedOnly: !*o.json} // the text report counts what passed
	var stream *reportStream
	if *o.json {
		if stream, err = newReportStream(e.stdout, args[0], at); err != nil {
			return err
		}
		defer stream.Close()
		opts.OnRole, opts.OnCheck = stream.role, stream.check
	}
	shown := showProgress(e, *o.json)
	opts.Progress = stepProgress(shown, "verifying roles")
	rep, err := repoverify.VerifyWith(args[0], trusted, opts)
	shown.Finish()
	if rep != nil {
		var werr error
		if *o.json {
			werr = stream.finish(rep)
		} else {
			werr = printRepoReport(e.stdout, rep)
		}
		if werr != nil && err == nil {
			return werr
		}
	}
	if err != nil || *o.transcripts == "" {
		return err
	}
	return verifyLinks(e, args[0], *o.transcripts, trusted, *o.json)
}

// verifyLinks is 'ceremony verify --transcripts DIR' once the repository
// verified: every linked transcript is there and verifies.
func verifyLinks(e *env, dir, transcriptsDir string, trusted []byte, asJSON bool) error {
	links, err := ceremony.VerifyLinks(dir, transcriptsDir, trusted)
	if asJSON {
		if links == nil {
			links = []ceremony.LinkReport{}
		}
		return errors.Join(writeJSON(e.stdout, map[string]any{"transcript_links": links}), err)
	}
	if len(links) == 0 && err == nil {
		fmt.Fprintln(e.stdout, "No root or targets file links a previous ceremony's transcript.")
	}
	for _, l := range links {
		mark := "ok"
		if !l.OK {
			mark = "FAILED"
		}
		fmt.Fprintf(e.stdout, "  %-6s %-16s links %s at head %s…: %s %s\n", mark, safe(l.File), safe(l.Ceremony), l.Head[:16], safe(l.Transcript), safe(l.Status))
	}
	return err
}

// printRepoReport prints what was verified, one role a line, then every
// failed or warned check, each marked with its severity.
func printRepoReport(w io.Writer, rep *repoverify.Report) error {
	status := "verified"
	switch {
	case !rep.OK:
		status = "DOES NOT VERIFY"
	case len(rep.Warnings) > 0:
		status = fmt.Sprintf("verified, with %d warning(s)", len(rep.Warnings))
	}
	fmt.Fprintf(w, "repository %s as of %s: %s\n", safe(rep.Dir), rep.At.Format(roles.TimeFormat), status)
	for _, s := range rep.RootSteps {
		fmt.Fprintf(w, "  root v%-4d %-28s %d keys signed (threshold %d) under root v%d, %d (threshold %d) under its own\n",
			s.Version, safe(s.File), len(s.OldSigned), s.OldThreshold, s.Version-1, len(s.NewSigned), s.NewThreshold)
	}
	for _, r := range rep.Roles {
		fmt.Fprintf(w, "  %-16s v%-4d %-28s expires %s  %d of %d keys signed, threshold %d\n",
			safe(r.Name), r.Version, safe(r.File), r.Expires.Format(roles.TimeFormat), len(r.Signed), r.KeyIDs, r.Threshold)
	}
	if rep.Unlisted > 0 {
		fmt.Fprintf(w, "  and %d project roles they delegate to (--json lists each)\n", rep.Unlisted)
	}
	passed, failed := rep.Passed, 0
	var notes []string
	for _, c := range rep.Checks {
		switch {
		case c.Passed:
			continue
		case c.Severity == roles.Error:
			failed++
		}
		notes = append(notes, fmt.Sprintf("  %-7s %s (%s) %s: %s", strings.ToUpper(string(c.Severity)), safe(c.Name), safe(c.Reason), safe(c.File), safe(c.Message)))
	}
	strict := ""
	if rep.Strict && len(rep.Warnings) > 0 {
		strict = ", each a failure under --strict"
	}
	fmt.Fprintf(w, "%d checks passed, %d failed, %d warnings%s\n", passed, failed, len(rep.Warnings), strict)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}

// reportStream writes verify's --json report as the walk goes, so that a
// report on 600,000 project roles holds neither its roles nor its checks:
// the checks straight to stdout, the roles to a file of their own that
// finish copies after them (one JSON object cannot interleave two
// arrays), and what is known only at the end, at the end. The document
// is the Report as writeJSON would write it, byte for byte but for the
// order of its members: "checks" comes right after "at".
type reportStream struct {
	out     *bufio.Writer
	dir     string
	at      time.Time
	started bool
	nchecks int
	// spill holds the roles, each written as it will be copied;
	// spillName is its name when it could not be removed while open.
	spill     *os.File
	spillName string
	roles     *bufio.Writer
	nroles    int
	buf       bytes.Buffer // value's
	err       error        // the first value that could not be encoded
}

func newReportStream(stdout io.Writer, dir string, at time.Time) (*reportStream, error) {
	f, err := os.CreateTemp("", "ceremony-verify-roles-*.json")
	if err != nil {
		return nil, exitcode.Errorf(ceremony.ErrWrite, "--json writes the roles verified to a temporary file, which cannot be created: %w; set TMPDIR to a writable folder", err)
	}
	s := &reportStream{out: bufio.NewWriterSize(stdout, 1<<16), dir: dir, at: at.UTC(), spill: f, roles: bufio.NewWriterSize(f, 1<<16)}
	// Removed at once where a file open can be (Linux), the file goes
	// when the process does, however it ends.
	if os.Remove(f.Name()) != nil {
		s.spillName = f.Name()
	}
	return s, nil
}

// begin writes the members known before the walk, once a role or check
// comes: a walk that cannot start prints nothing.
func (s *reportStream) begin() {
	if s.started {
		return
	}
	s.started = true
	s.out.WriteString("{\n  \"dir\": ")
	s.out.Write(s.value(s.dir, 1))
	s.out.WriteString(",\n  \"at\": ")
	s.out.Write(s.value(s.at, 1))
	s.out.WriteString(",\n  \"checks\": [")
}

func (s *reportStream) check(c repoverify.Check) {
	s.begin()
	element(s.out, s.nchecks, s.value(c, 2))
	s.nchecks++
}

func (s *reportStream) role(r repoverify.Role) {
	s.begin()
	element(s.roles, s.nroles, s.value(r, 2))
	s.nroles++
}

// element writes the (i+1)th element of an array two levels deep.
func element(w *bufio.Writer, i int, v []byte) {
	if i > 0 {
		w.WriteByte(',')
	}
	w.WriteString("\n    ")
	w.Write(v)
}

// finish writes the rest of rep, after the checks, and flushes.
func (s *reportStream) finish(rep *repoverify.Report) error {
	s.begin()
	endArray(s.out, s.nchecks)
	member := func(name string, v any) {
		fmt.Fprintf(s.out, ",\n  %q: ", name)
		s.out.Write(s.value(v, 1))
	}
	member("ok", rep.OK)
	member("root_steps", rep.RootSteps)
	s.out.WriteString(",\n  \"roles\": [")
	err := s.roles.Flush()
	if err == nil {
		if _, err = s.spill.Seek(0, io.SeekStart); err == nil {
			_, err = io.Copy(s.out, s.spill)
		}
	}
	if err != nil {
		return exitcode.Errorf(ceremony.ErrWrite, "--json: the roles verified could not be kept in a temporary file: %w; set TMPDIR to a folder with room", err)
	}
	endArray(s.out, s.nroles)
	if rep.Unlisted != 0 {
		member("unlisted_roles", rep.Unlisted)
	}
	member("passed", rep.Passed)
	member("failures", rep.Failures)
	member("warnings", rep.Warnings)
	if rep.Strict {
		member("strict", rep.Strict)
	}
	s.out.WriteString("\n}\n")
	return errors.Join(s.err, s.out.Flush())
}

// endArray closes an array of n elements two levels deep, as writeJSON
// would.
func endArray(w *bufio.Writer, n int) {
	if n == 0 {
		w.WriteString("]")
	} else {
		w.WriteString("\n  ]")
	}
}

// value is v as writeJSON writes it depth levels deep, without a final
// newline; valid until the next call.
func (s *reportStream) value(v any, depth int) []byte {
	s.buf.Reset()
	enc := json.NewEncoder(&s.buf)
	enc.SetIndent(strings.Repeat("  ", depth), "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.err = cmp.Or(s.err, err)
		return []byte("null")
	}
	return untrusted.JSON(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
}

// Close lets the roles' file go.
func (s *reportStream) Close() error {
	err := s.spill.Close()
	if s.spillName != "" {
		err = errors.Join(err, os.Remove(s.spillName))
	}
	return err
}
