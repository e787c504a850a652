package tui

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// maxEvents is how many of the transcript's latest events a snapshot keeps.
const maxEvents = 40

// snapshot is what the TUI draws: a copy of the engine's state taken in
// the goroutine that ran the engine's last command, so that drawing never
// reads the state while a command changes it. It is the TUI's output
// chokepoint too: every string in it that came from a file, a device or
// a plan is escaped (untrusted.Line, untrusted.Text) as it is copied, so
// that whatever the screens draw of it holds no character a terminal acts
// on.
type snapshot struct {
	Ceremony   string
	RefTime    string
	Bootstrap  bool
	Roles      []roleView
	Progress   []ceremony.Progress
	Done       bool
	Publishing bool
	Published  bool
	Closed     bool
	Aborted    string // the reason the ceremony was aborted for; empty if it was not
	Head       string
	HeadWords  string
	PublishDir string
	OnlineURI  string
	// Keys are the participants' keys by keyid.
	Keys map[string]*keyView
	// Checkpoint is the closed ceremony's checkpoint (checkpoint.go).
	Checkpoint *checkpointView
	Events     []eventView
	// EventsErr says why the transcript pane is empty, if it is.
	EventsErr string
}

type roleView struct {
	Name     string
	Version  int64
	Online   bool
	Included bool
	// Summary is what the role holds and changes, read from its bytes.
	Summary []string
	// Compared says, for a request, what Changes were compared with;
	// Changes follow it. In the room they are in Summary.
	Compared string
	Changes  []string
	// Says are a request's own words, shown apart.
	Says   []string
	Checks []roles.Finding
	// Digest is the SHA-256 of Canonical, computed here.
	Digest    string
	Words     string
	Canonical string
	SignedBy  []string
}

// keyView is one participant's key and the roles it appears in.
type keyView struct {
	Participant string
	KeyID       string
	Device      string
	MaySign     []string // roles whose required delegations list the key
	Signed      []string // of those, the roles it has signed
}

// toSign are the roles the key may sign and has not yet.
func (k *keyView) toSign() []string {
	var out []string
	for _, r := range k.MaySign {
		if !slices.Contains(k.Signed, r) {
			out = append(out, r)
		}
	}
	return out
}

// anySigned reports whether any role has a signature yet.
func (s *snapshot) anySigned() bool {
	for _, r := range s.Roles {
		if len(r.SignedBy) > 0 {
			return true
		}
	}
	return false
}

// mayStillSign reports whether the key is one the plan names with a role
// left to sign.
func (s *snapshot) mayStillSign(keyID string) bool {
	if s == nil {
		return false
	}
	k := s.Keys[keyID]
	return k != nil && len(k.toSign()) > 0
}

// needed reports whether the engine's progress lists name as missing
// from a threshold not reached yet.
func (s *snapshot) needed(name string) bool {
	for _, p := range s.Progress {
		if !p.Reached && slices.Contains(p.Missing, name) {
			return true
		}
	}
	return false
}

// missing lists the thresholds of offline roles not reached yet, as
// "claimed 0/2".
func (s *snapshot) missing() []string {
	var out []string
	for _, p := range s.Progress {
		if p.Reached || s.online(p.Role) {
			continue
		}
		name := p.Role
		if p.Under != p.Role && p.Under != "" {
			name += " under " + p.Under
		}
		out = append(out, fmt.Sprintf("%s %d/%d", name, len(p.Signed), p.Threshold))
	}
	if len(out) == 0 {
		out = []string{"nothing"}
	}
	return out
}

func (s *snapshot) online(role string) bool {
	for _, r := range s.Roles {
		if r.Name == role {
			return r.Online
		}
	}
	return false
}

type eventView struct {
	Seq    int64
	Type   string
	Detail string
}

// takeSnapshot copies what the TUI shows from the engine. It must run
// where no engine command runs at the same time.
func takeSnapshot(eng *ceremony.Engine) *snapshot {
	st := eng.State()
	s := &snapshot{Progress: st.Progress(), Done: st.Done(), Publishing: st.Publishing(),
		Published: st.Published, Closed: st.Closed, PublishDir: st.PublishDir, Keys: map[string]*keyView{}}
	s.Progress = safeProgress(s.Progress)
	s.PublishDir = untrusted.Line(s.PublishDir)
	if st.Aborted {
		s.Aborted = untrusted.Line(st.AbortReason)
	}
	if st.Plan != nil {
		s.Ceremony = untrusted.Line(st.Plan.Ceremony)
		s.RefTime = st.Plan.ReferenceTime.UTC().Format("2006-01-02 15:04Z")
		s.Bootstrap = st.Plan.Start == nil
		if st.Plan.Online != nil {
			s.OnlineURI = untrusted.Line(st.Plan.Online.KeyURI)
		}
		for _, p := range st.Plan.Participants {
			s.Keys[p.KeyID] = &keyView{Participant: untrusted.Line(p.Name), KeyID: p.KeyID, Device: untrusted.Line(p.Device)}
		}
	}
	h := eng.Head()
	s.Head, s.HeadWords = h.String(), h.Words()
	for _, r := range st.Roles {
		rv := roleView{Name: untrusted.Line(r.Role), Version: r.Version, Online: r.Online, Included: r.Included,
			Summary: safeLines(append(slices.Clip(r.Summary), ceremony.ProjectLines(st.ProjectChanges(r.Role), maxProjectLines)...)), Checks: safeChecks(r.Checks)}
		// A state the engine took up from its fold cache reads the bytes
		// when they are first needed; the review shows them.
		if err := r.Load(); err != nil {
			rv.Canonical = untrusted.Line("cannot be read: " + err.Error())
		} else {
			rv.setBytes(r.Canonical)
		}
		for _, sig := range r.Signatures {
			rv.SignedBy = append(rv.SignedBy, untrusted.Line(sig.Signer))
		}
		s.Roles = append(s.Roles, rv)
		if r.Included || r.Online {
			continue
		}
		for _, del := range r.Required {
			for _, id := range del.KeyIDs {
				k := s.Keys[id]
				if k == nil || slices.Contains(k.MaySign, r.Role) {
					continue
				}
				k.MaySign = append(k.MaySign, r.Role)
				if slices.ContainsFunc(r.Signatures, func(x ceremony.SignatureRecord) bool { return x.KeyID == id }) {
					k.Signed = append(k.Signed, r.Role)
				}
			}
		}
	}
	s.setCheckpoint(st)
	s.Events, s.EventsErr = readEvents(eng.TranscriptPath())
	return s
}

// setBytes sets the role's canonical bytes, shown escaped, and their
// digest, computed here from them.
func (rv *roleView) setBytes(canonical []byte) {
	sum := sha256.Sum256(canonical)
	rv.Digest, rv.Words = hex.EncodeToString(sum[:]), pgpwords.String(sum[:])
	rv.Canonical = untrusted.Line(string(canonical))
}

func digestWords(hexDigest string) string {
	b, err := hex.DecodeString(hexDigest)
	if err != nil {
		return ""
	}
	return pgpwords.String(b)
}

// safeLines are lines composed from outside strings, each made safe to
// draw.
func safeLines(ls []string) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = untrusted.Text(l)
	}
	return out
}

// safeChecks are policy findings with their messages, which quote names
// from the metadata, made safe to draw.
func safeChecks(fs roles.Findings) []roles.Finding {
	out := slices.Clone(fs)
	for i := range out {
		out[i].Check, out[i].Role, out[i].Message = untrusted.Line(out[i].Check), untrusted.Line(out[i].Role), untrusted.Text(out[i].Message)
	}
	return out
}

// safeProgress is the engine's threshold progress with every name made
// safe to draw.
func safeProgress(ps []ceremony.Progress) []ceremony.Progress {
	out := slices.Clone(ps)
	for i := range out {
		p := &out[i]
		p.Role, p.Under = untrusted.Line(p.Role), untrusted.Line(p.Under)
		p.Signed, p.Missing = lineAll(p.Signed), lineAll(p.Missing)
	}
	return out
}

func lineAll(xs []string) []string {
	if xs == nil {
		return nil
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = untrusted.Line(x)
	}
	return out
}

// readEvents returns the transcript's latest events, each in a few words.
func readEvents(path string) ([]eventView, string) {
	f, err := os.Open(path)
	if err != nil {
		return nil, untrusted.Text(err.Error())
	}
	defer f.Close()
	var out []eventView
	for ev, err := range transcripts.Events(f) {
		if err != nil {
			return out, untrusted.Text(err.Error())
		}
		out = append(out, eventView{Seq: ev.Seq, Type: untrusted.Line(ev.Type), Detail: eventDetail(ev.Data)})
		if len(out) > maxEvents {
			out = out[1:]
		}
	}
	return out, ""
}

// eventDetail picks the fields people look for out of an event's data.
func eventDetail(data []byte) string {
	var d struct {
		Role     string          `json:"role"`
		Version  int64           `json:"version"`
		Signer   string          `json:"signer"`
		Via      string          `json:"via"`
		Ceremony string          `json:"ceremony"`
		Files    json.RawMessage `json:"files"`
		Dir      string          `json:"dir"`
		Reason   string          `json:"reason"`
	}
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	role := untrusted.Line(d.Role)
	switch {
	case d.Signer != "":
		return fmt.Sprintf("%s signed by %s (%s)", role, untrusted.Line(d.Signer), untrusted.Line(d.Via))
	case d.Role != "":
		return fmt.Sprintf("%s v%d", role, d.Version)
	case d.Ceremony != "":
		return untrusted.Line(d.Ceremony)
	case d.Reason != "":
		return untrusted.Line(d.Reason)
	case d.Dir != "":
		var files []json.RawMessage
		json.Unmarshal(d.Files, &files)
		return fmt.Sprintf("%d files", len(files))
	}
	return ""
}
