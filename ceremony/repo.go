package ceremony

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Repo is the trusted state a ceremony starts from: the newest verified
// metadata of each role it may change, and the files it was read from.
type Repo struct {
	*repoverify.Repository
	// Claimed is claimed's metadata. Bins names its bins when claimed is
	// split (see bins.go), in the order claimed lists them; empty
	// otherwise. The walk verified every bin and kept only its digest:
	// Bin reads one again when a command needs it, so that the hundreds
	// of bins of PyPI's claimed are never held at once.
	Claimed  *roles.Metadata[*roles.Targets]
	Bins     []string
	binFiles map[string]string // the file each bin was read from
	// open reads a verified file again, from the folder or the
	// transcript's artifacts it was verified from.
	open func(name string) ([]byte, error)
	// PublishedProjects are the project metadata files maintainers
	// published since the trusted snapshot, newer than it lists, by
	// project (include.go); their bytes are in Files.
	PublishedProjects map[string]*roles.Metadata[*roles.Targets]
	// PassedOver are the project metadata files a load from a folder
	// passed over (include.go), in the order it tried them; none when
	// rebuilt from a transcript's files, which hold only those it took.
	PassedOver []PassedOver
	// FileOrder is the names of the files verified, sorted: the
	// transcript keeps the files so that a replay needs no repository.
	// Files holds the bytes of only some of them (bins are read again
	// through File; a Repo rebuilt from a transcript's files keeps only
	// the ones read again after the walk, see rereadFiles); Sums has the
	// digest of each.
	FileOrder []string
}

// ErrUntrusted is wrapped when the starting repository does not verify,
// together with the repoverify error that says why (which is
// repoverify.ErrFailed or repoverify.ErrBadInput).
var ErrUntrusted = errors.New("trusted state does not verify")

// trustedWalk is how far a ceremony reads the repository it starts from:
// the roles it may change (targets, claimed and claimed's bins, the
// revocation list), not the projects or the online roles' delegations.
// Expiry is not judged: an offline ceremony must be able to start from
// expired metadata, since refreshing it is one of its jobs (the staged
// roles' own expiry is a policy check). A ceremony's scope counts only
// signatures every client accepts.
var trustedWalk = repoverify.Options{
	Scope: roles.ScopeCeremony,
	Follow: func(delegator, delegated string) bool {
		return delegator == RoleTargets && delegated == RoleClaimed ||
			delegator == RoleClaimed && isBinName(delegated)
	},
	Require: []string{RoleClaimed, RoleRevocations},
	// The bins are read again one at a time (Repo.Bin); of snapshot, which
	// lists every project, the walk's index is enough
	// (Repository.SnapshotEntries).
	Hold: func(role string) bool { return !isBinName(role) && role != RoleSnapshot },
}

// LoadRepo reads and verifies the repository in dir from the pinned root
// trustedRoot, with repoverify's walk and checks: the root chain
// N.root.json up from the pinned version, timestamp.json, the snapshot it
// names, and targets, claimed (and its bins) and revocations at the
// versions snapshot lists, each under its delegator's keys and threshold.
// Each file is read within boundedfile.Metadata's limit, or the length
// snapshot or timestamp lists.
func LoadRepo(dir string, trustedRoot []byte) (*Repo, error) {
	return loadRepo(dir, trustedRoot, 0, nil)
}

// loadRepo is LoadRepo with maxMetadata, when not zero, as the limit of a
// metadata file, telling progress how far the walk has gone when set.
func loadRepo(dir string, trustedRoot []byte, maxMetadata int64, progress func(done, total int)) (*Repo, error) {
	opts := trustedWalk
	opts.MaxMetadata = maxMetadata
	opts.Progress = progress
	lim := boundedfile.Metadata
	if maxMetadata > 0 {
		lim.Max = maxMetadata
	}
	open := func(name string) ([]byte, error) { return boundedfile.Read(filepath.Join(dir, name), lim) }
	r, err := repoFrom(repoverify.Load(dir, trustedRoot, opts))
	if err != nil {
		return nil, err
	}
	r.open = open
	ents, _ := os.ReadDir(dir) // the walk read it: a failure now finds nothing more
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	if err := r.findPublishedProjects(names, open); err != nil {
		return nil, err
	}
	return r, nil
}

// repoFromFiles rebuilds a Repo from the files a transcript recorded,
// names, read one at a time through read. The checks are LoadRepo's, but
// for the limit on a file's size: the files are artifacts, within
// boundedfile.Artifact's limit, read by a start that may have raised the
// metadata limit. progress, when set, is told how far the walk has gone.
func repoFromFiles(trustedRoot []byte, names []string, read func(name string) ([]byte, error), progress func(done, total int)) (*Repo, error) {
	opts := trustedWalk
	opts.MaxMetadata = boundedfile.Artifact.Max
	opts.Progress = progress
	r, err := repoFrom(repoverify.FromFileSet(names, read, trustedRoot, opts))
	if err != nil {
		return nil, err
	}
	r.open = read
	if err := r.findPublishedProjects(names, read); err != nil {
		return nil, err
	}
	r.Files = rereadFiles(r.Files)
	return r, nil
}

// rereadFiles are the files of a verified repository the engine reads
// again once the walk parsed them: the root chain (checkpoints name the
// roots) and timestamp. The bytes of the targets roles, which at PyPI's
// scale are most of the repository, are left to the transcript that holds
// them (Repo.File reads one again), so that a command folding it does not
// hold them twice; snapshot's, not held by the walk, too.
func rereadFiles(files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for name, b := range files {
		role := strings.TrimSuffix(name, ".json")
		if _, r, ok := versionedName(name); ok {
			role = r
		}
		if role == RoleRoot || role == RoleSnapshot || role == RoleTimestamp {
			out[name] = b
		}
	}
	return out
}

// repoFrom is the Repo a walk verified; the caller sets how its files are
// read again (open).
func repoFrom(v *repoverify.Repository, err error) (*Repo, error) {
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	r := &Repo{Repository: v, Claimed: v.Delegated[RoleClaimed], binFiles: map[string]string{}}
	if isBinned(r.Claimed.Signed) {
		for _, b := range r.Claimed.Signed.Delegations.Roles {
			file := ""
			if mf := v.SnapshotEntries.Meta(b.Name + ".json"); mf != nil {
				for _, f := range []string{fmt.Sprintf("%d.%s.json", mf.Version, b.Name), b.Name + ".json"} {
					if _, ok := v.Sums[f]; ok {
						file = f
						break
					}
				}
			}
			if file == "" {
				return nil, fmt.Errorf("%w: claimed is split into bins, yet also delegates to %s: delegate projects from the bins only", ErrUntrusted, b.Name)
			}
			r.Bins = append(r.Bins, b.Name)
			r.binFiles[b.Name] = file
		}
	}
	r.FileOrder = slices.Sorted(maps.Keys(v.Sums))
	return r, nil
}

// Bin returns claimed's bin name as the walk verified it, read again and
// checked against the digest the walk took; nil when claimed has no such
// bin.
func (r *Repo) Bin(name string) (*roles.Metadata[*roles.Targets], error) {
	file, ok := r.binFiles[name]
	if !ok {
		return nil, nil
	}
	b, err := r.File(file)
	if err != nil {
		return nil, err
	}
	m, err := roles.Parse[*roles.Targets](b)
	if err != nil {
		return nil, fmt.Errorf("%w: claimed's bin %s, read again: %w", ErrUntrusted, name, err)
	}
	return m, nil
}

// File returns the bytes of a file the walk verified: those it held, or
// the file read again and checked against the digest it took, so that a
// file changed since is refused, not trusted.
func (r *Repo) File(name string) ([]byte, error) {
	if b, ok := r.Files[name]; ok {
		return b, nil
	}
	sum, ok := r.Sums[name]
	if !ok || r.open == nil {
		return nil, fmt.Errorf("%s is not a file of the trusted repository", name)
	}
	b, err := r.open(name)
	if err != nil {
		return nil, fmt.Errorf("read %s again: %w", name, err)
	}
	if sha256.Sum256(b) != sum.SHA256 {
		return nil, fmt.Errorf("%w: %s changed since it was verified: leave the trusted folder alone during the ceremony, and start again", ErrUntrusted, name)
	}
	return b, nil
}

// digest is the artifact digest of the verified file name.
func (r *Repo) digest(name string) string {
	sum := r.Sums[name].SHA256
	return "sha256:" + hex.EncodeToString(sum[:])
}

// A PassedOver is a project metadata file in the trusted folder that the
// search for what maintainers published since the trusted snapshot
// (findPublishedProjects) passed over: named as a newer version of a
// project claimed delegates to, but it cannot be read, is not that
// version's targets metadata, or is not signed by a threshold of the
// project's keys. The online service would not list it either; start
// says so, so that an admin knows a maintainer's upload was ignored.
type PassedOver struct {
	File    string `json:"file"`
	Project string `json:"project"`
	Version int64  `json:"version"`
	// Reason says why, in at most maxReason bytes: it may quote the
	// file, which anyone who can write to the folder wrote.
	Reason string `json:"reason"`
}

// maxReason bounds a PassedOver's reason.
const maxReason = 300

// passOver records that file, named as version v of project, was passed
// over, and why.
func (r *Repo) passOver(file, project string, v int64, why string, args ...any) {
	reason := fmt.Sprintf(why, args...)
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "…"
	}
	r.PassedOver = append(r.PassedOver, PassedOver{File: file, Project: project, Version: v, Reason: reason})
}

// passedOver is PassedOver, nil for a bootstrap.
func (r *Repo) passedOver() []PassedOver {
	if r == nil {
		return nil
	}
	return r.PassedOver
}

// PassedOver returns the project metadata files the start that made the
// engine (Begin) passed over in the trusted folder; nil for an engine
// opened on a transcript, which does not record them.
func (e *Engine) PassedOver() []PassedOver { return e.passedOver }

// String says it in the review's words: "passed over
// 3.sampleproject.json (sampleproject v3): not signed by …".
func (p PassedOver) String() string {
	return fmt.Sprintf("passed over %s (%s v%d): %s", untrusted.Line(p.File), shownName(p.Project), p.Version, untrusted.Line(p.Reason))
}

// PassedOverLines says the files passed over, a line each, the first page
// of them, counted ('ceremony start --json' lists every one).
func PassedOverLines(files []PassedOver, page int) []string {
	return pageLines("project metadata files in the trusted folder passed over, %d in all: these maintainers' uploads will not be published", files, page,
		"'ceremony start --json' lists every one")
}

// ProgressFunc is told how far a step of a long command has gone: done of
// total (0 while the total is not known yet), for a face to show. The
// step names the work in a few words ("verifying the trusted
// repository"). It may be called from several goroutines.
type ProgressFunc func(step string, done, total int)

// report tells p, when set, how far step has gone.
func (p ProgressFunc) report(step string, done, total int) {
	if p != nil {
		p(step, done, total)
	}
}

// step returns the callback a walk reports step's progress to, or nil.
func (p ProgressFunc) step(step string) func(done, total int) {
	if p == nil {
		return nil
	}
	return func(done, total int) { p(step, done, total) }
}
