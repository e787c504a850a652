// Package report writes the audit report of one ceremony: a summary of
// everything its transcript records, for the ceremony binder (one
// self-contained HTML page, printable on A4 and Letter) and for scripts
// (JSON).
//
// The report is derived from the transcript and its artifacts alone: no
// device, no workspace, no wall clock. Build verifies the transcript's
// chain and replays it with the engine's own fold, so that what the
// report shows is what the engine accepts, and reads the events once more
// for what the fold does not keep (when each thing happened, which device
// signed, the checkpoints). Everything in a transcript is hostile: every
// string is escaped for display (internal/untrusted), bounded in length,
// every list bounded in rows, and the HTML is made by html/template. The
// same transcript gives the same bytes.
package report

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// Bounds on what a report shows of a transcript, which may be a gigabyte
// of someone else's making: a longer string is cut (and says so), a
// longer list shows its first rows and counts the rest.
const (
	maxString = 2000
	maxRows   = 1000
)

// ErrNotReplayed is wrapped when a transcript is not intact or does not
// replay: a report is made only of one that does.
var ErrNotReplayed = errors.New("no report of a transcript that does not verify and replay")

// Summary is everything the report says, in the order it says it. Its
// JSON is the machine-readable report (--json); every string in it is
// escaped for display and bounded.
type Summary struct {
	Ceremony string `json:"ceremony"`
	// Status is where the ceremony ended: "closed", "aborted",
	// "published", or "open" (still going on, or cut short).
	Status      string    `json:"status"`
	AbortReason string    `json:"abort_reason,omitempty"`
	Format      int       `json:"format"`
	Rules       int       `json:"rules"`
	RulesNote   string    `json:"rules_note"`
	Tool        Tool      `json:"tool"`
	Host        Host      `json:"host"`
	Reference   time.Time `json:"reference_time"`
	Opened      time.Time `json:"opened"`
	Ended       time.Time `json:"ended"` // the last event's time
	Events      int       `json:"events"`
	Artifacts   int       `json:"artifacts"`
	Head        Digest    `json:"head"` // the last line's
	// Witnessed is the head the witnesses wrote down and compare.
	Witnessed WitnessHead `json:"witnessed_head"`

	Participants []Participant  `json:"participants"`
	Plan         []string       `json:"plan"`
	Reviews      []Review       `json:"reviews"`
	Checks       []Check        `json:"checks"`
	Signatures   []Signature    `json:"signatures"`
	Thresholds   []Threshold    `json:"thresholds"`
	Published    *Published     `json:"published,omitempty"`
	Checkpoints  []Checkpoint   `json:"checkpoints"`
	Covered      []Covered      `json:"checkpointed_heads,omitempty"` // each head a checkpoint covers, once
	NoCheckpoint string         `json:"no_checkpoint,omitempty"`      // why there is none
	Timeline     []TimelineItem `json:"timeline"`
	// Omitted counts the rows each list left out (maxRows), by list.
	Omitted map[string]int `json:"omitted,omitempty"`
	// Generator is the tool that made the report, as Options gave it.
	Generator string `json:"generator,omitempty"`
}

// Tool is the tool that ran the ceremony, as the transcript records it.
type Tool struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Binary   string `json:"binary_sha256,omitempty"`
}

// Host is the machine the ceremony opened on.
type Host struct {
	OS         string   `json:"os"`
	Arch       string   `json:"arch"`
	Hostname   string   `json:"hostname"`
	Interfaces []string `json:"network_interfaces_up"`
}

// Digest is a SHA-256 in hex and in PGP words, for reading aloud.
type Digest struct {
	Hex   string   `json:"hex"`
	Words []string `json:"words"`
}

// Participant is a key the plan names, its holder, and the devices its
// signatures came from.
type Participant struct {
	Name    string   `json:"name"`
	KeyID   string   `json:"keyid"`
	Planned string   `json:"planned_device,omitempty"` // where the plan says the key lives
	Devices []Device `json:"devices"`
	Signed  int      `json:"signatures"`
}

// Device is a device a signature names.
type Device struct {
	Description string `json:"description"` // "SoftHSM v2 #1a2b (alice)"
	Backend     string `json:"backend"`
	Model       string `json:"model"`
	Serial      string `json:"serial"`
	Firmware    string `json:"firmware,omitempty"`
	// How says how the device is known: "in the room" (the tool read it
	// while signing) or "claimed by the signer" (a response's word, not
	// verified).
	How string `json:"how"`
	// Attestation is what the transcript holds of the device's
	// attestation.
	Attestation string `json:"attestation"`
}

// Review is one role as its signers reviewed it.
type Review struct {
	Role     string   `json:"role"`
	Version  int64    `json:"version"`
	Kind     string   `json:"kind"` // "offline", "online", "included"
	Digest   Digest   `json:"signed_sha256"`
	Summary  []string `json:"summary"`
	Recorded bool     `json:"as_recorded,omitempty"` // judged by an earlier rule set
}

// Check is one policy check's verdict on one role.
type Check struct {
	Role     string `json:"role"`
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Passed   bool   `json:"passed"`
	Message  string `json:"message"`
}

// Signature is one signature the ceremony recorded.
type Signature struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Role   string    `json:"role"`
	Signer string    `json:"signer"`
	KeyID  string    `json:"keyid"`
	Via    string    `json:"via"`
	Device string    `json:"device,omitempty"`
}

// Threshold is where a role stands against a delegation it must satisfy.
type Threshold struct {
	Role      string   `json:"role"`
	Under     string   `json:"under"`
	Threshold int64    `json:"threshold"`
	Signed    []string `json:"signed"`
	Reached   bool     `json:"reached"`
}

// Published is what the ceremony wrote.
type Published struct {
	Dir      string `json:"dir"`
	Relative bool   `json:"dir_relative_to_workspace"` // absolute in transcripts from before`
	Finished bool   `json:"finished"`
	Files    []File `json:"files"`
}

// File is one published file.
type File struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Length int64  `json:"length"`
}

// Checkpoint is one checkpoint event, shown generically: whatever of
// signer, keyid, device, how it came and the head it covers it names, and
// its other members as "name: value" details.
type Checkpoint struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Signer  string    `json:"signer,omitempty"`
	KeyID   string    `json:"keyid,omitempty"`
	Via     string    `json:"via,omitempty"`
	Device  string    `json:"device,omitempty"`
	Covers  *Covered  `json:"covers,omitempty"`
	Details []string  `json:"details,omitempty"`
}

// Covered is the head a checkpoint signs: the event it is the hash of,
// and the digest.
type Covered struct {
	Seq  int64  `json:"seq"`
	Head Digest `json:"head"`
}

// WitnessHead is the head the witnesses write down: for a closed
// ceremony, the hash of its ceremony.closed event, which the checkpoint
// signs and which 'ceremony close' showed them, with its signatures
// after it; else the last line's, as any command that appends shows it.
type WitnessHead struct {
	Seq    int64  `json:"seq"` // the event it is the hash of
	Head   Digest `json:"head"`
	Closed bool   `json:"closed"`       // it is the close's
	After  int    `json:"events_after"` // events after it: the checkpoint's signatures
}

// TimelineItem is one event, in a line.
type TimelineItem struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	What string    `json:"what"`
}

// Options are what a report takes beside the transcript.
type Options struct {
	// Generator names the tool making the report ("ceremony 0.1.0"); it
	// is shown, so the bytes depend on it and on nothing else outside
	// the transcript.
	Generator string
}

// Build reads the transcript at tpath and its artifacts, verifies its
// chain, replays it, and summarises it. It changes no file.
func Build(tpath string, opts Options) (*Summary, error) {
	vr, err := transcripts.Verify(tpath, "")
	if err != nil {
		if vr == nil {
			return nil, err // not read at all
		}
		if len(vr.Problems) > 0 {
			err = fmt.Errorf("%w: %v", err, &vr.Problems[0])
		}
		return nil, fmt.Errorf("%w: %w", ErrNotReplayed, err)
	}
	rep, err := ceremony.Replay(tpath, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotReplayed, err)
	}
	st, err := ceremony.Fold(tpath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotReplayed, err)
	}
	s := &Summary{
		Ceremony: line(st.Plan.Ceremony), Format: vr.Format, Rules: rep.Rules,
		Reference: st.Plan.ReferenceTime.UTC(), Events: vr.Events, Artifacts: vr.Artifacts,
		Head:      digest(vr.Head),
		Generator: line(opts.Generator), Omitted: map[string]int{},
	}
	s.Witnessed = WitnessHead{Seq: int64(vr.Events), Head: s.Head}
	if cp := st.Checkpoint; cp != nil {
		// In a transcript that verifies, line n is seq n.
		s.Witnessed = WitnessHead{Seq: cp.Seq, Head: digest(cp.Head), Closed: true, After: vr.Events - int(cp.Seq)}
	}
	s.RulesNote = fmt.Sprintf("judged by rules %d, the rules of this tool: every review and policy verdict was computed again and matches the record", rep.Rules)
	if rep.Recorded {
		s.RulesNote = fmt.Sprintf("judged by rules %d, an earlier rule set than this tool's (%d): the reviews and policy verdicts are shown as recorded, not recomputed; the staged bytes, signatures, thresholds and published files were computed again and match", rep.Rules, ceremony.RulesVersion)
	}
	switch {
	case st.Aborted:
		s.Status, s.AbortReason = "aborted", text(st.AbortReason)
	case st.Closed:
		s.Status = "closed"
	case st.Published:
		s.Status = "published"
	default:
		s.Status = "open"
	}
	if err := s.readEvents(tpath, st); err != nil {
		return nil, err
	}
	s.participants(st)
	s.Plan = bound(s, "plan", planLines(st))
	s.roles(st)
	switch {
	case len(s.Checkpoints) > 0:
	case st.Aborted:
		s.NoCheckpoint = "none: an aborted ceremony is not signed"
	default:
		s.NoCheckpoint = "none: this ceremony predates checkpoints"
	}
	return s, nil
}

// The files Write writes.
const (
	HTMLName = "report.html"
	JSONName = "report.json"
)

// Write writes the report into the folder dir, which it makes if need
// be: HTMLName, and JSONName too when withJSON is set. It writes over
// nothing: if either file exists, it writes neither (ceremony.ErrConflict).
// It returns the paths it wrote.
func (s *Summary) Write(dir string, withJSON bool) ([]string, error) {
	page, err := s.HTML()
	if err != nil {
		return nil, err
	}
	names, contents := []string{HTMLName}, [][]byte{page}
	if withJSON {
		b, err := s.JSON()
		if err != nil {
			return nil, err
		}
		names, contents = append(names, JSONName), append(contents, b)
	}
	var paths []string
	for _, name := range names {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%w: %s; a report is never written over: choose another --out folder", ceremony.ErrConflict, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		paths = append(paths, p)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write the report: %w", err)
	}
	for i, p := range paths {
		if err := ceremony.WriteFileAtomic(p, contents[i], 0o644); err != nil {
			return nil, fmt.Errorf("write the report: %w", err)
		}
	}
	return paths, nil
}

// JSON is the summary as indented JSON and a newline.
func (s *Summary) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// line shows a string from the transcript on one line, bounded.
func line(s string) string { return cut(untrusted.Line(s)) }

// text shows a message the tool composed, which may quote strings from
// outside (a review line, a check's message), bounded.
func text(s string) string { return cut(untrusted.Text(s)) }

func cut(s string) string {
	if utf8.RuneCountInString(s) <= maxString {
		return s
	}
	r := []rune(s)
	return string(r[:maxString]) + fmt.Sprintf("… (%d more characters)", len(r)-maxString)
}

// bound keeps the first maxRows of a list and counts the rest under
// name in s.Omitted.
func bound[T any](s *Summary, name string, xs []T) []T {
	if len(xs) > maxRows {
		s.Omitted[name] += len(xs) - maxRows
		return xs[:maxRows]
	}
	return xs
}

// device describes a device a signature names.
func device(d *hsm.Device, claimed bool) Device {
	out := Device{Description: line(d.String()), Backend: line(d.Backend), Model: line(d.Model),
		Serial: line(d.Serial), Firmware: line(d.Firmware), How: "in the room", Attestation: "none recorded"}
	if claimed {
		out.How = "claimed by the signer, not verified"
	}
	if d.Backend == "pkcs11" {
		out.Attestation = "none: PKCS#11 tokens give no attestation"
	}
	return out
}

// deviceLine names a device a signature names in a line, saying when it
// is the signer's claim.
func deviceLine(d *hsm.Device, claimed bool) string {
	if claimed {
		return line(d.String()) + " (claimed by the signer)"
	}
	return line(d.String())
}

// rawSignature is what the report reads of a signature.added event; the
// fold has checked it already.
type rawSignature struct {
	Role    string      `json:"role"`
	KeyID   string      `json:"keyid"`
	Signer  string      `json:"signer"`
	Via     string      `json:"via"`
	Device  *hsm.Device `json:"device"`
	Claimed *hsm.Device `json:"device_claimed_by_signer"`
}

// readEvents reads the transcript's events for the signatures, the
// published files, the checkpoints and the timeline, with their times.
func (s *Summary) readEvents(tpath string, st *ceremony.State) error {
	f, err := boundedfile.Open(tpath, boundedfile.Transcript)
	if err != nil {
		return fmt.Errorf("open transcript: %w", err)
	}
	defer f.Close()
	var timeline []TimelineItem
	for ev, err := range transcripts.Events(f) {
		if err != nil {
			return fmt.Errorf("read transcript: %w", err)
		}
		if s.Opened.IsZero() {
			s.Opened = ev.Time
		}
		s.Ended = ev.Time
		what, err := s.event(ev, st)
		if err != nil {
			return fmt.Errorf("transcript event %d (%s): %w", ev.Seq, ev.Type, err)
		}
		timeline = append(timeline, TimelineItem{Seq: ev.Seq, Time: ev.Time, Type: line(ev.Type), What: what})
	}
	s.Timeline = bound(s, "timeline", timeline)
	s.Signatures = bound(s, "signatures", s.Signatures)
	s.Checkpoints = bound(s, "checkpoints", s.Checkpoints)
	return nil
}

// event takes in one event and says what it did, in a line.
func (s *Summary) event(ev transcripts.Event, st *ceremony.State) (string, error) {
	if strings.HasPrefix(ev.Type, "checkpoint.") {
		c, err := checkpoint(ev)
		if err != nil {
			return "", err
		}
		s.Checkpoints = append(s.Checkpoints, c)
		if c.Covers != nil && !slices.ContainsFunc(s.Covered, func(h Covered) bool { return h.Head.Hex == c.Covers.Head.Hex }) {
			s.Covered = append(s.Covered, *c.Covers)
		}
		if c.Signer == "" {
			return "checkpoint", nil
		}
		return "checkpoint signed by " + c.Signer, nil
	}
	switch ev.Type {
	case transcripts.HeaderType:
		var d struct {
			Tool string `json:"tool"`
		}
		err := json.Unmarshal(ev.Data, &d)
		return fmt.Sprintf("transcript begun by ceremony %s", line(d.Tool)), err
	case "ceremony.opened":
		var d struct {
			Tool ceremony.Tool `json:"tool"`
			Host Host          `json:"host"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return "", err
		}
		s.Tool = Tool{Version: line(d.Tool.Version), Commit: line(d.Tool.Commit), Modified: d.Tool.Modified, Binary: line(d.Tool.Binary)}
		s.Host = Host{OS: line(d.Host.OS), Arch: line(d.Host.Arch), Hostname: line(d.Host.Hostname)}
		for _, i := range d.Host.Interfaces {
			s.Host.Interfaces = append(s.Host.Interfaces, line(i))
		}
		s.Host.Interfaces = bound(s, "network interfaces", s.Host.Interfaces)
		return fmt.Sprintf("opened from the plan on %s (%s/%s)", s.Host.Hostname, s.Host.OS, s.Host.Arch), nil
	case "state.loaded":
		var d struct {
			Files map[string]json.RawMessage `json:"files"`
		}
		err := json.Unmarshal(ev.Data, &d)
		return fmt.Sprintf("trusted metadata loaded and verified: %d files", len(d.Files)), err
	case "role.staged", "role.included":
		var d struct {
			Role    string `json:"role"`
			Version int64  `json:"version"`
			Online  bool   `json:"online"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return "", err
		}
		if ev.Type == "role.included" {
			for _, sg := range st.Role(d.Role).Signatures {
				s.Signatures = append(s.Signatures, Signature{Seq: ev.Seq, Time: ev.Time, Role: line(d.Role),
					Signer: line(sg.Signer), KeyID: line(sg.KeyID), Via: "included", Device: "in the file, signed by its maintainers"})
			}
			return fmt.Sprintf("included %s v%d, signed by its maintainers", line(d.Role), d.Version), nil
		}
		if d.Online {
			return fmt.Sprintf("staged %s v%d, for the online key", line(d.Role), d.Version), nil
		}
		return fmt.Sprintf("staged %s v%d for review", line(d.Role), d.Version), nil
	case "signature.added":
		var d rawSignature
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return "", err
		}
		sg := Signature{Seq: ev.Seq, Time: ev.Time, Role: line(d.Role), Signer: line(d.Signer), KeyID: line(d.KeyID), Via: line(d.Via)}
		switch {
		case d.Device != nil:
			sg.Device = deviceLine(d.Device, false)
		case d.Claimed != nil:
			sg.Device = deviceLine(d.Claimed, true)
		}
		s.Signatures = append(s.Signatures, sg)
		return fmt.Sprintf("%s signed %s via %s", sg.Signer, sg.Role, sg.Via), nil
	case "publish.started":
		var d struct {
			Dir   string `json:"dir"`
			Files []File `json:"files"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return "", err
		}
		s.Published = &Published{Dir: line(d.Dir), Relative: !filepath.IsAbs(d.Dir)}
		for _, f := range d.Files {
			s.Published.Files = append(s.Published.Files, File{Name: line(f.Name), SHA256: line(f.SHA256), Length: f.Length})
		}
		s.Published.Files = bound(s, "published files", s.Published.Files)
		return fmt.Sprintf("publishing %d files", len(d.Files)), nil
	case "publish.finished":
		if s.Published != nil {
			s.Published.Finished = true
		}
		return "every file written", nil
	case "ceremony.closed":
		return "closed", nil
	case "ceremony.aborted":
		return "aborted: " + s.AbortReason, nil
	case "transcript.torn":
		var d struct {
			Length int64 `json:"length"`
		}
		err := json.Unmarshal(ev.Data, &d)
		return fmt.Sprintf("resume dropped a torn last line of %d bytes, kept as an artifact", d.Length), err
	}
	return "", nil
}

// checkpoint reads a checkpoint event generically: the members that name
// who signed, with what and which head, and the rest as "name: value"
// lines.
func checkpoint(ev transcripts.Event) (Checkpoint, error) {
	c := Checkpoint{Seq: ev.Seq, Time: ev.Time, Type: line(ev.Type)}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return c, err
	}
	var covered Covered
	if json.Unmarshal(d["seq"], &covered.Seq) == nil && covered.Seq > 0 {
		var h string
		if json.Unmarshal(d["head"], &h) == nil {
			if dg, err := digestOf(h); err == nil {
				covered.Head, c.Covers = dg, &covered
				delete(d, "seq")
				delete(d, "head")
			}
		}
	}
	names := make([]string, 0, len(d))
	for n := range d {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v := d[n]
		var str string
		isString := json.Unmarshal(v, &str) == nil
		var dev hsm.Device
		switch {
		case n == "signer" && isString:
			c.Signer = line(str)
		case n == "keyid" && isString:
			c.KeyID = line(str)
		case n == "via" && isString:
			c.Via = line(str)
		case (n == "device" || n == "device_claimed_by_signer") && json.Unmarshal(v, &dev) == nil && dev.Backend != "":
			c.Device = deviceLine(&dev, n != "device")
		case n == "sig":
			// The signature itself: its bytes tell a reader nothing.
		case isString:
			c.Details = append(c.Details, line(n)+": "+line(str))
		default:
			c.Details = append(c.Details, line(n)+": "+line(string(v)))
		}
	}
	return c, nil
}

// participants lists the plan's keys with the devices their signatures
// came from.
func (s *Summary) participants(st *ceremony.State) {
	var out []Participant
	for _, p := range st.Plan.Participants {
		pt := Participant{Name: line(p.Name), KeyID: line(p.KeyID), Planned: line(p.Device)}
		seen := map[string]bool{}
		for _, r := range st.Roles {
			for _, sg := range r.Signatures {
				if sg.KeyID != p.KeyID {
					continue
				}
				pt.Signed++
				d, claimed := sg.Device, false
				if d == nil {
					d, claimed = sg.ClaimedDevice, true
				}
				if d == nil {
					continue
				}
				dv := device(d, claimed)
				if key := dv.Description + dv.How; !seen[key] {
					seen[key] = true
					pt.Devices = append(pt.Devices, dv)
				}
			}
		}
		out = append(out, pt)
	}
	s.Participants = bound(s, "participants", out)
}

// roles summarises the staged roles: reviews, checks and thresholds.
func (s *Summary) roles(st *ceremony.State) {
	for _, r := range st.Roles {
		kind := "offline"
		switch {
		case r.Included:
			kind = "included"
		case r.Online:
			kind = "online"
		}
		rv := Review{Role: line(r.Role), Version: r.Version, Kind: kind, Recorded: st.Rules != ceremony.RulesVersion && !r.Included}
		if d, err := digestOf(r.Digest); err == nil {
			rv.Digest = d
		}
		for _, l := range r.Summary {
			rv.Summary = append(rv.Summary, text(l))
		}
		rv.Summary = bound(s, "review lines", rv.Summary)
		s.Reviews = append(s.Reviews, rv)
		for _, c := range r.Checks {
			s.Checks = append(s.Checks, checkOf(c))
		}
	}
	for _, p := range st.Progress() {
		t := Threshold{Role: line(p.Role), Under: line(p.Under), Threshold: p.Threshold, Reached: p.Reached}
		for _, n := range p.Signed {
			t.Signed = append(t.Signed, line(n))
		}
		s.Thresholds = append(s.Thresholds, t)
	}
	s.Reviews = bound(s, "reviews", s.Reviews)
	s.Checks = bound(s, "checks", s.Checks)
	s.Thresholds = bound(s, "thresholds", s.Thresholds)
}

func checkOf(c roles.Finding) Check {
	return Check{Role: line(c.Role), Check: line(c.Check), Severity: line(string(c.Severity)), Passed: c.Passed, Message: text(c.Message)}
}

// digestOf spells a hex SHA-256 in PGP words too.
func digestOf(h string) (Digest, error) {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(transcripts.Digest{}) {
		return Digest{}, fmt.Errorf("not a SHA-256: %q", h)
	}
	return Digest{Hex: h, Words: pgpwords.Encode(b)}, nil
}

// digest spells a transcript head in hex and PGP words.
func digest(h transcripts.Digest) Digest {
	return Digest{Hex: h.String(), Words: pgpwords.Encode(h[:])}
}
