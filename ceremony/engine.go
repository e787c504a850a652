package ceremony

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// Event types the engine writes. Each is appended and fsynced before it
// takes effect; the fold (State.apply) is the only place they take effect.
const (
	EventOpened    = "ceremony.opened"  // the resolved plan, the tool, the host
	EventLoaded    = "state.loaded"     // the trusted metadata the ceremony starts from
	EventStaged    = "role.staged"      // a role as it will be published, with its checks
	EventSigned    = "signature.added"  // one signature over one staged role
	EventIncluded  = "role.included"    // a delegated role signed elsewhere (a project's), to publish
	EventPublish   = "publish.started"  // the files about to be written, by digest
	EventPublished = "publish.finished" // every file is on disk
	EventClosed    = "ceremony.closed"  // nothing more will happen
)

// TranscriptName is the transcript's file name inside a workspace.
const TranscriptName = "transcript.jsonl"

// Errors the faces tell apart.
var (
	ErrState     = errors.New("not possible in this state of the ceremony")
	ErrWrongKey  = errors.New("key is not expected by this ceremony")
	ErrNetwork   = errors.New("a network interface is up")
	ErrNotSigned = errors.New("thresholds not reached")
)

// Tool describes the running tool for the transcript.
type Tool struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Binary  string `json:"binary_sha256,omitempty"`
}

type openedData struct {
	Plan       transcripts.Artifact `json:"plan"`
	Tool       Tool                 `json:"tool"`
	Host       hostFacts            `json:"host"`
	Workspace  string               `json:"workspace"`
	PublishDir string               `json:"publish_dir"`
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
}

type publishData struct {
	Dir   string        `json:"dir"`
	Files []publishFile `json:"files"`
}

type publishFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Length int    `json:"length"`
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
}

// State is the fold of a transcript's events.
type State struct {
	Plan        *Plan
	Tool        Tool
	PublishDir  string
	TrustedRoot []byte
	Repo        *Repo // nil for a bootstrap
	Roles       []*RoleState
	Publishing  *publishData
	Published   bool
	Closed      bool

	expected []*Staged // what Stage computes from Plan and Repo
}

// Role returns the staged role named name, or nil.
func (s *State) Role(name string) *RoleState {
	for _, r := range s.Roles {
		if r.Role == name {
			return r
		}
	}
	return nil
}

// Engine drives one ceremony in a workspace folder.
type Engine struct {
	ws     string
	tpath  string
	w      *transcripts.Writer
	st     *State
	repair *transcripts.Repair
}

// State returns the ceremony's state; the caller must not change it.
func (e *Engine) State() *State { return e.st }

// Workspace returns the workspace folder.
func (e *Engine) Workspace() string { return e.ws }

// TranscriptPath returns the transcript's path.
func (e *Engine) TranscriptPath() string { return e.tpath }

// Head returns the transcript's head digest.
func (e *Engine) Head() transcripts.Digest { return e.w.Last().Hash() }

// CloseCeremony records the end of the ceremony: nothing can be added to
// it afterwards. A ceremony that staged roles must have published them.
func (e *Engine) CloseCeremony() error {
	if len(e.st.Roles) > 0 && !e.st.Published {
		return fmt.Errorf("%w: nothing is published yet; publish first, or keep the workspace to go on later", ErrState)
	}
	return e.record(EventClosed, struct{}{})
}

// Repaired says how Resume mended a torn last line of the transcript, or
// is nil when there was none.
func (e *Engine) Repaired() *transcripts.Repair { return e.repair }

// Close releases the workspace.
func (e *Engine) Close() error { return e.w.Close() }

// Begin opens a new ceremony in workspace ws (created if missing, and
// holding no transcript yet): it records the plan, the tool and the host,
// loads and verifies the trusted state, and stages every change with its
// policy checks. Metadata is published into publishDir (for a bootstrap,
// ws/metadata when empty).
func Begin(ws string, plan *Plan, tool Tool, publishDir string) (*Engine, error) {
	host := readHostFacts()
	if len(host.Interfaces) > 0 && !plan.AllowNetwork {
		return nil, fmt.Errorf("%w (%v): take the machine off every network, or set allow_network: true in the plan if this is not an air-gapped ceremony", ErrNetwork, host.Interfaces)
	}
	if publishDir == "" {
		if plan.Start != nil {
			publishDir = plan.path(plan.Start.Metadata)
		} else {
			publishDir = filepath.Join(ws, "metadata")
		}
	}
	// Load before anything is written: a plan whose trusted state does not
	// verify leaves no workspace behind.
	var repo *Repo
	var trusted []byte
	if plan.Start != nil {
		var err error
		if trusted, err = os.ReadFile(plan.path(plan.Start.TrustedRoot)); err != nil {
			return nil, fmt.Errorf("read trusted root: %w", err)
		}
		if repo, err = LoadRepo(plan.path(plan.Start.Metadata), trusted); err != nil {
			return nil, err
		}
	}
	staged, err := Stage(plan, repo)
	if err != nil {
		return nil, err
	}
	// Nobody is asked to sign what fails a policy check.
	for _, s := range staged {
		if err := s.Checks.Err(); err != nil {
			return nil, fmt.Errorf("staged %s v%d: %w", s.Role, s.Version, err)
		}
	}
	if err := os.MkdirAll(ws, 0o700); err != nil {
		return nil, fmt.Errorf("create workspace: %w", err)
	}
	tpath := filepath.Join(ws, TranscriptName)
	w, err := transcripts.Create(tpath, transcripts.Header{Ceremony: plan.Ceremony, Tool: tool.Version})
	if errors.Is(err, os.ErrExist) {
		// A start cut short before it recorded the plan leaves a transcript
		// with its header alone: take it up again with the same plan.
		w, err = reopenAborted(tpath, plan)
	}
	if err != nil {
		return nil, fmt.Errorf("start transcript: %w", err)
	}
	e := &Engine{ws: ws, tpath: tpath, w: w, st: &State{}}
	fail := func(err error) (*Engine, error) {
		w.Close()
		return nil, err
	}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return fail(err)
	}
	pa, err := w.PutArtifact(bytes.NewReader(planJSON))
	if err != nil {
		return fail(err)
	}
	absPub, _ := filepath.Abs(publishDir)
	absWS, _ := filepath.Abs(ws)
	if err := e.record(EventOpened, openedData{Plan: pa, Tool: tool, Host: host, Workspace: absWS, PublishDir: absPub}); err != nil {
		return fail(err)
	}
	if repo != nil {
		ld := loadedData{Files: map[string]transcripts.Artifact{}}
		if ld.TrustedRoot, err = w.PutArtifact(bytes.NewReader(trusted)); err != nil {
			return fail(err)
		}
		for _, name := range repo.FileOrder {
			if ld.Files[name], err = w.PutArtifact(bytes.NewReader(repo.Files[name])); err != nil {
				return fail(err)
			}
		}
		if err := e.record(EventLoaded, ld); err != nil {
			return fail(err)
		}
	}
	for _, s := range staged {
		if err := e.stage(s); err != nil {
			return fail(err)
		}
	}
	return e, nil
}

// reopenAborted opens a transcript that holds nothing but the header of a
// ceremony with plan's id; anything more is a ceremony in progress, which
// resume (not start) goes on with.
func reopenAborted(tpath string, plan *Plan) (*transcripts.Writer, error) {
	w, err := transcripts.Open(tpath)
	if err != nil {
		return nil, err
	}
	// Nothing but the format's own events (its header, the record of a
	// torn tail resume dropped) leaves the plan unrecorded.
	st, err := Fold(tpath)
	if err != nil || st.Plan != nil {
		w.Close()
		return nil, fmt.Errorf("%w: %s holds a ceremony already: go on with 'ceremony resume', or start in another workspace", ErrConflict, tpath)
	}
	return w, nil
}

// Resume reopens the ceremony in workspace ws: it mends a torn last line,
// which a crash mid-write leaves (Repaired says how), folds the
// transcript's events and goes on from where it stopped.
func Resume(ws string) (*Engine, error) {
	tpath := filepath.Join(ws, TranscriptName)
	w, repair, err := transcripts.OpenRepair(tpath)
	if err != nil {
		return nil, fmt.Errorf("open transcript: %w", err)
	}
	fail := func(err error) (*Engine, error) {
		w.Close()
		if repair != nil { // done all the same: say so
			err = fmt.Errorf("%w (the transcript was repaired first: resume %s)", err, repair)
		}
		return nil, err
	}
	st, err := Fold(tpath)
	if err != nil {
		return fail(err)
	}
	if st.Plan == nil {
		return fail(fmt.Errorf("%w: the ceremony in %s was cut short before its plan was recorded: run 'ceremony start PLAN' there again", ErrState, ws))
	}
	e := &Engine{ws: ws, tpath: tpath, w: w, st: st, repair: repair}
	// A start cut short may have staged some roles and not others.
	if st.Publishing == nil {
		for _, s := range st.expected {
			if st.Role(s.Role) == nil {
				if err := e.stage(s); err != nil {
					return fail(err)
				}
			}
		}
	}
	return e, nil
}

// Fold rebuilds a ceremony's state from its transcript: the same code that
// applied each event live applies it again, checks included.
func Fold(tpath string) (*State, error) {
	f, err := os.Open(tpath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st := &State{}
	for ev, err := range transcripts.Events(f) {
		if err != nil {
			return nil, fmt.Errorf("read transcript: %w", err)
		}
		if err := st.apply(tpath, ev.Type, ev.Data); err != nil {
			return nil, fmt.Errorf("transcript event %d (%s): %w", ev.Seq, ev.Type, err)
		}
	}
	return st, nil
}

// CrashHook, when set, is called after each event is on disk and before
// it takes effect; an error from it stops the engine there, as a killed
// process would stop. It exists for the crash tests: a real crash cannot
// be produced on demand at an exact event boundary.
var CrashHook func(seq int64) error

// record appends an event and, once it is on disk, applies it.
func (e *Engine) record(typ string, data any) error {
	ev, err := e.w.Append(typ, data)
	if err != nil {
		return fmt.Errorf("record %s: %w", typ, err)
	}
	if CrashHook != nil {
		if err := CrashHook(ev.Seq); err != nil {
			return err
		}
	}
	if err := e.st.apply(e.tpath, ev.Type, ev.Data); err != nil {
		// The event is on the record but the fold refuses it: a bug, or a
		// transcript edited under us. Say so; never carry on.
		return fmt.Errorf("apply %s: %w", typ, err)
	}
	return nil
}

func (e *Engine) stage(s *Staged) error {
	a, err := e.w.PutArtifact(bytes.NewReader(s.Metadata))
	if err != nil {
		return err
	}
	canon, err := canonicalOf(s.Role, s.Metadata)
	if err != nil {
		return err
	}
	return e.record(EventStaged, stagedData{Role: s.Role, Version: s.Version, Online: s.Online, Metadata: a,
		Digest: digestOf(canon), Summary: s.Summary, Checks: s.Checks})
}

// apply is the fold: it checks an event against the state and takes it in.
func (s *State) apply(tpath, typ string, data []byte) error {
	if s.Closed {
		return fmt.Errorf("%w: the ceremony is closed", ErrState)
	}
	switch typ {
	case transcripts.HeaderType, "transcript.torn":
		return nil
	case EventOpened:
		var d openedData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		b, err := transcripts.ReadArtifact(tpath, d.Plan)
		if err != nil {
			return err
		}
		var p Plan
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("recorded plan: %w", err)
		}
		if err := p.validate(); err != nil {
			return fmt.Errorf("recorded plan: %w", err)
		}
		s.Plan, s.Tool, s.PublishDir = &p, d.Tool, d.PublishDir
		if p.Start == nil {
			return s.expect()
		}
	case EventLoaded:
		var d loadedData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		var err error
		if s.TrustedRoot, err = transcripts.ReadArtifact(tpath, d.TrustedRoot); err != nil {
			return err
		}
		files := map[string][]byte{}
		for name, a := range d.Files {
			if files[name], err = transcripts.ReadArtifact(tpath, a); err != nil {
				return err
			}
		}
		if s.Repo, err = RepoFromFiles(s.TrustedRoot, files); err != nil {
			return err
		}
		return s.expect()
	case EventStaged:
		var d stagedData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		b, err := transcripts.ReadArtifact(tpath, d.Metadata)
		if err != nil {
			return err
		}
		return s.applyStaged(d, b)
	case EventIncluded:
		var d includedData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		b, err := transcripts.ReadArtifact(tpath, d.Metadata)
		if err != nil {
			return err
		}
		return s.applyIncluded(d, b)
	case EventSigned:
		var d signedData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		return s.applySigned(d)
	case EventPublish:
		var d publishData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		s.Publishing = &d
	case EventPublished:
		if s.Publishing == nil {
			return fmt.Errorf("%w: finished publishing before starting", ErrState)
		}
		s.Published = true
	case EventClosed:
		s.Closed = true
	default:
		return fmt.Errorf("unknown event type %q", typ)
	}
	return nil
}

// expect computes the staged roles the plan and trusted state call for;
// every role.staged event must match one of them byte for byte.
func (s *State) expect() error {
	if s.Plan == nil {
		return fmt.Errorf("%w: state loaded before the ceremony was opened", ErrState)
	}
	exp, err := Stage(s.Plan, s.Repo)
	if err != nil {
		return err
	}
	s.expected = exp
	return nil
}

func (s *State) applyStaged(d stagedData, metadata []byte) error {
	if s.Publishing != nil {
		return fmt.Errorf("%w: staging after publishing started", ErrState)
	}
	if s.Role(d.Role) != nil {
		return fmt.Errorf("role %s staged twice", d.Role)
	}
	var want *Staged
	if d.Online {
		exp, err := s.stageOnline()
		if err != nil {
			return err
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
		return fmt.Errorf("staged %s v%d is not what the plan and trusted state give: the transcript or the tool differs from the one that ran the ceremony", d.Role, d.Version)
	}
	if !slices.Equal(want.Summary, d.Summary) || !sameFindings(want.Checks, d.Checks) {
		return fmt.Errorf("staged %s: recorded summary or policy checks differ from what this tool computes", d.Role)
	}
	canon, err := canonicalOf(d.Role, metadata)
	if err != nil {
		return err
	}
	if digestOf(canon) != d.Digest {
		return fmt.Errorf("staged %s: recorded digest %s is not the digest of its signed bytes", d.Role, d.Digest)
	}
	rs := &RoleState{Staged: *want, Canonical: canon, Digest: d.Digest}
	s.Roles = append(s.Roles, rs)
	for _, r := range s.Roles {
		if r.Included {
			continue
		}
		if r.Required, err = s.required(r.Role); err != nil {
			return err
		}
	}
	return nil
}

func (s *State) applySigned(d signedData) error {
	sig, err := hex.DecodeString(d.Sig)
	if err != nil {
		return fmt.Errorf("signature is not hex")
	}
	r, err := s.checkSignature(d.Role, d.KeyID, sig)
	if err != nil {
		return err
	}
	r.Signatures = append(r.Signatures, SignatureRecord{Signature: roles.Signature{KeyID: d.KeyID, Sig: sig}, Signer: d.Signer, Via: d.Via, Device: d.Device})
	return nil
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
	if s.Publishing != nil || s.Closed {
		return nil, fmt.Errorf("%w: publishing has started; no more signatures are taken", ErrState)
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

// who names a key for people: "3f1a2b3c (carol)", or its short id.
func (s *State) who(keyid string) string {
	if name := s.name(keyid); name != short(keyid) {
		return short(keyid) + " (" + name + ")"
	}
	return short(keyid)
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
			rep, err := roles.VerifyCanonical(r.Canonical, sigs, del)
			p := Progress{Role: r.Role, Under: del.Role, Threshold: del.Threshold, Reached: err == nil}
			for _, id := range rep.Signed {
				p.Signed = append(p.Signed, s.name(id))
			}
			for _, id := range rep.Missing {
				p.Missing = append(p.Missing, s.name(id))
			}
			out = append(out, p)
		}
	}
	return out
}

func (s *State) name(keyid string) string {
	if s.Plan != nil {
		if pt := s.Plan.participantByKeyID(keyid); pt != nil {
			return pt.Name
		}
	}
	return short(keyid)
}

// signatures are the role's signatures so far.
func (r *RoleState) signatures() []roles.Signature {
	out := make([]roles.Signature, len(r.Signatures))
	for i, s := range r.Signatures {
		out[i] = s.Signature
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

// Include takes in a delegated targets role that was signed elsewhere,
// such as a project's metadata signed by its maintainers, so that it is
// published with the ceremony and listed in snapshot. It must already
// reach the threshold claimed (as staged, or as trusted) gives it.
func (e *Engine) Include(role string, metadata []byte) error {
	m, err := roles.Parse[*roles.Targets](metadata)
	if err != nil {
		return fmt.Errorf("include %s: %w", role, err)
	}
	if err := e.st.checkIncluded(role, m); err != nil {
		return err
	}
	a, err := e.w.PutArtifact(bytes.NewReader(metadata))
	if err != nil {
		return err
	}
	return e.record(EventIncluded, includedData{Role: role, Version: m.Signed.Version, Metadata: a})
}

func (s *State) checkIncluded(role string, m *roles.Metadata[*roles.Targets]) error {
	if s.Publishing != nil {
		return fmt.Errorf("%w: publishing has started", ErrState)
	}
	if s.Role(role) != nil {
		return fmt.Errorf("role %s is already in this ceremony", role)
	}
	switch role {
	case RoleRoot, RoleTargets, RoleClaimed, RoleRevocations, RoleSnapshot, RoleTimestamp, RoleRecentlyClaimed, RoleUnclaimed:
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

func (s *State) applyIncluded(d includedData, b []byte) error {
	m, err := roles.Parse[*roles.Targets](b)
	if err != nil {
		return err
	}
	if m.Signed.Version != d.Version {
		return fmt.Errorf("included %s: recorded version %d, file has %d", d.Role, d.Version, m.Signed.Version)
	}
	if err := s.checkIncluded(d.Role, m); err != nil {
		return err
	}
	del, _ := s.projectDelegation(d.Role)
	canon := m.CanonicalSigned()
	rs := &RoleState{Staged: Staged{Role: d.Role, Version: d.Version, Metadata: b, Summary: []string{fmt.Sprintf("%s v%d, signed by its maintainers", d.Role, d.Version)}},
		Canonical: canon, Digest: digestOf(canon), Required: []roles.Delegation{del}, Included: true}
	for _, sig := range m.Signatures {
		rs.Signatures = append(rs.Signatures, SignatureRecord{Signature: sig, Signer: s.name(sig.KeyID), Via: "included"})
	}
	s.Roles = append(s.Roles, rs)
	return nil
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

// SignResult is one signature a device made.
type SignResult struct {
	Role  string
	KeyID string
}

// Sign signs every staged offline role that the signer's key may sign and
// has not signed yet. The key must be a participant's: any other is
// refused before anything is signed. dev describes the device for the
// transcript (nil for a key in memory).
func (e *Engine) Sign(signer crypto.Signer, dev *hsm.Device) ([]SignResult, error) {
	if e.st.Publishing != nil {
		return nil, fmt.Errorf("%w: publishing has started", ErrState)
	}
	key, err := roles.KeyFromPublic(signer.Public())
	if err != nil {
		return nil, err
	}
	id := key.ID()
	pt := e.st.Plan.participantByKeyID(id)
	if pt == nil {
		return nil, fmt.Errorf("%w: key %s is none of the participants' keys; check you plugged in the right device", ErrWrongKey, short(id))
	}
	var out []SignResult
	for _, r := range e.st.Roles {
		if r.Online || !r.mayBeSignedBy(id) || r.signedBy(id) {
			continue
		}
		sig, err := roles.Sign(signer, key, r.Canonical)
		if err != nil {
			return out, fmt.Errorf("sign %s: %w", r.Role, err)
		}
		if err := e.record(EventSigned, signedData{Role: r.Role, KeyID: id, Sig: hex.EncodeToString(sig.Sig), Signer: pt.Name, Via: "device", Device: dev}); err != nil {
			return out, err
		}
		out = append(out, SignResult{Role: r.Role, KeyID: id})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s's key %s has nothing left to sign", ErrState, pt.Name, short(id))
	}
	return out, nil
}

// AddSignature takes in a signature made elsewhere (an air-gapped
// signer's response): it is checked as the fold checks every signature,
// before anything is recorded, so a refused one changes nothing.
func (e *Engine) AddSignature(role string, sig roles.Signature, via string, dev *hsm.Device) error {
	if _, err := e.st.checkSignature(role, sig.KeyID, sig.Sig); err != nil {
		return err
	}
	return e.record(EventSigned, signedData{Role: role, KeyID: sig.KeyID, Sig: hex.EncodeToString(sig.Sig), Signer: e.st.name(sig.KeyID), Via: via, Device: dev})
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

func readHostFacts() hostFacts {
	h := hostFacts{OS: runtime.GOOS, Arch: runtime.GOARCH}
	h.Hostname, _ = os.Hostname()
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			h.Interfaces = append(h.Interfaces, i.Name)
		}
	}
	return h
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

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// canonicalOf returns the canonical signed bytes of published metadata.
func canonicalOf(role string, b []byte) ([]byte, error) {
	switch role {
	case RoleRoot:
		m, err := roles.Parse[*roles.Root](b)
		if err != nil {
			return nil, err
		}
		return m.CanonicalSigned(), nil
	case RoleRevocations:
		m, err := roles.Parse[*roles.Revocations](b)
		if err != nil {
			return nil, err
		}
		return m.CanonicalSigned(), nil
	case RoleSnapshot:
		m, err := roles.Parse[*roles.Snapshot](b)
		if err != nil {
			return nil, err
		}
		return m.CanonicalSigned(), nil
	case RoleTimestamp:
		m, err := roles.Parse[*roles.Timestamp](b)
		if err != nil {
			return nil, err
		}
		return m.CanonicalSigned(), nil
	}
	m, err := roles.Parse[*roles.Targets](b)
	if err != nil {
		return nil, err
	}
	return m.CanonicalSigned(), nil
}
