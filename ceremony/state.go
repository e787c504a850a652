package ceremony

import (
	"fmt"
	"slices"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
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
	// Rules is the rule set the ceremony was judged by (RulesVersion, or
	// an earlier one whose reviews and verdicts are taken as recorded).
	Rules int

	publishing *publishData // the files publishing writes, once it started
	expected   []*Staged    // what stagePlan computes from Plan and Repo

	// The artifacts the opening and the loading named, which a state
	// restored from the fold cache (foldcache.go) reads again: loaded
	// is nil for a bootstrap, and Repo is nil until repository needs it.
	planArt transcripts.Artifact
	loaded  *loadedData
	tpath   string
	// recordedDirs are the publish folder and the folder publishing
	// writes into as the transcript records them (relative to the
	// workspace), which the fold cache keeps so that a copied workspace
	// takes up an entry and resolves them to its own copies.
	recordedDirs [2]string
}

// repository returns the trusted state the ceremony started from, nil
// for a bootstrap. A state restored from the fold cache has none until
// something needs it: then it is read from the transcript's artifacts and
// verified as the fold verifies it.
func (s *State) repository() (*Repo, error) {
	return s.loadRepository(nil)
}

// loadRepository is repository, telling progress, when set, how far the
// verification has gone.
func (s *State) loadRepository(progress func(done, total int)) (*Repo, error) {
	if s.Repo != nil || s.loaded == nil {
		return s.Repo, nil
	}
	names, read := artifactFiles(s.loaded.Files, func(a transcripts.Artifact) ([]byte, error) { return transcripts.ReadArtifact(s.tpath, a) })
	repo, err := trustedFromFiles(s.Plan, s.TrustedRoot, names, read, progress)
	if err != nil {
		return nil, err
	}
	s.Repo = repo
	return repo, nil
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
//
// Its bytes (Staged.Metadata, Canonical) are nil in a state the engine
// took up from its fold cache until something needs them: Load reads
// them. ToSign's roles hold theirs. Once published has made the role's
// file, Metadata may be that file, with the signatures it had then, and
// Canonical a view of its signed part: the same signed bytes, held once.
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

	// meta names Metadata in the transcript's artifacts, for a state
	// restored from the fold cache, which reads the bytes only when
	// something needs them (Load).
	meta  transcripts.Artifact
	tpath string
	// parsed is Metadata parsed (a root's or a targets role's), and
	// progress the role's Progress, each worked out once.
	parsed   any
	progress []Progress
	pub      *publishedMemo // published's last result
	// projectReview is ProjectReview's, worked out once (and kept in the
	// fold cache), so that status does not read claimed again.
	projectReview []string
}

// Load reads the role's metadata and its canonical signed bytes from the
// transcript's artifacts if this state does not hold them yet (a state
// restored from the fold cache reads them only when something needs
// them), and checks them against the digest the transcript records.
func (r *RoleState) Load() error {
	if r.Metadata != nil && r.Canonical != nil {
		return nil
	}
	b, err := transcripts.ReadArtifact(r.tpath, r.meta)
	if err != nil {
		return fmt.Errorf("%s v%d: %w", r.Role, r.Version, err)
	}
	canon, err := canonicalOf(r.Role, b)
	if err != nil {
		return fmt.Errorf("%s v%d: %w", r.Role, r.Version, err)
	}
	if digestOf(canon) != r.Digest {
		return fmt.Errorf("%s v%d: its signed bytes do not have the digest the transcript records: %w", r.Role, r.Version, transcripts.ErrIntegrity)
	}
	r.Metadata, r.Canonical = b, canon
	return nil
}

// parse returns the role's metadata parsed as R, parsed once.
func parseRole[R roles.Role](r *RoleState) (*roles.Metadata[R], error) {
	if m, ok := r.parsed.(*roles.Metadata[R]); ok {
		return m, nil
	}
	if err := r.Load(); err != nil {
		return nil, err
	}
	m, err := roles.Parse[R](r.Metadata)
	if err != nil {
		return nil, err
	}
	r.parsed = m
	return m, nil
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
//
// Each role's is worked out once, and again only after the role changes:
// a command that signs root does not hash claimed again.
func (s *State) Progress() []Progress {
	var out []Progress
	for _, r := range s.Roles {
		if r.progress == nil {
			r.progress = s.roleProgress(r)
		}
		out = append(out, r.progress...)
	}
	return out
}

func (s *State) roleProgress(r *RoleState) []Progress {
	out := []Progress{}
	err := r.Load()
	sigs := r.signatures()
	for _, del := range r.Required {
		p := Progress{Role: r.Role, Under: del.Role, Threshold: del.Threshold}
		if err != nil {
			// Bytes that cannot be read count no signature.
			p.Missing = append(p.Missing, err.Error())
			out = append(out, p)
			continue
		}
		out = append(out, s.progress(r.Role, r.Canonical, sigs, del))
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
	if err := r.Load(); err != nil {
		return nil, err
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
	if ownRole(role) {
		return fmt.Errorf("%w: role %s is the ceremony's own: only roles claimed delegates to can be included", ErrNotDelegated, role)
	}
	if r := s.Role(role); r != nil {
		return fmt.Errorf("%w: role %s is already in this ceremony (v%d): include each project once", ErrConflict, role, r.Version)
	}
	del, err := s.projectDelegation(role)
	if err != nil {
		return fmt.Errorf("include %s: %w: %w; name the file VERSION.PROJECT.json for a project this ceremony's claimed delegates to", role, ErrNotDelegated, err)
	}
	if _, err := roles.Verify(m, del); err != nil {
		return fmt.Errorf("include %s: %w", role, err)
	}
	return s.checkIncludedFresh(role, m)
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
		repo, err := s.repository()
		if err != nil {
			return nil, err
		}
		if repo == nil {
			return []roles.Delegation{own}, nil
		}
		old, _ := repo.Root.Signed.Delegation(roles.TypeRoot)
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
	if isBinName(role) {
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
		m, err := parseRole[*roles.Root](r)
		if err != nil {
			return nil, err
		}
		return m.Signed, nil
	}
	repo, err := s.repository()
	if err != nil {
		return nil, err
	}
	if repo == nil {
		return nil, fmt.Errorf("%w: no root staged", ErrState)
	}
	return repo.Root.Signed, nil
}

func (s *State) currentTargets() (*roles.Targets, error) {
	if t, err := s.stagedTargets(RoleTargets); t != nil || err != nil {
		return t, err
	}
	repo, err := s.repository()
	if err != nil {
		return nil, err
	}
	if repo == nil {
		return nil, fmt.Errorf("%w: no targets staged", ErrState)
	}
	return repo.Targets.Signed, nil
}

func (s *State) currentClaimed() (*roles.Targets, error) {
	if t, err := s.stagedTargets(RoleClaimed); t != nil || err != nil {
		return t, err
	}
	repo, err := s.repository()
	if err != nil {
		return nil, err
	}
	if repo == nil {
		return nil, fmt.Errorf("%w: no claimed role staged", ErrState)
	}
	return repo.Claimed.Signed, nil
}

func (s *State) stagedTargets(role string) (*roles.Targets, error) {
	r := s.Role(role)
	if r == nil {
		return nil, nil
	}
	m, err := parseRole[*roles.Targets](r)
	if err != nil {
		return nil, err
	}
	return m.Signed, nil
}

// projectDelegation is the delegation to a project: in claimed, or in the
// claimed bin that holds it, as staged or as trusted.
func (s *State) projectDelegation(project string) (roles.Delegation, error) {
	claimed, err := s.currentClaimed()
	if err != nil {
		return roles.Delegation{}, err
	}
	if !isBinned(claimed) {
		return claimed.Delegations.Delegation(project)
	}
	bin, err := binFor(claimed, project)
	if err != nil {
		return roles.Delegation{}, err
	}
	t, err := s.stagedTargets(bin)
	if err != nil {
		return roles.Delegation{}, err
	}
	if t == nil {
		repo, err := s.repository()
		if err != nil {
			return roles.Delegation{}, err
		}
		if m, err := repo.Bin(bin); err != nil {
			return roles.Delegation{}, err
		} else if m != nil {
			t = m.Signed
		}
	}
	if t == nil {
		return roles.Delegation{}, fmt.Errorf("claimed bin %s is not known", bin)
	}
	return t.Delegations.Delegation(project)
}
