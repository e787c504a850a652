package ceremony

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/ceremony-tuf/ceremony/roles"
)

// ErrUnsigned is wrapped when a transcript's history is not signed by the
// keys a pinned root trusts: its checkpoint is missing or incomplete, or
// the roots it holds do not chain from the pinned one.
var ErrUnsigned = errors.New("the transcript's history is not signed under the pinned root")

// SignedReport is what VerifySigned found.
type SignedReport struct {
	Ceremony string `json:"ceremony"`
	// Status is "closed, signed", or "aborted, unsigned" for an aborted
	// ceremony, which publishes nothing and needs no checkpoint.
	Status string `json:"status"`
	// Seq and Head are the checkpoint's: the event the ceremony closed
	// at and the head it left.
	Seq  int64  `json:"seq,omitempty"`
	Head string `json:"head,omitempty"`
	// Thresholds are the checkpoint's, each reached.
	Thresholds []Progress `json:"thresholds,omitempty"`
	// Roots are the versions of the roots the transcript holds, from the
	// pinned one on, each verified under the one before.
	Roots []int64 `json:"roots,omitempty"`
}

// VerifySigned checks, beyond a transcript's hash chain (which the caller
// checks first, with transcripts.Verify), that its history is signed by
// the ceremony's own keys, as trusted from the root pinned (a root
// metadata file): the transcript folds, which verifies every signature,
// policy check and staged byte, and every checkpoint signature over the
// head of the ceremony.closed event, by a key the checkpoint needs, with
// nothing but checkpoint signatures after it; the checkpoint reaches
// every threshold; and the roots the transcript holds (the root it
// started from, the chain it loaded, the root it staged) include the
// pinned one and chain from it, so that every delegation the signatures
// count under follows from it. A transcript rewritten after its close,
// and chained again, fails: the checkpoint signatures cover the old head.
// No wall clock is consulted.
func VerifySigned(tpath string, pinnedRoot []byte) (*SignedReport, error) {
	pinned, err := roles.Parse[*roles.Root](pinnedRoot)
	if err != nil {
		return nil, fmt.Errorf("the pinned root: %w", err)
	}
	if _, err := roles.VerifySelfSigned(pinned); err != nil {
		return nil, fmt.Errorf("%w: the pinned root does not verify under its own keys: %w", ErrUnsigned, err)
	}
	st, err := Fold(tpath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsigned, err)
	}
	return st.verifySigned(pinned)
}

// verifySigned is VerifySigned on a folded state.
func (st *State) verifySigned(pinned *roles.Metadata[*roles.Root]) (*SignedReport, error) {
	var err error
	if st.Plan == nil {
		return nil, fmt.Errorf("%w: the transcript records no ceremony", ErrUnsigned)
	}
	rep := &SignedReport{Ceremony: st.Plan.Ceremony}
	if st.Aborted {
		rep.Status = "aborted, unsigned"
		return rep, nil
	}
	if st.Checkpoint == nil {
		return rep, fmt.Errorf("%w: ceremony %s is not closed: nothing signs its history", ErrUnsigned, st.Plan.Ceremony)
	}
	rep.Seq, rep.Head, rep.Thresholds = st.Checkpoint.Seq, st.Checkpoint.Head.String(), st.CheckpointProgress()
	if !st.Checkpointed() {
		var missing []string
		for _, p := range rep.Thresholds {
			if !p.Reached {
				missing = append(missing, fmt.Sprintf("%s under %s: %d of %d", p.Role, p.Under, len(p.Signed), p.Threshold))
			}
		}
		return rep, fmt.Errorf("%w: %w: %s", ErrUnsigned, ErrNotCheckpointed, strings.Join(missing, "; "))
	}
	if rep.Roots, err = st.rootChainFrom(pinned); err != nil {
		return rep, fmt.Errorf("%w: %w", ErrUnsigned, err)
	}
	rep.Status = "closed, signed"
	return rep, nil
}

// rootChainFrom finds the pinned root among the roots the state holds
// (the trusted root the ceremony started from, the newer ones it loaded,
// the one it staged, with the signatures it collected) and verifies each
// after it under the one before, as a TUF client updates its root. It
// returns their versions, the pinned one first.
func (s *State) rootChainFrom(pinned *roles.Metadata[*roles.Root]) ([]int64, error) {
	var chain []*roles.Metadata[*roles.Root]
	add := func(b []byte) error {
		m, err := roles.Parse[*roles.Root](b)
		if err == nil {
			chain = append(chain, m)
		}
		return err
	}
	if s.Repo != nil {
		if err := add(s.TrustedRoot); err != nil {
			return nil, err
		}
		for v := chain[0].Signed.Version + 1; ; v++ {
			b, ok := s.Repo.Files[fmt.Sprintf("%d.root.json", v)]
			if !ok {
				break
			}
			if err := add(b); err != nil {
				return nil, err
			}
		}
	}
	if r := s.Role(RoleRoot); r != nil {
		b, err := r.published()
		if err == nil {
			err = add(b)
		}
		if err != nil {
			return nil, err
		}
	}
	start := -1
	var held []string
	for i, m := range chain {
		held = append(held, fmt.Sprintf("v%d", m.Signed.Version))
		if m.Signed.Version == pinned.Signed.Version && bytes.Equal(m.CanonicalSigned(), pinned.CanonicalSigned()) {
			start = i
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("the pinned root v%d is none of the roots the transcript holds (%s): pin the root the ceremony started from, or one it published", pinned.Signed.Version, strings.Join(held, ", "))
	}
	versions := []int64{pinned.Signed.Version}
	for i := start + 1; i < len(chain); i++ {
		if _, err := roles.VerifyRootUpdate(chain[i-1], chain[i]); err != nil {
			return nil, fmt.Errorf("root v%d does not follow root v%d: %w", chain[i].Signed.Version, chain[i-1].Signed.Version, err)
		}
		versions = append(versions, chain[i].Signed.Version)
	}
	return versions, nil
}
