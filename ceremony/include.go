package ceremony

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Project metadata in a ceremony (PEP 480): the maintainers sign their
// project's delegated targets metadata (`ceremony maintainer sign`), and
// the ceremony that delegates the project to their keys includes it
// (IncludeAll), so that it is published beside claimed and listed in the
// new snapshot. Metadata maintainers published between ceremonies, newer
// than the trusted snapshot lists, is found in the trusted folder
// (findPublishedProjects) and listed too.

// ErrNotDelegated is wrapped when included metadata names a role the
// ceremony's claimed role (or its bin) does not delegate to.
var ErrNotDelegated = errors.New("role is not a project claimed delegates to")

// Included is a delegated role's metadata signed elsewhere, to include.
type Included struct {
	Role     string
	Metadata []byte
}

// IncludeAll takes in delegated targets roles signed elsewhere, such as
// projects' metadata signed by their maintainers, so that they are
// published with the ceremony and listed in snapshot. Each is checked
// against the delegation the ceremony leaves it (claimed or its bin, as
// staged, or as trusted): a threshold of the delegation's keys signed it,
// its version is above any the repository holds for it, and it is not
// expired at the plan's reference time. One refused records none.
func (e *Engine) IncludeAll(in []Included) error {
	b := e.batch()
	for _, f := range in {
		m, err := roles.Parse[*roles.Targets](f.Metadata)
		if err != nil {
			return fmt.Errorf("include %s: %w", f.Role, err)
		}
		if err := b.add(eventIncluded, includedData{Role: f.Role, Version: m.Signed.Version, Metadata: b.artifact(f.Metadata)}); err != nil {
			return err
		}
	}
	return e.write(b)
}

// checkIncludedFresh refuses included metadata that does not move its
// role on: a version the repository already holds (or one below it), or
// metadata expired at the reference time, which no client would accept.
func (s *State) checkIncludedFresh(role string, m *roles.Metadata[*roles.Targets]) error {
	repo, err := s.repository() // a state taken up from the fold cache reads it only now
	if err != nil {
		return err
	}
	if have := repo.projectVersion(role); m.Signed.Version <= have {
		return fmt.Errorf("include %s: %w: the file is v%d, and the repository holds v%d already: ask its maintainers to raise the version above %d and sign again",
			role, roles.ErrRollback, m.Signed.Version, have, have)
	}
	if ref := s.Plan.ReferenceTime; m.Signed.IsExpired(ref) {
		return fmt.Errorf("include %s: %w: v%d expired %s, before the plan's reference time %s: ask its maintainers to set a later expiry and sign again",
			role, roles.ErrExpired, m.Signed.Version, m.Signed.Expires.Format(roles.TimeFormat), ref.Format(roles.TimeFormat))
	}
	return nil
}

// includedSummary says what included metadata holds and who signed it,
// for the review and the faces.
func includedSummary(role string, m *roles.Metadata[*roles.Targets], del roles.Delegation, names KeyNames) []string {
	z := summarizer{names: names}
	rep, _ := roles.Verify(m, del)
	var signed []string
	if rep != nil {
		signed = rep.Signed
	}
	return []string{
		fmt.Sprintf("%s v%d, signed by its maintainers: %d of %s", shownName(role), m.Signed.Version, len(signed), z.threshold(del.Threshold, del.KeyIDs)),
		fmt.Sprintf("%d target files; expires %s", len(m.Signed.Targets), day(m.Signed.Expires)),
	}
}

// projectVersion is the newest version of role's metadata the repository
// holds: the one snapshot lists, or one its maintainers published since;
// 0 for none (or a bootstrap).
func (r *Repo) projectVersion(role string) int64 {
	if r == nil {
		return 0
	}
	if m := r.PublishedProjects[role]; m != nil {
		return m.Signed.Version
	}
	if mf := r.SnapshotEntries.Meta(role + ".json"); mf != nil {
		return mf.Version
	}
	return 0
}

// projectDelegations returns a lookup of the delegation the trusted
// claimed role (or the bin that holds it) gives a project; ok is false
// when it delegates to no such project. It holds one bin at a time: look
// projects up in name order, and each bin is read once.
func (r *Repo) projectDelegations() func(project string) (d roles.Delegation, ok bool, err error) {
	var held string
	var heldBin *roles.Metadata[*roles.Targets]
	return func(project string) (roles.Delegation, bool, error) {
		t := r.Claimed.Signed
		if isBinned(t) {
			bin, err := binFor(t, project)
			if err != nil {
				return roles.Delegation{}, false, err
			}
			if bin != held {
				if heldBin, err = r.Bin(bin); err != nil {
					return roles.Delegation{}, false, err
				}
				held = bin
			}
			if heldBin == nil {
				return roles.Delegation{}, false, nil
			}
			t = heldBin.Signed
		}
		if t.Delegations == nil {
			return roles.Delegation{}, false, nil
		}
		d, err := t.Delegations.Delegation(project)
		return d, err == nil, nil
	}
}

// findPublishedProjects finds, among the files names lists, the project
// metadata maintainers published since the trusted snapshot: for each
// project the trusted claimed role (or its bin) delegates to, the newest
// VERSION.PROJECT.json above the version snapshot lists that a threshold
// of the project's keys signed. Each is kept in PublishedProjects, and its
// bytes in Files, so that the transcript records it and a replay finds
// the same. A file that cannot be read, does not parse or does not verify
// is passed over (PassedOver): the online service would not list it
// either. Its error is a bin that cannot be read again.
func (r *Repo) findPublishedProjects(names []string, read func(name string) ([]byte, error)) error {
	newer := map[string][]int64{}
	for _, n := range names {
		v, role, ok := versionedName(n)
		if !ok || role == RoleRoot || isBinName(role) {
			continue
		}
		listed := int64(0)
		if mf := r.SnapshotEntries.Meta(role + ".json"); mf != nil {
			listed = mf.Version
		}
		if v > listed {
			newer[role] = append(newer[role], v)
		}
	}
	lookup := r.projectDelegations()
	for _, role := range slices.Sorted(maps.Keys(newer)) {
		del, delegated, err := lookup(role)
		if err != nil {
			return err
		}
		if !delegated {
			continue
		}
		vs := newer[role]
		slices.Sort(vs)
		for _, v := range slices.Backward(vs) {
			name := fmt.Sprintf("%d.%s.json", v, role)
			b, err := read(name)
			if err != nil {
				r.passOver(name, role, v, "it cannot be read: %v", err)
				continue
			}
			m, err := roles.Parse[*roles.Targets](b)
			switch {
			case err != nil:
				r.passOver(name, role, v, "it is not targets metadata: %v", err)
				continue
			case m.Signed.Version != v:
				r.passOver(name, role, v, "it holds v%d, not the v%d its name says", m.Signed.Version, v)
				continue
			}
			if _, err := roles.Verify(m, del); err != nil {
				r.passOver(name, role, v, "it does not verify under the keys claimed delegates %s to: %v", role, err)
				continue
			}
			if r.PublishedProjects == nil {
				r.PublishedProjects = map[string]*roles.Metadata[*roles.Targets]{}
			}
			r.PublishedProjects[role], r.Files[name], r.Sums[name] = m, b, repoverify.Sum{SHA256: sha256.Sum256(b), Size: len(b)}
			r.FileOrder = append(r.FileOrder, name)
			break
		}
	}
	slices.Sort(r.FileOrder)
	return nil
}

// versionedName splits a consistent-snapshot file name, VERSION.ROLE.json.
func versionedName(name string) (version int64, role string, ok bool) {
	vs, rest, ok := strings.Cut(name, ".")
	role, json := strings.CutSuffix(rest, ".json")
	if !ok || !json || role == "" || vs == "" || strings.Trim(vs, "0123456789") != "" || vs[0] == '0' {
		return 0, "", false
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	return v, role, err == nil && v > 0
}

// publishedProjects is PublishedProjects, nil for a bootstrap.
func (r *Repo) publishedProjects() map[string]*roles.Metadata[*roles.Targets] {
	if r == nil {
		return nil
	}
	return r.PublishedProjects
}
