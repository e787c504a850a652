package ceremony

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Formats of the checkpoint's request and response files: the checkpoint
// kind of the files air-gapped signers carry (docs/FORMATS.md).
const (
	checkpointRequestFormat  = "ceremony-checkpoint-request/1"
	checkpointResponseFormat = "ceremony-checkpoint-response/1"
)

// IsCheckpointFile reports whether b is a checkpoint request or response
// by the format it names, so that a face hands it to the checkpoint's
// parser; anything else goes to ParseRequest or ParseResponse, which say
// what is wrong with it.
func IsCheckpointFile(b []byte) bool {
	var f struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(b, &f) == nil && (f.Format == checkpointRequestFormat || f.Format == checkpointResponseFormat)
}

// CheckpointRequest asks an air-gapped signer to sign a closed ceremony's
// checkpoint. What the signer is shown as fact is read from Signed (the
// checkpoint document: the ceremony, the event it closed at, the head);
// the roles published and who may sign are the requester's words.
type CheckpointRequest struct {
	Format   string `json:"format"`
	Ceremony string `json:"ceremony"`
	Seq      int64  `json:"seq"`
	Head     string `json:"head"`
	// Signed is the checkpoint document's canonical JSON, the bytes to
	// sign (base64 in the file); Digest its hex SHA-256.
	Signed []byte `json:"signed"`
	Digest string `json:"signed_sha256"`
	// Published are the roles the ceremony published, "root v8", as the
	// requester says.
	Published  []string           `json:"published"`
	Thresholds []RequestThreshold `json:"thresholds"`
	Signers    []RequestSigner    `json:"signers"`
}

// CheckpointResponse is an air-gapped signer's signature over a
// checkpoint.
type CheckpointResponse struct {
	Format   string      `json:"format"`
	Ceremony string      `json:"ceremony"`
	Seq      int64       `json:"seq"`
	Head     string      `json:"head"`
	KeyID    string      `json:"keyid"`
	Sig      string      `json:"sig"`
	Signer   string      `json:"signer"`
	Device   *hsm.Device `json:"device"`
	Time     time.Time   `json:"time"`
}

// ExportCheckpointRequest writes the closed ceremony's checkpoint request
// into dir and returns its path; an identical file there is left as it
// is, another is refused. The transcript is not changed.
func (e *Engine) ExportCheckpointRequest(dir string) (string, error) {
	st := e.st
	if st.Aborted || st.Checkpoint == nil {
		return "", st.CheckpointToSign("")
	}
	cp := st.Checkpoint
	doc, err := cp.Canonical()
	if err != nil {
		return "", err
	}
	req := &CheckpointRequest{Format: checkpointRequestFormat, Ceremony: cp.Ceremony, Seq: cp.Seq, Head: cp.Head.String(),
		Signed: doc, Published: st.publishedRoles()}
	req.Digest = digestOf(req.Signed)
	seen := map[string]bool{}
	for _, n := range st.checkpointNeeds() {
		req.Thresholds = append(req.Thresholds, RequestThreshold{Under: n.role + " under " + n.del.Role, Threshold: n.del.Threshold, KeyIDs: slices.Clone(n.del.KeyIDs)})
		for _, id := range n.del.KeyIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			kb, err := n.del.Keys[id].MarshalJSON()
			if err != nil {
				return "", err
			}
			s := RequestSigner{KeyID: id, Key: kb}
			if pt := st.Plan.participantByKeyID(id); pt != nil {
				s.Name, s.Device = pt.Name, pt.Device
			}
			req.Signers = append(req.Signers, s)
		}
	}
	b, err := reqMarshal(req)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, cp.Ceremony+"-checkpoint.request.json")
	switch cur, err := os.ReadFile(path); {
	case err == nil && bytes.Equal(cur, b):
		return path, nil
	case err == nil:
		return "", fmt.Errorf("%w: %s already exists with other content; export into an empty folder, or move the old request away", ErrConflict, path)
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return path, WriteFileAtomic(path, b, 0o644)
}

// publishedRoles names the roles the ceremony signed and published,
// "root v8", for a checkpoint's review.
func (s *State) publishedRoles() []string {
	out := []string{}
	for _, r := range s.Roles {
		out = append(out, fmt.Sprintf("%s v%d", r.Role, r.Version))
	}
	return out
}

// ParseCheckpointRequest parses a checkpoint request strictly and checks
// that it holds together: its format, that Signed is the canonical
// checkpoint document of the ceremony, sequence number and head it
// states, with the digest it states, and that every key's keyid is its
// key's. Whether it came from the ceremony the signer checks by comparing
// the head with the one read out in the room.
func ParseCheckpointRequest(b []byte) (*CheckpointRequest, error) {
	var r CheckpointRequest
	if err := decodeStrict(ErrRequestInvalid, "checkpoint request", MaxRequestSize, b, &r); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *CheckpointRequest) validate() error {
	if r.Format != checkpointRequestFormat {
		return reqInvalidf("format is %q; this tool reads %q", r.Format, checkpointRequestFormat)
	}
	if err := checkCheckpointFields(r.Ceremony, r.Seq, r.Head); err != nil {
		return err
	}
	if doc, err := r.Checkpoint().Canonical(); err != nil || !bytes.Equal(r.Signed, doc) {
		return reqInvalidf("the bytes to sign are not the checkpoint of ceremony %s at event %d with head %s: the request was changed or damaged; do not sign it", r.Ceremony, r.Seq, r.Head)
	}
	if digestOf(r.Signed) != r.Digest {
		return reqInvalidf("signed_sha256 is not the SHA-256 of the bytes to sign: the request was changed or damaged; do not sign it")
	}
	fields := map[string]string{}
	for i, p := range r.Published {
		fields["published["+strconv.Itoa(i)+"]"] = p
	}
	if err := checkFields(ErrRequestInvalid, fields); err != nil {
		return err
	}
	// The thresholds and signers have a signing request's form.
	signers := Request{Signers: r.Signers, Thresholds: r.Thresholds}
	if err := signers.checkText(); err != nil {
		return err
	}
	if err := signers.checkSigners(); err != nil {
		return err
	}
	r.Signers = signers.Signers
	return nil
}

// checkCheckpointFields checks the form of a checkpoint's id, sequence
// number and head as a request or response states them.
func checkCheckpointFields(ceremony string, seq int64, head string) error {
	switch {
	case !idPattern.MatchString(ceremony):
		return reqInvalidf("ceremony %q is not a ceremony id", ceremony)
	case seq < 2:
		return reqInvalidf("seq %d is not the sequence number of a ceremony.closed event", seq)
	case !reqHexPattern.MatchString(head):
		return reqInvalidf("head %q is not a SHA-256 in lower-case hex", head)
	}
	return nil
}

// Checkpoint returns the checkpoint the request's bytes to sign hold
// (validate checked they are its canonical JSON).
func (r *CheckpointRequest) Checkpoint() Checkpoint {
	c := Checkpoint{Ceremony: r.Ceremony, Seq: r.Seq}
	hex.Decode(c.Head[:], []byte(r.Head))
	return c
}

// Signer returns the request's signer entry for keyid, or nil.
func (r *CheckpointRequest) Signer(keyid string) *RequestSigner {
	return (&Request{Signers: r.Signers}).Signer(keyid)
}

// Claims are what the request says that this tool does not read from the
// checkpoint it signs: the roles published, the thresholds and who holds
// each key; a face shows them apart, as the requester's words.
func (r *CheckpointRequest) Claims() []string {
	claims := (&Request{Thresholds: r.Thresholds, Signers: r.Signers}).Claims()
	if len(r.Published) > 0 {
		claims = append([]string{"published: " + shownName(strings.Join(r.Published, ", "))}, claims...)
	}
	return claims
}

// SignCheckpointRequest signs a checkpoint request with signer, as an
// air-gapped signer does, and returns the response to carry back. A key
// the request does not list is refused before anything is signed; the
// signature is verified in software before it is returned.
func SignCheckpointRequest(req *CheckpointRequest, signer crypto.Signer, dev *hsm.Device) (*CheckpointResponse, error) {
	if req == nil || signer == nil {
		return nil, errors.New("sign checkpoint request: nothing to sign, or no key to sign with")
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	s, err := (&Request{Signers: req.Signers}).listed(signer, "the checkpoint of "+req.Ceremony)
	if err != nil {
		return nil, err
	}
	sig, err := s.sign(signer, req.Signed)
	if err != nil {
		return nil, fmt.Errorf("sign the checkpoint: %w", err)
	}
	return &CheckpointResponse{Format: checkpointResponseFormat, Ceremony: req.Ceremony, Seq: req.Seq, Head: req.Head,
		KeyID: s.KeyID, Sig: sig, Signer: s.Name, Device: copyDevice(dev), Time: time.Now().UTC().Truncate(time.Second)}, nil
}

// Marshal returns the request as it is written: indented JSON and a
// newline.
func (r *CheckpointRequest) Marshal() ([]byte, error) { return reqMarshal(r) }

// Marshal returns the response as it is written.
func (r *CheckpointResponse) Marshal() ([]byte, error) { return reqMarshal(r) }

// ParseCheckpointResponse parses a checkpoint response strictly; whether
// its signature is good is for the ceremony to check (CollectCheckpoint).
func ParseCheckpointResponse(b []byte) (*CheckpointResponse, error) {
	var r CheckpointResponse
	if err := decodeStrict(ErrRequestInvalid, "checkpoint response", MaxRequestSize, b, &r); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *CheckpointResponse) validate() error {
	if r.Format != checkpointResponseFormat {
		return reqInvalidf("format is %q; this tool reads %q", r.Format, checkpointResponseFormat)
	}
	if err := checkCheckpointFields(r.Ceremony, r.Seq, r.Head); err != nil {
		return err
	}
	// The rest has a signing response's form.
	return (&Response{Format: responseFormat, Ceremony: r.Ceremony, Role: "checkpoint", Version: r.Seq, Digest: r.Head,
		KeyID: r.KeyID, Sig: r.Sig, Signer: r.Signer, Device: r.Device, Time: r.Time}).validate()
}

// CheckCheckpointResponse checks a checkpoint response against the
// ceremony as CollectCheckpoint does, without recording anything.
func (e *Engine) CheckCheckpointResponse(resp *CheckpointResponse) error {
	_, err := e.checkpointResponseData(resp)
	return err
}

func (e *Engine) checkpointResponseData(resp *CheckpointResponse) (*checkpointSignedData, error) {
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
	if err := st.CheckpointToSign(resp.KeyID); err != nil {
		return nil, err
	}
	if cp := st.Checkpoint; resp.Seq != cp.Seq || resp.Head != cp.Head.String() {
		return nil, fmt.Errorf("%w: the response signs the checkpoint at event %d, head %s; this ceremony closed at event %d, head %s", ErrStale, resp.Seq, roles.ShortID(resp.Head), cp.Seq, roles.ShortID(cp.Head.String()))
	}
	sig, _ := hex.DecodeString(resp.Sig) // checked by validate
	doc, err := st.Checkpoint.Canonical()
	if err != nil {
		return nil, err
	}
	if err := st.checkpointKey(resp.KeyID).Verify(doc, sig); err != nil {
		return nil, fmt.Errorf("%w: the checkpoint signature by key %s does not verify: the response was changed or damaged on the way; have it signed again", ErrRequestInvalid, roles.ShortID(resp.KeyID))
	}
	return &checkpointSignedData{Seq: resp.Seq, Head: resp.Head, KeyID: resp.KeyID, Sig: resp.Sig, Signer: st.name(resp.KeyID), Via: "response", ClaimedDevice: resp.Device}, nil
}

// CollectCheckpoint checks a checkpoint response (CheckCheckpointResponse)
// and, if it passes, records its signature. A refused response changes
// nothing.
func (e *Engine) CollectCheckpoint(resp *CheckpointResponse) error {
	d, err := e.checkpointResponseData(resp)
	if err != nil {
		return err
	}
	return e.record(eventCheckpointSigned, *d)
}
