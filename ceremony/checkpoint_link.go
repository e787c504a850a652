package ceremony

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// PreviousHeadMember is the custom member of the signed part of the root
// and targets a ceremony stages that links the previous ceremony's
// transcript: {"ceremony": ID, "head": HEX}, the head its checkpoint
// covers. Each ceremony's record is so bound into the metadata the next
// one signs (docs/TRANSCRIPT.md, "Linking ceremonies").
const PreviousHeadMember = "x-ceremony-previous-head"

// PreviousHead names a closed ceremony's transcript: its id, and the head
// its checkpoint covers (that of its ceremony.closed event), in hex.
type PreviousHead struct {
	Ceremony string `json:"ceremony"`
	Head     string `json:"head"`
}

// validateCheckpoint checks the plan's checkpoint members: every
// checkpoint signer is a participant, named once; a previous head, as a
// recorded plan holds it, is well formed.
func (p *Plan) validateCheckpoint() error {
	for i, n := range p.CheckpointSigners {
		field := fmt.Sprintf("checkpoint_signers[%d]", i)
		if pt, _ := p.participant(n); pt == nil {
			return planErrorf(field, "%q is not a participant: name participants, who sign the checkpoint with their keys", n)
		}
		if slices.Index(p.CheckpointSigners, n) != i {
			return planErrorf(field, "%q is named twice", n)
		}
	}
	if h := p.PreviousHead; h != nil {
		if !idPattern.MatchString(h.Ceremony) || !reqHexPattern.MatchString(h.Head) {
			return planErrorf("previous_head", "%q, %q is not a ceremony id and a head in lower-case hex", h.Ceremony, h.Head)
		}
		if h.Ceremony == p.Ceremony {
			return planErrorf("previous_transcript", "it is the transcript of ceremony %q, this very ceremony's id: name the transcript of the ceremony before", h.Ceremony)
		}
	}
	return nil
}

// resolvePrevious reads the previous ceremony's transcript the plan
// names: it must be intact (its chain and artifacts), fold, be closed and
// have its checkpoint signed. Its id and checkpoint head become
// PreviousHead.
func (p *Plan) resolvePrevious() error {
	if p.PreviousTranscript == "" {
		return nil
	}
	const field = "previous_transcript"
	path := p.path(p.PreviousTranscript)
	st, err := verifyClosed(path)
	if err != nil {
		return planErrorf(field, "%v", err)
	}
	p.PreviousHead = &PreviousHead{Ceremony: st.Plan.Ceremony, Head: st.Checkpoint.Head.String()}
	return p.validateCheckpoint()
}

// verifyClosed checks a transcript as a link to it needs: intact, it
// folds, and it is closed with its checkpoint signed by every threshold.
func verifyClosed(path string) (*State, error) {
	if _, err := transcripts.Verify(path, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, err := Fold(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case st.Aborted:
		return nil, fmt.Errorf("%s: ceremony %s was aborted: it published nothing to link to", path, st.Plan.Ceremony)
	case !st.Closed:
		return nil, fmt.Errorf("%s: ceremony %s is not closed: close it and sign its checkpoint first", path, st.Plan.Ceremony)
	case !st.Checkpointed():
		return nil, fmt.Errorf("%s: %w: ceremony %s is closed but its checkpoint lacks signatures: have its signers sign it ('ceremony sign --key URI' in its workspace)", path, ErrNotCheckpointed, st.Plan.Ceremony)
	}
	return st, nil
}

// customMembers is the signed part of root or targets metadata.
type customMembers interface {
	Custom(name string) []byte
	SetCustom(name string, value []byte) error
}

// linkPrevious sets role's PreviousHeadMember (in signed, its signed
// part) to the plan's previous head, or removes a link an earlier
// ceremony left there when the plan names none, and notes for the role's
// summary what it did.
func (s *staging) linkPrevious(role string, signed customMembers) error {
	var v []byte
	if h := s.plan.PreviousHead; h != nil {
		var err error
		if v, err = json.Marshal(h); err != nil {
			return err
		}
	}
	had := signed.Custom(PreviousHeadMember) != nil
	if err := signed.SetCustom(PreviousHeadMember, v); err != nil {
		return err
	}
	var line string
	switch {
	case v != nil:
		line = fmt.Sprintf("links the transcript of ceremony %s, closed at head %s", s.plan.PreviousHead.Ceremony, roles.ShortID(s.plan.PreviousHead.Head))
	case had:
		line = "drops the link to an earlier ceremony's transcript (the plan names no previous_transcript)"
	default:
		return nil
	}
	if s.links == nil {
		s.links = map[string][]string{}
	}
	s.links[role] = append(s.links[role], line)
	return nil
}

// PreviousHeadOf returns the link to a previous ceremony that root or
// targets metadata carries, or nil when it has none.
func PreviousHeadOf(signed customMembers) (*PreviousHead, error) {
	b := signed.Custom(PreviousHeadMember)
	if b == nil {
		return nil, nil
	}
	var h PreviousHead
	if err := strictJSON(b, &h); err != nil || !idPattern.MatchString(h.Ceremony) || !reqHexPattern.MatchString(h.Head) {
		return nil, errors.New(PreviousHeadMember + " is not {\"ceremony\": ID, \"head\": HEX}")
	}
	return &h, nil
}

// LinkReport is one link to a previous ceremony that published metadata
// carries, and the transcript found for it.
type LinkReport struct {
	File       string `json:"file"` // the metadata file that carries the link
	Ceremony   string `json:"ceremony"`
	Head       string `json:"head"`
	Transcript string `json:"transcript,omitempty"`
	// Status is VerifySigned's, or why the link does not hold.
	Status string `json:"status"`
	OK     bool   `json:"ok"`
}

// ErrLink is wrapped when a link to a previous ceremony's transcript
// does not hold: the transcript is missing, or does not verify.
var ErrLink = errors.New("a linked ceremony transcript is missing or does not verify")

// linkedFile matches the names of the files that may carry a link.
var linkedFile = regexp.MustCompile(`^[1-9][0-9]*\.(root|targets)\.json$`)

// maxTranscripts bounds the transcripts VerifyLinks reads from a folder.
const maxTranscripts = 10000

// VerifyLinks checks the links to previous ceremonies that the root and
// targets metadata in metadataDir carry (PreviousHeadMember, in the
// N.root.json files from the pinned root's version on, and in every
// N.targets.json): for each, a transcript in transcriptsDir (any *.jsonl
// file, at most two folders down) of that ceremony whose checkpoint
// covers that head must be there, intact, and signed (VerifySigned)
// under one of those roots. Call it once the repository itself verifies
// from pinnedRoot: it trusts the roots it finds from that version on.
func VerifyLinks(metadataDir, transcriptsDir string, pinnedRoot []byte) ([]LinkReport, error) {
	pinned, err := roles.Parse[*roles.Root](pinnedRoot)
	if err != nil {
		return nil, fmt.Errorf("the pinned root: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(metadataDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var roots []*roles.Metadata[*roles.Root]
	var out []LinkReport
	for _, f := range files {
		name := filepath.Base(f)
		m := linkedFile.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		role := m[1]
		b, err := boundedfile.Read(f, boundedfile.Metadata)
		if err != nil {
			return nil, err
		}
		var link *PreviousHead
		if role == RoleRoot {
			m, err := roles.Parse[*roles.Root](b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if m.Signed.Version < pinned.Signed.Version {
				continue
			}
			roots = append(roots, m)
			if link, err = PreviousHeadOf(m.Signed); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		} else {
			m, err := roles.Parse[*roles.Targets](b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if link, err = PreviousHeadOf(m.Signed); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		if link != nil {
			out = append(out, LinkReport{File: name, Ceremony: link.Ceremony, Head: link.Head})
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	found, err := closedTranscripts(transcriptsDir)
	if err != nil {
		return out, err
	}
	var bad []string
	for i := range out {
		l := &out[i]
		t := found[l.Ceremony+" "+l.Head]
		if t == nil {
			l.Status = "missing: no transcript of ceremony " + l.Ceremony + " closed at that head in " + transcriptsDir
			bad = append(bad, l.File+": "+l.Status)
			continue
		}
		l.Transcript = t.path
		l.Status, l.OK = t.verify(roots)
		if !l.OK {
			bad = append(bad, l.File+": "+l.Status)
		}
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("%w: %s", ErrLink, strings.Join(bad, "; "))
	}
	return out, nil
}

// closedTranscript is a transcript VerifyLinks found, folded.
type closedTranscript struct {
	path string
	st   *State
}

// verify checks the transcript is intact and signed under one of roots.
func (t *closedTranscript) verify(roots []*roles.Metadata[*roles.Root]) (string, bool) {
	if _, err := transcripts.Verify(t.path, ""); err != nil {
		return err.Error(), false
	}
	var last error
	for _, r := range roots {
		rep, err := t.st.verifySigned(r)
		if err == nil {
			return rep.Status, true
		}
		last = err
	}
	if last == nil {
		last = errors.New("no root from the pinned one on to verify it under")
	}
	return last.Error(), false
}

// closedTranscripts folds every transcript under dir (*.jsonl, at most
// two folders down) that folds and is closed, by ceremony id and
// checkpoint head; others are passed over.
func closedTranscripts(dir string) (map[string]*closedTranscript, error) {
	var paths []string
	for _, pat := range []string{"*.jsonl", "*/*.jsonl", "*/*/*.jsonl"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		paths = append(paths, m...)
	}
	if len(paths) > maxTranscripts {
		return nil, fmt.Errorf("%s holds %d transcripts, more than the %d this reads: name the folder of this repository's ceremonies", dir, len(paths), maxTranscripts)
	}
	out := map[string]*closedTranscript{}
	for _, p := range paths {
		st, err := Fold(p)
		if err != nil || st.Checkpoint == nil {
			continue
		}
		out[st.Plan.Ceremony+" "+st.Checkpoint.Head.String()] = &closedTranscript{path: p, st: st}
	}
	return out, nil
}
