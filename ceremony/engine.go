// Package ceremony runs a key ceremony as an event-sourced state machine:
// its state is a fold over events, and every event is appended to the
// transcript, fsynced, before it takes effect. One code path serves the
// live ceremony, resuming after a crash, and an auditor's replay.
//
// An Engine's commands (Begin, Resume, Sign, Collect, Include, Publish,
// End, Abort; engine.go, request.go, publish.go) build their events and
// have the fold's own rules admit each against the State before anything
// is written (events.go): a refused command changes no file, and whatever
// is recorded folds. The State's queries (Role, Progress, Done; state.go)
// are what faces show. Publishing and starting verify the repository as
// it would be published (preflight.go). Plans, staging, signing requests
// and enrollments have a file each.
//
// The package knows ceremonies, not terminals: the CLI and the TUI read its
// state and submit commands.
package ceremony

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// TranscriptName is the transcript's file name inside a workspace.
const TranscriptName = "transcript.jsonl"

// Errors the faces tell apart.
var (
	ErrState = errors.New("not possible in this state of the ceremony")
	// ErrNeedsResume: the transcript ends in a torn tail, or a start was
	// cut short before it staged every role; only Resume mends either.
	ErrNeedsResume = errors.New("the ceremony needs 'ceremony resume'")
	ErrWrongKey    = errors.New("key is not expected by this ceremony")
	ErrNetwork     = errors.New("a network interface is up")
	ErrNotSigned   = errors.New("thresholds not reached")
	ErrClock       = errors.New("the reference time is far from the machine's clock")
	ErrReason      = errors.New("invalid reason")
)

// Tool describes the running tool for the transcript's opening event, so
// that an auditor can rebuild the binary that ran the ceremony and compare
// digests.
type Tool struct {
	Version string `json:"version"`
	// Commit is the git commit the binary was built from; empty when the
	// build stamped none (outside a git checkout, from a tarball say).
	Commit string `json:"commit,omitempty"`
	// Modified is true when the checkout had uncommitted changes, so the
	// commit alone does not rebuild the binary.
	Modified bool   `json:"modified,omitempty"`
	Binary   string `json:"binary_sha256,omitempty"` // SHA-256 of the executable
}

// Options are what Begin and Resume take besides the workspace and plan.
type Options struct {
	// Tool is the running tool, which Begin records in the opening event.
	Tool Tool
	// PublishDir is where Publish writes the metadata; Begin records it.
	// Empty: the folder the plan starts from, or for a bootstrap the
	// workspace's metadata folder.
	PublishDir string
	// MaxMetadata is the most bytes Begin reads of a metadata file of the
	// repository the plan starts from, or of its pinned root, where the
	// repository lists no length; zero means boundedfile.Metadata's
	// default.
	MaxMetadata int64
	// Now, when set, is the machine's clock, for the checks only a live
	// command makes (DESIGN: the wall clock is for live commands only):
	// Begin refuses a reference time more than a day from it unless
	// AllowReferenceTime, and records it; Begin and Publish refuse a
	// repository that would be expired by it. Nil makes none of these
	// checks, as a replay makes none; the faces set it.
	Now func() time.Time
	// AllowReferenceTime lets Begin take a reference time more than a
	// day away from Now; the opening event records that it did.
	AllowReferenceTime bool
	// Progress, when set, is told how far each long step of a command
	// has gone (reading and verifying a repository, signing, writing),
	// for a face to show.
	Progress ProgressFunc
	// AfterAppend, when set, is called with each event's sequence number
	// once the event is on disk and before it takes effect; an error from
	// it stops the engine there, as a killed process would stop. It is for
	// crash tests, which need a crash at an exact event boundary; the
	// product leaves it nil.
	AfterAppend func(seq int64) error
}

// Engine drives one ceremony in a workspace folder.
type Engine struct {
	tpath string
	// w holds the transcript's writer lock. An Engine from Open has none
	// until it first appends (or Lock); head is then the head st was
	// folded from.
	w           *transcripts.Writer
	head        transcripts.Digest
	st          *State
	repair      *transcripts.Repair
	afterAppend func(seq int64) error // Options.AfterAppend
	now         func() time.Time      // Options.Now
	passedOver  []PassedOver          // Begin's: the files its load passed over
	progress    ProgressFunc          // Options.Progress
	// torn is set when a write was cut short: st may then not be the
	// fold of the transcript's head, and the fold cache is not given it.
	torn bool
}

// State returns the ceremony's state; the caller must not change it.
func (e *Engine) State() *State { return e.st }

// TranscriptPath returns the transcript's path.
func (e *Engine) TranscriptPath() string { return e.tpath }

// Head returns the transcript's head digest: that of the last event the
// state holds.
func (e *Engine) Head() transcripts.Digest {
	if e.w == nil {
		return e.head
	}
	return e.w.Head()
}

// SetProgress sets where the engine tells how far its long steps have
// gone from now on (Options.Progress), for a face that opened the engine
// before it could show anything (the TUI); nil tells nothing.
func (e *Engine) SetProgress(p ProgressFunc) { e.progress = p }

// Repaired says how Resume mended a torn last line of the transcript, or
// is nil when there was none.
func (e *Engine) Repaired() *transcripts.Repair { return e.repair }

// Begin opens a new ceremony in workspace ws (created if missing, and
// holding no transcript yet): it records the plan, the tool and the host,
// loads and verifies the trusted state, and stages every change with its
// policy checks. The repository as the ceremony would publish it must
// verify already, signatures aside (see Publish). Options says where
// metadata is published and what the machine's clock is. A plan refused
// leaves no workspace behind.
func Begin(ws string, plan *Plan, opts Options) (*Engine, error) {
	host := readHostFacts()
	if len(host.Interfaces) > 0 && !plan.AllowNetwork {
		return nil, fmt.Errorf("%w (%v): take the machine off every network, or set allow_network: true in the plan if this is not an air-gapped ceremony", ErrNetwork, host.Interfaces)
	}
	var now time.Time
	if opts.Now != nil {
		now = opts.Now().UTC().Truncate(time.Second)
		if err := checkReferenceTime(plan.ReferenceTime, now, opts.AllowReferenceTime); err != nil {
			return nil, err
		}
	}
	publishDir := opts.PublishDir
	if publishDir == "" {
		if plan.Start != nil {
			publishDir = plan.path(plan.Start.Metadata)
		} else {
			publishDir = filepath.Join(ws, "metadata")
		}
	}
	// Load before anything is written: a plan whose trusted state does not
	// verify leaves no workspace behind.
	var repo *Repo
	var trusted []byte
	lim := boundedfile.Metadata
	if opts.MaxMetadata > 0 {
		lim.Max = opts.MaxMetadata
	}
	if plan.Start != nil {
		var err error
		if trusted, err = boundedfile.Read(plan.path(plan.Start.TrustedRoot), lim); err != nil {
			return nil, fmt.Errorf("read trusted root: %w", err)
		}
		if repo, err = loadTrusted(plan, plan.path(plan.Start.Metadata), trusted, lim.Max, opts.Progress.step("verifying the trusted repository")); err != nil {
			return nil, err
		}
	}
	// Every event is admitted before the workspace is made: the whole
	// opening is checked first, then written.
	tpath := filepath.Join(ws, TranscriptName)
	b := &batch{st: &State{}, tpath: tpath}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	opened := openedData{Plan: b.artifact(planJSON), Tool: opts.Tool, Host: host, Clock: now, Rules: RulesVersion,
		ReferenceTimeAllowed: opts.AllowReferenceTime && farFrom(plan.ReferenceTime, now)}
	opened.Workspace, opened.PublishDir, err = workspaceRelative(ws, publishDir)
	if err != nil {
		return nil, err
	}
	if err := b.add(eventOpened, opened); err != nil {
		return nil, err
	}
	if repo != nil {
		// The fold verifies these files again with an artifact's limit;
		// within it, it would verify them as the load just did.
		if lim.Max <= boundedfile.Artifact.Max {
			b.verified = repo
		}
		ld := loadedData{TrustedRoot: b.artifact(trusted), Files: map[string]transcripts.Artifact{}}
		for _, name := range repo.FileOrder {
			ld.Files[name] = b.repoFile(repo, name)
		}
		if err := b.add(eventLoaded, ld); err != nil {
			return nil, err
		}
	}
	// Admitting the opening (a bootstrap) or the loading staged the plan
	// (stagePlan), as a fold of the transcript does: take those roles, so
	// that they are computed and held once.
	staged := b.st.expected
	// Nobody is asked to sign what fails a policy check.
	for _, s := range staged {
		if err := s.Checks.Err(); err != nil {
			return nil, fmt.Errorf("staged %s v%d: %w", s.Role, s.Version, err)
		}
	}
	for _, s := range staged {
		if err := b.stage(s); err != nil {
			return nil, err
		}
	}
	if err := b.st.verifyStaged(b.st.PublishDir, now, true, opts.Progress.step("verifying the repository as it would be published")); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(ws, 0o700); err != nil {
		return nil, fmt.Errorf("create workspace: %w", err)
	}
	w, err := transcripts.Create(tpath, transcripts.Header{Ceremony: plan.Ceremony, Tool: opts.Tool.Version})
	if errors.Is(err, os.ErrExist) {
		// A start cut short before it recorded the plan leaves a transcript
		// with its header alone: take it up again with the same plan.
		w, err = reopenAborted(tpath, plan)
	}
	if err != nil {
		return nil, fmt.Errorf("start transcript: %w", err)
	}
	e := &Engine{tpath: tpath, w: w, st: &State{}, afterAppend: opts.AfterAppend, now: opts.Now, passedOver: repo.passedOver(), progress: opts.Progress}
	if err := e.write(b); err != nil {
		w.Close()
		return nil, err
	}
	return e, nil
}

// workspaceRelative returns the workspace's absolute path and dir
// relative to it, as the opening event records them.
func workspaceRelative(ws, dir string) (absWS, rel string, err error) {
	if absWS, err = filepath.Abs(ws); err != nil {
		return "", "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	if rel, err = filepath.Rel(absWS, abs); err != nil {
		return "", "", err
	}
	return absWS, rel, nil
}

// maxClockSkew is how far a reference time may be from the machine's
// clock before start asks for it to be allowed explicitly.
const maxClockSkew = 24 * time.Hour

func farFrom(ref, now time.Time) bool {
	return !now.IsZero() && (ref.Sub(now) > maxClockSkew || now.Sub(ref) > maxClockSkew)
}

// checkReferenceTime refuses a reference time more than a day from the
// machine's clock, unless allowed: every expiry is counted from it, so a
// typo in the year publishes a repository that is expired, or not valid
// for years.
func checkReferenceTime(ref, now time.Time, allowed bool) error {
	if allowed || !farFrom(ref, now) {
		return nil
	}
	d := ref.Sub(now)
	dir := "after"
	if d < 0 {
		d, dir = -d, "before"
	}
	return fmt.Errorf("%w: the plan's reference_time %s is %s %s the machine's clock (%s): check the clock with the witnesses, and the plan; if both are right (a ceremony prepared for another day), allow it explicitly (ceremony start --allow-reference-time) and the review will say so",
		ErrClock, ref.Format(roles.TimeFormat), roughly(d), dir, now.Format(roles.TimeFormat))
}

// roughly says a duration in whole days, or hours under two days.
func roughly(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Round(time.Hour).Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Round(24*time.Hour).Hours()/24))
}

// reopenAborted opens a transcript that holds nothing but the header of a
// ceremony with plan's id; anything more is a ceremony in progress, which
// resume (not start) goes on with.
func reopenAborted(tpath string, plan *Plan) (*transcripts.Writer, error) {
	w, err := transcripts.Open(tpath)
	if err != nil {
		return nil, err
	}
	// Nothing but the format's own events (its header, the record of a
	// torn tail resume dropped) leaves the plan unrecorded.
	st, err := Fold(tpath)
	if err != nil || st.Plan != nil {
		w.Close()
		return nil, fmt.Errorf("%w: %s holds a ceremony already: go on with 'ceremony resume', or start in another workspace", ErrConflict, tpath)
	}
	return w, nil
}

// Open opens the ceremony in workspace ws to read it: it folds the
// transcript's events without changing the file and without its writer's
// lock, so that status and the TUI read a ceremony while a signer holds
// the lock at a PIN prompt. It never repairs: a torn last line, or a
// start cut short before it staged every role, is an error wrapping
// ErrNeedsResume. The Engine takes the writer's lock when it first
// appends, or at Lock; of opts it takes AfterAppend, Now and Progress
// only.
func Open(ws string, opts Options) (*Engine, error) {
	tpath := filepath.Join(ws, TranscriptName)
	st, head, err := foldCached(tpath, opts.Progress)
	if err != nil {
		return nil, err
	}
	if err := st.unfinishedStart(ws); err != nil {
		return nil, err
	}
	return &Engine{tpath: tpath, head: head, st: st, afterAppend: opts.AfterAppend, now: opts.Now, progress: opts.Progress}, nil
}

// Lock takes the transcript's writer lock now, for a command that is to
// append: a second writer is then refused (transcripts.ErrInUse) before
// anyone is asked for a PIN. If another process appended since Open
// folded the transcript, the state is folded again, under the lock. Lock
// never repairs.
func (e *Engine) Lock() error {
	_, err := e.writer(true)
	return err
}

// writer returns the transcript's writer, taking its lock at the first
// call on an Engine from Open. If the transcript moved on since the state
// was folded, the state is folded again under the lock; unless refold is
// set (nothing was decided on the old state yet), that is an error
// wrapping transcripts.ErrInUse, for the face to show the new state and
// the person to act again.
func (e *Engine) writer(refold bool) (*transcripts.Writer, error) {
	if e.w != nil {
		return e.w, nil
	}
	w, err := transcripts.Open(e.tpath)
	if err != nil {
		return nil, needsResume(e.tpath, err)
	}
	if w.Head() == e.head {
		e.w = w
		return w, nil
	}
	st, head, err := foldCached(e.tpath, e.progress)
	if err == nil && head != w.Head() {
		err = fmt.Errorf("%s changed while it was read under the lock: %w", e.tpath, transcripts.ErrIntegrity)
	}
	if err == nil {
		err = st.unfinishedStart(filepath.Dir(e.tpath))
	}
	if err != nil {
		w.Close()
		return nil, err
	}
	e.w, e.st, e.head = w, st, head
	if refold {
		return w, nil
	}
	return nil, fmt.Errorf("%w: another process added to %s after this view of the ceremony was read; it is read again now: look at where the ceremony stands, then do that again", transcripts.ErrInUse, e.tpath)
}

// fold folds the transcript at path, read bounded and without a lock,
// and returns the state and the head it was folded from. A torn tail is
// an error wrapping ErrNeedsResume.
func fold(tpath string) (*State, transcripts.Digest, error) {
	return foldWith(tpath, false, nil)
}

// foldCached is fold for the engine's own commands: it takes up the
// state the fold cache (foldcache.go) keeps for the latest head it has
// one for, folds only the events after it, and keeps the result. Its
// errors are fold's: whatever the cache holds, the events after the
// entry are checked as fold checks them. Progress, when set, is told how
// far the fold has gone.
func foldCached(tpath string, progress ProgressFunc) (*State, transcripts.Digest, error) {
	return foldWith(tpath, true, progress)
}

// foldWith is fold, from the fold cache's newest entry when cached is
// set, telling progress (when set) how many events it has folded.
func foldWith(tpath string, cached bool, progress ProgressFunc) (*State, transcripts.Digest, error) {
	var head transcripts.Digest
	f, err := boundedfile.Open(tpath, boundedfile.Transcript)
	if err != nil {
		return nil, head, fmt.Errorf("open transcript: %w", err)
	}
	defer f.Close()
	var evs []transcripts.Event
	for ev, err := range transcripts.Events(f) {
		if err != nil {
			return nil, head, needsResume(tpath, fmt.Errorf("read transcript: %w", err))
		}
		evs = append(evs, ev)
	}
	st, from := &State{}, 0
	for i := len(evs) - 1; cached && i >= 0; i-- {
		if c := loadFold(tpath, evs[i].Hash()); c != nil {
			st, from, head = c, i+1, evs[i].Hash()
			break
		}
	}
	src := eventSource{tpath: tpath, progress: progress}
	for i, ev := range evs[from:] {
		if err := st.apply(src, ev.Type, ev.Data); err != nil {
			return nil, head, fmt.Errorf("transcript event %d (%s): %w", ev.Seq, ev.Type, err)
		}
		head = ev.Hash()
		if ev.Type == eventClosed {
			st.closedAt(ev.Seq, head)
		}
		progress.report("folding the transcript's events", from+i+1, len(evs))
	}
	if cached && from < len(evs) {
		storeFold(tpath, head, st)
	}
	return st, head, nil
}

// needsResume adds to a torn tail's error what to do about it.
func needsResume(tpath string, err error) error {
	if !errors.Is(err, transcripts.ErrTorn) {
		return err
	}
	return fmt.Errorf("%w: %w; nothing was changed: run 'ceremony resume --workspace %s', which mends it and says what it kept or dropped", ErrNeedsResume, err, filepath.Dir(tpath))
}

// unfinishedStart reports a ceremony in ws whose start was cut short:
// before its plan was recorded (start it again), or before it staged
// every role (resume it).
func (s *State) unfinishedStart(ws string) error {
	if s.Plan == nil {
		return fmt.Errorf("%w: the ceremony in %s was cut short before its plan was recorded: run 'ceremony start PLAN' there again", ErrState, ws)
	}
	if n := len(s.unstaged()); n > 0 {
		return fmt.Errorf("%w: the start of the ceremony in %s was cut short before it staged %d of its roles: run 'ceremony resume --workspace %s', which stages them", ErrNeedsResume, ws, n, ws)
	}
	return nil
}

// unstaged returns the roles the plan stages that a start cut short left
// unstaged; none once publishing began.
func (s *State) unstaged() []*Staged {
	var out []*Staged
	if s.publishing != nil || s.ended() != nil {
		return nil
	}
	for _, x := range s.expected {
		if s.Role(x.Role) == nil {
			out = append(out, x)
		}
	}
	return out
}

// Resume reopens the ceremony in workspace ws to go on with it, the one
// way to mend what a crash leaves: a torn last line (Repaired says how it
// was mended) and a start cut short before it staged every role (the rest
// are staged now). It holds the writer's lock from the start. Of opts it
// takes AfterAppend, Now and Progress only: the tool and publish folder
// are those the ceremony began with.
func Resume(ws string, opts Options) (*Engine, error) {
	tpath := filepath.Join(ws, TranscriptName)
	w, repair, err := transcripts.OpenRepair(tpath)
	if err != nil {
		return nil, fmt.Errorf("open transcript: %w", err)
	}
	fail := func(err error) (*Engine, error) {
		w.Close()
		if repair != nil { // done all the same: say so
			err = fmt.Errorf("%w (the transcript was repaired first: resume %s)", err, repair)
		}
		return nil, err
	}
	st, head, err := foldCached(tpath, opts.Progress)
	if err != nil {
		return fail(err)
	}
	if st.Plan == nil {
		return fail(st.unfinishedStart(ws))
	}
	e := &Engine{tpath: tpath, w: w, head: head, st: st, repair: repair, afterAppend: opts.AfterAppend, now: opts.Now, progress: opts.Progress}
	for _, s := range st.unstaged() {
		if err := e.stage(s); err != nil {
			return fail(err)
		}
	}
	return e, nil
}

// A batch is events one command records: each is admitted against the
// state the ones before it leave, on a copy of the engine's state (the
// same code a fold runs), and nothing is written until the command has
// checked the lot and calls write. The artifacts an event names are
// stored only when it is recorded.
type batch struct {
	st     *State
	tpath  string
	events []pendingEvent
	next   []pendingArtifact // the artifacts the next event added names
	// verified is the trusted repository Begin verified from the very
	// files its state.loaded event names, which admitting that event
	// takes up instead of verifying them again (eventSource.verified).
	verified *Repo
}

type pendingEvent struct {
	typ       string
	data      []byte
	artifacts []pendingArtifact
}

type pendingArtifact struct {
	ref transcripts.Artifact
	b   []byte
	// open, when b is nil, reads the bytes: a file of the trusted
	// repository, read again when recorded rather than held from the
	// walk (Repo.File checks it is what was verified).
	open func() ([]byte, error)
}

// bytes are the artifact's bytes.
func (a pendingArtifact) bytes() ([]byte, error) {
	if a.open != nil {
		return a.open()
	}
	return a.b, nil
}

// batch starts a batch on a copy of the engine's state.
func (e *Engine) batch() *batch {
	return &batch{st: e.st.clone(), tpath: e.tpath}
}

// artifact names data as an artifact of the next event added.
func (b *batch) artifact(data []byte) transcripts.Artifact {
	a := transcripts.Artifact{Digest: "sha256:" + digestOf(data)}
	b.next = append(b.next, pendingArtifact{ref: a, b: data})
	return a
}

// repoFile names the verified file name of repo as an artifact of the
// next event: its bytes are read again when the event is recorded.
func (b *batch) repoFile(repo *Repo, name string) transcripts.Artifact {
	if held, ok := repo.Files[name]; ok {
		return b.artifact(held)
	}
	a := transcripts.Artifact{Digest: repo.digest(name)}
	b.next = append(b.next, pendingArtifact{ref: a, open: func() ([]byte, error) { return repo.File(name) }})
	return a
}

// add admits an event into the batch's state; a refused event leaves the
// batch as it was, the artifacts named for it dropped.
func (b *batch) add(typ string, data any) error {
	next := b.next
	b.next = nil
	raw, err := eventJSON(data)
	if err != nil {
		return err
	}
	src := eventSource{tpath: b.tpath, pending: map[string]pendingArtifact{}, verified: b.verified}
	for _, ev := range b.events {
		for _, a := range ev.artifacts {
			src.pending[a.ref.Digest] = a
		}
	}
	for _, a := range next {
		src.pending[a.ref.Digest] = a
	}
	commit, err := b.st.admit(src, typ, raw)
	if err != nil {
		return err
	}
	commit()
	b.events = append(b.events, pendingEvent{typ: typ, data: raw, artifacts: next})
	return nil
}

// eventJSON encodes an event's data as the transcript writer does (no
// HTML escaping), so that what is admitted is byte for byte what is
// written.
func eventJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// write records a batch's events in order, each event's artifacts first,
// and gives the engine the batch's state once all are on disk. A write
// cut short after some of them (a full disk) leaves the engine with the
// state the transcript holds.
func (e *Engine) write(b *batch) error {
	for i, ev := range b.events {
		if err := e.append(ev); err != nil {
			e.torn = true
			if i > 0 {
				if st, _, ferr := fold(e.tpath); ferr == nil {
					*e.st = *st
				}
			}
			return err
		}
	}
	*e.st = *b.st
	return nil
}

// record admits one event and, if the state takes it, records it: an
// event the state refuses is never written, nor are its artifacts.
func (e *Engine) record(typ string, data any) error {
	b := e.batch()
	if err := b.add(typ, data); err != nil {
		return err
	}
	return e.write(b)
}

// append stores an event's artifacts and appends the event; AfterAppend
// is called once it is on disk.
func (e *Engine) append(ev pendingEvent) error {
	w, err := e.writer(false)
	if err != nil {
		return err
	}
	for _, a := range ev.artifacts {
		data, err := a.bytes()
		if err != nil {
			return fmt.Errorf("record %s: %w", ev.typ, err)
		}
		got, err := w.PutArtifact(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("record %s: %w", ev.typ, err)
		}
		if got != a.ref {
			return fmt.Errorf("record %s: artifact stored as %s, not %s", ev.typ, got.Digest, a.ref.Digest)
		}
	}
	appended, err := w.Append(ev.typ, json.RawMessage(ev.data))
	if err != nil {
		return fmt.Errorf("record %s: %w", ev.typ, err)
	}
	if e.afterAppend != nil {
		return e.afterAppend(appended.Seq)
	}
	return nil
}

func (e *Engine) stage(s *Staged) error {
	b := e.batch()
	if err := b.stage(s); err != nil {
		return err
	}
	return e.write(b)
}

// stage adds a role.staged event for s.
func (b *batch) stage(s *Staged) error {
	canon, err := canonicalOf(s.Role, s.Metadata)
	if err != nil {
		return err
	}
	return b.add(eventStaged, stagedData{Role: s.Role, Version: s.Version, Online: s.Online, Metadata: b.artifact(s.Metadata),
		Digest: digestOf(canon), Summary: s.Summary, Checks: s.Checks})
}

// SignResult is one signature a device made.
type SignResult struct {
	Role  string
	KeyID string
}

// Sign signs every staged offline role that the signer's key may sign and
// has not signed yet. The key must be a participant's: any other is
// refused before anything is signed. dev describes the device for the
// transcript (nil for a key in memory).
func (e *Engine) Sign(signer crypto.Signer, dev *hsm.Device) ([]SignResult, error) {
	if err := e.st.takesSignatures(); err != nil {
		return nil, err
	}
	key, err := roles.KeyFromPublic(signer.Public())
	if err != nil {
		return nil, err
	}
	id := key.ID()
	pt := e.st.Plan.participantByKeyID(id)
	if pt == nil {
		return nil, fmt.Errorf("%w: key %s is none of the participants' keys; check you plugged in the right device", ErrWrongKey, roles.ShortID(id))
	}
	var todo []*RoleState
	for _, r := range e.st.Roles {
		if !r.Online && r.mayBeSignedBy(id) && !r.signedBy(id) {
			todo = append(todo, r)
		}
	}
	var out []SignResult
	for i, r := range todo {
		e.progress.report("signing", i, len(todo))
		if err := r.Load(); err != nil {
			return out, err
		}
		sig, err := roles.Sign(signer, key, r.Canonical)
		if err != nil {
			return out, fmt.Errorf("sign %s: %w", r.Role, err)
		}
		if err := e.record(eventSigned, signedData{Role: r.Role, KeyID: id, Sig: hex.EncodeToString(sig.Sig), Signer: pt.Name, Via: "device", Device: dev}); err != nil {
			return out, err
		}
		out = append(out, SignResult{Role: r.Role, KeyID: id})
		e.progress.report("signing", i+1, len(todo))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s's key %s has nothing left to sign", ErrState, pt.Name, roles.ShortID(id))
	}
	return out, nil
}

// Include takes in a delegated targets role that was signed elsewhere,
// such as a project's metadata signed by its maintainers, so that it is
// published with the ceremony and listed in snapshot. It must already
// reach the threshold claimed (as staged, or as trusted) gives it.
func (e *Engine) Include(role string, metadata []byte) error {
	return e.IncludeAll([]Included{{Role: role, Metadata: metadata}})
}

// End records the end of the ceremony (its ceremony.closed event):
// nothing but checkpoint signatures can be added to it afterwards
// (SignCheckpoint, CollectCheckpoint). The head it leaves is the
// checkpoint State.Checkpoint holds. A ceremony that staged roles must
// have published them; one closed or aborted already is refused. The
// workspace stays held until Release.
func (e *Engine) End() error {
	if err := e.record(eventClosed, struct{}{}); err != nil {
		return err
	}
	e.st.closedAt(e.w.Last().Seq, e.w.Head())
	return nil
}

// Abort records that the ceremony is given up, and why (its
// ceremony.aborted event): a lost token, a plan found wrong. Nothing is
// published afterwards and nothing can be added; no close is needed. A
// ceremony whose publishing has started is refused: files may be on disk,
// and publishing is finished, then the ceremony closed.
func (e *Engine) Abort(reason string) error {
	return e.record(eventAborted, abortedData{Reason: reason})
}

// maxReasonLen bounds an abort's reason: a sentence or a paragraph.
const maxReasonLen = 2000

// checkReason refuses an abort's reason that is empty, over
// maxReasonLen bytes, or holds a control or invisible character: it is
// shown by every face, years later.
func checkReason(reason string) error {
	switch {
	case strings.TrimSpace(reason) == "":
		return fmt.Errorf("%w: an abort needs its reason, for the record (a lost token, a plan found wrong)", ErrReason)
	case len(reason) > maxReasonLen:
		return fmt.Errorf("%w: the reason is %d bytes; say it in at most %d", ErrReason, len(reason), maxReasonLen)
	}
	if err := untrusted.CheckText("reason", reason); err != nil {
		return fmt.Errorf("%w: %w", ErrReason, err)
	}
	return nil
}

// Release closes the transcript and gives up the workspace's lock, if the
// Engine took it, so that another process may go on with the ceremony.
// It records nothing: the ceremony stands where it stood. Whoever has an
// Engine releases it.
func (e *Engine) Release() error {
	if e.w == nil {
		return nil
	}
	// What this command recorded is kept for the next one (foldcache.go).
	if !e.torn {
		storeFold(e.tpath, e.w.Head(), e.st)
	}
	return e.w.Close()
}

func readHostFacts() hostFacts {
	h := hostFacts{OS: runtime.GOOS, Arch: runtime.GOARCH}
	h.Hostname, _ = os.Hostname()
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			h.Interfaces = append(h.Interfaces, i.Name)
		}
	}
	return h
}
