package ceremony

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/prefixbins"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Role names of the repository PEP 458 and PEP 480 lay out.
const (
	RoleRoot            = "root"
	RoleTargets         = "targets"
	RoleClaimed         = "claimed"
	RoleRecentlyClaimed = "recently-claimed"
	RoleUnclaimed       = "unclaimed"
	RoleRevocations     = "revocations"
	RoleSnapshot        = "snapshot"
	RoleTimestamp       = "timestamp"
)

// Default validity, in days from the reference time.
const (
	defaultRootDays        = 365
	defaultTargetsDays     = 365
	defaultClaimedDays     = 90
	defaultRevocationsDays = 90
	defaultOnlineDays      = 7
	defaultTimestampDays   = 1
)

// Staged is a role as the ceremony will publish it, before signatures.
type Staged struct {
	Role    string
	Version int64
	// Online roles are signed by the online key at publish, not by the
	// people in the room.
	Online bool
	// Metadata is the file as it will be published, with no signatures.
	Metadata []byte
	// Summary says in plain words what changes.
	Summary []string
	// Checks are the policy checks the role passed (or failed).
	Checks roles.Findings
}

// staging is what the staging rules read and build.
type staging struct {
	plan *Plan
	repo *Repo
	out  []*Staged
	root *roles.Metadata[*roles.Root]
	tg   *roles.Metadata[*roles.Targets]
	cl   *roles.Metadata[*roles.Targets]
	bins map[string]*roles.Metadata[*roles.Targets] // claimed's bins that change
	// oldBins are the trusted bins the staging read: those whose
	// projects the plan changes, or every one (readBins).
	oldBins map[string]*roles.Metadata[*roles.Targets]
	// evidence describes each verified enrollment, for claimed's summary.
	evidence []string
	rev      *roles.Metadata[*roles.Revocations]
	names    map[string]string   // keyid → participant name, for summaries
	links    map[string][]string // role → what its link to the previous ceremony's transcript says (checkpoint_link.go)
	// everyBin reads and lays out every bin, as a plan that rotates
	// claimed's keys does: a test's yardstick for binsToLayOut.
	everyBin bool
}

// stagePlan computes the roles a plan changes, from the trusted repository
// (nil for a bootstrap). It is a pure function of its inputs: a replay
// calls it again and must get the same bytes.
func stagePlan(plan *Plan, repo *Repo) ([]*Staged, error) {
	return stageFrom(&staging{plan: plan, repo: repo, names: map[string]string{}})
}

// stageFrom is stagePlan from s, made with its plan and repository.
func stageFrom(s *staging) ([]*Staged, error) {
	plan, repo := s.plan, s.repo
	if plan.Layout == LayoutRSTUF {
		return stageRSTUF(plan, repo)
	}
	for _, pt := range plan.Participants {
		s.names[pt.KeyID] = pt.Name
	}
	var err error
	if repo == nil {
		err = s.bootstrap()
	} else {
		err = s.changes()
	}
	if err != nil {
		return nil, err
	}
	if err := s.finish(); err != nil {
		return nil, err
	}
	return s.out, nil
}

func (s *staging) key(name string) (*roles.Key, string) {
	_, k := s.plan.participant(name)
	return k, k.ID()
}

func (s *staging) bootstrap() error {
	p := s.plan
	root := roles.NewRoot(p.expiry(p.Root.ExpiresDays, defaultRootDays))
	for _, n := range p.Root.Add {
		k, _ := s.key(n)
		root.AddKey(roles.TypeRoot, k)
	}
	root.Roles[roles.TypeRoot].Threshold = thresholdOr(p.Root.Threshold, 1)
	for _, n := range p.Targets.Add {
		k, _ := s.key(n)
		root.AddKey(roles.TypeTargets, k)
	}
	root.Roles[roles.TypeTargets].Threshold = thresholdOr(p.Targets.Threshold, 1)
	online, onlineID := s.key(p.Online.Participant)
	root.AddKey(roles.TypeSnapshot, online)
	root.AddKey(roles.TypeTimestamp, online)
	s.root = roles.New(root)

	tg := roles.NewTargets(p.expiry(p.Targets.ExpiresDays, defaultTargetsDays))
	dl := &roles.Delegations{Keys: map[string]*roles.Key{onlineID: online}}
	claimed := &roles.DelegatedRole{Name: RoleClaimed, Threshold: thresholdOr(p.Targets.Claimed.Threshold, 1), Paths: []string{"*/*"}}
	for _, n := range p.Targets.Claimed.Add {
		k, id := s.key(n)
		dl.Keys[id] = k
		claimed.KeyIDs = append(claimed.KeyIDs, id)
	}
	// PEP 480's order of trust: claimed first, then recently-claimed, then
	// the unclaimed bins; only the last ends the search.
	dl.Roles = []*roles.DelegatedRole{
		claimed,
		{Name: RoleRecentlyClaimed, KeyIDs: []string{onlineID}, Threshold: 1, Paths: []string{"*/*"}},
		{Name: RoleUnclaimed, KeyIDs: []string{onlineID}, Threshold: 1, Paths: []string{"*/*"}, Terminating: true},
	}
	tg.Delegations = dl
	s.tg = roles.New(tg)

	cl := roles.NewTargets(p.expiry(s.claimedDays(), defaultClaimedDays))
	cl.Delegations = &roles.Delegations{Keys: map[string]*roles.Key{}, Roles: []*roles.DelegatedRole{}}
	s.cl = roles.New(cl)
	if err := s.applyProjects(); err != nil {
		return err
	}
	rev := roles.NewRevocations(p.expiry(s.revocationsDays(), defaultRevocationsDays))
	s.rev = roles.New(rev)
	if err := s.applyRevocations(); err != nil {
		return err
	}
	return nil
}

func (s *staging) changes() error {
	p, repo := s.plan, s.repo
	if p.Root != nil || (p.Targets != nil && (len(p.Targets.Add) > 0 || len(p.Targets.Remove) > 0 || p.Targets.Threshold > 0)) {
		m, err := clone(repo.Root)
		if err != nil {
			return err
		}
		r := m.Signed
		r.Version++
		days := 0
		if p.Root != nil {
			days = p.Root.ExpiresDays
			if err := s.applyKeys(r, roles.TypeRoot, p.Root); err != nil {
				return err
			}
		}
		if p.Targets != nil {
			if err := s.applyKeys(r, roles.TypeTargets, &p.Targets.KeysChange); err != nil {
				return err
			}
		}
		r.Expires = p.expiry(days, defaultRootDays)
		s.root = m
	}
	rotateClaimed := p.claimedKeys() != nil
	if p.Targets != nil {
		m, err := clone(repo.Targets)
		if err != nil {
			return err
		}
		t := m.Signed
		t.Version++
		t.Expires = p.expiry(p.Targets.ExpiresDays, defaultTargetsDays)
		if c := p.claimedKeys(); c != nil {
			dl := t.Delegations
			role := dl.Role(RoleClaimed)
			if role == nil {
				return fmt.Errorf("%w: targets.claimed: targets v%d delegates no role named claimed", ErrPlan, repo.Targets.Signed.Version)
			}
			for _, n := range c.Remove {
				_, id := s.key(n)
				if !slices.Contains(role.KeyIDs, id) {
					return planErrorf("targets.claimed.remove", "%s's key %s is not a claimed key", n, id[:8])
				}
				role.KeyIDs = slices.DeleteFunc(role.KeyIDs, func(x string) bool { return x == id })
			}
			for _, n := range c.Add {
				k, id := s.key(n)
				dl.Keys[id] = k
				if !slices.Contains(role.KeyIDs, id) {
					role.KeyIDs = append(role.KeyIDs, id)
				}
			}
			if c.Threshold > 0 {
				role.Threshold = c.Threshold
			}
			pruneKeys(dl)
		}
		s.tg = m
	}
	// A claimed-key rotation re-signs claimed and the revocation list under
	// the new keys, even where their content does not change.
	if p.Claimed != nil || rotateClaimed || p.Revocations != nil {
		m, err := clone(repo.Claimed)
		if err != nil {
			return err
		}
		m.Signed.Version++
		m.Signed.Expires = p.expiry(s.claimedDays(), defaultClaimedDays)
		s.cl = m
		if err := s.applyProjects(); err != nil {
			return err
		}
	}
	if p.Revocations != nil || rotateClaimed {
		m, err := clone(repo.Revocations)
		if err != nil {
			return err
		}
		m.Signed.Version++
		m.Signed.Expires = p.expiry(s.revocationsDays(), defaultRevocationsDays)
		s.rev = m
		if err := s.applyRevocations(); err != nil {
			return err
		}
	}
	return nil
}

func (s *staging) claimedDays() int {
	if s.plan.Claimed != nil {
		return s.plan.Claimed.ExpiresDays
	}
	return 0
}

func (s *staging) revocationsDays() int {
	if s.plan.Revocations != nil {
		return s.plan.Revocations.ExpiresDays
	}
	return 0
}

// applyKeys applies a keys change to one of root's roles.
func (s *staging) applyKeys(r *roles.Root, role string, c *KeysChange) error {
	for _, n := range c.Remove {
		_, id := s.key(n)
		if rk := r.Roles[role]; rk == nil || !slices.Contains(rk.KeyIDs, id) {
			return planErrorf(role+".remove", "%s's key %s is not a %s key in root v%d", n, id[:8], role, r.Version-1)
		}
		r.RemoveKey(role, id)
	}
	for _, n := range c.Add {
		k, _ := s.key(n)
		r.AddKey(role, k)
	}
	if c.Threshold > 0 {
		r.Roles[role].Threshold = c.Threshold
	}
	return nil
}

// applyProjects moves the plan's projects into claimed and takes out the
// ones it removes, then lays claimed out again (bins.go), directly or
// through its bins; it stages the bins whose content changes.
func (s *staging) applyProjects() error {
	var cur *roles.Targets
	if s.repo != nil {
		cur = s.repo.Claimed.Signed
	}
	layout, err := layoutFor(cur, s.plan.Claimed)
	if err != nil {
		return err
	}
	rotated := s.plan.claimedKeys() != nil
	var only map[string]bool
	if layout.prefix && layout.prev != nil && !rotated && !s.everyBin {
		only = s.binsToLayOut(layout.prev)
	}
	if s.oldBins, err = s.repo.readBins(only); err != nil {
		return err
	}
	ps := projects{roles: map[string]*roles.DelegatedRole{}, keys: map[string]*roles.Key{}}
	if cur != nil {
		ps = projectsOf(cur, s.oldBins)
	}
	if c := s.plan.Claimed; c != nil {
		for _, name := range c.RemoveProjects {
			if ps.roles[name] == nil {
				return planErrorf("claimed.remove_projects", "%q is not in claimed", name)
			}
			delete(ps.roles, name)
		}
		for _, pr := range c.Projects {
			role := &roles.DelegatedRole{Name: pr.Name, Threshold: pr.Threshold, Terminating: true, Paths: []string{pr.Name + "/*"}}
			for _, kb := range pr.Keys {
				k, err := roles.ParseKey(kb)
				if err != nil {
					return err
				}
				ps.keys[k.ID()] = k
				role.KeyIDs = append(role.KeyIDs, k.ID())
			}
			ps.roles[pr.Name] = role
		}
		if err := s.applyEnrollments(ps); err != nil {
			return err
		}
	}
	del, err := s.claimedDelegation()
	if err != nil {
		return err
	}
	keys := map[string]*roles.Key{}
	for _, id := range del.KeyIDs {
		keys[id] = del.Keys[id]
	}
	newBins := layOut(s.cl.Signed, ps, layout, keys, del.KeyIDs, del.Threshold)
	if only != nil {
		// The bins not laid out again stay as claimed delegates to them.
		for _, r := range cur.Delegations.Roles {
			if !only[r.Name] {
				s.cl.Signed.Delegations.Roles = append(s.cl.Signed.Delegations.Roles,
					&roles.DelegatedRole{Name: r.Name, KeyIDs: slices.Clone(del.KeyIDs), Threshold: del.Threshold, Paths: slices.Clone(r.Paths)})
			}
		}
		prefixbins.SortRoles(s.cl.Signed.Delegations.Roles)
	}
	s.bins = stagedBins(newBins, s.repo, s.oldBins, rotated, s.cl.Signed.Expires)
	return nil
}

// binsToLayOut names the name-prefix bins of prev a plan that keeps
// claimed's keys lays out again: those that hold (or would hold) a project
// it adds, removes or re-keys, and those large enough that they might
// weigh more than prefixbins.Max. Layout lays out each bin of prev on its
// own, so the others come out as they are: they are neither read nor
// staged, and a ceremony that changes a few projects of 600,000 reads a
// few bins, not all.
func (s *staging) binsToLayOut(prev *prefixbins.Partition) map[string]bool {
	only := map[string]bool{}
	if c := s.plan.Claimed; c != nil {
		for _, n := range c.RemoveProjects {
			only[prev.BinFor(n)] = true
		}
		for _, p := range c.Projects {
			only[prev.BinFor(p.Name)] = true
		}
		for _, e := range c.Enrollments {
			only[prev.BinFor(e.Project)] = true
		}
	}
	for _, b := range s.repo.Bins {
		// A project's weight counts the keys it uses, which the file lists
		// once however many projects share them: a bin's weight is at most
		// about twice its bytes.
		if s.repo.Sums[s.repo.binFiles[b]].Size > prefixbins.Max/3 {
			only[b] = true
		}
	}
	return only
}

// applyEnrollments checks every enrollment the plan names and delegates
// its project to the enrolled key (several enrollments for one project
// give it several keys, threshold 1). The evidence goes into claimed's
// summary, and so into the transcript.
func (s *staging) applyEnrollments(ps projects) error {
	c := s.plan.Claimed
	if len(c.Enrollments) == 0 {
		return nil
	}
	pol := EnrollmentPolicy{}
	if ep := c.EnrollmentPolicy; ep != nil {
		pol = EnrollmentPolicy{Roots: ep.Roots, PINPolicy: ep.PINPolicy, TouchPolicy: ep.TouchPolicy, MaxAgeDays: ep.MaxAgeDays}
	}
	var revoked *roles.Revocations
	if s.rev != nil {
		revoked = s.rev.Signed
	} else if s.repo != nil {
		revoked = s.repo.Revocations.Signed
	}
	fresh := map[string]bool{}
	for i, r := range c.Enrollments {
		e, err := ParseEnrollment(r.Enrollment)
		if err != nil {
			return err
		}
		ev, err := VerifyEnrollment(e, r.Project, r.Nonce, pol, s.plan.ReferenceTime, revoked)
		if err != nil {
			return fmt.Errorf("claimed.enrollments[%d] (%s): %w", i, r.Project, err)
		}
		k, _ := roles.ParseKey(e.Key)
		role := ps.roles[r.Project]
		if role == nil || !fresh[r.Project] {
			// An enrollment replaces the project's keys; several for one
			// project in one plan add up.
			role = &roles.DelegatedRole{Name: r.Project, Threshold: 1, Terminating: true, Paths: []string{r.Project + "/*"}}
			ps.roles[r.Project] = role
			fresh[r.Project] = true
		}
		ps.keys[k.ID()] = k
		role.KeyIDs = append(role.KeyIDs, k.ID())
		s.evidence = append(s.evidence, fmt.Sprintf("%s: enrolled key %s from YubiKey #%d (firmware %s, slot %s, PIN %s, touch %s, proof %s, slot certificate %s, device certificate %s)",
			r.Project, roles.ShortID(ev.KeyID), ev.Serial, ev.Firmware, ev.Slot, ev.PINPolicy, ev.TouchPolicy, ev.ProofDate, roles.ShortID(ev.SlotCert), roles.ShortID(ev.DeviceCert)))
	}
	return nil
}

// claimedDelegation is targets' delegation to claimed as this ceremony
// leaves it: the keys and threshold claimed's bins are signed with.
func (s *staging) claimedDelegation() (roles.Delegation, error) {
	tg := s.tg
	if tg == nil {
		tg = s.repo.Targets
	}
	return tg.Signed.Delegations.Delegation(RoleClaimed)
}

// applyRevocations adds the plan's entries, finding each key among the
// keys the repository or the plan knows.
func (s *staging) applyRevocations() error {
	c := s.plan.Revocations
	if c == nil {
		return nil
	}
	for i, e := range c.Add {
		k := s.findKey(e.KeyID)
		if e.Key != nil {
			k, _ = roles.ParseKey(e.Key) // checked by validate
		}
		if k == nil {
			return planErrorf(fmt.Sprintf("revocations.add[%d].keyid", i), "no key %s is known to the repository or the plan: name its key_file (from `ceremony keys show --json`), or revoke a key that was trusted", e.KeyID[:8])
		}
		if s.rev.Signed.IsRevoked(e.KeyID, nil) != nil {
			return planErrorf(fmt.Sprintf("revocations.add[%d].keyid", i), "key %s is already revoked", e.KeyID[:8])
		}
		s.rev.Signed.Revoked = append(s.rev.Signed.Revoked, &roles.Revocation{
			KeyID: e.KeyID, Key: k, Role: e.Role, Reason: e.Reason, RevokedAt: s.plan.ReferenceTime,
		})
	}
	return nil
}

func (s *staging) findKey(id string) *roles.Key {
	if pt := s.plan.participantByKeyID(id); pt != nil {
		_, k := s.plan.participant(pt.Name)
		return k
	}
	var sources []map[string]*roles.Key
	if s.repo != nil {
		sources = append(sources, s.repo.Root.Signed.Keys)
		if dl := s.repo.Targets.Signed.Delegations; dl != nil {
			sources = append(sources, dl.Keys)
		}
		if dl := s.repo.Claimed.Signed.Delegations; dl != nil {
			sources = append(sources, dl.Keys)
		}
	}
	for _, src := range sources {
		if k := src[id]; k != nil {
			return k
		}
	}
	return nil
}

// finish turns the changed roles into Staged entries with their summaries
// and policy checks.
func (s *staging) finish() error {
	pol := roles.Policy{Now: s.plan.ReferenceTime}
	if s.plan.MaxExpiryDays > 0 {
		pol.DefaultMaxExpiry = time.Duration(s.plan.MaxExpiryDays) * 24 * time.Hour
	}
	if s.rev != nil {
		pol.Revoked = s.rev.Signed
	} else if s.repo != nil {
		pol.Revoked = s.repo.Revocations.Signed
	}
	add := func(role string, version int64, pub []byte, summary []string, checks roles.Findings) {
		s.out = append(s.out, &Staged{Role: role, Version: version, Metadata: pub, Summary: summary, Checks: checks})
	}
	if s.root != nil {
		var prev *roles.Root
		if s.repo != nil {
			prev = s.repo.Root.Signed
		}
		if err := s.linkPrevious(RoleRoot, s.root.Signed); err != nil {
			return err
		}
		s.root.Touched()
		pub, err := s.root.MarshalJSON()
		if err != nil {
			return err
		}
		checks := append(roles.CheckRoot(prev, s.root.Signed, pol), roles.CheckFileSize(RoleRoot, roles.TypeRoot, len(pub), pol)...)
		add(RoleRoot, s.root.Signed.Version, pub, s.rootSummary(prev, s.root.Signed), checks)
	}
	targetsLike := []struct {
		name string
		m    *roles.Metadata[*roles.Targets]
		prev func() *roles.Targets
	}{
		{RoleTargets, s.tg, func() *roles.Targets { return s.repo.Targets.Signed }},
		{RoleClaimed, s.cl, func() *roles.Targets { return s.repo.Claimed.Signed }},
	}
	for _, t := range targetsLike {
		if t.m == nil {
			continue
		}
		var prev *roles.Targets
		if s.repo != nil {
			prev = t.prev()
		}
		if t.name == RoleTargets {
			if err := s.linkPrevious(RoleTargets, t.m.Signed); err != nil {
				return err
			}
			t.m.Touched()
		}
		pub, err := t.m.MarshalJSON()
		if err != nil {
			return err
		}
		summary := s.targetsSummary(t.name, prev, t.m.Signed)
		if t.name == RoleClaimed {
			summary = append(summary, s.evidence...)
		}
		add(t.name, t.m.Signed.Version, pub, summary, roles.CheckTargets(t.name, prev, t.m.Signed, len(pub), pol))
	}
	for _, name := range slices.Sorted(maps.Keys(s.bins)) {
		m := s.bins[name]
		var prev *roles.Targets
		if old := s.oldBins[name]; old != nil {
			prev = old.Signed
		}
		pub, err := m.MarshalJSON()
		if err != nil {
			return err
		}
		add(name, m.Signed.Version, pub, s.targetsSummary(name, prev, m.Signed), roles.CheckTargets(name, prev, m.Signed, len(pub), pol))
	}
	for _, st := range s.out {
		st.Summary = append(st.Summary, s.links[st.Role]...)
	}
	if s.rev != nil {
		var prev *roles.Revocations
		if s.repo != nil {
			prev = s.repo.Revocations.Signed
		}
		pub, err := s.rev.MarshalJSON()
		if err != nil {
			return err
		}
		add(RoleRevocations, s.rev.Signed.Version, pub, s.revocationsSummary(prev, s.rev.Signed), roles.CheckRevocations(prev, s.rev.Signed, pol))
	}
	if len(s.out) > 0 {
		// Every ceremony's publish signs a new snapshot: the first role's
		// review judges its size.
		s.out[0].Checks = append(s.out[0].Checks, s.snapshotChecks(pol)...)
	}
	if len(s.out) == 0 {
		return fmt.Errorf("%w: the plan changes nothing: name changes under root, targets, claimed or revocations", ErrPlan)
	}
	return nil
}

// pruneKeys drops keys no delegated role uses any more.
func pruneKeys(dl *roles.Delegations) {
	used := map[string]bool{}
	for _, r := range dl.Roles {
		for _, id := range r.KeyIDs {
			used[id] = true
		}
	}
	if sr := dl.SuccinctRoles; sr != nil {
		for _, id := range sr.KeyIDs {
			used[id] = true
		}
	}
	for id := range dl.Keys {
		if !used[id] {
			delete(dl.Keys, id)
		}
	}
}

func thresholdOr(t, def int64) int64 {
	if t > 0 {
		return t
	}
	return def
}

// clone parses a fresh copy of trusted metadata to change, with no
// signatures: the old ones do not cover the new version.
func clone[R roles.Role](m *roles.Metadata[R]) (*roles.Metadata[R], error) {
	b, err := m.MarshalJSON()
	if err != nil {
		return nil, err
	}
	c, err := roles.Parse[R](b)
	if err != nil {
		return nil, err
	}
	c.Signatures = nil
	c.Touched()
	return c, nil
}

// digestOf is the hex SHA-256 of bytes.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
