package ceremony

import (
	"fmt"
	"slices"
	"time"

	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// verifyStaged runs the repository verification `ceremony verify` runs
// (repoverify) over dir as this ceremony would leave it: the files the
// staged roles give, with the signatures they have so far, and drafts of
// the online roles that are not staged (see stageOnline). It is the last
// step of publishing, and start runs it too, so that a plan that would
// publish a repository that does not verify is refused before anyone
// signs.
//
// What only later steps provide is not judged: the signatures of a role
// short of its thresholds (before anyone signs, every role's), and, for
// start, the metadata of the projects claimed delegates to, which the
// ceremony may include anew (signed under a new delegation) before it
// publishes. Expiry is judged
// as of the reference time and, when now is not zero, as of the machine's
// clock. A failure names every failed check and wraps
// repoverify.ErrFailed. Progress, when set, is told how far the walk has
// gone.
func (s *State) verifyStaged(dir string, now time.Time, forStart bool, progress func(done, total int)) error {
	if s.Plan.Layout == LayoutRSTUF {
		return s.verifyRSTUF(now)
	}
	files, err := s.publishedFiles()
	if err != nil {
		return err
	}
	staged := map[string][]byte{}
	unsigned := map[string]bool{}
	for _, r := range s.Roles {
		if !reqReached(r) {
			for _, name := range r.fileNames() {
				unsigned[name] = true
			}
		}
	}
	for _, f := range files {
		staged[f.name] = f.b
	}
	drafts, err := s.stageOnline(true)
	if err != nil {
		return err
	}
	for _, d := range drafts {
		if s.Role(d.Role) != nil {
			continue
		}
		r := &RoleState{Staged: *d}
		for _, name := range r.fileNames() {
			staged[name], unsigned[name] = d.Metadata, true
		}
	}
	trusted := s.TrustedRoot
	if s.loaded == nil { // a bootstrap
		trusted = staged["1.root.json"]
	}
	ref := s.Plan.ReferenceTime
	rep, err := repoverify.VerifyStaged(dir, staged, trusted, repoverify.Options{At: ref, Unsigned: unsigned, FailedOnly: true, Progress: progress})
	if rep == nil {
		return fmt.Errorf("the repository as this ceremony would publish it into %s cannot be checked: %w", dir, err)
	}
	var failed []string
	for _, c := range rep.Failures {
		if forStart && s.isProject(c.Role) {
			continue // its maintainers' new metadata may yet be included
		}
		failed = append(failed, fmt.Sprintf("%s (%s): %s", c.Name, c.Role, c.Message))
	}
	if len(failed) > 0 {
		return verifyFailure(dir, "as of the reference time "+ref.Format(roles.TimeFormat), failed)
	}
	if now.IsZero() {
		return nil
	}
	// The same walk judged expiry at the reference time; the machine's
	// clock judges the roles it verified again.
	for _, r := range rep.Roles {
		if (&roles.Header{Expires: r.Expires}).IsExpired(now) {
			failed = append(failed, fmt.Sprintf("%s.expiry (%s): %s v%d expires %s", r.Name, r.File, r.Name, r.Version, r.Expires.Format(roles.TimeFormat)))
		}
	}
	if len(failed) > 0 {
		return verifyFailure(dir, "as of the machine's clock "+now.Format(roles.TimeFormat)+" (it would be expired already: check the clock and the plan's reference_time)", failed)
	}
	return nil
}

func verifyFailure(dir, when string, failed []string) error {
	return fmt.Errorf("%w: the repository as this ceremony would publish it into %s does not verify %s: %s. Nothing was written: change the plan so that these checks pass",
		repoverify.ErrFailed, dir, when, roles.FirstFew(failed, "; "))
}

// isProject reports whether role is a project claimed (or one of its
// bins) delegates to, as staged or as trusted.
func (s *State) isProject(role string) bool {
	if ownRole(role) {
		return false
	}
	_, err := s.projectDelegation(role)
	return err == nil
}

// ownRole reports whether role is one the ceremony itself stages, never a
// project's.
func ownRole(role string) bool {
	return slices.Contains([]string{RoleRoot, RoleTargets, RoleClaimed, RoleRevocations, RoleSnapshot, RoleTimestamp, RoleRecentlyClaimed, RoleUnclaimed}, role)
}
