package ceremony

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// RepoReport is what VerifyRepository found: every role it verified and
// every check it ran, passed or not, each under a stable name.
type RepoReport struct {
	Dir string    `json:"dir"`
	At  time.Time `json:"at"`
	OK  bool      `json:"ok"`
	// RootSteps are the root versions walked from the trusted root, each
	// checked under the previous root's keys and under its own.
	RootSteps []RepoRootStep `json:"root_steps"`
	// Roles are the roles verified, in the order they were reached.
	Roles []RepoRole `json:"roles"`
	// Checks are every check run, in order; Failures those that failed
	// with severity error.
	Checks   []RepoCheck `json:"checks"`
	Failures []RepoCheck `json:"failures"`
}

// RepoRootStep is one step of the root chain: root Version checked under
// root Version-1's keys (Old…) and under its own (New…).
type RepoRootStep struct {
	Version      int64    `json:"version"`
	File         string   `json:"file"`
	OldSigned    []string `json:"old_signed"`
	OldThreshold int64    `json:"old_threshold"`
	NewSigned    []string `json:"new_signed"`
	NewThreshold int64    `json:"new_threshold"`
}

// RepoRole is one verified role: the file it was read from, its version
// and expiry, who delegates it, and which keys signed it of how many
// needed.
type RepoRole struct {
	Role      string    `json:"role"`
	File      string    `json:"file"`
	Version   int64     `json:"version"`
	Expires   time.Time `json:"expires"`
	Delegator string    `json:"delegator,omitempty"`
	Signed    []string  `json:"signed"`
	Threshold int64     `json:"threshold"`
	KeyIDs    int       `json:"keyids"`
}

// RepoCheck is the outcome of one named check. Check names where
// ("snapshot.meta.claimed.json.hash", "delegation.claimed.threshold");
// Reason, set when it failed, names what class of failure it was
// ("hash-mismatch", "threshold-not-reached", "duplicate-name"). Both are
// stable across releases.
type RepoCheck struct {
	Check    string         `json:"check"`
	Role     string         `json:"role,omitempty"`
	File     string         `json:"file,omitempty"`
	Passed   bool           `json:"passed"`
	Severity roles.Severity `json:"severity"`
	Reason   string         `json:"reason,omitempty"`
	Message  string         `json:"message"`
}

// Reasons a RepoCheck fails for.
const (
	ReasonMissingFile       = "missing-file"
	ReasonUnreadable        = "unreadable"
	ReasonMalformed         = "malformed"
	ReasonDuplicateName     = "duplicate-name"
	ReasonVersionBelowOne   = "version-below-1"
	ReasonSpecVersion       = "spec-version-unsupported"
	ReasonRoleNameReused    = "role-name-reused"
	ReasonTopLevelDelegated = "top-level-role-delegated"
	ReasonKeyIDMismatch     = "keyid-mismatch"
	ReasonThreshold         = "threshold-not-reached"
	ReasonECDSANotDER       = "ecdsa-not-der"
	ReasonExpired           = "expired"
	ReasonVersionMismatch   = "version-mismatch"
	ReasonLengthMismatch    = "length-mismatch"
	ReasonHashMismatch      = "hash-mismatch"
	ReasonUnsupportedHash   = "unsupported-hash"
	ReasonChainRollback     = "chain-rollback"
	ReasonChainGap          = "chain-gap"
	ReasonNotListed         = "not-listed"
	ReasonNotDelegated      = "not-delegated"
	ReasonOutsidePaths      = "outside-delegated-paths"
	ReasonRevokedKeyTrusted = "revoked-key-trusted"
	ReasonNotNewest         = "not-newest-root"
	ReasonUnreached         = "unreached"
)

// rvAdvice says what to do about each reason, for error messages.
var rvAdvice = map[string]string{
	ReasonMissingFile:       "publish the file, or point at the folder that holds the repository's metadata",
	ReasonUnreadable:        "check the file's permissions and the disk",
	ReasonMalformed:         "the file is not valid TUF metadata: regenerate it with a conforming tool",
	ReasonDuplicateName:     "a JSON object names a member twice, so two readers may see two documents under one signature: regenerate the file",
	ReasonVersionBelowOne:   "TUF versions start at 1: regenerate the file",
	ReasonSpecVersion:       "only TUF 1.x metadata is understood: use a tool that writes spec_version 1.x",
	ReasonRoleNameReused:    "give every delegated role a name of its own",
	ReasonTopLevelDelegated: "root, targets, snapshot and timestamp cannot be delegated: rename the delegated role",
	ReasonKeyIDMismatch:     "list each key under the keyid the TUF spec computes (the hex SHA-256 of the key's canonical JSON) and re-sign",
	ReasonThreshold:         "collect valid signatures from enough of the delegated keys, or check that the delegator names the right keys",
	ReasonECDSANotDER:       "re-sign with DER-encoded ECDSA signatures, as python-tuf and go-tuf expect",
	ReasonExpired:           "re-sign it with a later expiry, or pass --at to verify as of an earlier time",
	ReasonVersionMismatch:   "publish the version the listing names, or a listing that names the version published",
	ReasonLengthMismatch:    "the file changed after it was listed: publish the listed file, or re-sign the listing",
	ReasonHashMismatch:      "the file changed after it was listed: publish the listed file, or re-sign the listing",
	ReasonUnsupportedHash:   "list a sha256 or sha512 hash",
	ReasonChainRollback:     "publish root versions 2, 3, … each signed by a threshold of the previous root's keys and its own",
	ReasonChainGap:          "publish every root version in between, each as N.root.json",
	ReasonNotListed:         "re-sign snapshot so that it lists every delegated role's metadata",
	ReasonNotDelegated:      "the role that should delegate it does not: check the repository's delegations",
	ReasonOutsidePaths:      "list targets only under the paths the role is delegated, or widen the delegation",
	ReasonRevokedKeyTrusted: "remove the revoked key from that role's keys and re-sign it",
}

// RepoVerifyError is the first failed check of a repository. It wraps the
// error that caused it, when there was one (a *roles.SyntaxError for a
// malformed file, an *fs.PathError for one that cannot be read).
type RepoVerifyError struct {
	RepoCheck
	Err error
}

func (e *RepoVerifyError) Error() string {
	where := e.File
	if where == "" {
		where = "repository"
	}
	msg := fmt.Sprintf("%s: role %s: check %s failed (%s): %s", where, e.Role, e.Check, e.Reason, e.Message)
	if a := rvAdvice[e.Reason]; a != "" {
		msg += "; " + a
	}
	return msg + "."
}

func (e *RepoVerifyError) Unwrap() error { return e.Err }

// ErrRepoVerify is wrapped by every error VerifyRepository returns for a
// repository that does not verify (as opposed to one it cannot read).
var ErrRepoVerify = errors.New("repository does not verify")

// Is makes errors.Is(err, ErrRepoVerify) hold unless the failure is one of
// input (see BadInput).
func (e *RepoVerifyError) Is(target error) bool {
	return target == ErrRepoVerify && !e.BadInput()
}

// BadInput reports whether the failure is one of input rather than of
// verification: a malformed file (the error wraps a *roles.SyntaxError),
// one that cannot be read, or a folder with no timestamp.json, which is
// not a TUF repository at all. A file that is listed but missing is a
// verification failure: the repository is incomplete.
func (e *RepoVerifyError) BadInput() bool {
	var se *roles.SyntaxError
	if errors.As(e.Err, &se) {
		return true
	}
	if errors.Is(e.Err, fs.ErrNotExist) {
		return e.File == "timestamp.json"
	}
	var pe *fs.PathError
	return errors.As(e.Err, &pe)
}

// VerifyRepository verifies the published repository in dir from the
// trusted root, as of at, the way a TUF client would and more strictly:
// the root chain N.root.json from the trusted version on (expiry checked
// on the newest root only), timestamp.json, the snapshot it names (its
// length and hashes), targets, and every delegated targets role reachable
// from targets, breadth first (listed roles and succinct hash bins), each
// at the version snapshot lists, checked against snapshot's length and
// hashes, signed by a threshold of distinct keys its delegator names, not
// expired, and listing only targets under its delegated paths. When
// snapshot lists revocations.json (this project's extension), the list is
// verified under targets' delegation to claimed, and no key any verified
// role trusts may be on it.
//
// Beyond what clients check, it refuses by name: duplicate JSON member
// names, versions below 1, a spec version other than 1.x, ECDSA signatures
// not in DER, keys listed under a keyid that is not theirs, a role name
// delegated twice, a top-level role name delegated, and root versions
// published beyond a gap in the chain.
//
// File names follow the TUF spec: with consistent snapshots
// VERSION.NAME.json, else NAME.json, where NAME is the role name escaped
// as python-tuf escapes it (urllib's quote with no safe characters); the
// forms go-tuf (url.PathEscape) and a web server that decodes %2F (a
// subfolder) would fetch are tried too.
//
// The report lists every check; the error, when verification fails, is a
// *RepoVerifyError naming the first failure. An unreadable trusted root
// is an error with no report.
func VerifyRepository(dir string, trustedRoot []byte, at time.Time) (*RepoReport, error) {
	w := &rvWalker{
		dir:     dir,
		at:      at.UTC(),
		rep:     &RepoReport{Dir: dir, At: at.UTC(), RootSteps: []RepoRootStep{}, Roles: []RepoRole{}, Checks: []RepoCheck{}, Failures: []RepoCheck{}},
		names:   map[string]string{},
		reached: map[string]bool{},
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if err == nil {
			err = &fs.PathError{Op: "open", Path: dir, Err: errors.New("not a directory")}
		}
		return nil, fmt.Errorf("metadata folder %s cannot be read: %w; give the folder that holds timestamp.json and the N.root.json files", dir, err)
	}
	root, err := roles.Parse[*roles.Root](trustedRoot)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w; give the root metadata file you trust, as published (N.root.json)", err)
	}
	w.verify(root)
	w.rep.OK = w.first == nil
	if w.first != nil {
		return w.rep, w.first
	}
	return w.rep, nil
}

// rvWalker carries a repository verification's state.
type rvWalker struct {
	dir   string
	at    time.Time
	rep   *RepoReport
	first *RepoVerifyError

	root *roles.Metadata[*roles.Root]
	snap *roles.Snapshot
	// trusted lists every keys map a verified role trusts, with the role
	// that holds it, for the revocation cross-check.
	trusted []rvKeySet
	// names maps every role name reached to the role that delegated it.
	names map[string]string
	// reached is the snapshot meta entries verified.
	reached map[string]bool
	// targetsDel is targets' delegations, under which the revocation
	// list is verified.
	targetsDel *roles.Delegations
}

type rvKeySet struct {
	role string
	keys map[string]*roles.Key
}

// rvQueued is a delegated role waiting to be verified.
type rvQueued struct {
	name      string
	delegator string
	del       roles.Delegation
	// paths are the constraints every delegation on the way down puts on
	// the targets the role may list.
	paths []rvPathRule
}

// rvPathRule is one delegation's constraint on target paths: a listed
// role's patterns and hash prefixes, or a succinct bin.
type rvPathRule struct {
	role     *roles.DelegatedRole
	succinct *roles.SuccinctRoles
	bin      string
}

func (p rvPathRule) allows(target string) bool {
	if p.role != nil {
		return p.role.Matches(target)
	}
	return p.succinct.BinFor(target) == p.bin
}

func (w *rvWalker) record(c RepoCheck, err error) {
	if c.Severity == "" {
		c.Severity = roles.Error
	}
	w.rep.Checks = append(w.rep.Checks, c)
	if !c.Passed && c.Severity == roles.Error {
		w.rep.Failures = append(w.rep.Failures, c)
		if w.first == nil {
			w.first = &RepoVerifyError{RepoCheck: c, Err: err}
		}
	}
}

func (w *rvWalker) pass(check, role, file, format string, args ...any) {
	w.record(RepoCheck{Check: check, Role: role, File: file, Passed: true, Message: fmt.Sprintf(format, args...)}, nil)
}

func (w *rvWalker) fail(check, role, file, reason string, err error, format string, args ...any) {
	w.record(RepoCheck{Check: check, Role: role, File: file, Reason: reason, Message: fmt.Sprintf(format, args...)}, err)
}

func (w *rvWalker) warn(check, role, file, reason, format string, args ...any) {
	w.record(RepoCheck{Check: check, Role: role, File: file, Severity: roles.Warning, Reason: reason, Message: fmt.Sprintf(format, args...)}, nil)
}

// read reads a file of the repository; a missing or unreadable file is
// recorded as a failure of check.
func (w *rvWalker) read(check, role, name string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(w.dir, filepath.FromSlash(name)))
	switch {
	case err == nil:
		return b, true
	case errors.Is(err, fs.ErrNotExist):
		w.fail(check, role, name, ReasonMissingFile, err, "%s is not in %s", name, w.dir)
	default:
		w.fail(check, role, name, ReasonUnreadable, err, "cannot read %s: %v", name, err)
	}
	return nil, false
}

// rvParse parses a file, recording a failure of PREFIX.parse named by the
// class of what is wrong.
func rvParse[R roles.Role](w *rvWalker, prefix, role, file string, b []byte) *roles.Metadata[R] {
	m, err := roles.Parse[R](b)
	if err != nil {
		w.fail(prefix+".parse", role, file, rvSyntaxReason(err), err, "%v", err)
		return nil
	}
	w.pass(prefix+".parse", role, file, "parses strictly")
	return m
}

// rvSyntaxReason classifies a parse error by the refusals roles.Parse
// names in its messages.
func rvSyntaxReason(err error) string {
	var se *roles.SyntaxError
	if !errors.As(err, &se) {
		return ReasonMalformed
	}
	switch m := se.Msg; {
	case strings.Contains(m, "duplicate member name"):
		return ReasonDuplicateName
	case strings.Contains(m, "version must be 1 or more"):
		return ReasonVersionBelowOne
	case strings.HasPrefix(m, "spec version"):
		return ReasonSpecVersion
	case strings.Contains(m, "is delegated twice"):
		return ReasonRoleNameReused
	case strings.Contains(m, "top-level role name"):
		return ReasonTopLevelDelegated
	case strings.Contains(m, "is not the keyid of the key given"):
		return ReasonKeyIDMismatch
	}
	return ReasonMalformed
}

// checkKeyIDs records whether every key in keys is listed under its own
// keyid.
func (w *rvWalker) checkKeyIDs(check, role, file string, keys map[string]*roles.Key) {
	var bad []string
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		if got := keys[id].ID(); got != id {
			bad = append(bad, fmt.Sprintf("key listed as %s has keyid %s", rvShort(id), rvShort(got)))
		}
	}
	if len(bad) > 0 {
		w.fail(check, role, file, ReasonKeyIDMismatch, nil, "%s", rvFirstFew(bad))
		return
	}
	w.pass(check, role, file, "all %d keys are listed under their own keyids", len(keys))
}

// checkSigned verifies m under del and records the outcome as check.
// Non-DER ECDSA signatures by a delegated key fail the check even when
// the threshold is reached.
func rvCheckSigned[R roles.Role](w *rvWalker, check, role, file string, m *roles.Metadata[R], del roles.Delegation) *roles.VerifyReport {
	rep, err := roles.Verify(m, del)
	var notDER []string
	for _, s := range m.Signatures {
		if k := del.Keys[s.KeyID]; k != nil && slices.Contains(del.KeyIDs, s.KeyID) && rvNotDER(k, s.Sig) {
			notDER = append(notDER, rvShort(s.KeyID))
		}
	}
	switch {
	case len(notDER) > 0:
		w.fail(check, role, file, ReasonECDSANotDER, err, "ECDSA signatures by %s are not DER-encoded (raw r||s?); TUF signatures are DER", strings.Join(notDER, ", "))
	case err != nil:
		var why []string
		if rep != nil {
			for _, id := range slices.Sorted(maps.Keys(rep.Invalid)) {
				why = append(why, fmt.Sprintf("%s: %v", rvShort(id), rep.Invalid[id]))
			}
		}
		msg := err.Error()
		if len(why) > 0 {
			msg += " (invalid: " + rvFirstFew(why) + ")"
		}
		w.fail(check, role, file, ReasonThreshold, err, "%s", msg)
	default:
		w.pass(check, role, file, "%d of %d distinct keys signed, threshold %d", rep.Count(), len(del.KeyIDs), del.Threshold)
	}
	return rep
}

// rvNotDER reports whether sig, by an ECDSA key, is not a DER-encoded
// signature.
func rvNotDER(k *roles.Key, sig []byte) bool {
	pub, err := k.PublicKey()
	if err != nil {
		return false
	}
	if _, ok := pub.(*ecdsa.PublicKey); !ok {
		return false
	}
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &v)
	return err != nil || len(rest) != 0
}

func (w *rvWalker) checkExpiry(check, role, file string, h *roles.Header) {
	exp := h.Expires.Format(roles.TimeFormat)
	if h.IsExpired(w.at) {
		w.fail(check, role, file, ReasonExpired, roles.ErrExpired, "%s v%d expired %s, before %s", role, h.Version, exp, w.at.Format(roles.TimeFormat))
		return
	}
	w.pass(check, role, file, "expires %s, after %s", exp, w.at.Format(roles.TimeFormat))
}

func (w *rvWalker) checkVersion(check, role, file string, got, want int64, lister string) {
	if got != want {
		w.fail(check, role, file, ReasonVersionMismatch, nil, "%s is version %d, %s lists version %d", file, got, lister, want)
		return
	}
	w.pass(check, role, file, "version %d, as %s lists", got, lister)
}

// checkMeta records whether b agrees with a meta entry's length and
// hashes, as checks PREFIX.length and PREFIX.hash.
func (w *rvWalker) checkMeta(prefix, role, file string, mf *roles.MetaFile, b []byte) {
	if mf.Length != 0 {
		if int64(len(b)) != mf.Length {
			w.fail(prefix+".length", role, file, ReasonLengthMismatch, nil, "%s is %d bytes, listed as %d", file, len(b), mf.Length)
		} else {
			w.pass(prefix+".length", role, file, "%d bytes, as listed", len(b))
		}
	}
	if len(mf.Hashes) == 0 {
		return
	}
	for _, alg := range slices.Sorted(maps.Keys(mf.Hashes)) {
		want := mf.Hashes[alg]
		var sum []byte
		switch alg {
		case "sha224":
			s := sha256.Sum224(b)
			sum = s[:]
		case "sha256":
			s := sha256.Sum256(b)
			sum = s[:]
		case "sha384":
			s := sha512.Sum384(b)
			sum = s[:]
		case "sha512":
			s := sha512.Sum512(b)
			sum = s[:]
		default:
			w.fail(prefix+".hash", role, file, ReasonUnsupportedHash, nil, "hash algorithm %q cannot be checked", alg)
			continue
		}
		if got := hex.EncodeToString(sum); got != want {
			w.fail(prefix+".hash", role, file, ReasonHashMismatch, nil, "%s of %s is %s, listed as %s", alg, file, got, want)
			continue
		}
		w.pass(prefix+".hash", role, file, "%s matches", alg)
	}
}

func (w *rvWalker) addRole(role, file, delegator string, h *roles.Header, rep *roles.VerifyReport, del roles.Delegation) {
	r := RepoRole{Role: role, File: file, Version: h.Version, Expires: h.Expires, Delegator: delegator, Signed: []string{}, Threshold: del.Threshold, KeyIDs: len(del.KeyIDs)}
	if rep != nil && rep.Signed != nil {
		r.Signed = rep.Signed
	}
	w.rep.Roles = append(w.rep.Roles, r)
}

var rvRootFile = regexp.MustCompile(`^([1-9][0-9]{0,18})\.root\.json$`)

func (w *rvWalker) verify(trusted *roles.Metadata[*roles.Root]) {
	if !w.verifyRoot(trusted) {
		return
	}
	root := w.root.Signed

	// Timestamp.
	tsFile := "timestamp.json"
	b, ok := w.read("timestamp.file", roles.TypeTimestamp, tsFile)
	if !ok {
		return
	}
	ts := rvParse[*roles.Timestamp](w, "timestamp", roles.TypeTimestamp, tsFile, b)
	if ts == nil {
		return
	}
	del, _ := root.Delegation(roles.TypeTimestamp)
	rep := rvCheckSigned(w, "timestamp.signature", roles.TypeTimestamp, tsFile, ts, del)
	w.checkExpiry("timestamp.expiry", roles.TypeTimestamp, tsFile, &ts.Signed.Header)
	w.addRole(roles.TypeTimestamp, tsFile, roles.TypeRoot, &ts.Signed.Header, rep, del)

	// Snapshot, at the version timestamp names.
	smf := ts.Signed.Meta["snapshot.json"]
	snapFile := w.fileName(roles.TypeSnapshot, smf.Version)[0]
	if b, ok = w.read("snapshot.file", roles.TypeSnapshot, snapFile); !ok {
		return
	}
	w.checkMeta("timestamp.meta.snapshot.json", roles.TypeSnapshot, snapFile, smf, b)
	snap := rvParse[*roles.Snapshot](w, "snapshot", roles.TypeSnapshot, snapFile, b)
	if snap == nil {
		return
	}
	del, _ = root.Delegation(roles.TypeSnapshot)
	rep = rvCheckSigned(w, "snapshot.signature", roles.TypeSnapshot, snapFile, snap, del)
	w.checkVersion("snapshot.version", roles.TypeSnapshot, snapFile, snap.Signed.Version, smf.Version, "timestamp")
	w.checkExpiry("snapshot.expiry", roles.TypeSnapshot, snapFile, &snap.Signed.Header)
	w.addRole(roles.TypeSnapshot, snapFile, roles.TypeRoot, &snap.Signed.Header, rep, del)
	w.snap = snap.Signed

	// Targets and, breadth first, every role it delegates to.
	del, _ = root.Delegation(roles.TypeTargets)
	w.names[roles.TypeTargets] = roles.TypeRoot
	queue := []rvQueued{{name: roles.TypeTargets, delegator: roles.TypeRoot, del: del}}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		queue = append(queue, w.verifyTargets(q)...)
	}

	w.verifyRevocations()
	for name := range w.snap.Meta {
		if !w.reached[name] {
			w.warn("snapshot.meta."+name+".reached", roles.TypeSnapshot, snapFile, ReasonUnreached,
				"snapshot lists %s, which no delegation from targets reaches", name)
		}
	}
}

// verifyRoot walks the root chain from the trusted root and leaves the
// newest root in w.root; false when nothing after it can be checked.
func (w *rvWalker) verifyRoot(trusted *roles.Metadata[*roles.Root]) bool {
	file := "trusted root"
	w.checkKeyIDs("root.keys", roles.TypeRoot, file, trusted.Signed.Keys)
	rep, err := roles.VerifySelfSigned(trusted)
	if err != nil {
		w.fail("root.trusted", roles.TypeRoot, file, ReasonThreshold, err, "the trusted root v%d is not signed by a threshold of its own keys: %v", trusted.Signed.Version, err)
		return false
	}
	w.pass("root.trusted", roles.TypeRoot, file, "root v%d: %d of %d keys signed, threshold %d", trusted.Signed.Version, rep.Count(), len(rep.Signed)+len(rep.Missing), rep.Threshold)
	cur := trusted
	for v := trusted.Signed.Version + 1; v > 0; v++ {
		name := fmt.Sprintf("%d.root.json", v)
		b, err := os.ReadFile(filepath.Join(w.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			w.fail("root.chain", roles.TypeRoot, name, ReasonUnreadable, err, "cannot read %s: %v", name, err)
			return false
		}
		next := rvParse[*roles.Root](w, "root", roles.TypeRoot, name, b)
		if next == nil {
			return false
		}
		w.checkKeyIDs("root.keys", roles.TypeRoot, name, next.Signed.Keys)
		step, err := roles.VerifyRootUpdate(cur, next)
		rs := RepoRootStep{Version: next.Signed.Version, File: name, OldSigned: []string{}, NewSigned: []string{}}
		if step.Old != nil {
			rs.OldSigned, rs.OldThreshold = append(rs.OldSigned, step.Old.Signed...), step.Old.Threshold
		}
		if step.New != nil {
			rs.NewSigned, rs.NewThreshold = append(rs.NewSigned, step.New.Signed...), step.New.Threshold
		}
		w.rep.RootSteps = append(w.rep.RootSteps, rs)
		if err != nil {
			reason := ReasonThreshold
			if errors.Is(err, roles.ErrRollback) {
				reason = ReasonChainRollback
			} else {
				for _, s := range next.Signatures {
					for _, r := range []*roles.Root{cur.Signed, next.Signed} {
						if k := r.Keys[s.KeyID]; k != nil && slices.Contains(r.Roles[roles.TypeRoot].KeyIDs, s.KeyID) && rvNotDER(k, s.Sig) {
							reason = ReasonECDSANotDER
						}
					}
				}
			}
			w.fail("root.chain", roles.TypeRoot, name, reason, err, "%v", err)
			return false
		}
		w.pass("root.chain", roles.TypeRoot, name, "root v%d: %d signed under root v%d's threshold %d, %d under its own threshold %d",
			next.Signed.Version, len(rs.OldSigned), cur.Signed.Version, rs.OldThreshold, len(rs.NewSigned), rs.NewThreshold)
		cur = next
	}
	w.root = cur
	// A root version published beyond a missing one is unreachable: a
	// client stops at the gap and never sees it.
	if ents, err := os.ReadDir(w.dir); err == nil {
		var beyond []string
		for _, e := range ents {
			if m := rvRootFile.FindStringSubmatch(e.Name()); m != nil {
				if n, err := strconv.ParseInt(m[1], 10, 64); err == nil && n > cur.Signed.Version+1 {
					beyond = append(beyond, e.Name())
				}
			}
		}
		sort.Strings(beyond)
		if len(beyond) > 0 {
			w.fail("root.chain.gap", roles.TypeRoot, fmt.Sprintf("%d.root.json", cur.Signed.Version+1), ReasonChainGap, nil,
				"the chain stops at root v%d because %d.root.json is missing, yet %s are published", cur.Signed.Version, cur.Signed.Version+1, rvFirstFew(beyond))
		} else {
			w.pass("root.chain.gap", roles.TypeRoot, "", "no root version is published beyond v%d", cur.Signed.Version)
		}
	}
	w.checkExpiry("root.expiry", roles.TypeRoot, fmt.Sprintf("%d.root.json", cur.Signed.Version), &cur.Signed.Header)
	del, _ := cur.Signed.Delegation(roles.TypeRoot)
	w.rep.Roles = append(w.rep.Roles, RepoRole{Role: roles.TypeRoot, File: fmt.Sprintf("%d.root.json", cur.Signed.Version), Version: cur.Signed.Version,
		Expires: cur.Signed.Expires, Delegator: roles.TypeRoot, Signed: w.rootSigned(), Threshold: del.Threshold, KeyIDs: len(del.KeyIDs)})
	w.trusted = append(w.trusted, rvKeySet{role: roles.TypeRoot, keys: cur.Signed.Keys})

	// root.json, when published, is what clients without a pinned root
	// start from: it should be the newest root.
	if b, err := os.ReadFile(filepath.Join(w.dir, "root.json")); err == nil {
		if m, err := roles.Parse[*roles.Root](b); err != nil || m.Signed.Version != cur.Signed.Version ||
			string(m.CanonicalSigned()) != string(cur.CanonicalSigned()) {
			w.warn("root.json", roles.TypeRoot, "root.json", ReasonNotNewest, "root.json is not root v%d, the newest in the chain", cur.Signed.Version)
		} else {
			w.pass("root.json", roles.TypeRoot, "root.json", "root.json is root v%d, the newest", cur.Signed.Version)
		}
	}
	return true
}

func (w *rvWalker) rootSigned() []string {
	if n := len(w.rep.RootSteps); n > 0 {
		return w.rep.RootSteps[n-1].NewSigned
	}
	if w.root != nil {
		if rep, err := roles.VerifySelfSigned(w.root); err == nil {
			return rep.Signed
		}
	}
	return []string{}
}

// fileName returns the names a role's file may be published under, the
// first being the one the TUF spec and python-tuf use.
func (w *rvWalker) fileName(role string, version int64) []string {
	names := []string{rvQuote(role)}
	if p := rvPathEscape(role); p != names[0] {
		names = append(names, p)
	}
	if role != names[0] && filepath.IsLocal(role) && !strings.Contains(role, "\\") {
		names = append(names, role)
	}
	for i, n := range names {
		if w.root.Signed.ConsistentSnapshot {
			names[i] = fmt.Sprintf("%d.%s.json", version, n)
		} else {
			names[i] = n + ".json"
		}
	}
	return names
}

// rvQuote escapes a role name as python-tuf does for file names and URLs
// (urllib.parse.quote(name, "")): every byte but letters, digits and
// "_.-~" as %XX.
func rvQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// rvPathEscape escapes a role name as go-tuf does (url.PathEscape), which
// leaves "$&+,:;=@" as they are.
func rvPathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~$&+,:;=@", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// readRole reads a role's file at version, trying each name it may be
// published under.
func (w *rvWalker) readRole(check, role string, version int64) ([]byte, string, bool) {
	names := w.fileName(role, version)
	if _, err := os.Lstat(filepath.Join(w.dir, names[0])); errors.Is(err, fs.ErrNotExist) {
		for _, n := range names[1:] {
			if b, err := os.ReadFile(filepath.Join(w.dir, filepath.FromSlash(n))); err == nil {
				return b, n, true
			}
		}
	}
	b, ok := w.read(check, role, names[0])
	return b, names[0], ok
}

// verifyTargets verifies one targets role and returns the roles it
// delegates to.
func (w *rvWalker) verifyTargets(q rvQueued) []rvQueued {
	prefix := "delegation." + q.name
	sigCheck := prefix + ".threshold"
	if q.name == roles.TypeTargets {
		prefix, sigCheck = roles.TypeTargets, "targets.signature"
	}
	metaName := q.name + ".json"
	mf := w.snap.Meta[metaName]
	if mf == nil {
		w.fail("snapshot.meta."+metaName+".listed", q.name, "", ReasonNotListed, nil,
			"%s delegates to %s, but snapshot v%d does not list %s", q.delegator, q.name, w.snap.Version, metaName)
		return nil
	}
	w.reached[metaName] = true
	b, file, ok := w.readRole(prefix+".file", q.name, mf.Version)
	if !ok {
		return nil
	}
	w.checkMeta("snapshot.meta."+metaName, q.name, file, mf, b)
	m := rvParse[*roles.Targets](w, prefix, q.name, file, b)
	if m == nil {
		return nil
	}
	rep := rvCheckSigned(w, sigCheck, q.name, file, m, q.del)
	w.checkVersion(prefix+".version", q.name, file, m.Signed.Version, mf.Version, "snapshot")
	w.checkExpiry(prefix+".expiry", q.name, file, &m.Signed.Header)
	w.addRole(q.name, file, q.delegator, &m.Signed.Header, rep, q.del)

	if len(q.paths) > 0 {
		var outside []string
		for _, t := range slices.Sorted(maps.Keys(m.Signed.Targets)) {
			for _, p := range q.paths {
				if !p.allows(t) {
					outside = append(outside, t)
					break
				}
			}
		}
		if len(outside) > 0 {
			w.fail(prefix+".paths", q.name, file, ReasonOutsidePaths, nil, "%s lists targets outside the paths it is delegated: %s", q.name, rvFirstFew(outside))
		} else {
			w.pass(prefix+".paths", q.name, file, "all %d targets are under the delegated paths", len(m.Signed.Targets))
		}
	}

	dl := m.Signed.Delegations
	if q.name == roles.TypeTargets {
		w.targetsDel = dl
	}
	if dl == nil {
		return nil
	}
	w.checkKeyIDs(prefix+".keys", q.name, file, dl.Keys)
	w.trusted = append(w.trusted, rvKeySet{role: q.name, keys: dl.Keys})
	var out []rvQueued
	enqueue := func(name string, rule rvPathRule) {
		if by, dup := w.names[name]; dup {
			w.fail("delegation."+name+".name", name, file, ReasonRoleNameReused, nil,
				"%s delegates to %s, which %s already delegates to: each role has one delegator", q.name, name, by)
			return
		}
		if slices.Contains(roles.TopLevelRoles, name) {
			w.fail("delegation."+name+".name", name, file, ReasonTopLevelDelegated, nil, "%s delegates the top-level role name %q", q.name, name)
			return
		}
		w.names[name] = q.name
		del, err := dl.Delegation(name)
		if err != nil {
			w.fail("delegation."+name+".name", name, file, ReasonNotDelegated, err, "%v", err)
			return
		}
		out = append(out, rvQueued{name: name, delegator: q.name, del: del, paths: append(slices.Clip(q.paths), rule)})
	}
	if s := dl.SuccinctRoles; s != nil {
		var bins []string
		for name := range w.snap.Meta {
			if n, ok := strings.CutSuffix(name, ".json"); ok && s.IsBin(n) {
				bins = append(bins, n)
			}
		}
		sort.Strings(bins)
		if len(bins) < s.BinCount() {
			var missing []string
			if s.BinCount() <= 1<<16 {
				for i := 0; i < s.BinCount(); i++ {
					if n := s.BinName(i); !slices.Contains(bins, n) {
						missing = append(missing, n+".json")
					}
				}
			}
			w.fail("snapshot.meta."+s.NamePrefix+"-*.listed", q.name, file, ReasonNotListed, nil,
				"%s delegates %d hash bins %s-*, but snapshot v%d lists %d of them%s", q.name, s.BinCount(), s.NamePrefix, w.snap.Version, len(bins),
				ifMissing(missing))
		}
		for _, n := range bins {
			enqueue(n, rvPathRule{succinct: s, bin: n})
		}
	}
	for _, r := range dl.Roles {
		enqueue(r.Name, rvPathRule{role: r})
	}
	return out
}

func ifMissing(missing []string) string {
	if len(missing) == 0 {
		return ""
	}
	return " (missing: " + rvFirstFew(missing) + ")"
}

// verifyRevocations verifies the revocation list when snapshot lists it,
// and checks that no key a verified role trusts is on it.
func (w *rvWalker) verifyRevocations() {
	const name = roles.TypeRevocations
	mf := w.snap.Meta[name+".json"]
	if mf == nil || w.names[name] != "" {
		return // none, or a delegated targets role of that name
	}
	w.reached[name+".json"] = true
	b, file, ok := w.readRole("revocations.file", name, mf.Version)
	if !ok {
		return
	}
	w.checkMeta("snapshot.meta."+name+".json", name, file, mf, b)
	m := rvParse[*roles.Revocations](w, name, name, file, b)
	if m == nil {
		return
	}
	var del roles.Delegation
	err := errors.New("targets was not verified")
	if w.targetsDel != nil {
		del, err = w.targetsDel.Delegation(RoleClaimed)
	}
	if err != nil {
		w.fail("revocations.signature", name, file, ReasonNotDelegated, err,
			"the revocation list is signed under targets' delegation to %s, but %v", RoleClaimed, err)
	} else {
		del.Role = name
		rep := rvCheckSigned(w, "revocations.signature", name, file, m, del)
		w.addRole(name, file, roles.TypeTargets, &m.Signed.Header, rep, del)
	}
	w.checkVersion("revocations.version", name, file, m.Signed.Version, mf.Version, "snapshot")
	w.checkExpiry("revocations.expiry", name, file, &m.Signed.Header)

	hits := 0
	for _, ks := range w.trusted {
		for _, id := range slices.Sorted(maps.Keys(ks.keys)) {
			if r := m.Signed.IsRevoked(id, ks.keys[id]); r != nil {
				hits++
				w.fail(roles.CheckNoRevokedKeyTrusted, ks.role, file, ReasonRevokedKeyTrusted, nil,
					"%s trusts key %s, revoked %s (%s, was trusted in %s)", ks.role, rvShort(id), r.RevokedAt.Format(roles.TimeFormat), r.Reason, r.Role)
			}
		}
	}
	if hits == 0 {
		w.pass(roles.CheckNoRevokedKeyTrusted, name, file, "none of the %d revoked keys is trusted by any of %d roles' keys", len(m.Signed.Revoked), len(w.trusted))
	}
}

func rvShort(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func rvFirstFew(items []string) string {
	if len(items) <= 5 {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:5], "; "), len(items)-5)
}
