package ceremony

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
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

	// Layout is the repository's layout: "" for PEP 480's, or
	// LayoutRSTUF, whose settings RSTUF gives (plan_rstuf.go).
	Layout string     `yaml:"layout,omitempty" json:"layout,omitempty"`
	RSTUF  *RSTUFPlan `yaml:"rstuf,omitempty" json:"rstuf,omitempty"`
	// CheckpointSigners are participants who must sign the checkpoint at
	// close besides the thresholds it needs anyway (checkpoint.go).
	CheckpointSigners []string `yaml:"checkpoint_signers,omitempty" json:"checkpoint_signers,omitempty"`
	// PreviousTranscript is the transcript of the ceremony before this
	// one, closed and its checkpoint signed; resolving the plan reads it
	// into PreviousHead, which the root and targets this ceremony
	// stages carry (checkpoint_link.go).
	PreviousTranscript string        `yaml:"previous_transcript,omitempty" json:"-"`
	PreviousHead       *PreviousHead `yaml:"-" json:"previous_head,omitempty"`

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
	// Bins "prefix" splits claimed into bins by project name prefix
	// (bins.go), so that no file the offline keys sign outgrows what stock
	// clients accept, however many projects claimed holds; it also moves a
	// claimed in hashed bins to name-prefix bins.
	Bins string `yaml:"bins,omitempty" json:"bins,omitempty"`
	// BinBits splits claimed into 2^BinBits hashed bins by project name,
	// the layout before name-prefix bins: claimed still grows with the
	// projects, since it lists each project's pattern.
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
// repository trusts (a project's maintainer key, a participant's key), or
// read from KeyFile, for a key nobody trusts today (revoked before it is
// ever trusted again) whose holder is no participant.
type RevokeEntry struct {
	KeyID string `yaml:"keyid" json:"keyid"`
	// KeyFile is the key as `ceremony keys show --json` prints it; its
	// keyid must be KeyID.
	KeyFile string `yaml:"key_file,omitempty" json:"-"`
	Role    string `yaml:"role" json:"role"`
	Reason  string `yaml:"reason" json:"reason"`

	// Key is the key read from KeyFile, kept in the resolved plan the
	// transcript records.
	Key json.RawMessage `yaml:"-" json:"key,omitempty"`
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
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the plan is empty", ErrPlan)
		}
		return nil, fmt.Errorf("%w: %v", ErrPlan, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the plan has a second YAML document: a plan is one document", ErrPlan)
	}
	// The fields are checked against the plan's shape first, so that an
	// error names the field's path and what it may be, in the plan's
	// words, never Go's.
	if err := checkPlanNode(&doc, reflect.TypeFor[Plan](), "", 0); err != nil {
		return nil, err
	}
	var p Plan
	if err := doc.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPlan, err)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// noZero are the fields whose 0, given, would silently mean "leave it as
// it is" (the default): a plan leaves them out instead.
var noZero = map[string]string{
	"expires_days":    "0 days would expire at once: leave expires_days out for the default validity, or give 1 or more",
	"threshold":       "0 is no threshold: leave threshold out to keep the current one (1 for a new role), or give 1 or more",
	"max_expiry_days": "0 days allows no expiry: leave max_expiry_days out for the policy's default limit, or give 1 or more",
}

// checkPlanNode checks a YAML node against the Go type it decodes into:
// every mapping key names a field, every value has the field's kind, and
// no field in noZero is 0. path is the field's path in the plan
// ("targets.claimed.threshold", "participants[2].keyid").
func checkPlanNode(n *yaml.Node, t reflect.Type, path string, depth int) error {
	if depth > 32 {
		return planErrorf(path, "nested too deeply")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return fmt.Errorf("%w: the plan is empty", ErrPlan)
		}
		return checkPlanNode(n.Content[0], t, path, depth+1)
	case yaml.AliasNode:
		return checkPlanNode(n.Alias, t, path, depth+1)
	}
	if n.ShortTag() == "!!null" {
		return nil
	}
	where := func() string {
		if path == "" {
			return fmt.Sprintf("the plan (line %d)", n.Line)
		}
		return fmt.Sprintf("%s (line %d)", path, n.Line)
	}
	switch {
	case t == reflect.TypeFor[time.Time]() || t.Kind() != reflect.Struct && t.Kind() != reflect.Slice:
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("%w: %s: give %s, not %s", ErrPlan, where(), kindWords(t), nodeWords(n))
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return fmt.Errorf("%w: %s: %q is not %s", ErrPlan, where(), n.Value, kindWords(t))
		}
		if msg, ok := noZero[lastField(path)]; ok && n.Value == "0" {
			return fmt.Errorf("%w: %s: %s", ErrPlan, where(), msg)
		}
		return nil
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%w: %s: give %s, not %s", ErrPlan, where(), kindWords(t), nodeWords(n))
		}
		for i, c := range n.Content {
			if err := checkPlanNode(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%w: %s: give %s, not %s", ErrPlan, where(), kindWords(t), nodeWords(n))
	}
	fields := yamlFields(t)
	var names []string
	for _, f := range fields {
		names = append(names, f.name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" { // a merge key: the merged mapping's fields are this one's
			if err := checkPlanNode(v, t, path, depth+1); err != nil {
				return err
			}
			continue
		}
		sub := k.Value
		if path != "" {
			sub = path + "." + k.Value
		}
		at := slices.Index(names, k.Value)
		if at < 0 {
			return fmt.Errorf("%w: %s (line %d): there is no such field%s; %s takes: %s", ErrPlan, sub, k.Line, didYouMean(k.Value, names), orPlan(path), strings.Join(names, ", "))
		}
		if err := checkPlanNode(v, fields[at].typ, sub, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// yamlField is a struct field as a plan names it.
type yamlField struct {
	name string
	typ  reflect.Type
}

// yamlFields lists a struct's fields by their YAML names, inlined ones
// included, in the order it declares them.
func yamlFields(t reflect.Type) []yamlField {
	var out []yamlField
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case opts == "inline":
			out = append(out, yamlFields(f.Type)...)
		default:
			out = append(out, yamlField{name, f.Type})
		}
	}
	return out
}

func orPlan(path string) string {
	if path == "" {
		return "a plan"
	}
	return path
}

func lastField(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// kindWords says what a field holds, in a plan's words.
func kindWords(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "a time in UTC, whole seconds, such as 2026-11-01T00:00:00Z"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.String:
		return "text"
	case t.Kind() == reflect.Slice:
		return "a list"
	}
	return "a mapping of fields (name: value)"
}

// nodeWords says what a YAML node is.
func nodeWords(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return fmt.Sprintf("%q", n.Value)
}

// didYouMean suggests the field a misspelt name was meant to be: one
// within two edits of it.
func didYouMean(name string, names []string) string {
	best, bestD := "", 3
	for _, f := range names {
		if d := editDistance(name, f); d < bestD {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance between two short names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
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
	if c := p.Claimed; c != nil && c.Bins != "" && c.Bins != binLayoutPrefix {
		return planErrorf("claimed.bins", "%q is not a layout: use prefix (bins by project name prefix), or leave it out", c.Bins)
	}
	if c := p.Claimed; c != nil && c.Bins != "" && c.BinBits != 0 {
		return planErrorf("claimed.bins", "bins and bin_bits both say how to split claimed: keep bins: prefix and leave bin_bits out")
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
			if e.Key != nil {
				// A resolved plan (the one a transcript records) holds the key.
				if err := checkKeyID(field, e.Key, e.KeyID); err != nil {
					return err
				}
			}
		}
	}
	if p.MaxExpiryDays < 0 {
		return planErrorf("max_expiry_days", "must not be negative")
	}
	if err := p.validateCheckpoint(); err != nil {
		return err
	}
	if err := p.validateLayout(); err != nil || p.Layout != "" {
		return err
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
		return checkKeyID(field, pt.Key, pt.KeyID)
	}
	return nil
}

// checkKeyID checks that a key a resolved plan records has keyid id.
func checkKeyID(field string, key json.RawMessage, id string) error {
	k, err := roles.ParseKey(key)
	if err != nil {
		return planErrorf(field+".key", "%v", err)
	}
	if k.ID() != id {
		return planErrorf(field+".keyid", "the key recorded has keyid %s, not %s", k.ID(), id)
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
		var err error
		if pt.Key, err = p.readKeyFile(fmt.Sprintf("participants[%d]", i), pt.KeyFile, pt.KeyID, pt.Name+"'s key"); err != nil {
			return err
		}
	}
	if c := p.Revocations; c != nil {
		for i := range c.Add {
			e := &c.Add[i]
			if e.KeyFile == "" {
				continue
			}
			var err error
			if e.Key, err = p.readKeyFile(fmt.Sprintf("revocations.add[%d]", i), e.KeyFile, e.KeyID, "the key to revoke"); err != nil {
				return err
			}
		}
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
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return planErrorf("claimed.projects_file", "%s: %s: a JSON %s where %s belongs", c.ProjectsFile, te.Field, te.Value, kindWords(te.Type))
			}
			return planErrorf("claimed.projects_file", "%s: %v (a projects file is {\"projects\": [{\"name\": …, \"threshold\": …, \"keys\": [{TUF key}, …]}]})", c.ProjectsFile, err)
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
	if err := p.resolvePrevious(); err != nil {
		return err
	}
	return p.resolveLayout()
}

// readKeyFile reads a key file (`ceremony keys show --json`) that the
// field names, and checks that its key has keyid id; whose says whose key
// it should be, for the error.
func (p *Plan) readKeyFile(field, file, id, whose string) (json.RawMessage, error) {
	b, err := os.ReadFile(p.path(file))
	if err != nil {
		return nil, planErrorf(field+".key_file", "%v", err)
	}
	var kf struct {
		KeyID string          `json:"keyid"`
		Key   json.RawMessage `json:"key"`
	}
	if err := json.Unmarshal(b, &kf); err != nil || kf.Key == nil {
		return nil, planErrorf(field+".key_file", "%s is not a key file of the form {\"keyid\": \"…\", \"key\": {…}}", file)
	}
	k, err := roles.ParseKey(kf.Key)
	if err == nil {
		_, err = k.PublicKey()
	}
	if err != nil {
		return nil, planErrorf(field+".key_file", "%v", err)
	}
	if k.ID() != id {
		return nil, planErrorf(field+".keyid", "the key in %s has keyid %s, not %s: check you have %s", file, k.ID(), id, whose)
	}
	return kf.Key, nil
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
