package ceremony

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
)

// stageOnline computes the online roles publishing adds: for a bootstrap
// recently-claimed and the unclaimed bins (empty, PEP 458), and always a
// new snapshot listing every targets role, then a timestamp naming the
// snapshot once the snapshot is signed (its bytes, which timestamp hashes,
// include the signature). Like stagePlan, it is a pure function of the state.
func (s *State) stageOnline() ([]*Staged, error) {
	p := s.Plan
	if p.Online == nil {
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
	_, online := p.participant(p.Online.Participant)
	onlineID := online.ID()
	listed := map[string]int64{}
	if s.Repo != nil {
		for name, mf := range s.Repo.Snapshot.Signed.Meta {
			listed[name] = mf.Version
		}
	}
	if s.Repo == nil {
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
	list := func(role string, version int64) {
		switch role {
		case RoleRoot, RoleSnapshot, RoleTimestamp:
			return
		}
		listed[role+".json"] = version
	}
	for _, r := range s.Roles {
		list(r.Role, r.Version)
	}
	for _, r := range out {
		list(r.Role, r.Version)
	}
	snap := roles.NewSnapshot(exp)
	if s.Repo != nil {
		snap.Version = s.Repo.Snapshot.Signed.Version + 1
	}
	for name, v := range listed {
		snap.Meta[name] = &roles.MetaFile{Version: v}
	}
	if err := add(RoleSnapshot, roles.New(snap), snap.Version, fmt.Sprintf("snapshot v%d lists %d targets files", snap.Version, len(snap.Meta))); err != nil {
		return nil, err
	}
	// The timestamp hashes the signed snapshot as it will be published.
	if sr := s.Role(RoleSnapshot); sr != nil && len(sr.Signatures) > 0 {
		pub, err := sr.published()
		if err != nil {
			return nil, err
		}
		ts := roles.NewTimestamp(p.expiry(0, defaultTimestampDays))
		if s.Repo != nil {
			ts.Version = s.Repo.Timestamp.Signed.Version + 1
		}
		ts.Meta["snapshot.json"] = roles.MetaFileFor(sr.Version, pub)
		if err := add(RoleTimestamp, roles.New(ts), ts.Version, fmt.Sprintf("timestamp v%d names snapshot v%d", ts.Version, sr.Version)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// published returns the role's file with its signatures, as published.
func (r *RoleState) published() ([]byte, error) {
	var m interface {
		MarshalJSON() ([]byte, error)
	}
	sigs := r.signatures()
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

// Publish publishes the ceremony once every offline role reaches every
// threshold. With an online signer it first stages and signs the online
// roles (snapshot, timestamp; for a bootstrap recently-claimed and the
// unclaimed bins), so the result is a repository a stock client refreshes;
// without one it publishes the offline roles for the online service to
// pick up. Files are written atomically and never over a different file;
// a publish cut short by a crash is finished by calling Publish again.
func (e *Engine) Publish(online crypto.Signer, dev *hsm.Device) (*PublishResult, error) {
	st := e.st
	if st.Published {
		return nil, fmt.Errorf("%w: already published", ErrState)
	}
	if st.publishing == nil {
		if !st.Done() {
			return nil, fmt.Errorf("%w: %s", ErrNotSigned, st.missingSummary())
		}
		if online != nil {
			if err := e.signOnline(online, dev); err != nil {
				return nil, err
			}
		}
		for _, p := range st.Progress() {
			if !p.Reached {
				return nil, fmt.Errorf("%w: %s has %d of %d signatures under %s; give the online key to sign it", ErrNotSigned, p.Role, len(p.Signed), p.Threshold, p.Under)
			}
		}
		pd := publishData{Dir: st.PublishDir}
		for _, r := range st.Roles {
			b, err := r.published()
			if err != nil {
				return nil, err
			}
			for _, name := range r.fileNames() {
				pd.Files = append(pd.Files, publishFile{Name: name, SHA256: digestOf(b), Length: len(b)})
			}
		}
		if err := e.checkWritable(pd); err != nil {
			return nil, err
		}
		if err := e.record(eventPublishStarted, pd); err != nil {
			return nil, err
		}
	}
	pd := st.publishing
	if err := os.MkdirAll(pd.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", pd.Dir, err)
	}
	res := &PublishResult{Dir: pd.Dir}
	for _, r := range st.Roles {
		b, err := r.published()
		if err != nil {
			return nil, err
		}
		for _, name := range r.fileNames() {
			if err := writePublished(pd, name, b); err != nil {
				return nil, err
			}
			res.Files = append(res.Files, name)
		}
	}
	if err := e.record(eventPublishFinished, struct{}{}); err != nil {
		return nil, err
	}
	return res, nil
}

// checkWritable refuses, before anything is recorded, to publish over an
// existing file with other bytes (root.json and timestamp.json, the
// current pointers, excepted).
func (e *Engine) checkWritable(pd publishData) error {
	for _, f := range pd.Files {
		if f.Name == "root.json" || f.Name == "timestamp.json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(pd.Dir, f.Name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if digestOf(b) != f.SHA256 {
			return fmt.Errorf("%w: %s already exists in %s with other content; versions are never overwritten: publish into another folder or start from the repository as it is", ErrConflict, f.Name, pd.Dir)
		}
	}
	return nil
}

// ErrConflict is wrapped when an output already exists.
var ErrConflict = errors.New("output exists")

func writePublished(pd *publishData, name string, b []byte) error {
	var want *publishFile
	for i := range pd.Files {
		if pd.Files[i].Name == name {
			want = &pd.Files[i]
		}
	}
	if want == nil || want.SHA256 != digestOf(b) {
		return fmt.Errorf("%s is not what publishing recorded: the transcript and the state disagree", name)
	}
	path := filepath.Join(pd.Dir, name)
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, b) {
		return nil // written before a crash; nothing to do
	}
	return WriteFileAtomic(path, b, 0o644)
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

// signOnline stages the online roles and signs them with the online key,
// the timestamp last because it hashes the signed snapshot.
func (e *Engine) signOnline(online crypto.Signer, dev *hsm.Device) error {
	st := e.st
	key, err := roles.KeyFromPublic(online.Public())
	if err != nil {
		return err
	}
	_, want := st.Plan.participant(st.Plan.Online.Participant)
	if key.ID() != want.ID() {
		return fmt.Errorf("%w: the online key given is %s, the plan's online key is %s", ErrWrongKey, short(key.ID()), short(want.ID()))
	}
	for round := 0; round < 2; round++ {
		staged, err := st.stageOnline()
		if err != nil {
			return err
		}
		for _, s := range staged {
			if st.Role(s.Role) == nil {
				if err := e.stage(s); err != nil {
					return err
				}
			}
			r := st.Role(s.Role)
			if r.signedBy(key.ID()) {
				continue // signed before a crash
			}
			sig, err := roles.Sign(online, key, r.Canonical)
			if err != nil {
				return fmt.Errorf("sign %s with the online key: %w", s.Role, err)
			}
			if err := e.record(eventSigned, signedData{Role: s.Role, KeyID: key.ID(), Sig: hex.EncodeToString(sig.Sig),
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
