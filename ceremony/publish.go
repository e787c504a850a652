package ceremony

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// stageOnline computes the online roles publishing adds: for a bootstrap
// recently-claimed and the unclaimed bins (empty, PEP 458), and always a
// new snapshot listing every targets role, then a timestamp naming the
// snapshot once the snapshot is signed (its bytes, which timestamp hashes,
// include the signature). Like stagePlan, it is a pure function of the
// state.
//
// A draft is what the repository would hold, for checking it before it
// is signed: the timestamp names the snapshot as it stands (signed or
// not), and a plan with no online key still gets the snapshot and
// timestamp the online service would make. Drafts are never recorded.
func (s *State) stageOnline(draft bool) ([]*Staged, error) {
	p := s.Plan
	repo, err := s.repository()
	if err != nil {
		return nil, err
	}
	if p.Online == nil && (!draft || repo == nil) {
		return nil, nil
	}
	exp := p.expiry(0, defaultOnlineDays)
	var out []*Staged
	add := func(role string, m interface{ MarshalJSON() ([]byte, error) }, version int64, summary string) error {
		b, err := m.MarshalJSON()
		if err != nil {
			return err
		}
		out = append(out, &Staged{Role: role, Version: version, Online: true, Metadata: b, Summary: []string{summary}})
		return nil
	}
	if repo == nil {
		_, online := p.participant(p.Online.Participant)
		onlineID := online.ID()
		if err := add(RoleRecentlyClaimed, roles.New(roles.NewTargets(exp)), 1, "recently-claimed v1 (new, empty)"); err != nil {
			return nil, err
		}
		un := roles.NewTargets(exp)
		bits := p.Online.UnclaimedBinBits
		if bits == 0 {
			bits = 4
		}
		un.Delegations = &roles.Delegations{
			Keys:          map[string]*roles.Key{onlineID: online},
			SuccinctRoles: &roles.SuccinctRoles{KeyIDs: []string{onlineID}, Threshold: 1, BitLength: bits, NamePrefix: RoleUnclaimed},
		}
		if err := add(RoleUnclaimed, roles.New(un), 1, fmt.Sprintf("unclaimed v1 (new): %d hash bins", 1<<bits)); err != nil {
			return nil, err
		}
		for i := 0; i < 1<<bits; i++ {
			name := un.Delegations.SuccinctRoles.BinName(i)
			if err := add(name, roles.New(roles.NewTargets(exp)), 1, name+" v1 (new, empty)"); err != nil {
				return nil, err
			}
		}
	}
	// A snapshot staged already was made from this very state's roles
	// (nothing else is staged once publishing starts): it is the one made
	// then, and at PyPI's scale not worth listing again.
	var snap *Staged
	if sr := s.Role(RoleSnapshot); sr != nil {
		again := sr.Staged
		snap = &again
	} else if snap, err = s.nextSnapshot(repo, exp, out); err != nil {
		return nil, err
	}
	out = append(out, snap)
	// The timestamp hashes the signed snapshot as it will be published.
	var snapFile []byte
	if sr := s.Role(RoleSnapshot); sr != nil && (len(sr.Signatures) > 0 || draft) {
		var err error
		if snapFile, err = sr.published(); err != nil {
			return nil, err
		}
	} else if draft {
		snapFile = snap.Metadata
	}
	if snapFile != nil {
		ts := roles.NewTimestamp(p.expiry(0, defaultTimestampDays))
		if repo != nil {
			ts.Version = repo.Timestamp.Signed.Version + 1
		}
		ts.Meta["snapshot.json"] = roles.MetaFileFor(snap.Version, snapFile)
		if err := add(RoleTimestamp, roles.New(ts), ts.Version, fmt.Sprintf("timestamp v%d names snapshot v%d", ts.Version, snap.Version)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nextSnapshot is the snapshot publish signs, expiring at exp. It lists
// every targets-type file the repository holds: what the trusted snapshot
// lists, the project metadata maintainers published since (newer
// versions), and what this ceremony stages or includes, and the online
// roles it makes (online), newer still.
func (s *State) nextSnapshot(repo *Repo, exp time.Time, online []*Staged) (*Staged, error) {
	snap := roles.NewSnapshot(exp)
	// Newer versions, by file name, of what the trusted snapshot lists,
	// and what it does not list yet.
	newer := map[string]int64{}
	list := func(role string, version int64) {
		switch role {
		case RoleRoot, RoleSnapshot, RoleTimestamp:
		default:
			newer[role+".json"] = version
		}
	}
	var trusted *repoverify.SnapshotEntries
	if repo != nil {
		trusted = repo.SnapshotEntries
		snap.Version = trusted.Version() + 1
		for role, m := range repo.PublishedProjects {
			list(role, m.Signed.Version)
		}
	}
	for _, r := range s.Roles {
		list(r.Role, r.Version)
	}
	for _, r := range online {
		list(r.Role, r.Version)
	}
	var added []string
	for name := range newer {
		if trusted == nil || trusted.Meta(name) == nil {
			added = append(added, name)
		}
	}
	slices.Sort(added)
	listed := len(added)
	if trusted != nil {
		listed += trusted.Len()
	}
	// The entries are written in order, the trusted ones merged with the
	// added ones, without a map of them all.
	snap.ListEach(func(yield func(string, *roles.MetaFile) bool) {
		var mf roles.MetaFile
		give := func(name string, version int64) bool {
			if v, ok := newer[name]; ok {
				version = v
			}
			mf.Version = version
			return yield(name, &mf)
		}
		i := 0
		if trusted != nil {
			for name, e := range trusted.All() {
				for ; i < len(added) && added[i] < name; i++ {
					if !give(added[i], 0) {
						return
					}
				}
				if !give(name, e.Version) {
					return
				}
			}
		}
		for ; i < len(added); i++ {
			if !give(added[i], 0) {
				return
			}
		}
	})
	summary := fmt.Sprintf("snapshot v%d lists %d targets files", snap.Version, listed)
	if n := len(repo.publishedProjects()); n > 0 {
		// Said only when there are any, so that earlier transcripts'
		// summaries stay as they were recorded.
		summary += fmt.Sprintf(", with the metadata %d projects' maintainers published since snapshot v%d", n, trusted.Version())
	}
	b, err := roles.New(snap).MarshalJSON()
	if err != nil {
		return nil, err
	}
	return &Staged{Role: RoleSnapshot, Version: snap.Version, Online: true, Metadata: b, Summary: []string{summary}}, nil
}

// published returns the role's file with its signatures, as published.
// It is worked out once for a set of signatures: publishing asks for a
// snapshot of 600,000 entries several times (the timestamp hashes it,
// the check before writing and the writing read it).
func (r *RoleState) published() ([]byte, error) {
	if err := r.Load(); err != nil {
		return nil, err
	}
	sigs := r.signatures()
	var key strings.Builder
	for _, s := range sigs {
		fmt.Fprintf(&key, "%d:%s%d:%s", len(s.KeyID), s.KeyID, len(s.Sig), s.Sig)
	}
	if r.pub != nil && r.pub.sigs == key.String() {
		return r.pub.b, nil
	}
	b, err := r.withSignatures(sigs)
	if err != nil {
		return nil, err
	}
	r.pub = &publishedMemo{key.String(), b}
	// The file's signed part is as a rule the canonical bytes: then the
	// role holds one copy of its bytes, not two (at PyPI's scale its bins
	// are 20 MB).
	if view := roles.SignedView(b, r.Canonical); view != nil {
		r.Metadata, r.Canonical = b, view
	}
	return b, nil
}

// publishedMemo is published's result, and the signatures it holds.
type publishedMemo struct {
	sigs string
	b    []byte
}

// withSignatures is the role's file with sigs: as a rule made from its
// bytes as they are, else parsed and written again.
func (r *RoleState) withSignatures(sigs []roles.Signature) ([]byte, error) {
	if b, ok := roles.ReplaceSignatures(r.Metadata, r.Canonical, sigs); ok {
		return b, nil
	}
	var m interface {
		MarshalJSON() ([]byte, error)
	}
	switch r.Role {
	case RoleRoot:
		x, err := roles.Parse[*roles.Root](r.Metadata)
		if err != nil {
			return nil, err
		}
		x.Signatures = sigs
		m = x
	case RoleRevocations:
		x, err := roles.Parse[*roles.Revocations](r.Metadata)
		if err != nil {
			return nil, err
		}
		x.Signatures = sigs
		m = x
	case RoleSnapshot:
		x, err := roles.Parse[*roles.Snapshot](r.Metadata)
		if err != nil {
			return nil, err
		}
		x.Signatures = sigs
		m = x
	case RoleTimestamp:
		x, err := roles.Parse[*roles.Timestamp](r.Metadata)
		if err != nil {
			return nil, err
		}
		x.Signatures = sigs
		m = x
	default:
		x, err := roles.Parse[*roles.Targets](r.Metadata)
		if err != nil {
			return nil, err
		}
		x.Signatures = sigs
		m = x
	}
	return m.MarshalJSON()
}

// fileNames are the names a role is published under (consistent
// snapshots; root also as root.json, timestamp only as timestamp.json).
func (r *RoleState) fileNames() []string {
	switch r.Role {
	case RoleTimestamp:
		return []string{"timestamp.json"}
	case RoleRoot:
		return []string{fmt.Sprintf("%d.root.json", r.Version), "root.json"}
	}
	return []string{fmt.Sprintf("%d.%s.json", r.Version, r.Role)}
}

// PublishResult says what publishing wrote.
type PublishResult struct {
	Dir   string
	Files []string
}

// Errors of publishing the faces tell apart.
var (
	// ErrConflict is wrapped when an output already exists with other
	// bytes.
	ErrConflict = errors.New("output exists")
	// ErrWrite is wrapped when the publish folder cannot be written: it
	// is read-only, full, or a file in it is immutable.
	ErrWrite = errors.New("cannot write the publish folder")
)

// ReadyToPublish says whether Publish may go on, without touching any
// device: nil once every role the people in the room sign reaches every
// threshold, or when a publish cut short waits to be finished; otherwise
// why not (ErrState, ErrNotSigned naming who is missing). Faces ask it
// before they open the online key, so that a missing signature is
// reported before any device problem.
func (e *Engine) ReadyToPublish() error {
	st := e.st
	if err := st.ended(); err != nil {
		return err
	}
	switch {
	case st.Published:
		return fmt.Errorf("%w: already published", ErrState)
	case st.publishing != nil:
		return nil
	case !st.Done():
		return fmt.Errorf("%w: %s", ErrNotSigned, st.missingSummary())
	}
	return nil
}

// Publish is PublishInto the folder the ceremony was started with.
func (e *Engine) Publish(online crypto.Signer, dev *hsm.Device) (*PublishResult, error) {
	return e.PublishInto("", online, dev)
}

// PublishInto publishes the ceremony into dir (empty: the folder it was
// started with, relative to the workspace) once every offline role
// reaches every threshold. With an online signer it first stages and
// signs the online roles (snapshot, timestamp; for a bootstrap
// recently-claimed and the unclaimed bins), so the result is a repository
// a stock client refreshes; without one it publishes the offline roles
// for the online service to pick up.
//
// Its last step before anything is recorded or written is the full
// repository verification `ceremony verify` runs, over the folder as it
// would be once published, as of the reference time and, when the engine
// has a clock (Options.Now), as of the machine's clock: a repository that
// would not verify, or is expired already, is refused, naming the
// checks. (Without an online signer, the snapshot and timestamp the
// online service would make stand in for the checking.) Versions are
// never written over with other bytes. Files are written atomically; a
// publish cut short by a crash is finished by calling Publish again, into
// the same folder.
func (e *Engine) PublishInto(dir string, online crypto.Signer, dev *hsm.Device) (*PublishResult, error) {
	if err := e.ReadyToPublish(); err != nil {
		return nil, err
	}
	if dir != "" {
		var err error
		if dir, err = filepath.Abs(dir); err != nil {
			return nil, err
		}
	}
	if e.st.publishing == nil {
		if dir == "" {
			dir = e.st.PublishDir
		}
		// The online roles are staged from the trusted repository: read
		// and verify it now, where the wait can be shown.
		if _, err := e.st.loadRepository(e.progress.step("verifying the trusted repository")); err != nil {
			return nil, err
		}
		if err := e.startPublishing(dir, online, dev); err != nil {
			return nil, err
		}
	} else if dir != "" && filepath.Clean(dir) != filepath.Clean(e.st.publishing.Dir) {
		return nil, fmt.Errorf("%w: publishing started into %s and was cut short: finish it there (publish without --into), then publish elsewhere by copying the folder", ErrState, e.st.publishing.Dir)
	}
	return e.finishPublishing()
}

// startPublishing signs the online roles, checks the repository as it
// would be published into dir, and records publish.started: all of it
// admitted on a copy of the state first, so that a refusal records
// nothing.
func (e *Engine) startPublishing(dir string, online crypto.Signer, dev *hsm.Device) error {
	b := e.batch()
	if online != nil {
		if err := b.signOnline(online, dev); err != nil {
			return err
		}
	}
	if err := b.st.reachedAll(); err != nil {
		return err
	}
	_, rel, err := workspaceRelative(filepath.Dir(e.tpath), dir)
	if err != nil {
		return err
	}
	pd := publishData{Dir: rel}
	if pd.Files, err = b.st.publishFiles(); err != nil {
		return err
	}
	if err := checkVersions(dir, pd.Files); err != nil {
		return err
	}
	if err := b.st.verifyStaged(dir, e.clock(), false, e.progress.step("verifying the repository as it will be published")); err != nil {
		return err
	}
	if err := probeWritable(dir); err != nil {
		return err
	}
	if err := b.add(eventPublishStarted, pd); err != nil {
		return err
	}
	return e.write(b)
}

// finishPublishing writes the files publish.started recorded that are not
// on disk yet, and records publish.finished.
func (e *Engine) finishPublishing() (*PublishResult, error) {
	pd := e.st.publishing
	if err := os.MkdirAll(pd.Dir, 0o755); err != nil {
		return nil, writeError(pd.Dir, err)
	}
	removeTemporaries(pd.Dir, pd.Files)
	files, err := e.st.publishedFiles()
	if err != nil {
		return nil, err
	}
	res := &PublishResult{Dir: pd.Dir}
	for i, f := range files {
		if err := writePublished(pd, f); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, f.name)
		e.progress.report("writing files", i+1, len(files))
	}
	if err := e.record(eventPublishFinished, struct{}{}); err != nil {
		return nil, err
	}
	return res, nil
}

// clock is the machine's clock, or the zero time when the engine has none.
func (e *Engine) clock() time.Time {
	if e.now == nil {
		return time.Time{}
	}
	return e.now().UTC()
}

// publishedFile is one file publishing writes, with its bytes.
type publishedFile struct {
	name string
	b    []byte
}

// current reports whether the file is a pointer a later ceremony moves
// on (root.json, timestamp.json), not a version that never changes.
func (f publishedFile) current() bool { return f.name == "root.json" || f.name == "timestamp.json" }

// publishedFiles are the files the staged roles give, with the
// signatures they have so far.
func (s *State) publishedFiles() ([]publishedFile, error) {
	var out []publishedFile
	for _, r := range s.Roles {
		b, err := r.published()
		if err != nil {
			return nil, err
		}
		for _, name := range r.fileNames() {
			out = append(out, publishedFile{name, b})
		}
	}
	return out, nil
}

// publishFiles lists publishedFiles as publish.started records them.
func (s *State) publishFiles() ([]publishFile, error) {
	files, err := s.publishedFiles()
	if err != nil {
		return nil, err
	}
	out := make([]publishFile, len(files))
	for i, f := range files {
		out[i] = publishFile{Name: f.name, SHA256: digestOf(f.b), Length: len(f.b)}
	}
	return out, nil
}

// reachedAll refuses unless every staged role reaches every threshold,
// the online roles' included.
func (s *State) reachedAll() error {
	if len(s.Roles) == 0 {
		return fmt.Errorf("%w: nothing is staged", ErrState)
	}
	var online bool
	for _, p := range s.Progress() {
		if !p.Reached && s.Role(p.Role).Online {
			online = true
		}
	}
	if msg := s.missingSummary(); msg != "" {
		if online {
			msg += "; the online roles are signed with the online key: give it to publish"
		}
		return fmt.Errorf("%w: %s", ErrNotSigned, msg)
	}
	return nil
}

// checkVersions refuses, before anything is recorded, to publish over an
// existing version with other bytes, or into a folder that cannot be
// read (a file in its place, say).
func checkVersions(dir string, files []publishFile) error {
	for _, f := range files {
		if f.Name == "root.json" || f.Name == "timestamp.json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return writeError(dir, err)
		}
		if got := digestOf(b); got != f.SHA256 {
			return versionConflict(dir, f.Name, got, f.SHA256)
		}
	}
	return nil
}

// probeWritable finds a folder that cannot be written before publishing is
// recorded as started: it makes the folder if need be, and a file in it,
// which it removes.
func probeWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return writeError(dir, err)
	}
	probe, err := os.CreateTemp(dir, "."+probeName+tempInfix+"*")
	if err != nil {
		return writeError(dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// versionConflict is the refusal to write a version over other bytes.
func versionConflict(dir, name, onDisk, ours string) error {
	return fmt.Errorf("%w: %s in %s has SHA-256 %s, and this ceremony's %s has SHA-256 %s; a version is never written over. Either that folder moved on since this ceremony started (another ceremony or the online service published that version): start a new ceremony from the repository as it is now; or publish this ceremony into a copy of the repository as it was, with 'ceremony publish --into DIR'",
		ErrConflict, name, dir, onDisk, name, ours)
}

// writeError says what to do about a publish folder that refused a write.
func writeError(dir string, err error) error {
	return fmt.Errorf("%w %s: %w: make the folder writable (a read-only mount, permissions, a full disk, an immutable file), then run 'ceremony publish' again: publishing goes on where it stopped", ErrWrite, dir, err)
}

// The names of this package's temporary files in a publish folder:
// WriteFileAtomic's ".NAME.tmp-RANDOM", and the one probeWritable makes.
const (
	tempInfix = ".tmp-"
	probeName = "publish-probe"
)

// removeTemporaries removes the temporary files a publish killed midway
// left in dir: only names this package makes, for the files publishing
// writes.
func removeTemporaries(dir string, files []publishFile) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	ours := map[string]bool{probeName: true}
	for _, f := range files {
		ours[f.Name] = true
	}
	for _, en := range ents {
		base, _, ok := strings.Cut(strings.TrimPrefix(en.Name(), "."), tempInfix)
		if ok && strings.HasPrefix(en.Name(), ".") && ours[base] && en.Type().IsRegular() {
			os.Remove(filepath.Join(dir, en.Name()))
		}
	}
}

// writePublished writes one file publish.started recorded: a file
// already there with the same bytes (written before a crash) is left as
// it is; a version there with other bytes is never replaced.
func writePublished(pd *publishData, f publishedFile) error {
	var want *publishFile
	for i := range pd.Files {
		if pd.Files[i].Name == f.name {
			want = &pd.Files[i]
		}
	}
	ours := digestOf(f.b)
	if want == nil || want.SHA256 != ours {
		return fmt.Errorf("%s is not what publishing recorded: the transcript and the state disagree", f.name)
	}
	path := filepath.Join(pd.Dir, f.name)
	cur, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(cur, f.b):
		return nil // written before a crash; nothing to do
	case err == nil && !f.current():
		return versionConflict(pd.Dir, f.name, digestOf(cur), ours)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return writeError(pd.Dir, err)
	}
	if err := WriteFileAtomic(path, f.b, 0o644); err != nil {
		return writeError(pd.Dir, err)
	}
	return nil
}

// WriteFileAtomic writes a file so that it is either wholly there or not
// at all: a temporary file in the same folder, fsynced, renamed into
// place, and the folder fsynced.
func WriteFileAtomic(path string, b []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// signOnline stages the online roles into the batch and signs them with
// the online key, the timestamp last because it hashes the signed
// snapshot.
func (b *batch) signOnline(online crypto.Signer, dev *hsm.Device) error {
	st := b.st
	if st.Plan.Online == nil {
		return fmt.Errorf("%w: the plan names no online key (it has no online: section), so publishing signs no online roles: publish without an online key, and the online service signs snapshot and timestamp", ErrWrongKey)
	}
	key, err := roles.KeyFromPublic(online.Public())
	if err != nil {
		return err
	}
	_, want := st.Plan.participant(st.Plan.Online.Participant)
	if key.ID() != want.ID() {
		return fmt.Errorf("%w: the online key given is %s, the plan's online key is %s", ErrWrongKey, roles.ShortID(key.ID()), roles.ShortID(want.ID()))
	}
	for round := 0; round < 2; round++ {
		staged, err := st.stageOnline(false)
		if err != nil {
			return err
		}
		for _, s := range staged {
			if st.Role(s.Role) == nil {
				if err := b.stage(s); err != nil {
					return err
				}
			}
			r := st.Role(s.Role)
			if r.signedBy(key.ID()) {
				continue // signed before a crash
			}
			if err := r.Load(); err != nil {
				return err
			}
			sig, err := roles.Sign(online, key, r.Canonical)
			if err != nil {
				return fmt.Errorf("sign %s with the online key: %w", s.Role, err)
			}
			if err := b.add(eventSigned, signedData{Role: s.Role, KeyID: key.ID(), Sig: hex.EncodeToString(sig.Sig),
				Signer: st.Plan.Online.Participant, Via: "online", Device: dev}); err != nil {
				return err
			}
		}
	}
	if st.Role(RoleTimestamp) == nil {
		return fmt.Errorf("the timestamp could not be staged")
	}
	return nil
}

// missingSummary says who still has to sign what.
func (s *State) missingSummary() string {
	var parts []string
	for _, p := range s.Progress() {
		if !p.Reached {
			parts = append(parts, fmt.Sprintf("%s under %s has %d of %d signatures (may still sign: %s)",
				p.Role, p.Under, len(p.Signed), p.Threshold, strings.Join(p.Missing, ", ")))
		}
	}
	return strings.Join(parts, "; ")
}
