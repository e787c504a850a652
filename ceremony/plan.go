package ceremony

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
	"go.yaml.in/yaml/v3"
)

// Plan is one ceremony, as its plan file states it. Plans are parsed
// strictly: unknown keys, a second YAML document, or a field that fails its
// validate are errors naming the field. docs/PLANS.md has an annotated
// example of every kind of ceremony.
type Plan struct {
	// Ceremony is the ceremony's id, e.g. "pypi-2026-q4".
	Ceremony string `yaml:"ceremony" json:"ceremony"`
	// ReferenceTime is the time every expiry is computed from, never the
	// wall clock, so that a replay reaches the same bytes.
	ReferenceTime time.Time `yaml:"reference_time" json:"reference_time"`
	// AllowNetwork lets the ceremony run while a non-loopback network
	// interface is up. Air-gapped ceremonies leave it false.
	AllowNetwork bool `yaml:"allow_network,omitempty" json:"allow_network,omitempty"`
	// Start names the repository the ceremony starts from; nil for a
	// bootstrap.
	Start *Start `yaml:"start,omitempty" json:"start,omitempty"`
	// Participants are the keys the ceremony may use, by name.
	Participants []Participant `yaml:"participants" json:"participants"`
	// Online is the key of the online roles (snapshot, timestamp,
	// recently-claimed, the unclaimed bins).
	Online *Online `yaml:"online,omitempty" json:"online,omitempty"`

	Root        *KeysChange        `yaml:"root,omitempty" json:"root,omitempty"`
	Targets     *TargetsChange     `yaml:"targets,omitempty" json:"targets,omitempty"`
	Claimed     *ClaimedChange     `yaml:"claimed,omitempty" json:"claimed,omitempty"`
	Revocations *RevocationsChange `yaml:"revocations,omitempty" json:"revocations,omitempty"`

	// Limits, in days from the reference time (PEP 458: root and targets
	// within a year).
	MaxExpiryDays int `yaml:"max_expiry_days,omitempty" json:"max_expiry_days,omitempty"`

	dir string // the plan file's folder: relative paths start here
}

// Start is the trusted state a ceremony starts from.
type Start struct {
	// TrustedRoot is the pinned root file the chain is verified from.
	TrustedRoot string `yaml:"trusted_root" json:"trusted_root"`
	// Metadata is the folder of the published repository (consistent
	// snapshot names: N.root.json, …, timestamp.json).
	Metadata string `yaml:"metadata" json:"metadata"`
}

// Participant is a key the ceremony may use, with who holds it.
type Participant struct {
	Name string `yaml:"name" json:"name"`
	// KeyFile is the key as `ceremony keys show --json` prints it:
	// {"keyid": "…", "key": {TUF key object}}.
	KeyFile string `yaml:"key_file,omitempty" json:"-"`
	// KeyID is the keyid the participant is expected to bring.
	KeyID string `yaml:"keyid" json:"keyid"`
	// Device describes where the key lives, for the review
	// ("YubiKey 5 #12345678").
	Device string `yaml:"device,omitempty" json:"device,omitempty"`

	// Key is the key itself, read from KeyFile when the plan is loaded
	// and kept in the resolved plan the transcript records.
	Key json.RawMessage `yaml:"-" json:"key"`
}

// Online names the online key and, when the ceremony signs the online
// roles itself (bootstrap, demo), where it is.
type Online struct {
	Participant string `yaml:"participant" json:"participant"`
	// KeyURI is the device key that signs snapshot and timestamp at
	// publish. Empty: the ceremony publishes offline roles only.
	KeyURI string `yaml:"key_uri,omitempty" json:"key_uri,omitempty"`
	// UnclaimedBinBits is the number of hash bins unclaimed is split into,
	// as a power of two (PEP 458 hashed bins); bootstrap only.
	UnclaimedBinBits int64 `yaml:"unclaimed_bin_bits,omitempty" json:"unclaimed_bin_bits,omitempty"`
}

// KeysChange changes a role's keys, threshold or expiry.
type KeysChange struct {
	Add         []string `yaml:"add,omitempty" json:"add,omitempty"`       // participant names
	Remove      []string `yaml:"remove,omitempty" json:"remove,omitempty"` // participant names
	Threshold   int64    `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	ExpiresDays int      `yaml:"expires_days,omitempty" json:"expires_days,omitempty"`
}

// TargetsChange changes targets: its own keys in root, and its delegation
// to claimed (a claimed-key rotation).
type TargetsChange struct {
	KeysChange `yaml:",inline" json:",inline"`
	Claimed    *KeysChange `yaml:"claimed,omitempty" json:"claimed,omitempty"`
}

// ClaimedChange moves projects into claimed or out of it, and changes
// their maintainers' keys.
type ClaimedChange struct {
	ExpiresDays int `yaml:"expires_days,omitempty" json:"expires_days,omitempty"`
	// ProjectsFile is a JSON file of projects to add or update:
	// {"projects": [{"name": "…", "threshold": 1, "keys": [{TUF key}]}]}.
	ProjectsFile string `yaml:"projects_file,omitempty" json:"-"`
	// RemoveProjects are projects to take out of claimed.
	RemoveProjects []string `yaml:"remove_projects,omitempty" json:"remove_projects,omitempty"`
	// BinBits splits claimed into 2^BinBits hashed bins by project name
	// (bins.go), so that no file outgrows what stock clients accept.
	BinBits int64 `yaml:"bin_bits,omitempty" json:"bin_bits,omitempty"`

	Projects []Project `yaml:"-" json:"projects,omitempty"` // from ProjectsFile

	// Enrollments bring maintainers' attested YubiKey keys into claimed,
	// each checked with VerifyEnrollment against EnrollmentPolicy.
	Enrollments []EnrollmentRef `yaml:"enrollments,omitempty" json:"enrollments,omitempty"`
	// EnrollmentPolicy is what every enrollment must meet.
	EnrollmentPolicy *EnrollmentPolicyPlan `yaml:"enrollment_policy,omitempty" json:"enrollment_policy,omitempty"`
}

// EnrollmentRef names a maintainer's enrollment file and the nonce PyPI
// issued for it.
type EnrollmentRef struct {
	Project string `yaml:"project" json:"project"`
	File    string `yaml:"file" json:"-"`
	Nonce   string `yaml:"nonce" json:"nonce"`

	Enrollment json.RawMessage `yaml:"-" json:"enrollment"` // the file, read in
}

// EnrollmentPolicyPlan is EnrollmentPolicy as a plan states it.
type EnrollmentPolicyPlan struct {
	RootsFile   string `yaml:"roots_file,omitempty" json:"-"` // PEM; Yubico's roots when empty
	PINPolicy   string `yaml:"pin_policy,omitempty" json:"pin_policy,omitempty"`
	TouchPolicy string `yaml:"touch_policy,omitempty" json:"touch_policy,omitempty"`
	MaxAgeDays  int    `yaml:"max_age_days,omitempty" json:"max_age_days,omitempty"`

	Roots []byte `yaml:"-" json:"roots,omitempty"` // the roots file, read in
}

// Project is a project's delegation in claimed: its maintainers' keys.
type Project struct {
	Name      string            `json:"name"`
	Threshold int64             `json:"threshold"`
	Keys      []json.RawMessage `json:"keys"`
}

// RevocationsChange adds entries to the revocation list.
type RevocationsChange struct {
	ExpiresDays int           `yaml:"expires_days,omitempty" json:"expires_days,omitempty"`
	Add         []RevokeEntry `yaml:"add,omitempty" json:"add,omitempty"`
}

// RevokeEntry names a key to revoke: by keyid, found among the keys the
// repository trusts (a project's maintainer key, a participant's key).
type RevokeEntry struct {
	KeyID  string `yaml:"keyid" json:"keyid"`
	Role   string `yaml:"role" json:"role"`
	Reason string `yaml:"reason" json:"reason"`
}

// ErrPlan is wrapped by every error about a plan's content.
var ErrPlan = errors.New("invalid plan")

func planErrorf(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrPlan, field, fmt.Sprintf(format, args...))
}

// LoadPlan reads and validates a plan file, and the key and project files
// it names, and returns the resolved plan.
func LoadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	p, err := parsePlan(b)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	p.dir = filepath.Dir(path)
	if err := p.resolve(); err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return p, nil
}

// parsePlan parses a plan strictly and validates what it can without the
// files it names.
func parsePlan(b []byte) (*Plan, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Plan
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the plan is empty", ErrPlan)
		}
		return nil, fmt.Errorf("%w: %v", ErrPlan, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the plan has a second YAML document: a plan is one document", ErrPlan)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
var keyidPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (p *Plan) validate() error {
	if err := p.checkText(); err != nil {
		return err
	}
	if !idPattern.MatchString(p.Ceremony) {
		return planErrorf("ceremony", "%q is not an id: use lower-case letters, digits, '.', '_' and '-', e.g. pypi-2026-q4", p.Ceremony)
	}
	if p.ReferenceTime.IsZero() {
		return planErrorf("reference_time", "missing: give the time every expiry is counted from, e.g. 2026-11-01T00:00:00Z")
	}
	if p.ReferenceTime.Location() != time.UTC || p.ReferenceTime.Nanosecond() != 0 {
		return planErrorf("reference_time", "%s must be whole seconds in UTC (ending in Z)", p.ReferenceTime.Format(time.RFC3339Nano))
	}
	if p.Start != nil {
		if err := p.Start.validate(); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	for i, pt := range p.Participants {
		field := fmt.Sprintf("participants[%d]", i)
		if err := pt.validate(field); err != nil {
			return err
		}
		if names[pt.Name] {
			return planErrorf(field+".name", "%q is named twice", pt.Name)
		}
		names[pt.Name] = true
	}
	known := func(field string, list []string) error {
		for i, n := range list {
			if !names[n] {
				return planErrorf(fmt.Sprintf("%s[%d]", field, i), "%q is not a participant: add it to participants with its key_file and keyid", n)
			}
		}
		return nil
	}
	for field, c := range map[string]*KeysChange{"root": p.Root, "targets.claimed": p.claimedKeys()} {
		if c == nil {
			continue
		}
		if err := c.validate(field); err != nil {
			return err
		}
		if err := known(field+".add", c.Add); err != nil {
			return err
		}
		if err := known(field+".remove", c.Remove); err != nil {
			return err
		}
	}
	if p.Targets != nil {
		if err := p.Targets.KeysChange.validate("targets"); err != nil {
			return err
		}
		if err := known("targets.add", p.Targets.Add); err != nil {
			return err
		}
		if err := known("targets.remove", p.Targets.Remove); err != nil {
			return err
		}
	}
	if p.Online != nil {
		if !names[p.Online.Participant] {
			return planErrorf("online.participant", "%q is not a participant", p.Online.Participant)
		}
		if err := hsm.CheckNoPIN(p.Online.KeyURI); err != nil {
			return planErrorf("online.key_uri", "%v", err)
		}
		if b := p.Online.UnclaimedBinBits; b < 0 || b > 14 {
			return planErrorf("online.unclaimed_bin_bits", "%d is out of range: use 1 to 14 (2 to 16384 bins)", b)
		}
	}
	if p.Claimed != nil && p.Claimed.ExpiresDays < 0 {
		return planErrorf("claimed.expires_days", "must not be negative")
	}
	if c := p.Claimed; c != nil {
		for i, r := range c.Enrollments {
			field := fmt.Sprintf("claimed.enrollments[%d]", i)
			if !idPattern.MatchString(r.Project) {
				return planErrorf(field+".project", "%q is not a project name", r.Project)
			}
			if r.Nonce == "" {
				return planErrorf(field+".nonce", "missing: give the nonce PyPI issued for this enrollment")
			}
			if r.File == "" && r.Enrollment == nil {
				return planErrorf(field+".file", "missing: name the maintainer's enrollment file")
			}
		}
		if ep := c.EnrollmentPolicy; ep != nil {
			if _, ok := pinRank[ep.PINPolicy]; ep.PINPolicy != "" && !ok {
				return planErrorf("claimed.enrollment_policy.pin_policy", "%q: use never, once or always", ep.PINPolicy)
			}
			if _, ok := touchRank[ep.TouchPolicy]; ep.TouchPolicy != "" && !ok {
				return planErrorf("claimed.enrollment_policy.touch_policy", "%q: use never, cached or always", ep.TouchPolicy)
			}
		}
	}
	if p.Claimed != nil && (p.Claimed.BinBits < 0 || p.Claimed.BinBits > 12) {
		return planErrorf("claimed.bin_bits", "%d is out of range: use 1 to 12 (2 to 4096 bins), or leave it out for one claimed file", p.Claimed.BinBits)
	}
	if p.Revocations != nil {
		for i, e := range p.Revocations.Add {
			field := fmt.Sprintf("revocations.add[%d]", i)
			if !keyidPattern.MatchString(e.KeyID) {
				return planErrorf(field+".keyid", "%q is not a keyid (64 lower-case hex digits)", e.KeyID)
			}
			if e.Role == "" || e.Reason == "" {
				return planErrorf(field, "role and reason are both required: say where the key was trusted and why it is revoked")
			}
		}
	}
	if p.MaxExpiryDays < 0 {
		return planErrorf("max_expiry_days", "must not be negative")
	}
	if p.Start == nil {
		// A bootstrap makes every role: it needs keys for all of them.
		switch {
		case p.Root == nil || len(p.Root.Add) == 0:
			return planErrorf("root.add", "a bootstrap (no start:) needs the root keys")
		case p.Targets == nil || len(p.Targets.Add) == 0:
			return planErrorf("targets.add", "a bootstrap needs the targets keys")
		case p.claimedKeys() == nil || len(p.claimedKeys().Add) == 0:
			return planErrorf("targets.claimed.add", "a bootstrap needs the claimed keys")
		case p.Online == nil:
			return planErrorf("online", "a bootstrap needs the online key (snapshot, timestamp, recently-claimed, unclaimed)")
		}
	}
	return nil
}

// checkText refuses a plan whose strings hold a character a terminal could
// act on or a reader could not see (untrusted.Check): names, devices,
// paths, URIs, reasons, each named by its path in the plan. The faces
// escape what they show as well; a plan is refused outright so that what
// a transcript records is readable as it stands.
func (p *Plan) checkText() error {
	fields := map[string]string{"ceremony": p.Ceremony}
	if s := p.Start; s != nil {
		fields["start.trusted_root"], fields["start.metadata"] = s.TrustedRoot, s.Metadata
	}
	for i, pt := range p.Participants {
		f := fmt.Sprintf("participants[%d].", i)
		fields[f+"name"], fields[f+"key_file"], fields[f+"keyid"], fields[f+"device"] = pt.Name, pt.KeyFile, pt.KeyID, pt.Device
	}
	if o := p.Online; o != nil {
		fields["online.participant"], fields["online.key_uri"] = o.Participant, o.KeyURI
	}
	for field, c := range map[string]*KeysChange{"root": p.Root, "targets.claimed": p.claimedKeys()} {
		if c != nil {
			names(fields, field, c)
		}
	}
	if p.Targets != nil {
		names(fields, "targets", &p.Targets.KeysChange)
	}
	if c := p.Claimed; c != nil {
		fields["claimed.projects_file"] = c.ProjectsFile
		for i, n := range c.RemoveProjects {
			fields[fmt.Sprintf("claimed.remove_projects[%d]", i)] = n
		}
		for i, e := range c.Enrollments {
			f := fmt.Sprintf("claimed.enrollments[%d].", i)
			fields[f+"project"], fields[f+"file"], fields[f+"nonce"] = e.Project, e.File, e.Nonce
		}
		if ep := c.EnrollmentPolicy; ep != nil {
			f := "claimed.enrollment_policy."
			fields[f+"roots_file"], fields[f+"pin_policy"], fields[f+"touch_policy"] = ep.RootsFile, ep.PINPolicy, ep.TouchPolicy
		}
	}
	if r := p.Revocations; r != nil {
		for i, e := range r.Add {
			f := fmt.Sprintf("revocations.add[%d].", i)
			fields[f+"keyid"], fields[f+"role"], fields[f+"reason"] = e.KeyID, e.Role, e.Reason
		}
	}
	return checkFields(ErrPlan, fields)
}

// names adds the participant names a keys change lists to fields.
func names(fields map[string]string, field string, c *KeysChange) {
	for i, n := range c.Add {
		fields[fmt.Sprintf("%s.add[%d]", field, i)] = n
	}
	for i, n := range c.Remove {
		fields[fmt.Sprintf("%s.remove[%d]", field, i)] = n
	}
}

func (p *Plan) claimedKeys() *KeysChange {
	if p.Targets == nil {
		return nil
	}
	return p.Targets.Claimed
}

func (s *Start) validate() error {
	if s.TrustedRoot == "" {
		return planErrorf("start.trusted_root", "missing: name the pinned root file the ceremony trusts")
	}
	if s.Metadata == "" {
		return planErrorf("start.metadata", "missing: name the folder of the published repository")
	}
	return nil
}

func (pt *Participant) validate(field string) error {
	if !idPattern.MatchString(pt.Name) {
		return planErrorf(field+".name", "%q is not a name: use lower-case letters, digits, '.', '_' and '-'", pt.Name)
	}
	if !keyidPattern.MatchString(pt.KeyID) {
		return planErrorf(field+".keyid", "%q is not a keyid (64 lower-case hex digits, as `ceremony keys show` prints)", pt.KeyID)
	}
	if pt.KeyFile == "" && pt.Key == nil {
		return planErrorf(field+".key_file", "missing: give the file `ceremony keys show --json URI` wrote for this key")
	}
	if pt.Key != nil {
		// A resolved plan (the one a transcript records) holds the key.
		k, err := roles.ParseKey(pt.Key)
		if err != nil {
			return planErrorf(field+".key", "%v", err)
		}
		if k.ID() != pt.KeyID {
			return planErrorf(field+".keyid", "the key recorded has keyid %s, not %s", k.ID(), pt.KeyID)
		}
	}
	return nil
}

func (c *KeysChange) validate(field string) error {
	if c.Threshold < 0 {
		return planErrorf(field+".threshold", "must be 1 or more")
	}
	if c.ExpiresDays < 0 {
		return planErrorf(field+".expires_days", "must not be negative")
	}
	for _, a := range c.Add {
		if slices.Contains(c.Remove, a) {
			return planErrorf(field, "%q is both added and removed", a)
		}
	}
	return nil
}

// resolve reads the files the plan names into it, so that the resolved
// plan is self-contained: the transcript records it, and a replay needs
// nothing else.
func (p *Plan) resolve() error {
	for i := range p.Participants {
		pt := &p.Participants[i]
		field := fmt.Sprintf("participants[%d].key_file", i)
		b, err := os.ReadFile(p.path(pt.KeyFile))
		if err != nil {
			return planErrorf(field, "%v", err)
		}
		var kf struct {
			KeyID string          `json:"keyid"`
			Key   json.RawMessage `json:"key"`
		}
		if err := json.Unmarshal(b, &kf); err != nil || kf.Key == nil {
			return planErrorf(field, "%s is not a key file of the form {\"keyid\": \"…\", \"key\": {…}}", pt.KeyFile)
		}
		k, err := roles.ParseKey(kf.Key)
		if err != nil {
			return planErrorf(field, "%v", err)
		}
		if _, err := k.PublicKey(); err != nil {
			return planErrorf(field, "%v", err)
		}
		if k.ID() != pt.KeyID {
			return planErrorf(fmt.Sprintf("participants[%d].keyid", i), "the key in %s has keyid %s, not %s: check you have %s's key", pt.KeyFile, k.ID(), pt.KeyID, pt.Name)
		}
		pt.Key = kf.Key
	}
	if c := p.Claimed; c != nil {
		for i := range c.Enrollments {
			r := &c.Enrollments[i]
			field := fmt.Sprintf("claimed.enrollments[%d]", i)
			b, err := os.ReadFile(p.path(r.File))
			if err != nil {
				return planErrorf(field+".file", "%v", err)
			}
			if _, err := ParseEnrollment(b); err != nil {
				return planErrorf(field+".file", "%v", err)
			}
			r.Enrollment = b
		}
		if ep := c.EnrollmentPolicy; ep != nil && ep.RootsFile != "" {
			b, err := os.ReadFile(p.path(ep.RootsFile))
			if err != nil {
				return planErrorf("claimed.enrollment_policy.roots_file", "%v", err)
			}
			ep.Roots = b
		}
	}
	if c := p.Claimed; c != nil && c.ProjectsFile != "" {
		b, err := os.ReadFile(p.path(c.ProjectsFile))
		if err != nil {
			return planErrorf("claimed.projects_file", "%v", err)
		}
		var pf struct {
			Projects []Project `json:"projects"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pf); err != nil {
			return planErrorf("claimed.projects_file", "%s: %v", c.ProjectsFile, err)
		}
		for i, pr := range pf.Projects {
			field := fmt.Sprintf("claimed.projects_file: projects[%d]", i)
			if !idPattern.MatchString(pr.Name) {
				return planErrorf(field+".name", "%q is not a project name", pr.Name)
			}
			if pr.Threshold < 1 || int(pr.Threshold) > len(pr.Keys) {
				return planErrorf(field+".threshold", "%d is not between 1 and the number of keys (%d)", pr.Threshold, len(pr.Keys))
			}
			for j, kb := range pr.Keys {
				k, err := roles.ParseKey(kb)
				if err == nil {
					_, err = k.PublicKey()
				}
				if err != nil {
					return planErrorf(fmt.Sprintf("%s.keys[%d]", field, j), "%v", err)
				}
			}
		}
		c.Projects = pf.Projects
	}
	return nil
}

func (p *Plan) path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(p.dir, rel)
}

// participant returns the participant named name and its key.
func (p *Plan) participant(name string) (*Participant, *roles.Key) {
	for i := range p.Participants {
		if p.Participants[i].Name == name {
			k, _ := roles.ParseKey(p.Participants[i].Key) // checked by resolve
			return &p.Participants[i], k
		}
	}
	return nil, nil
}

// participantByKeyID returns the participant whose key has keyid id.
func (p *Plan) participantByKeyID(id string) *Participant {
	for i := range p.Participants {
		if p.Participants[i].KeyID == id {
			return &p.Participants[i]
		}
	}
	return nil
}

// expiry is the reference time plus days, or plus def when days is 0.
func (p *Plan) expiry(days, def int) time.Time {
	if days == 0 {
		days = def
	}
	return p.ReferenceTime.AddDate(0, 0, days)
}
