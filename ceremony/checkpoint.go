package ceremony

import (
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// CheckpointType is the "_type" of a checkpoint document: no TUF role has
// it, so a checkpoint signature never passes for a metadata signature, nor
// the reverse.
const CheckpointType = "ceremony-checkpoint"

// eventCheckpointSigned is one signature over the checkpoint: the only
// event a closed ceremony takes (docs/TRANSCRIPT.md, "Checkpoints").
const eventCheckpointSigned = "checkpoint.signed"

// AfterClose returns the event types that may follow a ceremony's close
// (docs/TRANSCRIPT.md 13.2, C1): its checkpoint's signatures, and the
// format's record of a repaired torn tail. The head the witnesses wrote
// down at the close verifies with them after it (transcripts.VerifyOptions).
func AfterClose() []string {
	return []string{eventCheckpointSigned, eventTorn}
}

// ErrNotCheckpointed: a closed ceremony whose checkpoint does not yet have
// the signatures it needs.
var ErrNotCheckpointed = errors.New("the checkpoint is not signed by every threshold")

// Checkpoint is what the participants sign at close: the transcript's
// head once the ceremony.closed event is recorded, and the sequence
// number of that event, in a document of its own type.
type Checkpoint struct {
	Ceremony string
	Seq      int64
	Head     transcripts.Digest
}

// Canonical returns the checkpoint document's canonical JSON, the bytes
// a checkpoint signature covers:
//
//	{"_type":"ceremony-checkpoint","ceremony":ID,"head":HEX,"seq":N}
//
// It does not fail for any checkpoint today (json.Marshal writes only what
// Canonicalize reads); the error is returned rather than a panic so that
// a change to either cannot crash a ceremony.
func (c Checkpoint) Canonical() ([]byte, error) {
	b, err := json.Marshal(map[string]any{"_type": CheckpointType, "ceremony": c.Ceremony, "head": c.Head.String(), "seq": c.Seq})
	if err != nil {
		return nil, fmt.Errorf("the checkpoint document: %w", err)
	}
	return roles.Canonicalize(b)
}

// CheckpointState is a closed ceremony's checkpoint and the signatures it
// has so far.
type CheckpointState struct {
	Checkpoint
	Signatures []SignatureRecord
}

// checkpointSignedData is a checkpoint.signed event's data. Seq and Head
// repeat the checkpoint, so that a verifier rebuilds the signed document
// from the event; the fold checks they are the transcript's.
type checkpointSignedData struct {
	Seq           int64       `json:"seq"`
	Head          string      `json:"head"`
	KeyID         string      `json:"keyid"`
	Sig           string      `json:"sig"`
	Signer        string      `json:"signer"`
	Via           string      `json:"via"` // "device" or "response"
	Device        *hsm.Device `json:"device,omitempty"`
	ClaimedDevice *hsm.Device `json:"device_claimed_by_signer,omitempty"`
}

// closedAt gives a state that just took its ceremony.closed event the
// checkpoint: that event's sequence number and the head it leaves. The
// fold calls it with each closing line's hash, and End once it recorded
// one, so the fold's rules for checkpoint signatures have what they cover.
func (s *State) closedAt(seq int64, head transcripts.Digest) {
	if s.Closed && s.Checkpoint == nil {
		s.Checkpoint = &CheckpointState{Checkpoint: Checkpoint{Ceremony: s.Plan.Ceremony, Seq: seq, Head: head}}
	}
}

// checkpointNeed is one threshold the checkpoint must reach: role's
// under the delegation del.
type checkpointNeed struct {
	role string
	del  roles.Delegation
}

// checkpointNeeds are the thresholds that must sign the checkpoint: for
// every role the people in the room signed, those the role had to reach
// (for a new root, the old root's and its own); then the participants
// the plan asks for besides (Plan.CheckpointSigners), each of whom must
// sign. A plan adds signers; it never takes any away.
func (s *State) checkpointNeeds() []checkpointNeed {
	var out []checkpointNeed
	for _, r := range s.Roles {
		if r.Online || r.Included {
			continue
		}
		for _, d := range r.Required {
			out = append(out, checkpointNeed{r.Role, d})
		}
	}
	if names := s.Plan.CheckpointSigners; len(names) > 0 {
		d := roles.Delegation{Role: "the plan", Keys: map[string]*roles.Key{}, Threshold: int64(len(names))}
		for _, n := range names {
			if _, k := s.Plan.participant(n); k != nil {
				d.KeyIDs = append(d.KeyIDs, k.ID())
				d.Keys[k.ID()] = k
			}
		}
		out = append(out, checkpointNeed{"checkpoint_signers", d})
	}
	return out
}

// checkpointKey returns the key keyid may sign the checkpoint with, or
// nil when no delegation the checkpoint needs trusts it.
func (s *State) checkpointKey(keyid string) *roles.Key {
	for _, n := range s.checkpointNeeds() {
		if k := n.del.Keys[keyid]; k != nil && slices.Contains(n.del.KeyIDs, keyid) {
			return k
		}
	}
	return nil
}

// CheckpointProgress reports, for every threshold the checkpoint needs
// (a role the ceremony signed, under a delegation it had to reach), who
// has signed the checkpoint and who may still; nil before the ceremony
// closed.
func (s *State) CheckpointProgress() []Progress {
	if s.Checkpoint == nil {
		return nil
	}
	doc, _ := s.Checkpoint.Canonical() // nil verifies no signature: none counts
	sigs := make([]roles.Signature, len(s.Checkpoint.Signatures))
	for i, sg := range s.Checkpoint.Signatures {
		sigs[i] = sg.Signature
	}
	var out []Progress
	for _, n := range s.checkpointNeeds() {
		out = append(out, s.progress(n.role, doc, sigs, n.del))
	}
	return out
}

// progress is where the signatures sigs over canonical stand against
// the delegation del, which role must reach: who signed, who may still.
func (s *State) progress(role string, canonical []byte, sigs []roles.Signature, del roles.Delegation) Progress {
	rep, err := roles.VerifyCanonical(canonical, sigs, del)
	p := Progress{Role: role, Under: del.Role, Threshold: del.Threshold, Reached: err == nil}
	for _, id := range rep.Signed {
		p.Signed = append(p.Signed, s.name(id))
	}
	for _, id := range rep.Missing {
		p.Missing = append(p.Missing, s.name(id))
	}
	return p
}

// Checkpointed reports whether the ceremony is closed and its checkpoint
// has every signature it needs: the transcript up to the head is signed
// by the keys that signed the metadata.
func (s *State) Checkpointed() bool {
	if s.Checkpoint == nil {
		return false
	}
	for _, p := range s.CheckpointProgress() {
		if !p.Reached {
			return false
		}
	}
	return true
}

// CheckpointToSign checks, before anyone is asked for a PIN, that the key
// keyid may sign the checkpoint now: the ceremony is closed, the key is
// one the checkpoint needs, and it has not signed it yet.
func (s *State) CheckpointToSign(keyid string) error {
	if s.Aborted {
		return fmt.Errorf("%w: the ceremony was aborted: an aborted ceremony takes no checkpoint", ErrState)
	}
	if s.Checkpoint == nil {
		return fmt.Errorf("%w: the ceremony is not closed yet: close it first ('ceremony close'), then sign the checkpoint", ErrState)
	}
	if s.checkpointKey(keyid) == nil {
		return fmt.Errorf("%w: key %s is none of the keys the checkpoint needs (those that signed the ceremony's roles, and the plan's checkpoint signers)", ErrUntrustedKey, s.who(keyid))
	}
	if slices.ContainsFunc(s.Checkpoint.Signatures, func(r SignatureRecord) bool { return r.KeyID == keyid }) {
		return fmt.Errorf("%w: the checkpoint already has the signature of key %s", ErrDuplicate, s.who(keyid))
	}
	return nil
}

// admitCheckpointSigned takes in one checkpoint signature: after the
// ceremony.closed event, over the checkpoint it made, by a key the
// checkpoint needs, once per key, recorded under its holder's name.
func (s *State) admitCheckpointSigned(data []byte) (func(), error) {
	var d checkpointSignedData
	if err := strictJSON(data, &d); err != nil {
		return nil, err
	}
	if s.Plan == nil {
		return nil, fmt.Errorf("%w: a checkpoint signature before the ceremony was opened", ErrState)
	}
	if err := s.CheckpointToSign(d.KeyID); err != nil {
		return nil, err
	}
	cp := s.Checkpoint
	if d.Seq != cp.Seq || d.Head != cp.Head.String() {
		return nil, fmt.Errorf("the checkpoint signature covers event %d with head %s, but the ceremony closed at event %d with head %s: the transcript was changed before its close", d.Seq, d.Head, cp.Seq, cp.Head)
	}
	if d.Via != "device" && d.Via != "response" {
		return nil, fmt.Errorf("a checkpoint signature made via %q: it is made on a device or carried in a response", d.Via)
	}
	if want := s.name(d.KeyID); d.Signer != want {
		return nil, fmt.Errorf("the checkpoint signature by key %s is recorded as %q's, but the plan gives that key to %s", roles.ShortID(d.KeyID), d.Signer, want)
	}
	sig, err := hex.DecodeString(d.Sig)
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("checkpoint signature is not hex")
	}
	doc, err := cp.Canonical()
	if err != nil {
		return nil, err
	}
	if err := s.checkpointKey(d.KeyID).Verify(doc, sig); err != nil {
		return nil, fmt.Errorf("checkpoint signature by key %s: %w", s.who(d.KeyID), err)
	}
	rec := SignatureRecord{Signature: roles.Signature{KeyID: d.KeyID, Sig: sig}, Signer: d.Signer, Via: d.Via, Device: d.Device, ClaimedDevice: d.ClaimedDevice}
	return func() {
		c := *cp
		c.Signatures = append(slices.Clip(cp.Signatures), rec)
		s.Checkpoint = &c
	}, nil
}

// SignCheckpoint signs the closed ceremony's checkpoint with signer and
// records the signature. The key must be one the checkpoint needs and
// must not have signed it yet; both are checked before anything is signed
// (a face checks them before the PIN with State.CheckpointToSign). dev
// describes the device for the transcript.
func (e *Engine) SignCheckpoint(signer crypto.Signer, dev *hsm.Device) error {
	key, err := roles.KeyFromPublic(signer.Public())
	if err != nil {
		return err
	}
	id := key.ID()
	if err := e.st.CheckpointToSign(id); err != nil {
		return err
	}
	// Sign with the key object as the plan holds it: its scheme, and any
	// extra members its keyid covers.
	k := e.st.checkpointKey(id)
	cp := e.st.Checkpoint
	doc, err := cp.Canonical()
	if err != nil {
		return err
	}
	sig, err := roles.Sign(signer, k, doc)
	if err != nil {
		return fmt.Errorf("sign the checkpoint: %w", err)
	}
	return e.record(eventCheckpointSigned, checkpointSignedData{Seq: cp.Seq, Head: cp.Head.String(), KeyID: id,
		Sig: hex.EncodeToString(sig.Sig), Signer: e.st.name(id), Via: "device", Device: dev})
}
