package ceremony

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Formats of the files air-gapped signers carry: a signing request goes
// out of the workspace, a response comes back. docs/FORMATS.md specifies
// both.
const (
	requestFormat  = "ceremony-signing-request/2"
	responseFormat = "ceremony-signing-response/1"
	// requestFormatV1 is the format before requests carried the previous
	// version: still read, with nothing to compare against.
	requestFormatV1 = "ceremony-signing-request/1"
)

// Errors that refuse a signing request or response, one per class, so that
// the faces can tell them apart (and the CLI choose an exit code).
var (
	// ErrRequestInvalid: a request or response file is malformed,
	// truncated or was changed after it was written (its digest or its
	// signature no longer matches).
	ErrRequestInvalid = errors.New("signing request or response is malformed or was changed")
	// ErrOtherCeremony: a response made for another ceremony.
	ErrOtherCeremony = errors.New("response belongs to another ceremony")
	// ErrStale: a response over another version of the role, or other
	// bytes than the ones this ceremony staged.
	ErrStale = errors.New("response is for other bytes than this ceremony staged")
	// ErrUntrustedKey: a key the role does not trust to sign it.
	ErrUntrustedKey = errors.New("key is not trusted to sign this role")
	// ErrDuplicate: the role already has a signature by that key.
	ErrDuplicate = errors.New("signature already collected")
)

// MaxRequestSize bounds the request and response files readers accept. A
// claimed role of 100,000 projects is about 57 MB; base64 makes it 76 MB,
// and a request carries it twice (the bytes to sign and the previous
// version): boundedfile.Request's default.
const MaxRequestSize = 768 << 20

// Request is a self-contained signing request for one staged role: what
// an air-gapped signer needs to decide and sign, with no workspace.
type Request struct {
	Format string `json:"format"`
	// Ceremony is the ceremony's id.
	Ceremony string `json:"ceremony"`
	// TranscriptHead is the transcript's head digest (hex) when the
	// request was exported.
	TranscriptHead string `json:"transcript_head"`
	Role           string `json:"role"`
	Version        int64  `json:"version"`
	// Summary says in plain words what changes, as the requester puts
	// it. A signer's tool shows it apart, as the requester's words: what
	// it shows as fact it reads from Signed and Previous (Review).
	Summary []string `json:"summary"`
	// ChecksPassed names the policy checks the staged role passed, as the
	// requester says.
	ChecksPassed []string `json:"checks_passed"`
	// Signed is the canonical JSON of the role's signed part: the bytes a
	// signature covers (base64 in the file).
	Signed []byte `json:"signed"`
	// Digest is the hex SHA-256 of Signed.
	Digest string `json:"signed_sha256"`
	// Thresholds are the delegations the role must satisfy (for a new
	// root, the old root's and its own).
	Thresholds []RequestThreshold `json:"thresholds"`
	// Signers are the keys that may sign, with who holds them.
	Signers []RequestSigner `json:"signers"`
	// Previous is the role's previous version, the whole metadata file as
	// the ceremony's verified starting repository holds it (base64 in the
	// file); absent for a role the ceremony creates. The signer's tool
	// compares the bytes to sign with it, and verifies it under the root
	// the signer pins (VerifyPrevious).
	Previous []byte `json:"previous,omitempty"`
	// Delegators are the metadata files, as that repository holds them,
	// that delegate to the role from below root: targets for claimed and
	// revocations; targets then claimed for a claimed bin. With them a
	// signer who pins root verifies Previous.
	Delegators [][]byte `json:"delegators,omitempty"`

	review *Summary // what Signed and Previous say, read by validate
}

// RequestThreshold is one delegation a role must reach.
type RequestThreshold struct {
	Under     string   `json:"under"`
	Threshold int64    `json:"threshold"`
	KeyIDs    []string `json:"keyids"`
}

// RequestSigner is a key that may sign a request's role.
type RequestSigner struct {
	KeyID string `json:"keyid"`
	// Name is the participant holding the key, when the plan names one.
	Name string `json:"name"`
	// Device is where the key is expected to live ("YubiKey 5 #12345678").
	Device string `json:"device"`
	// Key is the TUF key object; its keyid is KeyID.
	Key json.RawMessage `json:"key"`

	key *roles.Key
}

// Response is an air-gapped signer's answer to a request: one signature.
type Response struct {
	Format   string `json:"format"`
	Ceremony string `json:"ceremony"`
	Role     string `json:"role"`
	Version  int64  `json:"version"`
	// Digest is the hex SHA-256 of the bytes signed.
	Digest string `json:"signed_sha256"`
	KeyID  string `json:"keyid"`
	// Sig is the signature, hex, as TUF metadata holds it.
	Sig string `json:"sig"`
	// Signer is the key holder's name as the request gave it. Collect
	// refuses a name that is not the one the ceremony's plan gives the
	// key: who signed is told by the key.
	Signer string `json:"signer"`
	// Device describes the device that signed, as its backend reported
	// it on the signer's machine: the signer's claim, which the ceremony
	// records as such and cannot verify.
	Device *hsm.Device `json:"device"`
	// Time is when the signature was made (UTC, whole seconds), by the
	// signing machine's clock.
	Time time.Time `json:"time"`
}

var (
	reqHexPattern  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	reqRolePattern = idPattern
)

func reqInvalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRequestInvalid, fmt.Sprintf(format, args...))
}

// requestFileName is the name ExportRequests gives a role's request.
func requestFileName(ceremony, role string, version int64) string {
	return fmt.Sprintf("%s-%s-v%d.request.json", ceremony, role, version)
}

// ExportRequests writes a signing request into dir for every staged
// offline role that has not yet reached all its thresholds, and returns
// the paths written. A file already there with the same bytes is left as
// it is; one with other bytes is refused before anything is written. The
// transcript is not changed.
func (e *Engine) ExportRequests(dir string) ([]string, error) {
	st := e.st
	if err := st.takesSignatures(); err != nil {
		return nil, err
	}
	type file struct {
		path string
		b    []byte
		same bool
	}
	var files []file
	for _, r := range st.Roles {
		if r.Online || r.Included || reqReached(r) {
			continue
		}
		req, err := e.reqFor(r)
		if err != nil {
			return nil, err
		}
		b, err := req.Marshal()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, requestFileName(req.Ceremony, req.Role, req.Version))
		cur, err := os.ReadFile(path)
		switch {
		case err == nil && bytes.Equal(cur, b):
			files = append(files, file{path, b, true})
			continue
		case err == nil:
			return nil, fmt.Errorf("%w: %s already exists with other content (an earlier export, before more signatures came in?); export into an empty folder, or move the old request away", ErrConflict, path)
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		files = append(files, file{path, b, false})
	}
	if len(files) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var out []string
	for _, f := range files {
		if !f.same {
			if err := WriteFileAtomic(f.path, f.b, 0o644); err != nil {
				return out, err
			}
		}
		out = append(out, f.path)
	}
	return out, nil
}

// reqReached reports whether a role reaches every threshold it must.
func reqReached(r *RoleState) bool {
	if r.Load() != nil {
		return false
	}
	sigs := r.signatures()
	for _, del := range r.Required {
		if _, err := roles.VerifyCanonical(r.Canonical, sigs, del); err != nil {
			return false
		}
	}
	return len(r.Required) > 0
}

// reqFor builds the request for a staged role.
func (e *Engine) reqFor(r *RoleState) (*Request, error) {
	st := e.st
	if err := r.Load(); err != nil {
		return nil, err
	}
	req := &Request{
		Format:         requestFormat,
		Ceremony:       st.Plan.Ceremony,
		TranscriptHead: e.Head().String(),
		Role:           r.Role,
		Version:        r.Version,
		Summary:        slices.Clone(r.Summary),
		ChecksPassed:   []string{},
		Signed:         slices.Clone(r.Canonical),
		Digest:         r.Digest,
	}
	if req.Summary == nil {
		req.Summary = []string{}
	}
	prev, delegators, err := st.previous(r.Role)
	if err != nil {
		return nil, err
	}
	req.Previous, req.Delegators = prev, delegators
	for _, f := range r.Checks {
		if f.Passed && !slices.Contains(req.ChecksPassed, f.Check) {
			req.ChecksPassed = append(req.ChecksPassed, f.Check)
		}
	}
	seen := map[string]bool{}
	for _, del := range r.Required {
		req.Thresholds = append(req.Thresholds, RequestThreshold{Under: del.Role, Threshold: del.Threshold, KeyIDs: slices.Clone(del.KeyIDs)})
		for _, id := range del.KeyIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			k := del.Keys[id]
			if k == nil {
				return nil, fmt.Errorf("%s: delegation %s names key %s but does not hold it", r.Role, del.Role, roles.ShortID(id))
			}
			kb, err := k.MarshalJSON()
			if err != nil {
				return nil, err
			}
			s := RequestSigner{KeyID: id, Key: kb, key: k}
			if pt := st.Plan.participantByKeyID(id); pt != nil {
				s.Name, s.Device = pt.Name, pt.Device
			}
			req.Signers = append(req.Signers, s)
		}
	}
	return req, nil
}

// Marshal returns the request as ExportRequests writes it: indented JSON
// and a newline.
func (r *Request) Marshal() ([]byte, error) { return reqMarshal(r) }

// Marshal returns the response as it is written: indented JSON and a
// newline.
func (r *Response) Marshal() ([]byte, error) { return reqMarshal(r) }

func reqMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseRequest parses a signing request strictly and checks that it holds
// together: its format, that the digest is the SHA-256 of the signed
// bytes, that those bytes are the canonical JSON of the named role at the
// named version, and that every key's keyid is its key's. It cannot tell
// whether the request came from the ceremony: the signer checks that by
// comparing the digest with the one read out in the ceremony room.
func ParseRequest(b []byte) (*Request, error) {
	var r Request
	if err := decodeStrict(ErrRequestInvalid, "request", MaxRequestSize, b, &r); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Request) validate() error {
	if r.Format != requestFormat && r.Format != requestFormatV1 {
		return reqInvalidf("format is %q; this tool reads %q (and %q): use the ceremony version that exported it", r.Format, requestFormat, requestFormatV1)
	}
	if r.Format == requestFormatV1 && (r.Previous != nil || r.Delegators != nil) {
		return reqInvalidf("a %s request carries no previous version or delegators", requestFormatV1)
	}
	if !idPattern.MatchString(r.Ceremony) {
		return reqInvalidf("ceremony %q is not a ceremony id", r.Ceremony)
	}
	if !reqHexPattern.MatchString(r.TranscriptHead) {
		return reqInvalidf("transcript_head %q is not a SHA-256 in lower-case hex", r.TranscriptHead)
	}
	if !reqRolePattern.MatchString(r.Role) {
		return reqInvalidf("role %q is not a role name", r.Role)
	}
	if r.Version < 1 {
		return reqInvalidf("version %d is below 1", r.Version)
	}
	if err := r.checkText(); err != nil {
		return err
	}
	if len(r.Summary) == 0 {
		return reqInvalidf("the request has no summary of what changes: refuse to sign what you cannot read")
	}
	if !reqHexPattern.MatchString(r.Digest) {
		return reqInvalidf("signed_sha256 %q is not a SHA-256 in lower-case hex", r.Digest)
	}
	if got := digestOf(r.Signed); got != r.Digest {
		return reqInvalidf("the signed bytes have SHA-256 %s, not the %s the request states: the request was changed or damaged; do not sign it, ask for it again", got, r.Digest)
	}
	review, err := Summarize(r.Role, r.Signed, r.Previous, nil)
	if err != nil {
		return err
	}
	if review.Version != r.Version {
		return reqInvalidf("the signed bytes are %s version %d, but the request says version %d: do not sign it", r.Role, review.Version, r.Version)
	}
	if want := delegatorsOf(r.Role); r.Delegators != nil && len(r.Delegators) != len(want) {
		return reqInvalidf("the request carries %d delegators for %s; it takes %d (%s)", len(r.Delegators), r.Role, len(want), strings.Join(want, ", "))
	}
	for i, d := range r.Delegators {
		if _, err := roles.Parse[*roles.Targets](d); err != nil {
			return reqInvalidf("delegators[%d] is not targets metadata: %v", i, err)
		}
	}
	r.review = review
	return r.checkSigners()
}

// checkSigners checks the keys that may sign and the thresholds they
// reach: each keyid is its key's, listed once, and every threshold is
// reachable by the keys listed.
func (r *Request) checkSigners() error {
	if len(r.Signers) == 0 {
		return reqInvalidf("the request names no key that may sign")
	}
	ids := map[string]bool{}
	for i := range r.Signers {
		s := &r.Signers[i]
		if !reqHexPattern.MatchString(s.KeyID) {
			return reqInvalidf("signers[%d].keyid %q is not a keyid", i, s.KeyID)
		}
		if ids[s.KeyID] {
			return reqInvalidf("signers[%d]: key %s is listed twice", i, roles.ShortID(s.KeyID))
		}
		ids[s.KeyID] = true
		k, err := roles.ParseKey(s.Key)
		if err == nil {
			_, err = k.PublicKey()
		}
		if err != nil {
			return reqInvalidf("signers[%d].key: %v", i, err)
		}
		if k.ID() != s.KeyID {
			return reqInvalidf("signers[%d]: the key has keyid %s, not %s", i, k.ID(), s.KeyID)
		}
		s.key = k
	}
	if len(r.Thresholds) == 0 {
		return reqInvalidf("the request names no threshold")
	}
	for i, t := range r.Thresholds {
		if t.Under == "" {
			return reqInvalidf("thresholds[%d] names no delegation", i)
		}
		if t.Threshold < 1 || t.Threshold > int64(len(t.KeyIDs)) {
			return reqInvalidf("thresholds[%d]: threshold %d is not between 1 and its %d keys", i, t.Threshold, len(t.KeyIDs))
		}
		for _, id := range t.KeyIDs {
			if !ids[id] {
				return reqInvalidf("thresholds[%d] names key %s, which is not among the signers", i, roles.ShortID(id))
			}
		}
	}
	return nil
}

// checkText refuses the request's words that a terminal could act on:
// control, format and invisible characters, in every field that is free
// text or a name, each named by its path.
func (r *Request) checkText() error {
	for i, l := range r.Summary {
		if err := untrusted.CheckText(fmt.Sprintf("summary[%d]", i), l); err != nil {
			return fmt.Errorf("%w: %w", ErrRequestInvalid, err)
		}
	}
	fields := map[string]string{}
	for i, c := range r.ChecksPassed {
		fields[fmt.Sprintf("checks_passed[%d]", i)] = c
	}
	for i, t := range r.Thresholds {
		fields[fmt.Sprintf("thresholds[%d].under", i)] = t.Under
	}
	for i, s := range r.Signers {
		fields[fmt.Sprintf("signers[%d].name", i)] = s.Name
		fields[fmt.Sprintf("signers[%d].device", i)] = s.Device
	}
	return checkFields(ErrRequestInvalid, fields)
}

// checkFields checks each value with untrusted.Check, in the order of
// their paths, so that the first refusal is the same every time, and
// wraps a refusal with kind (ErrRequestInvalid, ErrPlan).
func checkFields(kind error, fields map[string]string) error {
	for _, path := range slices.Sorted(maps.Keys(fields)) {
		if err := untrusted.Check(path, fields[path]); err != nil {
			return fmt.Errorf("%w: %w", kind, err)
		}
	}
	return nil
}

// Review is what the request's bytes say, read by this tool from Signed
// and, when the request carries it, Previous: the facts a signer is
// shown, apart from what the request says about them.
func (r *Request) Review() *Summary { return r.review }

// Claims are what the request says that this tool does not read from
// its bytes: its summary, the policy checks it says the role passed, the
// thresholds it says the role must reach, and who it says holds each key.
// A face shows them apart from Review, as the requester's words. They are
// escaped with untrusted.Line, a line each.
func (r *Request) Claims() []string {
	var out []string
	for _, s := range r.Summary {
		out = append(out, untrusted.Lines(s)...)
	}
	if len(r.ChecksPassed) > 0 {
		checks := make([]string, len(r.ChecksPassed))
		for i, c := range r.ChecksPassed {
			checks[i] = untrusted.Line(c)
		}
		out = append(out, "policy checks passed: "+strings.Join(checks, ", "))
	}
	z := summarizer{}
	for _, t := range r.Thresholds {
		out = append(out, fmt.Sprintf("under %s: %s", shownName(t.Under), z.threshold(t.Threshold, t.KeyIDs)))
	}
	for _, s := range r.Signers {
		who := "no one named"
		if s.Name != "" {
			who = shownName(s.Name)
		}
		if s.Device != "" {
			who += ", " + shownName(s.Device)
		}
		out = append(out, fmt.Sprintf("key %s: %s", z.key(s.KeyID), who))
	}
	return out
}

// delegatorsOf names the roles whose metadata links role to root, from
// the top, as Delegators carries them.
func delegatorsOf(role string) []string {
	switch {
	case role == RoleRoot || role == RoleTargets:
		return nil
	case role == RoleClaimed || role == RoleRevocations:
		return []string{RoleTargets}
	case isBinName(role):
		return []string{RoleTargets, RoleClaimed}
	}
	return nil
}

// ErrNoPrevious: a request carries no previous version (or not what
// verifying it needs), so there is nothing to verify under a pinned root.
var ErrNoPrevious = errors.New("the request carries no previous version to verify")

// VerifyPrevious verifies the request's previous version under root, the
// root metadata file the signer pins (the repository's current root), and
// returns the pinned root's version. A previous root must be the pinned
// root itself, or follow it as the TUF client workflow requires (signed by
// a threshold of its keys and of its own, one version newer). A previous
// targets must be signed under the pinned root's targets keys; a role
// below targets under its delegators', each verified in turn from the
// pinned root. The error wraps ErrUntrusted when something does not
// verify, ErrNoPrevious when there is nothing to verify, and
// ErrRequestInvalid when the pinned root is not root metadata.
func (r *Request) VerifyPrevious(root []byte) (int64, error) {
	pinned, err := roles.Parse[*roles.Root](root)
	if err != nil {
		return 0, fmt.Errorf("%w: the pinned root: %w", ErrRequestInvalid, err)
	}
	pv := pinned.Signed.Version
	if _, err := roles.VerifySelfSigned(pinned); err != nil {
		return pv, fmt.Errorf("%w: the pinned root: %w", ErrUntrusted, err)
	}
	if r.Previous == nil {
		return pv, fmt.Errorf("%w: %s v%d is new in this ceremony, or the request is of the format before requests carried it", ErrNoPrevious, r.Role, r.Version)
	}
	untrustedf := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s v%d's previous version does not verify under your pinned root v%d: %s", ErrUntrusted, r.Role, r.Version, pv, fmt.Sprintf(format, args...))
	}
	if r.Role == RoleRoot {
		prev, err := roles.Parse[*roles.Root](r.Previous)
		if err != nil {
			return pv, reqInvalidf("previous: %v", err)
		}
		switch v := prev.Signed.Version; {
		case v == pv:
			if !bytes.Equal(prev.CanonicalSigned(), pinned.CanonicalSigned()) {
				return pv, untrustedf("it is root v%d, as is the pinned root, but with other content", v)
			}
		case v == pv+1:
			if _, err := roles.VerifyRootUpdate(pinned, prev); err != nil {
				return pv, untrustedf("%v", err)
			}
		default:
			return pv, untrustedf("it is root v%d; pin the repository's current root, v%d or v%d", v, r.Version-1, r.Version-2)
		}
		return pv, nil
	}
	want := delegatorsOf(r.Role)
	if r.Role != RoleTargets && (want == nil || len(r.Delegators) != len(want)) {
		return pv, fmt.Errorf("%w: the request does not carry the metadata that delegates %s, so its previous version cannot be verified from root", ErrNoPrevious, r.Role)
	}
	// Walk down from the pinned root: each file under the delegation its
	// parent gives it, the previous version last.
	del, err := pinned.Signed.Delegation(roles.TypeTargets)
	if err != nil {
		return pv, untrustedf("%v", err)
	}
	chain := append(slices.Clone(r.Delegators), r.Previous)
	names := append(slices.Clone(want), r.Role)
	for i, b := range chain {
		if names[i] == RoleRevocations {
			// Its own type, under claimed's keys; always last.
			m, err := roles.Parse[*roles.Revocations](b)
			if err == nil {
				_, err = roles.Verify(m, del)
			}
			if err != nil {
				return pv, untrustedf("%s: %v", names[i], err)
			}
			break
		}
		m, err := roles.Parse[*roles.Targets](b)
		if err == nil {
			_, err = roles.Verify(m, del)
		}
		if err != nil {
			return pv, untrustedf("%s: %v", names[i], err)
		}
		if i+1 == len(chain) {
			break
		}
		next := names[i+1]
		if next == RoleRevocations {
			next = RoleClaimed
		}
		if m.Signed.Delegations == nil {
			return pv, untrustedf("%s delegates nothing", names[i])
		}
		if del, err = m.Signed.Delegations.Delegation(next); err != nil {
			return pv, untrustedf("%v", err)
		}
		del.Role = names[i+1]
	}
	return pv, nil
}

// Signer returns the request's signer entry for keyid, or nil.
func (r *Request) Signer(keyid string) *RequestSigner {
	for i := range r.Signers {
		if r.Signers[i].KeyID == keyid {
			return &r.Signers[i]
		}
	}
	return nil
}

// SignRequest signs a request's bytes with signer, as an air-gapped signer
// does, and returns the response to carry back. A key the request does not
// list is refused before anything is signed; the signature is verified in
// software before it is returned. dev describes the device (nil for a key
// in memory).
func SignRequest(req *Request, signer crypto.Signer, dev *hsm.Device) (*Response, error) {
	if req == nil || signer == nil {
		return nil, errors.New("sign request: nothing to sign, or no key to sign with")
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	s, err := req.listed(signer, fmt.Sprintf("%s v%d", req.Role, req.Version))
	if err != nil {
		return nil, err
	}
	sig, err := s.sign(signer, req.Signed)
	if err != nil {
		return nil, fmt.Errorf("sign %s v%d: %w", req.Role, req.Version, err)
	}
	return &Response{
		Format:   responseFormat,
		Ceremony: req.Ceremony,
		Role:     req.Role,
		Version:  req.Version,
		Digest:   req.Digest,
		KeyID:    s.KeyID,
		Sig:      sig,
		Signer:   s.Name,
		Device:   copyDevice(dev),
		Time:     time.Now().UTC().Truncate(time.Second),
	}, nil
}

// listed returns the request's entry for signer's key, or refuses a key
// it does not list before anything is signed; what names what would be
// signed.
func (r *Request) listed(signer crypto.Signer, what string) (*RequestSigner, error) {
	key, err := roles.KeyFromPublic(signer.Public())
	if err != nil {
		return nil, err
	}
	s := r.Signer(key.ID())
	if s == nil {
		return nil, fmt.Errorf("%w: key %s is none of the %d keys that may sign %s: check you brought the right device and key URI", ErrUntrustedKey, roles.ShortID(key.ID()), len(r.Signers), what)
	}
	return s, nil
}

// sign signs msg with signer as the key object the request states (its
// scheme, and any extra members its keyid covers), verifies the
// signature in software, and returns it in hex.
func (s *RequestSigner) sign(signer crypto.Signer, msg []byte) (string, error) {
	sig, err := roles.Sign(signer, s.key, msg)
	if err != nil {
		return "", err
	}
	if err := s.key.Verify(msg, sig.Sig); err != nil {
		return "", fmt.Errorf("the signature just made does not verify with key %s: %w", roles.ShortID(s.KeyID), err)
	}
	return hex.EncodeToString(sig.Sig), nil
}

// copyDevice is a copy of dev, for a response to hold; nil for nil.
func copyDevice(dev *hsm.Device) *hsm.Device {
	if dev == nil {
		return nil
	}
	c := *dev
	return &c
}

// ParseResponse parses a signing response strictly: its format, the
// fields' forms (ids, hex digests and signature), and nothing more or
// less than ceremony writes. Whether the signature is good is for the
// ceremony to check (Collect), which holds the bytes and the keys.
func ParseResponse(b []byte) (*Response, error) {
	var r Response
	if err := decodeStrict(ErrRequestInvalid, "response", MaxRequestSize, b, &r); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Response) validate() error {
	if r.Format != responseFormat {
		return reqInvalidf("format is %q; this tool reads %q", (r.Format), responseFormat)
	}
	if !idPattern.MatchString(r.Ceremony) {
		return reqInvalidf("ceremony %q is not a ceremony id", r.Ceremony)
	}
	if !reqRolePattern.MatchString(r.Role) {
		return reqInvalidf("role %q is not a role name", r.Role)
	}
	if r.Version < 1 {
		return reqInvalidf("version %d is below 1", r.Version)
	}
	if !reqHexPattern.MatchString(r.Digest) {
		return reqInvalidf("signed_sha256 %q is not a SHA-256 in lower-case hex", r.Digest)
	}
	if !reqHexPattern.MatchString(r.KeyID) {
		return reqInvalidf("keyid %q is not a keyid", r.KeyID)
	}
	sig, err := hex.DecodeString(r.Sig)
	if err != nil || len(sig) == 0 || hex.EncodeToString(sig) != r.Sig {
		return reqInvalidf("sig is not a signature in lower-case hex: the response was changed or damaged")
	}
	if r.Time.IsZero() || r.Time.Location() != time.UTC {
		return reqInvalidf("time %s is not a UTC time", r.Time.Format(time.RFC3339))
	}
	fields := map[string]string{"signer": r.Signer}
	if d := r.Device; d != nil {
		for path, v := range map[string]string{"backend": d.Backend, "uri": d.URI, "model": d.Model, "manufacturer": d.Manufacturer,
			"serial": d.Serial, "label": d.Label, "firmware": d.Firmware} {
			fields["device."+path] = v
		}
		if err := hsm.CheckNoPIN(d.URI); err != nil {
			return reqInvalidf("device.uri: %v", err)
		}
	}
	return checkFields(ErrRequestInvalid, fields)
}

// CheckResponse checks a response against the ceremony as Collect does,
// without recording anything: the ceremony, the role, its version and
// signed bytes, the key, the signature, and that the key has not signed
// already. The error wraps ErrOtherCeremony, ErrStale, ErrUntrustedKey,
// ErrRequestInvalid (a signature that does not verify), ErrDuplicate or
// ErrState.
func (e *Engine) CheckResponse(resp *Response) error {
	_, err := e.reqCheck(resp)
	return err
}

func (e *Engine) reqCheck(resp *Response) (*RoleState, error) {
	st := e.st
	if resp == nil {
		return nil, reqInvalidf("no response")
	}
	if err := resp.validate(); err != nil {
		return nil, err
	}
	if err := st.checkResponder(resp.Ceremony, resp.KeyID, resp.Signer); err != nil {
		return nil, err
	}
	if st.publishing != nil || st.Closed {
		return nil, fmt.Errorf("%w: publishing has started; no more signatures are taken", ErrState)
	}
	r := st.Role(resp.Role)
	if r == nil || r.Online || r.Included {
		return nil, fmt.Errorf("%w: this ceremony asks for no signature over %s: the response answers a request from another run of the ceremony", ErrStale, resp.Role)
	}
	if resp.Version != r.Version {
		return nil, fmt.Errorf("%w: the response signs %s v%d, this ceremony staged %s v%d: export the request again and have it signed", ErrStale, resp.Role, resp.Version, r.Role, r.Version)
	}
	if resp.Digest != r.Digest {
		return nil, fmt.Errorf("%w: the response signs %s v%d with SHA-256 %s, but this ceremony staged bytes with SHA-256 %s: the request it answers came from another run; export the request again and have it signed", ErrStale, r.Role, r.Version, roles.ShortID(resp.Digest), roles.ShortID(r.Digest))
	}
	sig, _ := hex.DecodeString(resp.Sig) // checked by validate
	if _, err := st.checkSignature(r.Role, resp.KeyID, sig); err != nil {
		if errors.Is(err, roles.ErrSignature) {
			return nil, fmt.Errorf("%w: %v: the response was changed or damaged on the way; have it signed again", ErrRequestInvalid, err)
		}
		if errors.Is(err, ErrUntrustedKey) {
			return nil, fmt.Errorf("%w; the keys it trusts are those the request lists: have one of their holders sign", err)
		}
		return nil, err
	}
	return r, nil
}

// checkResponder checks what a response says of where it comes from: it
// is for this ceremony, and the signer it names, if any, holds the key.
// Who signed is told by the key, never by the response's words.
func (st *State) checkResponder(ceremony, keyid, signer string) error {
	if ceremony != st.Plan.Ceremony {
		return fmt.Errorf("%w: the response is for ceremony %q, this workspace holds ceremony %q: collect it in that ceremony's workspace", ErrOtherCeremony, ceremony, st.Plan.Ceremony)
	}
	if pt := st.Plan.participantByKeyID(keyid); signer != "" && (pt == nil || pt.Name != signer) {
		holder := "no participant's key"
		if pt != nil {
			holder = pt.Name + "'s key"
		}
		return fmt.Errorf("%w: the response says it was signed by %q, but key %s is %s: who signed is told by the key, not by the response; do not collect it, and ask who made it", ErrUntrustedKey, signer, roles.ShortID(keyid), holder)
	}
	return nil
}

// Collect checks a response against the ceremony (see CheckResponse) and,
// if it passes, records its signature in the transcript. A refused
// response changes nothing.
func (e *Engine) Collect(resp *Response) error {
	r, err := e.reqCheck(resp)
	if err != nil {
		return err
	}
	// The device a response describes is the signer's claim: it is
	// recorded as such, apart from the devices this tool identified.
	return e.record(eventSigned, signedData{Role: r.Role, KeyID: resp.KeyID, Sig: resp.Sig, Signer: e.st.name(resp.KeyID), Via: "response", ClaimedDevice: resp.Device})
}
