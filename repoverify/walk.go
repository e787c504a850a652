package repoverify

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/roles"
)

// source is where a walk reads files from: a folder, or the files a
// transcript recorded.
type source interface {
	// read returns a file's bytes when it is a regular file within lim;
	// its error wraps fs.ErrNotExist when there is no such file, and is a
	// *boundedfile.Error when the file is refused.
	read(name string, lim boundedfile.Limit) ([]byte, error)
	// roots names the N.root.json files at the top, for the root chain's
	// gap check.
	roots() ([]string, error)
}

// folder is a repository on disk.
type folder string

func (d folder) read(name string, lim boundedfile.Limit) ([]byte, error) {
	return boundedfile.Read(filepath.Join(string(d), filepath.FromSlash(name)), lim)
}

// roots reads the folder's names a batch at a time, keeping the roots'
// only: at PyPI's scale the folder holds 600,000 files.
func (d folder) roots() ([]string, error) {
	f, err := os.Open(string(d))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	for {
		names, err := f.Readdirnames(4096)
		out = append(out, onlyRoots(names)...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// onlyRoots are the names of root versions (N.root.json) among names.
func onlyRoots(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, ".root.json") && rootFilePattern.MatchString(n) {
			out = append(out, n)
		}
	}
	return out
}

// recorded is a repository a transcript recorded, by file name.
type recorded map[string][]byte

func (r recorded) read(name string, lim boundedfile.Limit) ([]byte, error) {
	return fileSet{get: r.get}.read(name, lim)
}

func (r recorded) roots() ([]string, error) {
	return onlyRoots(slices.Collect(maps.Keys(r))), nil
}

// get is a recorded file's bytes, for FromFiles' file set.
func (r recorded) get(name string) ([]byte, error) {
	b, ok := r[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return b, nil
}

// fileSet is recorded files read one at a time (FromFileSet).
type fileSet struct {
	names []string
	get   func(name string) ([]byte, error)
}

func (f fileSet) read(name string, lim boundedfile.Limit) ([]byte, error) {
	b, err := f.get(name)
	if err != nil {
		return nil, err
	}
	// The limits hold here too, so that a walk of recorded files judges
	// as the walk of the folder they were read from.
	if int64(len(b)) > lim.Max {
		return nil, &boundedfile.Error{Path: name, Limit: lim, Size: int64(len(b)), Err: boundedfile.ErrTooLarge}
	}
	return b, nil
}

func (f fileSet) roots() ([]string, error) { return onlyRoots(f.names), nil }

// overlay is a folder as it will be once files are written into it.
type overlay struct {
	dir    folder
	staged recorded
}

func (o overlay) read(name string, lim boundedfile.Limit) ([]byte, error) {
	if _, ok := o.staged[name]; ok {
		return o.staged.read(name, lim)
	}
	return o.dir.read(name, lim)
}

func (o overlay) roots() ([]string, error) {
	names, err := o.dir.roots()
	if errors.Is(err, fs.ErrNotExist) {
		names, err = nil, nil
	}
	staged, _ := o.staged.roots()
	for _, name := range staged {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, err
}

// claimed is the role whose delegation from targets the revocation list
// is signed under (the list is this project's extension of PEP 480).
const claimed = "claimed"

// walker carries a walk's state.
type walker struct {
	src   source
	where string // the folder, or "the recorded files", for messages
	at    time.Time
	opts  Options
	lim   boundedfile.Limit   // a metadata file's, when none is listed
	vopts roles.VerifyOptions // which signatures count, by opts.Scope
	rep   *Report
	first *Error
	got   Repository

	root *roles.Metadata[*roles.Root]
	// rootRep is how the newest root is signed under its own keys.
	rootRep *roles.VerifyReport
	snap    *snapshotIndex
	// revocations is the revocation list snapshot lists, read ahead of
	// the delegated roles (revocationsAhead) so that each role's keys
	// are checked against it as the role is verified, and not all held
	// to the end; revoked is the list, when it parses.
	revocations *revocationsRead
	revoked     *roles.RevokedIndex
	// trustedRoles counts the keys maps verified roles trust; revokedHits
	// are the revoked keys among them, in the order verified.
	trustedRoles int
	revokedHits  []revokedHit
	// names is every role name reached, with the role that delegated it
	// and whether it was walked: a snapshot entry NAME.json was reached
	// when NAME was walked.
	names *nameSet
	// targetsDel is targets' delegations, under which the revocation
	// list is verified.
	targetsDel *roles.Delegations

	// keep keeps every role and file verified in got; a walk that only
	// reports lets each go once checked.
	keep bool
	// workers is how many roles are checked at once.
	workers int
	// done counts the roles verified of total, the files snapshot lists,
	// for Options.Progress.
	done, total int
}

func newWalker(src source, dir string, opts Options) *walker {
	where := dir
	if dir == "" {
		where = "the recorded files"
	}
	lim := boundedfile.Metadata
	if opts.MaxMetadata > 0 {
		lim.Max = opts.MaxMetadata
	}
	return &walker{
		src:     src,
		where:   where,
		at:      opts.At.UTC(),
		opts:    opts,
		lim:     lim,
		vopts:   roles.VerifyOptionsFor(opts.Scope),
		rep:     &Report{Dir: dir, At: opts.At.UTC(), RootSteps: []RootStep{}, Roles: []Role{}, Checks: []Check{}, Failures: []Check{}, Warnings: []Check{}, Strict: opts.Strict},
		got:     Repository{Delegated: map[string]*roles.Metadata[*roles.Targets]{}, Files: map[string][]byte{}, Sums: map[string]Sum{}},
		workers: workers(),
	}
}

// revocationsRead is the revocation list's file as read ahead, with
// the checks its reading recorded, for verifyRevocations to adopt.
type revocationsRead struct {
	f    *walker
	b    []byte
	file string
	ok   bool
}

// revokedHit is a revoked key a verified role trusts.
type revokedHit struct {
	role, keyid string
	r           *roles.Revocation
}

// queued is a delegated role waiting to be verified.
type queued struct {
	name      string
	id        int // name's index in walker.names
	delegator string
	del       roles.Delegation
	// paths are the constraints every delegation on the way down puts on
	// the targets the role may list.
	paths []pathRule
}

// pathRule is one delegation's constraint on target paths: a listed
// role's patterns and hash prefixes, or a succinct bin.
type pathRule struct {
	role     *roles.DelegatedRole
	succinct *roles.SuccinctRoles
	bin      string
}

func (p pathRule) allows(target string) bool {
	if p.role != nil {
		return p.role.Matches(target)
	}
	return p.succinct.BinFor(target) == p.bin
}

// record records a check's outcome, with the severity the one table
// gives its name in the walk's scope (a name the table does not know is
// an error).
func (w *walker) record(c Check, err error) { w.recordAs(c.Name, c, err) }

// recordAs is record for a check that takes its severity from the table's
// entry named kind, one entry for checks named by where they run.
func (w *walker) recordAs(kind string, c Check, err error) {
	if c.Passed {
		w.rep.Passed++
		if w.opts.FailedOnly {
			return
		}
	}
	c.Severity = roles.SeverityOf(kind, w.opts.Scope)
	w.listCheck(c)
	if c.Passed {
		return
	}
	if c.Severity == roles.Warning {
		w.rep.Warnings = append(w.rep.Warnings, c)
	}
	if c.Severity == roles.Error || w.opts.Strict {
		w.rep.Failures = append(w.rep.Failures, c)
		if w.first == nil {
			w.first = &Error{Check: c, Err: err}
		}
	}
}

func (w *walker) pass(check, role, file, format string, args ...any) {
	if w.opts.FailedOnly {
		w.rep.Passed++
		return
	}
	w.record(Check{Name: check, Role: role, File: file, Passed: true, Message: fmt.Sprintf(format, args...)}, nil)
}

func (w *walker) fail(check, role, file, reason string, err error, format string, args ...any) {
	w.record(Check{Name: check, Role: role, File: file, Reason: reason, Message: fmt.Sprintf(format, args...)}, err)
}

// listing is what a snapshot or timestamp entry says of a file: its
// length, a limit on reading it, and hashes, checked as PREFIX.length and
// PREFIX.hash.
type listing struct {
	prefix string
	mf     *roles.MetaFile
}

// read reads a role's file under the first of names, or, when there is
// no such file, under the first of the others there is, within the
// length l lists or else the walk's limit. A file that is missing,
// unreadable or refused is recorded as a failure of check; one longer
// than listed, unread, as a failure of l's length check.
func (w *walker) read(check, role string, l listing, names ...string) ([]byte, string, bool) {
	lim := w.lim
	if l.mf != nil && l.mf.Length > 0 {
		lim.Max = l.mf.Length
	}
	name := names[0]
	b, err := w.src.read(name, lim)
	for _, n := range names[1:] {
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
		if alt, aerr := w.src.read(n, lim); !errors.Is(aerr, fs.ErrNotExist) {
			b, name, err = alt, n, aerr
		}
	}
	switch {
	case err == nil:
		w.keepFile(role, name, b)
		return b, name, true
	case lim.Max != w.lim.Max && errors.Is(err, boundedfile.ErrTooLarge):
		// A failed check, not bad input: the error it wraps is none.
		w.fail(l.prefix+".length", role, name, ReasonLengthMismatch, nil, "%s is longer than the %d bytes listed; it was not read", name, lim.Max)
	default:
		w.readFailed(check, role, name, err)
	}
	return nil, name, false
}

// readFailed records why name could not be read as a failure of check.
func (w *walker) readFailed(check, role, name string, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.fail(check, role, name, ReasonMissingFile, err, "%s is not in %s", name, w.where)
	case errors.Is(err, boundedfile.ErrNotRegular):
		w.fail(check, role, name, ReasonNotRegular, err, "%v", err)
	case errors.Is(err, boundedfile.ErrTooLarge):
		w.fail(check, role, name, ReasonTooLarge, err, "%v", err)
	default:
		w.fail(check, role, name, ReasonUnreadable, err, "cannot read %s: %v", name, err)
	}
}

// fileNames returns the names a role's file may be published under, the
// first being the one the TUF spec and python-tuf use.
func (w *walker) fileNames(role string, version int64) []string {
	names := []string{quote(role)}
	if p := pathEscape(role); p != names[0] {
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

// rootFile is the name of every root version but the trusted one.
func rootFile(version int64) string { return fmt.Sprintf("%d.root.json", version) }

var rootFilePattern = regexp.MustCompile(`^([1-9][0-9]{0,18})\.root\.json$`)

// quote escapes a role name as python-tuf does for file names and URLs
// (urllib.parse.quote(name, "")): every byte but letters, digits and
// "_.-~" as %XX.
func quote(s string) string { return escape(s, "_.-~") }

// pathEscape escapes a role name as go-tuf does (url.PathEscape), which
// leaves "$&+,:;=@" as they are.
func pathEscape(s string) string { return escape(s, "_.-~$&+,:;=@") }

// escape writes every byte of s but letters, digits and those in safe as
// %XX.
func escape(s, safe string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(safe, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// walk walks the repository from the trusted root: the root chain,
// timestamp, snapshot, targets and the roles it delegates, depth first,
// and the revocation list.
func (w *walker) walk(trusted *roles.Metadata[*roles.Root]) {
	if !w.verifyRoot(trusted) {
		return
	}
	root := w.root.Signed
	w.got.Root = w.root

	// Timestamp.
	tsFile := "timestamp.json"
	b, _, ok := w.read("timestamp.file", roles.TypeTimestamp, listing{}, tsFile)
	if !ok {
		return
	}
	ts := parseRole[*roles.Timestamp](w, "timestamp", roles.TypeTimestamp, tsFile, b)
	if ts == nil {
		return
	}
	del, _ := root.Delegation(roles.TypeTimestamp)
	rep := checkSigned(w, "timestamp.signature", roles.TypeTimestamp, tsFile, ts, del)
	w.checkExpiry("timestamp.expiry", roles.TypeTimestamp, tsFile, &ts.Signed.Header)
	w.addRole(roles.TypeTimestamp, tsFile, roles.TypeRoot, &ts.Signed.Header, rep, del)
	w.got.Timestamp = ts

	// Snapshot, at the version timestamp names.
	smf := listing{"timestamp.meta.snapshot.json", ts.Signed.Meta["snapshot.json"]}
	b, snapFile, ok := w.read("snapshot.file", roles.TypeSnapshot, smf, w.fileNames(roles.TypeSnapshot, smf.mf.Version)...)
	if !ok {
		return
	}
	w.checkMeta(smf, roles.TypeSnapshot, snapFile, b)
	// The walk needs snapshot's entries only as its index; a parsed
	// snapshot is made only for a caller that keeps it.
	keepSnap := w.keep && w.holds(roles.TypeSnapshot)
	var entries entryList
	snap := parseWith(w, "snapshot", roles.TypeSnapshot, snapFile, func() (*roles.Metadata[*roles.Snapshot], error) {
		if keepSnap {
			return roles.Parse[*roles.Snapshot](b)
		}
		return roles.ParseSnapshotEach(b, entries.add)
	})
	if snap == nil {
		return
	}
	del, _ = root.Delegation(roles.TypeSnapshot)
	rep = checkSigned(w, "snapshot.signature", roles.TypeSnapshot, snapFile, snap, del)
	w.checkVersion("snapshot.version", roles.TypeSnapshot, snapFile, snap.Signed.Version, smf.mf.Version, "timestamp")
	w.checkExpiry("snapshot.expiry", roles.TypeSnapshot, snapFile, &snap.Signed.Header)
	w.addRole(roles.TypeSnapshot, snapFile, roles.TypeRoot, &snap.Signed.Header, rep, del)
	if keepSnap {
		w.snap = indexSnapshot(snap.Signed)
		w.got.Snapshot = snap
	} else {
		w.snap = entries.index(snap.Signed.Version)
	}
	if w.keep {
		w.got.SnapshotEntries = &SnapshotEntries{w.snap}
	}
	w.revocationsAhead()
	w.trust(roles.TypeRoot, root.Keys)

	// Targets and, depth first, every role it delegates to: a delegating
	// role (a bin) is let go once its own delegated roles are checked,
	// so that only a few are held at once.
	del, _ = root.Delegation(roles.TypeTargets)
	// Most names reached are listed by snapshot, as NAME.json, and known
	// by their place in its index; a walk that follows only some
	// delegations reaches few of them.
	if w.opts.Follow != nil {
		w.names = newNameSet(nil, 0, 0)
	} else {
		w.names = newNameSet(w.snap, 16, 256)
	}
	id, _ := w.names.insert(roles.TypeTargets, -1)
	w.total = w.snap.names.len()
	w.progressed(0)
	depthFirst([]queued{{name: roles.TypeTargets, id: id, delegator: roles.TypeRoot, del: del}}, w.workers,
		func(q queued) targetsChecked { return w.fork().checkTargets(q) }, w.adopt)

	w.verifyRevocations()
	if w.opts.Progress != nil && w.done > 0 {
		w.total = w.done
		w.progressed(0)
	}
	w.checkRequired()
	if w.opts.Follow != nil {
		return // a partial walk leaves most of snapshot unreached
	}
	for i := range w.snap.names.len() { // in sorted order
		if n, ok := strings.CutSuffix(string(w.snap.names.bytes(i)), ".json"); !ok || !w.names.hasWalked(n) {
			w.fail(roles.CheckSnapshotReached, roles.TypeSnapshot, snapFile, ReasonUnreached, nil,
				"snapshot lists %s, which no delegation from targets reaches", w.snap.names.name(i))
		}
	}
}

// verifyRoot walks the root chain from the trusted root and leaves the
// newest root in w.root; false when nothing after it can be checked.
func (w *walker) verifyRoot(trusted *roles.Metadata[*roles.Root]) bool {
	file := "trusted root"
	w.checkKeyIDs("root.keys", roles.TypeRoot, file, trusted.Signed.Keys)
	del, _ := trusted.Signed.Delegation(roles.TypeRoot)
	rep, err := &roles.VerifyReport{}, error(nil)
	if !w.opts.Unsigned[rootFile(trusted.Signed.Version)] {
		rep, err = roles.VerifyWith(trusted, del, w.vopts)
		w.checkEveryClient(roles.TypeRoot, file, rep)
	}
	if err != nil {
		w.fail("root.trusted", roles.TypeRoot, file, ReasonThreshold, err, "the trusted root v%d is not signed by a threshold of its own keys: %v", trusted.Signed.Version, err)
		return false
	}
	w.pass("root.trusted", roles.TypeRoot, file, "root v%d: %d of %d keys signed, threshold %d", trusted.Signed.Version, rep.Count(), len(rep.Signed)+len(rep.Missing), rep.Threshold)
	w.rootRep = rep
	cur := trusted
	for v := trusted.Signed.Version + 1; v > 0; v++ {
		name := rootFile(v)
		b, err := w.src.read(name, w.lim)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			w.readFailed("root.chain", roles.TypeRoot, name, err)
			return false
		}
		w.keepFile(roles.TypeRoot, name, b)
		next := parseRole[*roles.Root](w, "root", roles.TypeRoot, name, b)
		if next == nil {
			return false
		}
		w.checkKeyIDs("root.keys", roles.TypeRoot, name, next.Signed.Keys)
		step := roles.RootStep{Version: next.Signed.Version}
		if w.opts.Unsigned[name] {
			if next.Signed.Version != v {
				err = fmt.Errorf("%s is root v%d: %w", name, next.Signed.Version, roles.ErrRollback)
			}
		} else {
			step, err = roles.VerifyRootUpdateWith(cur, next, w.vopts)
			w.checkEveryClient(roles.TypeRoot, name, step.Old, step.New)
		}
		rs := RootStep{Version: next.Signed.Version, File: name, OldSigned: []string{}, NewSigned: []string{}}
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
						if k := r.Keys[s.KeyID]; k != nil && slices.Contains(r.Roles[roles.TypeRoot].KeyIDs, s.KeyID) && notDER(k, s.Sig) {
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
		cur, w.rootRep = next, step.New
	}
	w.root = cur
	// A root version published beyond a missing one is unreachable: a
	// client stops at the gap and never sees it.
	if names, err := w.src.roots(); err == nil {
		var beyond []string
		for _, n := range names {
			if m := rootFilePattern.FindStringSubmatch(n); m != nil {
				if v, err := strconv.ParseInt(m[1], 10, 64); err == nil && v > cur.Signed.Version+1 {
					beyond = append(beyond, n)
				}
			}
		}
		sort.Strings(beyond)
		if len(beyond) > 0 {
			w.fail("root.chain.gap", roles.TypeRoot, rootFile(cur.Signed.Version+1), ReasonChainGap, nil,
				"the chain stops at root v%d because %s is missing, yet %s are published", cur.Signed.Version, rootFile(cur.Signed.Version+1), roles.FirstFew(beyond, "; "))
		} else {
			w.pass("root.chain.gap", roles.TypeRoot, "", "no root version is published beyond v%d", cur.Signed.Version)
		}
	}
	w.checkExpiry("root.expiry", roles.TypeRoot, rootFile(cur.Signed.Version), &cur.Signed.Header)
	del, _ = cur.Signed.Delegation(roles.TypeRoot)
	w.listRole(Role{Name: roles.TypeRoot, File: rootFile(cur.Signed.Version), Version: cur.Signed.Version,
		Expires: cur.Signed.Expires, Delegator: roles.TypeRoot, Signed: w.rootSigned(), Threshold: del.Threshold, KeyIDs: len(del.KeyIDs)})

	// root.json, when published, is what clients without a pinned root
	// start from: it should be the newest root.
	if b, err := w.src.read("root.json", w.lim); err == nil {
		if m, err := roles.Parse[*roles.Root](b); err != nil || m.Signed.Version != cur.Signed.Version ||
			string(m.CanonicalSigned()) != string(cur.CanonicalSigned()) {
			w.fail(roles.CheckRootJSONNewest, roles.TypeRoot, "root.json", ReasonNotNewest, nil, "root.json is not root v%d, the newest in the chain", cur.Signed.Version)
		} else {
			w.pass(roles.CheckRootJSONNewest, roles.TypeRoot, "root.json", "root.json is root v%d, the newest", cur.Signed.Version)
		}
	}
	return true
}

func (w *walker) rootSigned() []string {
	if w.rootRep == nil || w.rootRep.Signed == nil {
		return []string{}
	}
	return w.rootRep.Signed
}

// targetsChecked is what checkTargets found of one targets role, for
// adopt: the fork that recorded its checks, and the role when it parsed.
type targetsChecked struct {
	q    queued
	f    *walker
	m    *roles.Metadata[*roles.Targets]
	file string
}

// checkTargets verifies one targets role on f, a fork of the walk, so
// that roles delegated by the same role can be checked at once: it
// reads, parses and checks the file against snapshot, its delegator's
// keys, its expiry and its delegated paths, and leaves to adopt what
// depends on the roles checked before it.
func (f *walker) checkTargets(q queued) targetsChecked {
	r := targetsChecked{q: q, f: f}
	prefix := "delegation." + q.name
	sigCheck := prefix + ".threshold"
	if q.name == roles.TypeTargets {
		prefix, sigCheck = roles.TypeTargets, "targets.signature"
	}
	metaName := q.name + ".json"
	mf := f.snap.meta(metaName)
	l := listing{"snapshot.meta." + metaName, mf}
	if mf == nil {
		f.fail("snapshot.meta."+metaName+".listed", q.name, "", ReasonNotListed, nil,
			"%s delegates to %s, but snapshot v%d does not list %s", q.delegator, q.name, f.snap.version, metaName)
		return r
	}
	b, file, ok := f.read(prefix+".file", q.name, l, f.fileNames(q.name, mf.Version)...)
	r.file = file
	if !ok {
		return r
	}
	f.checkMeta(l, q.name, file, b)
	m := parseRole[*roles.Targets](f, prefix, q.name, file, b)
	if m == nil {
		return r
	}
	r.m = m
	rep := checkSigned(f, sigCheck, q.name, file, m, q.del)
	f.checkVersion(prefix+".version", q.name, file, m.Signed.Version, mf.Version, "snapshot")
	f.checkExpiry(prefix+".expiry", q.name, file, &m.Signed.Header)
	// Under FailedOnly the roles offline keys sign are listed (targets,
	// what it delegates to, and every role that delegates further: claimed
	// and its bins); the project roles below them are counted.
	delegates := m.Signed.Delegations != nil && (len(m.Signed.Delegations.Roles) > 0 || m.Signed.Delegations.SuccinctRoles != nil)
	if !f.opts.FailedOnly || q.name == roles.TypeTargets || q.delegator == roles.TypeTargets || delegates {
		f.addRole(q.name, file, q.delegator, &m.Signed.Header, rep, q.del)
	} else {
		f.rep.Unlisted++
	}

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
			f.fail(prefix+".paths", q.name, file, ReasonOutsidePaths, nil, "%s lists targets outside the paths it is delegated: %s", q.name, roles.FirstFew(outside, "; "))
		} else {
			f.pass(prefix+".paths", q.name, file, "all %d targets are under the delegated paths", len(m.Signed.Targets))
		}
	}
	if dl := m.Signed.Delegations; dl != nil {
		f.checkKeyIDs(prefix+".keys", q.name, file, dl.Keys)
	}
	return r
}

// adopt adds what checkTargets found to the walk, in the order the walk
// reached the roles, so that the report and the first failure are those
// of a walk one role at a time, and returns the roles it delegates to
// that the walk follows.
func (w *walker) adopt(r targetsChecked) []queued {
	q, m, file := r.q, r.m, r.file
	w.join(r.f)
	w.names.walked[q.id] = true
	w.progressed(1)
	if m == nil {
		return nil
	}
	switch {
	case q.name == roles.TypeTargets:
		w.got.Targets = m
	case w.keep && w.holds(q.name):
		w.got.Delegated[q.name] = m
	}
	dl := m.Signed.Delegations
	if q.name == roles.TypeTargets {
		w.targetsDel = dl
	}
	if dl == nil {
		return nil
	}
	w.trust(q.name, dl.Keys)
	var out []queued
	enqueue := func(name string, rule pathRule, del roles.Delegation) {
		if i, dup := w.names.find(name); dup {
			w.fail("delegation."+name+".name", name, file, ReasonRoleNameReused, nil,
				"%s delegates to %s, which %s already delegates to: each role has one delegator", q.name, name, w.names.delegator(i))
			return
		}
		if slices.Contains(roles.TopLevelRoles, name) {
			w.fail("delegation."+name+".name", name, file, ReasonTopLevelDelegated, nil, "%s delegates the top-level role name %q", q.name, name)
			return
		}
		// The name outlives the delegating role's file in the report;
		// a copy lets the file go.
		name = strings.Clone(name)
		id, _ := w.names.insert(name, q.id)
		if w.opts.Follow != nil && !w.opts.Follow(q.name, name) {
			return
		}
		out = append(out, queued{name: name, id: id, delegator: q.name, del: del, paths: append(slices.Clip(q.paths), rule)})
	}
	if s := dl.SuccinctRoles; s != nil {
		var bins []string
		for i := range w.snap.names.len() {
			if n, ok := strings.CutSuffix(string(w.snap.names.bytes(i)), ".json"); ok && s.IsBin(n) {
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
				"%s delegates %d hash bins %s-*, but snapshot v%d lists %d of them%s", q.name, s.BinCount(), s.NamePrefix, w.snap.version, len(bins),
				ifMissing(missing))
		}
		for _, n := range bins {
			enqueue(n, pathRule{succinct: s, bin: n}, roles.Delegation{Role: n, Keys: dl.Keys, KeyIDs: s.KeyIDs, Threshold: s.Threshold})
		}
	}
	for _, r := range dl.Roles {
		enqueue(r.Name, pathRule{role: r}, roles.Delegation{Role: r.Name, Keys: dl.Keys, KeyIDs: r.KeyIDs, Threshold: r.Threshold})
	}
	return out
}

func ifMissing(missing []string) string {
	if len(missing) == 0 {
		return ""
	}
	return " (missing: " + roles.FirstFew(missing, "; ") + ")"
}

// verifyRevocations verifies the revocation list when snapshot lists it,
// and, on a walk of every delegation, checks that no key a verified role
// trusts is on it.
func (w *walker) verifyRevocations() {
	const name = roles.TypeRevocations
	mf := w.snap.meta(name + ".json")
	if _, delegated := w.names.find(name); mf == nil || delegated {
		return // none, or a delegated targets role of that name
	}
	id, _ := w.names.insert(name, -1) // listed by snapshot, delegated by no role
	w.names.walked[id] = true
	defer w.progressed(1)
	l := listing{"snapshot.meta." + name + ".json", mf}
	ahead := w.revocations
	w.join(ahead.f)
	b, file, ok := ahead.b, ahead.file, ahead.ok
	if !ok {
		return
	}
	w.checkMeta(l, name, file, b)
	m := parseRole[*roles.Revocations](w, name, name, file, b)
	if m == nil {
		return
	}
	var del roles.Delegation
	err := errors.New("targets was not verified")
	if w.targetsDel != nil {
		del, err = w.targetsDel.Delegation(claimed)
	}
	if err != nil {
		w.fail("revocations.signature", name, file, ReasonNotDelegated, err,
			"the revocation list is signed under targets' delegation to %s, but %v", claimed, err)
	} else {
		del.Role = name
		rep := checkSigned(w, "revocations.signature", name, file, m, del)
		w.addRole(name, file, roles.TypeTargets, &m.Signed.Header, rep, del)
	}
	w.checkVersion("revocations.version", name, file, m.Signed.Version, mf.Version, "snapshot")
	w.checkExpiry("revocations.expiry", name, file, &m.Signed.Header)
	w.got.Revocations = m

	if w.opts.Follow != nil {
		return // the keys of roles not walked are unknown
	}
	for _, h := range w.revokedHits {
		w.fail(roles.CheckNoRevokedKeyTrusted, h.role, file, ReasonRevokedKeyTrusted, nil,
			"%s trusts key %s, revoked %s (%s, was trusted in %s)", h.role, roles.ShortID(h.keyid), h.r.RevokedAt.Format(roles.TimeFormat), h.r.Reason, h.r.Role)
	}
	if len(w.revokedHits) == 0 {
		w.pass(roles.CheckNoRevokedKeyTrusted, name, file, "none of the %d revoked keys is trusted by any of %d roles' keys", len(m.Signed.Revoked), w.trustedRoles)
	}
}

// revocationsAhead reads the revocation list snapshot lists, on a fork
// whose checks verifyRevocations adopts where a walk one role at a time
// would have read it, and indexes it when it parses.
func (w *walker) revocationsAhead() {
	const name = roles.TypeRevocations
	mf := w.snap.meta(name + ".json")
	if mf == nil {
		return
	}
	f := w.fork()
	b, file, ok := f.read("revocations.file", name, listing{"snapshot.meta." + name + ".json", mf}, w.fileNames(name, mf.Version)...)
	w.revocations = &revocationsRead{f: f, b: b, file: file, ok: ok}
	if !ok {
		return
	}
	if m, err := roles.Parse[*roles.Revocations](b); err == nil {
		w.revoked = m.Signed.Index()
	}
}

// trust notes a keys map a verified role trusts, and the keys on the
// revocation list among them.
func (w *walker) trust(role string, keys map[string]*roles.Key) {
	w.trustedRoles++
	if w.revoked == nil {
		return
	}
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		if r := w.revoked.IsRevoked(id, keys[id]); r != nil {
			w.revokedHits = append(w.revokedHits, revokedHit{role: role, keyid: strings.Clone(id), r: r})
		}
	}
}

// checkRequired fails the walk for every role Options.Require names that
// it did not walk to.
func (w *walker) checkRequired() {
	for _, name := range w.opts.Require {
		switch {
		case w.names.hasWalked(name):
			// its own checks say how it went
		case w.snap.meta(name+".json") == nil:
			w.fail("snapshot.meta."+name+".json.listed", name, "", ReasonNotListed, nil,
				"snapshot v%d does not list %s.json", w.snap.version, name)
		default:
			w.fail("delegation."+name+".name", name, "", ReasonNotDelegated, nil,
				"snapshot lists %s.json, but no delegation walked from targets reaches %s", name, name)
		}
	}
}
