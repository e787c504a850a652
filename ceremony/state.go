package ceremony

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
)

// State is the fold of a transcript's events: what the ceremony holds
// now. Faces read it and never change it; the engine's commands do.
type State struct {
	Plan        *Plan
	Tool        Tool // the tool that opened the ceremony
	PublishDir  string
	TrustedRoot []byte
	Repo        *Repo // nil for a bootstrap
	Roles       []*RoleState
	// Published is set once every file is written, Closed once the
	// ceremony has ended (End).
	Published bool
	Closed    bool
	// Checkpoint is what the participants sign once the ceremony is
	// closed, and their signatures (checkpoint.go); nil until then.
	Checkpoint *CheckpointState
	// Aborted is set once the ceremony was given up (Abort), for
	// AbortReason: nothing is published afterwards, and no close is
	// needed.
	Aborted     bool
	AbortReason string
	// StartClock is the machine's clock when the ceremony started, when
	// the face that started it gave one; ReferenceTimeAllowed says the
	// reference time was let be more than a day away from it.
	StartClock           time.Time
	ReferenceTimeAllowed bool

	publishing *publishData // the files publishing writes, once it started
	expected   []*Staged    // what stagePlan computes from Plan and Repo
}

// ended refuses anything more once the ceremony is closed or aborted.
func (s *State) ended() error {
	switch {
	case s.Closed:
		return fmt.Errorf("%w: the ceremony is closed; nothing can be added to it", ErrState)
	case s.Aborted:
		return fmt.Errorf("%w: the ceremony was aborted (%s); nothing can be added to it: start a new ceremony", ErrState, untrusted.Line(s.AbortReason))
	}
	return nil
}

// takesSignatures refuses signatures, and roles to sign, once publishing
// has started or the ceremony has ended.
func (s *State) takesSignatures() error {
	if err := s.ended(); err != nil {
		return err
	}
	if s.publishing != nil {
		return fmt.Errorf("%w: publishing has started; no more signatures are taken", ErrState)
	}
	return nil
}

// clone is a copy of the state that commands may take events into
// without changing s: the roles and their signatures are copied, the
// bytes they hold are shared (nothing changes them).
func (s *State) clone() *State {
	c := *s
	c.Roles = make([]*RoleState, len(s.Roles))
	for i, r := range s.Roles {
		rc := *r
		rc.Signatures = slices.Clip(r.Signatures)
		rc.Required = slices.Clip(r.Required)
		c.Roles[i] = &rc
	}
	return &c
}

// Publishing reports whether publishing has started: from then on no
// signature is taken, and a publish cut short is finished by publishing
// again.
func (s *State) Publishing() bool { return s.publishing != nil }

// Role returns the staged role named name, or nil.
func (s *State) Role(name string) *RoleState {
	for _, r := range s.Roles {
		if r.Role == name {
			return r
		}
	}
	return nil
}

// RoleState is a staged role and the signatures it has so far.
type RoleState struct {
	Staged
	// Canonical is the signed part's canonical JSON: what signatures cover.
	Canonical []byte
	Digest    string
	// Required are the delegations whose thresholds the role must reach:
	// for a new root, the old root's and its own.
	Required   []roles.Delegation
	Signatures []SignatureRecord
	// Included roles were signed elsewhere and are published as they are.
	Included bool
}

// SignatureRecord is one signature with who made it and how.
type SignatureRecord struct {
	roles.Signature
	Signer string
	Via    string
	Device *hsm.Device
	// ClaimedDevice is the device a response says signed: the signer's claim, not verified.
	ClaimedDevice *hsm.Device
}

// Progress is where one role stands against one required delegation.
type Progress struct {
	Role      string   `json:"role"`
	Under     string   `json:"under"` // the delegation: "root (old)", "root", "claimed", …
	Threshold int64    `json:"threshold"`
	Signed    []string `json:"signed"`  // participant names (or keyids) whose signatures count
	Missing   []string `json:"missing"` // who may still sign
	Reached   bool     `json:"reached"`
}

// Progress reports, for every staged role and every delegation it must
// satisfy, who has signed and who is missing.
func (s *State) Progress() []Progress {
	var out []Progress
	for _, r := range s.Roles {
		sigs := r.signatures()
		for _, del := range r.Required {
			out = append(out, s.progress(r.Role, r.Canonical, sigs, del))
		}
	}
	return out
}

// Done reports whether every role the people in the room sign reaches
// every threshold: the ceremony may publish. (Online roles are staged and
// signed by the online key as part of publishing.)
func (s *State) Done() bool {
	for _, p := range s.Progress() {
		if r := s.Role(p.Role); !p.Reached && !r.Online {
			return false
		}
	}
	return len(s.Roles) > 0
}

func (s *State) name(keyid string) string {
	if s.Plan != nil {
		if pt := s.Plan.participantByKeyID(keyid); pt != nil {
			return pt.Name
		}
	}
	return roles.ShortID(keyid)
}

// who names a key for people: "3f1a2b3c (carol)", or its short id.
func (s *State) who(keyid string) string {
	if name := s.name(keyid); name != roles.ShortID(keyid) {
		return roles.ShortID(keyid) + " (" + name + ")"
	}
	return roles.ShortID(keyid)
}

// signatures are the role's signatures so far.
func (r *RoleState) signatures() []roles.Signature {
	out := make([]roles.Signature, len(r.Signatures))
	for i, s := range r.Signatures {
		out[i] = s.Signature
	}
	return out
}

func (r *RoleState) mayBeSignedBy(id string) bool {
	for _, d := range r.Required {
		if slices.Contains(d.KeyIDs, id) {
			return true
		}
	}
	return false
}

func (r *RoleState) signedBy(id string) bool {
	return slices.ContainsFunc(r.Signatures, func(s SignatureRecord) bool { return s.KeyID == id })
}

// checkSignature checks a signature before anything records it: the role
// is staged and still takes signatures, the key is one a required
// delegation trusts, it has not signed already, and the signature
// verifies. The fold runs the same checks again on every replay.
func (s *State) checkSignature(role, keyid string, sig []byte) (*RoleState, error) {
	r := s.Role(role)
	if r == nil {
		return nil, fmt.Errorf("signature for %s, which is not staged", role)
	}
	if err := s.takesSignatures(); err != nil {
		return nil, err
	}
	var key *roles.Key
	for _, del := range r.Required {
		if slices.Contains(del.KeyIDs, keyid) {
			key = del.Keys[keyid]
		}
	}
	if key == nil {
		return nil, fmt.Errorf("%w: key %s may not sign %s v%d", ErrUntrustedKey, s.who(keyid), role, r.Version)
	}
	if r.signedBy(keyid) {
		return nil, fmt.Errorf("%w: %s v%d already has the signature of key %s", ErrDuplicate, role, r.Version, s.who(keyid))
	}
	if err := key.Verify(r.Canonical, sig); err != nil {
		return nil, fmt.Errorf("signature by key %s over %s v%d: %w", s.who(keyid), role, r.Version, err)
	}
	return r, nil
}

func (s *State) checkIncluded(role string, m *roles.Metadata[*roles.Targets]) error {
	if err := s.takesSignatures(); err != nil {
		return err
	}
	if s.Role(role) != nil {
		return fmt.Errorf("role %s is already in this ceremony", role)
	}
	if ownRole(role) {
		return fmt.Errorf("role %s is the ceremony's own: only roles claimed delegates to can be included", role)
	}
	del, err := s.projectDelegation(role)
	if err != nil {
		return fmt.Errorf("include %s: %w", role, err)
	}
	if _, err := roles.Verify(m, del); err != nil {
		return fmt.Errorf("include %s: %w", role, err)
	}
	return nil
}

// required returns the delegations a staged role must satisfy, from the
// staged roles where they change and the trusted ones otherwise.
func (s *State) required(role string) ([]roles.Delegation, error) {
	root, err := s.currentRoot()
	if err != nil {
		return nil, err
	}
	switch role {
	case RoleRoot:
		own, _ := root.Delegation(roles.TypeRoot)
		if s.Repo == nil {
			return []roles.Delegation{own}, nil
		}
		old, _ := s.Repo.Root.Signed.Delegation(roles.TypeRoot)
		old.Role = "root (old)"
		return []roles.Delegation{old, own}, nil
	case RoleTargets, RoleSnapshot, RoleTimestamp:
		d, err := root.Delegation(role)
		return []roles.Delegation{d}, err
	}
	tg, err := s.currentTargets()
	if err != nil {
		return nil, err
	}
	switch role {
	case RoleClaimed, RoleRevocations:
		d, err := tg.Delegations.Delegation(RoleClaimed)
		d.Role = role
		return []roles.Delegation{d}, err
	case RoleRecentlyClaimed, RoleUnclaimed:
		d, err := tg.Delegations.Delegation(role)
		return []roles.Delegation{d}, err
	}
	if strings.HasPrefix(role, binPrefix+"-") {
		cl, err := s.currentClaimed()
		if err != nil {
			return nil, err
		}
		d, err := cl.Delegations.Delegation(role)
		return []roles.Delegation{d}, err
	}
	// An unclaimed bin.
	un, err := s.stagedTargets(RoleUnclaimed)
	if err != nil || un == nil {
		return nil, fmt.Errorf("no delegation for role %s", role)
	}
	d, err := un.Delegations.Delegation(role)
	return []roles.Delegation{d}, err
}

func (s *State) currentRoot() (*roles.Root, error) {
	if r := s.Role(RoleRoot); r != nil {
		m, err := roles.Parse[*roles.Root](r.Metadata)
		if err != nil {
			return nil, err
		}
		return m.Signed, nil
	}
	if s.Repo == nil {
		return nil, fmt.Errorf("%w: no root staged", ErrState)
	}
	return s.Repo.Root.Signed, nil
}

func (s *State) currentTargets() (*roles.Targets, error) {
	if t, err := s.stagedTargets(RoleTargets); t != nil || err != nil {
		return t, err
	}
	if s.Repo == nil {
		return nil, fmt.Errorf("%w: no targets staged", ErrState)
	}
	return s.Repo.Targets.Signed, nil
}

func (s *State) currentClaimed() (*roles.Targets, error) {
	if t, err := s.stagedTargets(RoleClaimed); t != nil || err != nil {
		return t, err
	}
	if s.Repo == nil {
		return nil, fmt.Errorf("%w: no claimed role staged", ErrState)
	}
	return s.Repo.Claimed.Signed, nil
}

func (s *State) stagedTargets(role string) (*roles.Targets, error) {
	r := s.Role(role)
	if r == nil {
		return nil, nil
	}
	m, err := roles.Parse[*roles.Targets](r.Metadata)
	if err != nil {
		return nil, err
	}
	return m.Signed, nil
}

// projectDelegation is the delegation to a project: in claimed, or in the
// claimed bin its name hashes into, as staged or as trusted.
func (s *State) projectDelegation(project string) (roles.Delegation, error) {
	claimed, err := s.currentClaimed()
	if err != nil {
		return roles.Delegation{}, err
	}
	if !isBinned(claimed) {
		return claimed.Delegations.Delegation(project)
	}
	bin := binner(binBits(claimed)).BinFor(project)
	t, err := s.stagedTargets(bin)
	if err != nil {
		return roles.Delegation{}, err
	}
	if t == nil && s.Repo != nil && s.Repo.ClaimedBins[bin] != nil {
		t = s.Repo.ClaimedBins[bin].Signed
	}
	if t == nil {
		return roles.Delegation{}, fmt.Errorf("claimed bin %s is not known", bin)
	}
	return t.Delegations.Delegation(project)
}
