package ceremony

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// Event types the engine writes. Each is appended and fsynced before it
// takes effect; the fold (State.apply) is the only place they take effect.
// docs/PLANS.md lists the data each carries.
const (
	eventOpened          = "ceremony.opened"  // the resolved plan, the tool, the host
	eventLoaded          = "state.loaded"     // the trusted metadata the ceremony starts from
	eventStaged          = "role.staged"      // a role as it will be published, with its checks
	eventSigned          = "signature.added"  // one signature over one staged role
	eventIncluded        = "role.included"    // a delegated role signed elsewhere (a project's), to publish
	eventPublishStarted  = "publish.started"  // the files about to be written, by digest
	eventPublishFinished = "publish.finished" // every file is on disk
	eventClosed          = "ceremony.closed"  // nothing more will happen
	eventAborted         = "ceremony.aborted" // given up, with the reason: nothing more will happen, nothing is published
)

// eventTorn is the transcript format's record of a torn tail that resume
// dropped (docs/TRANSCRIPT.md); the fold takes it as it comes.
const eventTorn = "transcript.torn"

// The events' data, one type per event that carries any; the JSON is what
// docs/PLANS.md documents, and the fold refuses unknown members.
type openedData struct {
	Plan      transcripts.Artifact `json:"plan"`
	Tool      Tool                 `json:"tool"`
	Host      hostFacts            `json:"host"`
	Workspace string               `json:"workspace"`
	// PublishDir is relative to the workspace (absolute in transcripts
	// from before it was), so that a copied workspace publishes into its
	// own copy's place.
	PublishDir string `json:"publish_dir"`
	// Clock is the machine's clock when the ceremony started, when the
	// face gave one (Options.Now); ReferenceTimeAllowed says the person
	// who started it let the reference time be more than a day away
	// from it.
	Clock                time.Time `json:"clock,omitzero"`
	ReferenceTimeAllowed bool      `json:"reference_time_allowed,omitempty"`
	// Rules is the rule set the ceremony was judged by (rules.go); absent
	// in transcripts from before rule sets had numbers, which are rules 1.
	Rules int `json:"rules,omitempty"`
}

type hostFacts struct {
	OS         string   `json:"os"`
	Arch       string   `json:"arch"`
	Hostname   string   `json:"hostname"`
	Interfaces []string `json:"network_interfaces_up"` // non-loopback
}

type loadedData struct {
	TrustedRoot transcripts.Artifact            `json:"trusted_root"`
	Files       map[string]transcripts.Artifact `json:"files"`
}

type stagedData struct {
	Role     string               `json:"role"`
	Version  int64                `json:"version"`
	Online   bool                 `json:"online,omitempty"`
	Metadata transcripts.Artifact `json:"metadata"`
	Digest   string               `json:"signed_sha256"` // of the canonical signed bytes
	Summary  []string             `json:"summary"`
	Checks   roles.Findings       `json:"checks"`
}

type includedData struct {
	Role     string               `json:"role"`
	Version  int64                `json:"version"`
	Metadata transcripts.Artifact `json:"metadata"`
}

type signedData struct {
	Role   string      `json:"role"`
	KeyID  string      `json:"keyid"`
	Sig    string      `json:"sig"`
	Signer string      `json:"signer"` // the participant's name
	Via    string      `json:"via"`    // "device", "response", "online"
	Device *hsm.Device `json:"device,omitempty"`
	// ClaimedDevice is the device a response says signed: the signer's claim, not verified.
	ClaimedDevice *hsm.Device `json:"device_claimed_by_signer,omitempty"`
}

type publishData struct {
	Dir   string        `json:"dir"` // relative to the workspace, as openedData.PublishDir
	Files []publishFile `json:"files"`
}

type publishFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Length int    `json:"length"`
}

type abortedData struct {
	Reason string `json:"reason"`
}

// Fold rebuilds a ceremony's state from its transcript: the same code that
// applied each event live applies it again, checks included.
// It only reads, needs no lock, and never repairs (engine.go).
func Fold(tpath string) (*State, error) {
	st, _, err := fold(tpath)
	return st, err
}

// apply is the fold: it checks an event of the transcript at tpath
// against the state and takes it in.
func (s *State) apply(src eventSource, typ string, data []byte) error {
	commit, err := s.admit(src, typ, data)
	if err != nil {
		return err
	}
	commit()
	return nil
}

// eventSource resolves what an event refers to: the artifacts it names,
// from the store beside the transcript or, for an event the engine is
// about to record, from the bytes it will store with it; and folders,
// which events record relative to the workspace so that a copied
// workspace refers to its own copies.
type eventSource struct {
	tpath    string
	pending  map[string]pendingArtifact // artifacts not stored yet, by digest
	progress ProgressFunc               // told how far a long check has gone
	// verified, when set, is the trusted repository verified already
	// from the files a state.loaded event names (batch.verified).
	verified *Repo
}

func (src eventSource) read(a transcripts.Artifact) ([]byte, error) {
	if p, ok := src.pending[a.Digest]; ok {
		return p.bytes()
	}
	return transcripts.ReadArtifact(src.tpath, a)
}

// path resolves a recorded folder: relative to the workspace, or absolute
// as transcripts before relative folders recorded it.
func (src eventSource) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(src.tpath), p)
}

// admit checks an event against the state and returns what taking it in
// does; nothing changes until the returned function runs, and it cannot
// fail. The engine admits each event before it records it and the fold as
// it reads it, so the rules are one: whatever the engine records folds,
// and a command the rules refuse records nothing.
func (s *State) admit(src eventSource, typ string, data []byte) (func(), error) {
	nothing := func() {}
	switch typ {
	case transcripts.HeaderType, eventTorn:
		// The transcript format's own events: the header, and the record
		// of a torn tail that resume dropped.
		return nothing, nil
	case eventCheckpointSigned:
		// The one event a closed ceremony takes (checkpoint.go).
		return s.admitCheckpointSigned(data)
	}
	if err := s.ended(); err != nil {
		return nil, err
	}
	if typ != eventOpened && s.Plan == nil {
		return nil, fmt.Errorf("%w: %s before the ceremony was opened", ErrState, typ)
	}
	switch typ {
	case eventOpened:
		return s.admitOpened(src, data)
	case eventLoaded:
		return s.admitLoaded(src, data)
	case eventStaged:
		var d stagedData
		if err := strictJSON(data, &d); err != nil {
			return nil, err
		}
		b, err := src.read(d.Metadata)
		if err != nil {
			return nil, err
		}
		return s.admitStaged(src, d, b)
	case eventIncluded:
		var d includedData
		if err := strictJSON(data, &d); err != nil {
			return nil, err
		}
		b, err := src.read(d.Metadata)
		if err != nil {
			return nil, err
		}
		return s.admitIncluded(src, d, b)
	case eventSigned:
		var d signedData
		if err := strictJSON(data, &d); err != nil {
			return nil, err
		}
		return s.admitSigned(d)
	case eventPublishStarted:
		var d publishData
		if err := strictJSON(data, &d); err != nil {
			return nil, err
		}
		return s.admitPublishStarted(src, d)
	case eventPublishFinished:
		if err := strictJSON(data, &struct{}{}); err != nil {
			return nil, err
		}
		if s.publishing == nil {
			return nil, fmt.Errorf("%w: finished publishing before starting", ErrState)
		}
		return func() { s.Published = true }, nil
	case eventClosed:
		if err := strictJSON(data, &struct{}{}); err != nil {
			return nil, err
		}
		if len(s.Roles) > 0 && !s.Published && !s.rstufSent() {
			if s.publishing != nil {
				return nil, fmt.Errorf("%w: publishing was cut short: finish it with 'ceremony publish' (or resume), then close", ErrState)
			}
			return nil, fmt.Errorf("%w: nothing is published yet; publish first, or keep the workspace to go on later (or abort the ceremony, with its reason, if it will not go on)", ErrState)
		}
		return func() { s.Closed = true }, nil
	case eventAborted:
		var d abortedData
		if err := strictJSON(data, &d); err != nil {
			return nil, err
		}
		if err := checkReason(d.Reason); err != nil {
			return nil, err
		}
		switch {
		case s.Published:
			return nil, fmt.Errorf("%w: the ceremony has published; close it instead", ErrState)
		case s.publishing != nil:
			return nil, fmt.Errorf("%w: publishing has started and files may be on disk: finish it with 'ceremony publish' (or resume), then close", ErrState)
		}
		return func() { s.Aborted, s.AbortReason = true, d.Reason }, nil
	}
	return nil, fmt.Errorf("unknown event type %q", typ)
}

func (s *State) admitOpened(src eventSource, data []byte) (func(), error) {
	if s.Plan != nil {
		return nil, fmt.Errorf("%w: the ceremony is opened already", ErrState)
	}
	var d openedData
	if err := strictJSON(data, &d); err != nil {
		return nil, err
	}
	b, err := src.read(d.Plan)
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("recorded plan: %w", err)
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("recorded plan: %w", err)
	}
	rules, err := rulesOf(d.Rules)
	if err != nil {
		return nil, err
	}
	var exp []*Staged
	if p.Start == nil {
		// A bootstrap stages from the plan alone.
		if exp, err = stagePlan(&p, nil); err != nil {
			return nil, err
		}
	}
	return func() {
		s.Plan, s.Tool, s.PublishDir, s.expected = &p, d.Tool, src.path(d.PublishDir), exp
		s.StartClock, s.ReferenceTimeAllowed = d.Clock, d.ReferenceTimeAllowed
		s.Rules = rules
		s.planArt, s.tpath, s.recordedDirs[0] = d.Plan, src.tpath, d.PublishDir
	}, nil
}

func (s *State) admitLoaded(src eventSource, data []byte) (func(), error) {
	if s.Plan.Start == nil || s.loaded != nil || len(s.Roles) > 0 {
		return nil, fmt.Errorf("%w: trusted state loaded twice, after staging, or for a bootstrap", ErrState)
	}
	var d loadedData
	if err := strictJSON(data, &d); err != nil {
		return nil, err
	}
	trusted, err := src.read(d.TrustedRoot)
	if err != nil {
		return nil, err
	}
	repo, err := src.trustedRepo(s.Plan, trusted, d.Files)
	if err != nil {
		return nil, err
	}
	exp, err := stagePlan(s.Plan, repo)
	if err != nil {
		return nil, err
	}
	return func() { s.TrustedRoot, s.Repo, s.expected, s.loaded = trusted, repo, exp, &d }, nil
}

// trustedRepo is trustedFromFiles, or the repository src says was
// verified from these files already, as a fold would rebuild it: a fold
// knows nothing of the files a load from a folder passed over.
func (src eventSource) trustedRepo(p *Plan, trusted []byte, files map[string]transcripts.Artifact) (*Repo, error) {
	names, read := artifactFiles(files, src.read)
	if !src.verified.holds(files) {
		return trustedFromFiles(p, trusted, names, read, src.progress.step("verifying the trusted repository"))
	}
	r, v := *src.verified, *src.verified.Repository // copies: Begin's own stays whole
	v.Files = rereadFiles(v.Files)
	r.Repository, r.PassedOver, r.open = &v, nil, read
	return &r, nil
}

// artifactFiles is the files a state.loaded event names, by name, read
// one at a time through read: their names, and a reader by name.
func artifactFiles(files map[string]transcripts.Artifact, read func(transcripts.Artifact) ([]byte, error)) ([]string, func(name string) ([]byte, error)) {
	return slices.Sorted(maps.Keys(files)), func(name string) ([]byte, error) {
		a, ok := files[name]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return read(a)
	}
}

// holds reports whether r, when not nil, was read from exactly files,
// by their digests.
func (r *Repo) holds(files map[string]transcripts.Artifact) bool {
	if r == nil || len(r.FileOrder) != len(files) {
		return false
	}
	for _, name := range r.FileOrder {
		if a, ok := files[name]; !ok || a.Digest != r.digest(name) {
			return false
		}
	}
	return true
}

func (s *State) admitStaged(src eventSource, d stagedData, metadata []byte) (func(), error) {
	if s.publishing != nil {
		return nil, fmt.Errorf("%w: staging after publishing started", ErrState)
	}
	if s.Role(d.Role) != nil {
		return nil, fmt.Errorf("role %s staged twice", d.Role)
	}
	var want *Staged
	if d.Online {
		exp, err := s.stageOnline(false)
		if err != nil {
			return nil, err
		}
		for _, x := range exp {
			if x.Role == d.Role {
				want = x
			}
		}
	} else {
		for _, x := range s.expected {
			if x.Role == d.Role {
				want = x
			}
		}
	}
	if want == nil || !bytes.Equal(want.Metadata, metadata) || want.Version != d.Version {
		return nil, fmt.Errorf("staged %s v%d is not what the plan and trusted state give: the transcript or the tool differs from the one that ran the ceremony", d.Role, d.Version)
	}
	if s.Rules == RulesVersion {
		if !slices.Equal(want.Summary, d.Summary) || !sameFindings(want.Checks, d.Checks) {
			return nil, fmt.Errorf("staged %s: recorded summary or policy checks differ from what this tool computes", d.Role)
		}
	} else {
		// Judged by an earlier rule set this tool no longer has: the
		// review and verdicts stand as recorded (rules.go).
		recorded := *want
		recorded.Summary, recorded.Checks = d.Summary, d.Checks
		want = &recorded
	}
	// want's bytes are metadata's (compared above): the role holds one of
	// them, its canonical bytes a view of it. A role from the plan holds
	// the expected's, which the state keeps anyway; an online role holds
	// the recorded, the ones just made being let go.
	if d.Online {
		again := *want
		again.Metadata = metadata
		want = &again
	}
	canon, err := canonicalOf(d.Role, want.Metadata)
	if err != nil {
		return nil, err
	}
	if digestOf(canon) != d.Digest {
		return nil, fmt.Errorf("staged %s: recorded digest %s is not the digest of its signed bytes", d.Role, d.Digest)
	}
	// A staged role may change the delegations every other role must
	// satisfy (a new root, new targets, claimed over its bins): work them
	// out on the roles as they will be. Any other role changes only its
	// own.
	after := *s
	after.Roles = append(slices.Clip(s.Roles), &RoleState{Staged: *want, Canonical: canon, Digest: d.Digest, meta: d.Metadata, tpath: src.tpath})
	required := make([][]roles.Delegation, len(after.Roles))
	delegator := slices.Contains([]string{RoleRoot, RoleTargets, RoleClaimed, RoleUnclaimed}, d.Role)
	for i, r := range after.Roles {
		if r.Included || !delegator && i < len(s.Roles) {
			required[i] = r.Required
			continue
		}
		if required[i], err = after.required(r.Role); err != nil {
			return nil, err
		}
	}
	return func() {
		s.Roles = after.Roles
		for i, r := range s.Roles {
			if !r.Included && (delegator || i == len(s.Roles)-1) {
				r.Required, r.progress = required[i], nil
			}
		}
	}, nil
}

func (s *State) admitIncluded(src eventSource, d includedData, b []byte) (func(), error) {
	m, err := roles.Parse[*roles.Targets](b)
	if err != nil {
		return nil, err
	}
	if m.Signed.Version != d.Version {
		return nil, fmt.Errorf("included %s: recorded version %d, file has %d", d.Role, d.Version, m.Signed.Version)
	}
	if err := s.checkIncluded(d.Role, m); err != nil {
		return nil, err
	}
	del, _ := s.projectDelegation(d.Role)
	canon := m.CanonicalSigned()
	rs := &RoleState{Staged: Staged{Role: d.Role, Version: d.Version, Metadata: b, Summary: includedSummary(d.Role, m, del, s.Plan.keyNames)},
		Canonical: canon, Digest: digestOf(canon), Required: []roles.Delegation{del}, Included: true, meta: d.Metadata, tpath: src.tpath}
	for _, sig := range m.Signatures {
		rs.Signatures = append(rs.Signatures, SignatureRecord{Signature: sig, Signer: s.name(sig.KeyID), Via: "included"})
	}
	return func() { s.Roles = append(s.Roles, rs) }, nil
}

func (s *State) admitSigned(d signedData) (func(), error) {
	sig, err := hex.DecodeString(d.Sig)
	if err != nil {
		return nil, fmt.Errorf("signature is not hex")
	}
	r, err := s.checkSignature(d.Role, d.KeyID, sig)
	if err != nil {
		return nil, err
	}
	rec := SignatureRecord{Signature: roles.Signature{KeyID: d.KeyID, Sig: sig}, Signer: d.Signer, Via: d.Via, Device: d.Device, ClaimedDevice: d.ClaimedDevice}
	return func() { r.Signatures, r.progress = append(r.Signatures, rec), nil }, nil
}

// admitPublishStarted takes in the start of publishing: every role
// reaches every threshold, and the files are exactly those the roles give.
func (s *State) admitPublishStarted(src eventSource, d publishData) (func(), error) {
	if s.publishing != nil {
		return nil, fmt.Errorf("%w: publishing has started already", ErrState)
	}
	if err := s.reachedAll(); err != nil {
		return nil, err
	}
	files, err := s.publishFiles()
	if err != nil {
		return nil, err
	}
	if !slices.Equal(files, d.Files) {
		return nil, fmt.Errorf("publish.started lists other files than the staged roles and their signatures give: the transcript or the tool differs from the one that ran the ceremony")
	}
	if d.Dir == "" {
		return nil, fmt.Errorf("publish.started names no folder")
	}
	recorded := d.Dir
	d.Dir = src.path(d.Dir)
	return func() { s.publishing, s.recordedDirs[1] = &d, recorded }, nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	return nil
}

// sameFindings compares policy verdicts: each check's id, role, severity
// and outcome. Messages are explanation, and a later release may word
// them better without making earlier transcripts fail to replay.
func sameFindings(a, b roles.Findings) bool {
	return slices.EqualFunc(a, b, func(x, y roles.Finding) bool {
		return x.Check == y.Check && x.Role == y.Role && x.Severity == y.Severity && x.Passed == y.Passed
	})
}

// canonicalOf returns the canonical signed bytes of published metadata: a
// view of b where its signed part is canonical already, as this tool
// writes it.
func canonicalOf(role string, b []byte) ([]byte, error) {
	switch role {
	case RoleRoot:
		m, err := roles.Parse[*roles.Root](b)
		if err != nil {
			return nil, err
		}
		return m.CanonicalSignedView(), nil
	case RoleRevocations:
		m, err := roles.Parse[*roles.Revocations](b)
		if err != nil {
			return nil, err
		}
		return m.CanonicalSignedView(), nil
	case RoleSnapshot:
		m, err := roles.Parse[*roles.Snapshot](b)
		if err != nil {
			return nil, err
		}
		return m.CanonicalSignedView(), nil
	case RoleTimestamp:
		m, err := roles.Parse[*roles.Timestamp](b)
		if err != nil {
			return nil, err
		}
		return m.CanonicalSignedView(), nil
	}
	m, err := roles.Parse[*roles.Targets](b)
	if err != nil {
		return nil, err
	}
	return m.CanonicalSignedView(), nil
}
