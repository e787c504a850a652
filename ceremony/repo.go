package ceremony

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Repo is the trusted state a ceremony starts from: the newest verified
// metadata of each role it may change.
type Repo struct {
	Root    *roles.Metadata[*roles.Root]
	Targets *roles.Metadata[*roles.Targets]
	Claimed *roles.Metadata[*roles.Targets]
	// ClaimedBins are claimed's hashed bins, by name, when claimed is
	// split (see bins.go); empty otherwise.
	ClaimedBins map[string]*roles.Metadata[*roles.Targets]
	Revocations *roles.Metadata[*roles.Revocations]
	Snapshot    *roles.Metadata[*roles.Snapshot]
	Timestamp   *roles.Metadata[*roles.Timestamp]

	// Files are the bytes each was read from, by file name, and
	// FileOrder their names, sorted: the transcript keeps them so a
	// replay needs no repository.
	Files     map[string][]byte
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
// roles' own expiry is a policy check).
var trustedWalk = repoverify.Options{
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
func LoadRepo(dir string, trustedRoot []byte) (*Repo, error) {
	return repoFrom(repoverify.Load(dir, trustedRoot, trustedWalk))
}

// RepoFromFiles rebuilds a Repo from files a transcript recorded. Nothing
// is read from disk; the checks are LoadRepo's.
func RepoFromFiles(trustedRoot []byte, files map[string][]byte) (*Repo, error) {
	return repoFrom(repoverify.FromFiles(files, trustedRoot, trustedWalk))
}

func repoFrom(v *repoverify.Repository, err error) (*Repo, error) {
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	r := &Repo{
		Root:        v.Root,
		Targets:     v.Targets[RoleTargets],
		Claimed:     v.Targets[RoleClaimed],
		ClaimedBins: map[string]*roles.Metadata[*roles.Targets]{},
		Revocations: v.Revocations,
		Snapshot:    v.Snapshot,
		Timestamp:   v.Timestamp,
		Files:       v.Files,
	}
	if isBinned(r.Claimed.Signed) {
		for _, b := range r.Claimed.Signed.Delegations.Roles {
			if r.ClaimedBins[b.Name] = v.Targets[b.Name]; r.ClaimedBins[b.Name] == nil {
				return nil, fmt.Errorf("%w: claimed is split into %s-* bins, yet also delegates to %s: delegate projects from the bins only", ErrUntrusted, binPrefix, b.Name)
			}
		}
	}
	for n := range r.Files {
		r.FileOrder = append(r.FileOrder, n)
	}
	sort.Strings(r.FileOrder)
	return r, nil
}
