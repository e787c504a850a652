// Package repoverify verifies a published TUF repository from a trusted
// root. One walk does it: the root chain, timestamp, the snapshot it
// names, targets and the roles it delegates, and this project's revocation
// list, each read under the names the TUF spec and its clients use and
// checked as it is reached, every check under a stable name.
//
// The walk serves two callers. Verify walks every delegation and judges
// expiry as of a given time, as `ceremony verify` and a TUF client do.
// Load and FromFiles walk only the roles a caller names, from a folder or
// from the files a transcript recorded, and return what they verified:
// the trusted state a ceremony starts from.
//
// Every check takes its severity from the one table in roles
// (roles.SeverityOf) for the walk's scope, and a threshold counts the
// signatures that scope counts (roles.VerifyOptionsFor): `ceremony
// verify` warns where a ceremony refuses. Every file is read bounded, and
// only if it is a regular file (internal/boundedfile): a file snapshot or
// timestamp lists a length for is read within that length, any other
// within Options.MaxMetadata.
//
// The package knows TUF and the roles package, never ceremonies: the
// engine depends on it, not the reverse.
package repoverify

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// Verify verifies the published repository in dir from the trusted root,
// as of at, in roles.ScopeVerify, the way a TUF client would and more strictly: the root chain
// N.root.json from the trusted version on (expiry checked on the newest
// root only), timestamp.json, the snapshot it names (its length and
// hashes), targets, and every delegated targets role reachable from
// targets, depth first in the order a client searches delegations (each
// role's delegated roles before its next sibling: listed roles and
// succinct hash bins), each at
// the version snapshot lists, checked against snapshot's length and
// hashes, signed by a threshold of distinct keys its delegator names, not
// expired, and listing only targets under its delegated paths. When
// snapshot lists revocations.json (this project's extension), the list is
// verified under targets' delegation to claimed, and no key any verified
// role trusts may be on it.
//
// Beyond what clients check, it refuses by name: duplicate JSON member
// names, versions below 1, a spec version other than 1.x, times not in
// UTC (metadata from before TUF 1.0), ECDSA signatures not in DER, a role
// name delegated twice, a top-level role name delegated, and root
// versions published beyond a gap in the chain. A key listed under a
// keyid that is not its hash (a legacy keyid, TAP 12) is a warning here,
// an error in a ceremony (roles.CheckKeyIDIsHash).
//
// File names follow the TUF spec: with consistent snapshots
// VERSION.NAME.json, else NAME.json, where NAME is the role name escaped
// as python-tuf escapes it (urllib's quote with no safe characters); the
// forms go-tuf (url.PathEscape) and a web server that decodes %2F (a
// subfolder) would fetch are tried too.
//
// The report lists every check; the error, when verification fails, is an
// *Error naming the first failure. A folder or trusted root that cannot
// be read is an error with no report. Both kinds of error are ErrFailed
// or ErrBadInput. A zero at judges no expiry.
func Verify(dir string, trustedRoot []byte, at time.Time) (*Report, error) {
	return VerifyWith(dir, trustedRoot, Options{At: at, Scope: roles.ScopeVerify})
}

// VerifyWith is Verify as opts say: a ceremony's publish verifies its
// staged repository in roles.ScopeCeremony, where a signature some
// clients refuse is an error; `ceremony verify --strict` makes every
// warning a failure.
func VerifyWith(dir string, trustedRoot []byte, opts Options) (*Report, error) {
	w, err := walkDir(dir, trustedRoot, opts, false)
	if err != nil {
		return nil, err
	}
	if w.first != nil {
		return w.rep, w.first
	}
	return w.rep, nil
}

// Options say how far a walk goes, what it judges and how gravely.
type Options struct {
	// At is the time expiry is judged at; the zero time judges none. An
	// offline ceremony starts from metadata that may have expired, since
	// refreshing it is one of its jobs.
	At time.Time
	// Follow, when set, says which delegations to walk: a delegated role
	// is verified only when Follow(delegator, delegated) holds. Nil walks
	// every delegation reachable from targets. A partial walk reports
	// neither the snapshot entries it does not reach nor revoked keys
	// still trusted: both speak of the whole repository.
	Follow func(delegator, delegated string) bool
	// Require names roles the walk must verify: a targets role or
	// revocations that no delegation reaches, or snapshot does not list,
	// fails the walk.
	Require []string
	// Scope sets how grave each check's failure is (roles.SeverityOf)
	// and which signatures a threshold counts (roles.VerifyOptionsFor).
	// The zero value is roles.ScopeCeremony, the strictest.
	Scope roles.Scope
	// Strict makes every failed warning a failure too.
	Strict bool
	// MaxMetadata is the most bytes a metadata file may hold when neither
	// snapshot nor timestamp lists its length (a listed length is the
	// file's limit); zero means boundedfile.Metadata's default. A larger
	// file is refused unread, as bad input.
	MaxMetadata int64
	// Unsigned names files staged for signing and not signed yet (a root
	// of version N, trusted or in the chain, as N.root.json): their
	// signatures are not judged, everything else about them is. A
	// ceremony checks so what it will publish before anyone signs.
	Unsigned map[string]bool
	// Hold, when set, says which delegated roles (and whether snapshot)
	// Load and FromFiles keep, parsed in Repository.Delegated (or
	// Repository.Snapshot) and as bytes in Repository.Files; of the
	// others they keep only the digest (Repository.Sums), so that a walk
	// over many large roles does not hold them all. Nil keeps every one.
	Hold func(role string) bool
	// FailedOnly leaves passed checks out of Report.Checks, counting them
	// in Report.Passed, so that a report on a million roles holds what
	// failed and not ten million lines of what passed.
	FailedOnly bool
	// Progress, when set, is called as roles are verified: done of total,
	// where total is the number of files snapshot lists (the most a walk
	// can reach) until the last call, which has done == total. It is
	// called on the goroutine that called the walk, never concurrently,
	// so it must return quickly; it is how a command draws a progress bar.
	Progress func(done, total int)
	// OnRole and OnCheck, when set, are handed each role and each check
	// that Report.Roles and Report.Checks would list, in the same order,
	// as soon as it is final, and the report does not list them: so a
	// report on a million roles is written as the walk goes and not held
	// (`ceremony verify --json`). Report.Failures and Report.Warnings
	// list what failed either way. Like Progress, they are called on the
	// goroutine that called the walk, never concurrently.
	OnRole  func(Role)
	OnCheck func(Check)
}

// Repository is what a walk verified: the newest root, timestamp, the
// snapshot it names, targets, the delegated roles reached and the
// revocation list, with the bytes each was read from.
type Repository struct {
	Root      *roles.Metadata[*roles.Root]
	Timestamp *roles.Metadata[*roles.Timestamp]
	// Snapshot is nil when Options.Hold lets it go; SnapshotEntries
	// always has its version and entries.
	Snapshot        *roles.Metadata[*roles.Snapshot]
	SnapshotEntries *SnapshotEntries
	Targets         *roles.Metadata[*roles.Targets]
	// Delegated are the delegated targets roles verified, by name.
	Delegated map[string]*roles.Metadata[*roles.Targets]
	// Revocations is nil when snapshot lists none.
	Revocations *roles.Metadata[*roles.Revocations]
	// Files are the bytes of every file verified (not the trusted root),
	// by name, but those of the roles Options.Hold lets go of.
	Files map[string][]byte
	// Sums are the SHA-256 digests of every file verified, by name, those
	// Files leaves out too: a caller that reads such a file again knows
	// it has the bytes that were verified.
	Sums map[string]Sum
}

// Sum is a verified file's SHA-256 digest and size.
type Sum struct {
	SHA256 [sha256.Size]byte
	Size   int
}

// Load walks the repository in dir from the trusted root as opts say and
// returns what it verified. Its errors are Verify's. Every file is read
// within its limit (Options.MaxMetadata), and only if it is a regular
// file.
func Load(dir string, trustedRoot []byte, opts Options) (*Repository, error) {
	w, err := walkDir(dir, trustedRoot, opts, true)
	if err != nil {
		return nil, err
	}
	return w.result()
}

// FromFiles is Load over files a transcript recorded, by name; nothing is
// read from disk.
func FromFiles(files map[string][]byte, trustedRoot []byte, opts Options) (*Repository, error) {
	return FromFileSet(slices.Collect(maps.Keys(files)), recorded(files).get, trustedRoot, opts)
}

// FromFileSet is FromFiles over files read one at a time, as the walk
// reaches them, so that a repository of many files is never held whole:
// names lists them all, and read returns a file's bytes, or an error
// wrapping fs.ErrNotExist for a name it does not have.
func FromFileSet(names []string, read func(name string) ([]byte, error), trustedRoot []byte, opts Options) (*Repository, error) {
	w, err := walkSource(fileSet{names, read}, "", trustedRoot, opts, true)
	if err != nil {
		return nil, err
	}
	return w.result()
}

// VerifyStaged is Verify, with opts, over the repository in dir as it will
// be once the files in staged (by name) are written into it; nothing is
// written. A dir that does not exist yet holds nothing. It is how a
// ceremony checks what it is about to publish.
func VerifyStaged(dir string, staged map[string][]byte, trustedRoot []byte, opts Options) (*Report, error) {
	if _, err := os.Stat(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, inputErrorf("metadata folder %s cannot be read: %w", dir, err)
	}
	w, err := walkSource(overlay{folder(dir), recorded(staged)}, dir, trustedRoot, opts, false)
	if err != nil {
		return nil, err
	}
	if w.first != nil {
		return w.rep, w.first
	}
	return w.rep, nil
}

// walkDir walks the folder dir; keep keeps what it verifies for result.
func walkDir(dir string, trustedRoot []byte, opts Options, keep bool) (*walker, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if err == nil {
			err = &fs.PathError{Op: "open", Path: dir, Err: errors.New("not a directory")}
		}
		return nil, inputErrorf("metadata folder %s cannot be read: %w; give the folder that holds timestamp.json and the N.root.json files", dir, err)
	}
	return walkSource(folder(dir), dir, trustedRoot, opts, keep)
}

// walkSource walks src, the folder dir or, with dir "", recorded files.
func walkSource(src source, dir string, trustedRoot []byte, opts Options, keep bool) (*walker, error) {
	root, err := roles.Parse[*roles.Root](trustedRoot)
	if err != nil {
		return nil, inputErrorf("trusted root: %w; give the root metadata file you trust, as published (N.root.json)", err)
	}
	w := newWalker(src, dir, opts)
	w.keep = keep
	w.walk(root)
	w.rep.OK = w.first == nil
	return w, nil
}

// result is what the walk verified, or its first failure.
func (w *walker) result() (*Repository, error) {
	if w.first != nil {
		return nil, w.first
	}
	// A copy, so that the walker (its snapshot index and name set) can go.
	got := w.got
	return &got, nil
}
