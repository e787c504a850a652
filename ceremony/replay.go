package ceremony

import (
	"errors"
	"fmt"
	"github.com/ceremony-tuf/ceremony/roles"
	"io/fs"
	"path/filepath"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
)

// ErrReplay is wrapped when a replay does not reproduce what a ceremony
// recorded or published.
var ErrReplay = errors.New("replay does not match")

// ReplayReport is what a replay found.
type ReplayReport struct {
	Ceremony   string       `json:"ceremony"`
	Roles      int          `json:"roles"`
	Signatures int          `json:"signatures"`
	Published  bool         `json:"published"`
	Files      []ReplayFile `json:"files"`
	// Rules is the rule set the ceremony was judged by; Recorded says its
	// reviews and policy verdicts were taken as recorded, not recomputed,
	// because it is not this tool's (RulesVersion).
	Rules    int  `json:"rules"`
	Recorded bool `json:"review_and_checks_as_recorded,omitempty"`
}

// ReplayFile is one published file: its digest as the fold produces it,
// and, when checked against a folder, whether the file there matches.
type ReplayFile struct {
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	OnDisk  string `json:"on_disk,omitempty"` // "same", "different", "missing"
	Matches bool   `json:"matches"`
}

// Replay folds a transcript with the same code that ran the ceremony,
// which re-derives every staged role from the recorded plan and trusted
// state, re-verifies every signature and reruns every policy check (under
// the rule set the ceremony was judged by: RulesVersion); it checks that
// each signature is recorded under the name of the participant whose key
// made it; then it checks that the files the fold produces are byte for
// byte those the transcript says were published, and, when against is
// not empty, those in that folder, each read within the length the fold
// gives it, and only if it is a regular file. No hardware is needed.
// Replay only reads: it never repairs a torn tail, and its error then
// says to resume.
func Replay(tpath, against string) (*ReplayReport, error) {
	return ReplayWith(tpath, against, nil)
}

// ReplayWith is Replay, telling progress, when set, how far it has gone:
// the events folded, and within the loading of the trusted state the
// roles verified. Replay never reads the fold cache.
func ReplayWith(tpath, against string, progress ProgressFunc) (*ReplayReport, error) {
	st, _, err := foldWith(tpath, false, progress)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReplay, err)
	}
	if st.Plan == nil {
		return nil, fmt.Errorf("%w: the transcript records no ceremony", ErrReplay)
	}
	rep := &ReplayReport{Ceremony: st.Plan.Ceremony, Roles: len(st.Roles), Published: st.Published,
		Rules: st.Rules, Recorded: st.Rules != RulesVersion}
	for _, r := range st.Roles {
		rep.Signatures += len(r.Signatures)
		// The fold verified each signature under its keyid; the name the
		// transcript gives the signer must be that key's holder's.
		for _, sg := range r.Signatures {
			if want := st.name(sg.KeyID); sg.Signer != want {
				return nil, fmt.Errorf("%w: %s's signature by key %s is recorded as %q's, but the plan gives that key to %s", ErrReplay, r.Role, roles.ShortID(sg.KeyID), sg.Signer, want)
			}
		}
	}
	if st.publishing == nil {
		return rep, nil
	}
	var bad []string
	for _, r := range st.Roles {
		b, err := r.published()
		if err != nil {
			return nil, err
		}
		for _, name := range r.fileNames() {
			f := ReplayFile{Name: name, SHA256: digestOf(b), Matches: true}
			recorded := ""
			for _, pf := range st.publishing.Files {
				if pf.Name == name {
					recorded = pf.SHA256
				}
			}
			if recorded != f.SHA256 {
				f.Matches = false
				bad = append(bad, name+" (the fold gives other bytes than the transcript recorded)")
			}
			if against != "" {
				// A file longer than the bytes the fold gives is another
				// file: it is found so without being read.
				lim := boundedfile.Metadata
				lim.Max = int64(len(b))
				disk, err := boundedfile.Read(filepath.Join(against, name), lim)
				if errors.Is(err, boundedfile.ErrTooLarge) {
					disk, err = nil, nil
				}
				switch {
				case errors.Is(err, fs.ErrNotExist):
					f.OnDisk, f.Matches = "missing", false
					bad = append(bad, name+" (missing from "+against+")")
				case err != nil:
					return nil, err
				case disk == nil || digestOf(disk) != f.SHA256:
					// root.json and timestamp.json are current pointers a
					// later ceremony moves on; the versioned files never.
					if name == "root.json" || name == "timestamp.json" {
						f.OnDisk = "different (superseded)"
						break
					}
					f.OnDisk, f.Matches = "different", false
					bad = append(bad, name+" (differs on disk)")
				default:
					f.OnDisk = "same"
				}
			}
			rep.Files = append(rep.Files, f)
		}
	}
	if len(bad) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrReplay, roles.FirstFew(bad, "; "))
	}
	return rep, nil
}
