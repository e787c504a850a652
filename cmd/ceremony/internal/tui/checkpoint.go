package tui

import (
	"crypto"
	"fmt"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
)

// checkpointRole is how the Sign screen names the checkpoint among what a
// key signs.
const checkpointRole = "the checkpoint"

// checkpointView is a closed ceremony's checkpoint as the TUI shows it:
// what its signers sign and who has.
type checkpointView struct {
	Seq       int64
	Head      string
	HeadWords string
	Published []string
	Progress  []ceremony.Progress
	Signed    bool
}

// witnessHead is the head the witnesses write down, in hex and words:
// the close's, which the checkpoint signs and the signatures after it
// leave as it was; before a close, the last.
func (s *snapshot) witnessHead() (head, words string) {
	if cp := s.Checkpoint; cp != nil {
		return cp.Head, cp.HeadWords
	}
	return s.Head, s.HeadWords
}

// setCheckpoint copies a closed ceremony's checkpoint into the snapshot:
// from then on the keys it needs may sign it, and nothing else.
func (s *snapshot) setCheckpoint(st *ceremony.State) {
	cp := st.Checkpoint
	if cp == nil {
		return
	}
	v := &checkpointView{Seq: cp.Seq, Head: cp.Head.String(), HeadWords: cp.Head.Words(),
		Progress: safeProgress(st.CheckpointProgress()), Signed: st.Checkpointed()}
	for _, r := range s.Roles {
		v.Published = append(v.Published, fmt.Sprintf("%s v%d", r.Name, r.Version))
	}
	s.Checkpoint = v
	for id, k := range s.Keys {
		k.MaySign, k.Signed = nil, nil
		switch err := st.CheckpointToSign(id); {
		case err == nil:
			k.MaySign = []string{checkpointRole}
		case slices.ContainsFunc(cp.Signatures, func(r ceremony.SignatureRecord) bool { return r.KeyID == id }):
			k.MaySign, k.Signed = []string{checkpointRole}, []string{checkpointRole}
		}
	}
}

// toSignNow is what key id may sign now, as the engine says: the staged
// roles it has not signed or, once the ceremony is closed, the
// checkpoint.
func toSignNow(eng *ceremony.Engine, id string) ([]string, error) {
	st := eng.State()
	if st.Checkpoint != nil {
		if err := st.CheckpointToSign(id); err != nil {
			return nil, err
		}
		return []string{checkpointRole}, nil
	}
	rs, err := st.ToSign(id)
	var out []string
	for _, r := range rs {
		out = append(out, r.Role)
	}
	return out, err
}

// signNow signs with signer what toSignNow offered: the staged roles, or
// the checkpoint.
func signNow(eng *ceremony.Engine, signer crypto.Signer, dev *hsm.Device, id string) ([]ceremony.SignResult, error) {
	if eng.State().Checkpoint == nil {
		return eng.Sign(signer, dev)
	}
	if err := eng.SignCheckpoint(signer, dev); err != nil {
		return nil, err
	}
	return []ceremony.SignResult{{Role: checkpointRole, KeyID: id}}, nil
}

// checkpointReview is what a checkpoint signer compares before "yes":
// the events covered, the roles published, and the head in hex and in
// words.
func (m *Model) checkpointReview(w int) []string {
	cp := m.snap.Checkpoint
	if cp == nil {
		return nil
	}
	lines := wrap(fmt.Sprintf("  the transcript's events 1 to %d, up to and including its close; published: %s", cp.Seq, strings.Join(cp.Published, ", ")), w)
	lines = append(lines, "  head, sha256:", "    "+cp.Head, "  in words:")
	for _, l := range wrap(cp.HeadWords, w-4) {
		lines = append(lines, "    "+l)
	}
	return lines
}

// checkpointBody is the Close screen's part for a closed ceremony: the
// checkpoint's thresholds and what to do next.
func (m *Model) checkpointBody(w int) []string {
	cp := m.snap.Checkpoint
	if cp == nil {
		return nil
	}
	lines := []string{""}
	lines = append(lines, wrap(fmt.Sprintf("Checkpoint: the head of the close (event %d), which its signers sign on the Sign screen with the same devices:", cp.Seq), w-2)...)
	for _, p := range cp.Progress {
		mark := m.sty.dim.Render("…")
		if p.Reached {
			mark = m.sty.good.Render("✓")
		}
		who := "none yet"
		if len(p.Signed) > 0 {
			who = strings.Join(p.Signed, ", ")
		}
		lines = append(lines, fmt.Sprintf("  %s %s under %s: %d of %d (%s)", mark, p.Role, p.Under, len(p.Signed), p.Threshold, who))
	}
	if cp.Signed {
		lines = append(lines, m.sty.good.Render("✓ The checkpoint is signed:")+" the keys that signed the metadata vouch for this history.")
	} else {
		lines = append(lines, wrap("Press s and sign with each key still needed; signers elsewhere sign a checkpoint request ('ceremony request export').", w-2)...)
	}
	return lines
}
