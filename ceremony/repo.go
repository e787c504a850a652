package ceremony

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Repo is the trusted state a ceremony starts from: the newest verified
// metadata of each role it may change, and the files it was read from.
type Repo struct {
	*repoverify.Repository
	// Claimed is claimed's metadata, and ClaimedBins its hashed bins, by
	// name, when claimed is split (see bins.go); empty otherwise.
	Claimed     *roles.Metadata[*roles.Targets]
	ClaimedBins map[string]*roles.Metadata[*roles.Targets]
	// FileOrder is the names of Files, sorted: the transcript keeps the
	// files so that a replay needs no repository.
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
			delegator == RoleClaimed && strings.HasPrefix(delegated, binPrefix+"-")
	},
	Require: []string{RoleClaimed, RoleRevocations},
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
	return repoFrom(repoverify.Load(dir, trustedRoot, opts))
}

// RepoFromFiles rebuilds a Repo from files a transcript recorded. Nothing
// is read from disk; the checks are LoadRepo's, but for the limit on a
// file's size: the files are artifacts, within boundedfile.Artifact's
// limit, read by a start that may have raised the metadata limit.
func RepoFromFiles(trustedRoot []byte, files map[string][]byte) (*Repo, error) {
	return repoFromFiles(trustedRoot, files, nil)
}

// repoFromFiles is RepoFromFiles, telling progress how far the walk has
// gone when it is set.
func repoFromFiles(trustedRoot []byte, files map[string][]byte, progress func(done, total int)) (*Repo, error) {
	opts := trustedWalk
	opts.MaxMetadata = boundedfile.Artifact.Max
	opts.Progress = progress
	return repoFrom(repoverify.FromFiles(files, trustedRoot, opts))
}

func repoFrom(v *repoverify.Repository, err error) (*Repo, error) {
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	r := &Repo{Repository: v, Claimed: v.Delegated[RoleClaimed], ClaimedBins: map[string]*roles.Metadata[*roles.Targets]{}}
	if isBinned(r.Claimed.Signed) {
		for _, b := range r.Claimed.Signed.Delegations.Roles {
			if r.ClaimedBins[b.Name] = v.Delegated[b.Name]; r.ClaimedBins[b.Name] == nil {
				return nil, fmt.Errorf("%w: claimed is split into %s-* bins, yet also delegates to %s: delegate projects from the bins only", ErrUntrusted, binPrefix, b.Name)
			}
		}
	}
	r.FileOrder = slices.Sorted(maps.Keys(r.Files))
	return r, nil
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
