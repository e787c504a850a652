package ceremony

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

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
)

// The events' data, one type per event that carries any; the JSON is what
// docs/PLANS.md documents, and the fold refuses unknown members.
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
	// ClaimedDevice is the device a response says signed: the signer's claim, not verified.
	ClaimedDevice *hsm.Device `json:"device_claimed_by_signer,omitempty"`
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

// Fold rebuilds a ceremony's state from its transcript: the same code that
// applied each event live applies it again, checks included.
// It only reads, needs no lock, and never repairs (engine.go).
func Fold(tpath string) (*State, error) {
	st, _, err := fold(tpath)
	return st, err
}

// apply is the fold: it checks an event against the state and takes it in.
func (s *State) apply(tpath, typ string, data []byte) error {
	if s.Closed {
		return fmt.Errorf("%w: the ceremony is closed", ErrState)
	}
	switch typ {
	case transcripts.HeaderType, "transcript.torn":
		return nil
	case eventOpened:
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
	case eventLoaded:
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
	case eventStaged:
		var d stagedData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		b, err := transcripts.ReadArtifact(tpath, d.Metadata)
		if err != nil {
			return err
		}
		return s.applyStaged(d, b)
	case eventIncluded:
		var d includedData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		b, err := transcripts.ReadArtifact(tpath, d.Metadata)
		if err != nil {
			return err
		}
		return s.applyIncluded(d, b)
	case eventSigned:
		var d signedData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		return s.applySigned(d)
	case eventPublishStarted:
		var d publishData
		if err := strictJSON(data, &d); err != nil {
			return err
		}
		s.publishing = &d
	case eventPublishFinished:
		if s.publishing == nil {
			return fmt.Errorf("%w: finished publishing before starting", ErrState)
		}
		s.Published = true
	case eventClosed:
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
	exp, err := stagePlan(s.Plan, s.Repo)
	if err != nil {
		return err
	}
	s.expected = exp
	return nil
}

func (s *State) applyStaged(d stagedData, metadata []byte) error {
	if s.publishing != nil {
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

func (s *State) applySigned(d signedData) error {
	sig, err := hex.DecodeString(d.Sig)
	if err != nil {
		return fmt.Errorf("signature is not hex")
	}
	r, err := s.checkSignature(d.Role, d.KeyID, sig)
	if err != nil {
		return err
	}
	r.Signatures = append(r.Signatures, SignatureRecord{Signature: roles.Signature{KeyID: d.KeyID, Sig: sig}, Signer: d.Signer, Via: d.Via, Device: d.Device, ClaimedDevice: d.ClaimedDevice})
	return nil
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
