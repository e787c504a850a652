package ceremony

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// The fold cache keeps, outside the workspace, what a fold worked out
// from a transcript up to a given head, so that the next command on the
// same ceremony folds only the events added since: without it, every
// command (status, a root signer's sign) would read, parse and verify the
// whole trusted repository and every staged role again, which at PyPI's
// scale costs seconds.
//
// An entry is named by the SHA-256 of the tool's build and the
// transcript's head at the last event the entry holds; the head names, by
// the hash chain, every event before it and so every artifact by digest.
// A copy of the workspace takes the entry up as well: the entry keeps
// folders as the transcript records them, relative to the workspace, and
// bytes are read from the copy's own artifacts.
// The entry holds the state's small parts (each role's version, digests,
// summary, checks, required delegations, signatures and progress) and
// names the large ones (the plan, the trusted files, each role's
// metadata) by artifact digest; those are read from the transcript's own
// artifacts, verified against their digests, only when a command needs
// them (RoleState.Load, State.repository).
//
// An entry is untrusted input: it is read bounded and decoded strictly,
// and one whose own digest, head, path, build or format does not match is
// ignored, as is any entry when anything about it is wrong; the fold then
// runs from the transcript, as it always may. Bytes anyone signs are
// never taken from it: Load reads them from the transcript's artifacts
// and checks them against the digest the transcript records. Publishing
// verifies the repository from the bytes; `transcript replay` and
// `transcript verify` never read the cache. Writing an entry changes no
// file in the workspace, so read-only commands may write one.
//
// CEREMONY_CACHE_DIR names the cache's folder; "off" turns it off. It is
// os.UserCacheDir()/ceremony by default.

// foldCacheFormat changes whenever an entry's meaning does.
const foldCacheFormat = 4

// maxFoldEntry bounds what is read of an entry.
const maxFoldEntry = 64 << 20

type foldEntry struct {
	Format     int                  `json:"format"`
	Head       string               `json:"head"`
	Plan       transcripts.Artifact `json:"plan"`
	Tool       Tool                 `json:"tool"`
	PublishDir string               `json:"publish_dir"`
	StartClock time.Time            `json:"start_clock"`
	RefAllowed bool                 `json:"reference_time_allowed"`
	Loaded     *loadedData          `json:"loaded"`
	Roles      []foldRole           `json:"roles"`
	// Expected names the roles the plan stages, every one of them staged
	// (an entry is kept only then): it is what unstaged needs.
	Expected   []string     `json:"expected"`
	Published  bool         `json:"published"`
	Closed     bool         `json:"closed"`
	Aborted    bool         `json:"aborted"`
	Reason     string       `json:"abort_reason"`
	Publishing *publishData `json:"publishing"`
	Rules      int          `json:"rules"`
}

type foldRole struct {
	Role       string               `json:"role"`
	Version    int64                `json:"version"`
	Online     bool                 `json:"online"`
	Included   bool                 `json:"included"`
	Metadata   transcripts.Artifact `json:"metadata"`
	Digest     string               `json:"digest"`
	Summary    []string             `json:"summary"`
	Checks     roles.Findings       `json:"checks"`
	Required   []foldDelegation     `json:"required"`
	Signatures []foldSignature      `json:"signatures"`
	Progress   []Progress           `json:"progress"`
	// ProjectReview is State.ProjectReview's.
	ProjectReview []string `json:"project_review"`
}

type foldDelegation struct {
	Role      string                     `json:"role"`
	KeyIDs    []string                   `json:"keyids"`
	Threshold int64                      `json:"threshold"`
	Keys      map[string]json.RawMessage `json:"keys"`
}

type foldSignature struct {
	KeyID         string      `json:"keyid"`
	Sig           string      `json:"sig"`
	Signer        string      `json:"signer"`
	Via           string      `json:"via"`
	Device        *hsm.Device `json:"device,omitempty"`
	ClaimedDevice *hsm.Device `json:"claimed_device,omitempty"`
}

// An entry on disk is the SHA-256 of its JSON in hex, a newline, and the
// JSON: the digest is checked before the JSON is parsed, once.

// sealFold returns an entry's JSON as it is kept on disk.
func sealFold(body []byte) []byte {
	sum := sha256.Sum256(body)
	return append([]byte(hex.EncodeToString(sum[:])+"\n"), body...)
}

// unsealFold returns the JSON of an entry kept on disk, if it matches
// its digest.
func unsealFold(b []byte) ([]byte, error) {
	digest, body, ok := bytes.Cut(b, []byte("\n"))
	sum := sha256.Sum256(body)
	if !ok || string(digest) != hex.EncodeToString(sum[:]) {
		return nil, errors.New("entry does not match its digest")
	}
	return body, nil
}

// foldCacheDir returns the cache's folder, or "" when it is off.
func foldCacheDir() string {
	switch d := os.Getenv("CEREMONY_CACHE_DIR"); d {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "ceremony", "fold")
	default:
		return d
	}
}

// buildID names the running binary: its module build information and the
// executable's size and time, so that an entry one build wrote is not
// read by another, whose checks may differ.
var buildID = sync.OnceValue(func() string {
	h := sha256.New()
	fmt.Fprintf(h, "format %d\n", foldCacheFormat)
	if bi, ok := debug.ReadBuildInfo(); ok {
		h.Write([]byte(bi.String()))
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			fmt.Fprintf(h, "%s %d %d\n", exe, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
})

// foldEntryPath returns where the entry for a transcript up to head is
// kept, or "" when the cache is off.
func foldEntryPath(head transcripts.Digest) string {
	dir := foldCacheDir()
	if dir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(buildID() + "\n" + head.String()))
	return filepath.Join(dir, hex.EncodeToString(sum[:])+".json")
}

// storeFold keeps st, folded from the transcript at tpath up to head, in
// the cache. It keeps nothing of a state the cache cannot restore (a start
// cut short) or of a closed one, whose checkpoint signing folds its few
// remaining events from the transcript, and a failure to write is no
// error: the cache only saves work.
func storeFold(tpath string, head transcripts.Digest, st *State) {
	p := foldEntryPath(head)
	if p == "" || st.Plan == nil || len(st.unstaged()) > 0 || st.tpath != tpath || st.Closed {
		return
	}
	if _, err := os.Stat(p); err == nil {
		return // kept already
	}
	e := foldEntry{Format: foldCacheFormat, Head: head.String(), Plan: st.planArt, Tool: st.Tool,
		PublishDir: st.recordedDirs[0], StartClock: st.StartClock, RefAllowed: st.ReferenceTimeAllowed, Loaded: st.loaded,
		Published: st.Published, Closed: st.Closed, Aborted: st.Aborted, Reason: st.AbortReason, Rules: st.Rules}
	if st.publishing != nil {
		pd := *st.publishing
		pd.Dir = st.recordedDirs[1]
		e.Publishing = &pd
	}
	st.Progress() // works out each role's, kept with it
	for _, r := range st.Roles {
		st.ProjectReview(r.Role) // likewise
	}
	for _, x := range st.expected {
		e.Expected = append(e.Expected, x.Role)
	}
	for _, r := range st.Roles {
		fr := foldRole{Role: r.Role, Version: r.Version, Online: r.Online, Included: r.Included, Metadata: r.meta,
			Digest: r.Digest, Summary: r.Summary, Checks: r.Checks, Progress: r.progress, ProjectReview: r.projectReview}
		for _, d := range r.Required {
			fd := foldDelegation{Role: d.Role, KeyIDs: d.KeyIDs, Threshold: d.Threshold, Keys: map[string]json.RawMessage{}}
			for id, k := range d.Keys {
				b, err := k.MarshalJSON()
				if err != nil {
					return
				}
				fd.Keys[id] = b
			}
			fr.Required = append(fr.Required, fd)
		}
		for _, s := range r.Signatures {
			fr.Signatures = append(fr.Signatures, foldSignature{KeyID: s.KeyID, Sig: hex.EncodeToString(s.Sig), Signer: s.Signer,
				Via: s.Via, Device: s.Device, ClaimedDevice: s.ClaimedDevice})
		}
		e.Roles = append(e.Roles, fr)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(p), 0o700) != nil {
		return
	}
	_ = WriteFileAtomic(p, sealFold(body), 0o600)
}

// loadFold restores the state the cache keeps for the transcript at
// tpath up to head, or returns nil: no entry, or one that is not right in
// every respect.
func loadFold(tpath string, head transcripts.Digest) *State {
	p := foldEntryPath(head)
	if p == "" {
		return nil
	}
	if _, err := os.Lstat(p); err != nil {
		return nil
	}
	b, err := boundedfile.Read(p, boundedfile.Limit{What: "a fold cache entry", Max: maxFoldEntry})
	if err != nil {
		return nil
	}
	st, err := restoreFold(tpath, head, b)
	if err != nil {
		return nil
	}
	return st
}

func restoreFold(tpath string, head transcripts.Digest, b []byte) (*State, error) {
	body, err := unsealFold(b)
	if err != nil {
		return nil, err
	}
	var e foldEntry
	if err := strictJSON(body, &e); err != nil {
		return nil, err
	}
	if e.Format != foldCacheFormat || e.Head != head.String() {
		return nil, errors.New("entry is for another head or format")
	}
	planJSON, err := transcripts.ReadArtifact(tpath, e.Plan)
	if err != nil {
		return nil, err
	}
	var plan Plan
	if err := json.Unmarshal(planJSON, &plan); err != nil {
		return nil, err
	}
	if err := plan.validate(); err != nil {
		return nil, err
	}
	src := eventSource{tpath: tpath}
	st := &State{Plan: &plan, Tool: e.Tool, PublishDir: src.path(e.PublishDir), StartClock: e.StartClock, ReferenceTimeAllowed: e.RefAllowed,
		Published: e.Published, Closed: e.Closed, Aborted: e.Aborted, AbortReason: e.Reason, Rules: e.Rules,
		planArt: e.Plan, loaded: e.Loaded, tpath: tpath}
	st.recordedDirs[0] = e.PublishDir
	if e.Publishing != nil {
		if e.Publishing.Dir == "" {
			return nil, errors.New("entry's publishing names no folder")
		}
		pd := *e.Publishing
		st.recordedDirs[1], pd.Dir = pd.Dir, src.path(pd.Dir)
		st.publishing = &pd
	}
	if (plan.Start == nil) != (e.Loaded == nil) {
		return nil, errors.New("entry's trusted state does not fit its plan")
	}
	if e.Loaded != nil {
		if st.TrustedRoot, err = transcripts.ReadArtifact(tpath, e.Loaded.TrustedRoot); err != nil {
			return nil, err
		}
	}
	for _, fr := range e.Roles {
		r := &RoleState{Staged: Staged{Role: fr.Role, Version: fr.Version, Online: fr.Online, Summary: fr.Summary, Checks: fr.Checks},
			Digest: fr.Digest, Included: fr.Included, meta: fr.Metadata, tpath: tpath, progress: fr.Progress, projectReview: fr.ProjectReview}
		if r.progress == nil || r.projectReview == nil || st.Role(r.Role) != nil {
			return nil, errors.New("entry's roles are not whole")
		}
		for _, fd := range fr.Required {
			d := roles.Delegation{Role: fd.Role, KeyIDs: fd.KeyIDs, Threshold: fd.Threshold, Keys: map[string]*roles.Key{}}
			for id, kb := range fd.Keys {
				k, err := roles.ParseKey(kb)
				if err != nil {
					return nil, err
				}
				if k.ID() != id {
					return nil, fmt.Errorf("entry's key %s has keyid %s", id, k.ID())
				}
				d.Keys[id] = k
			}
			r.Required = append(r.Required, d)
		}
		for _, fs := range fr.Signatures {
			sig, err := hex.DecodeString(fs.Sig)
			if err != nil {
				return nil, err
			}
			r.Signatures = append(r.Signatures, SignatureRecord{Signature: roles.Signature{KeyID: fs.KeyID, Sig: sig}, Signer: fs.Signer,
				Via: fs.Via, Device: fs.Device, ClaimedDevice: fs.ClaimedDevice})
		}
		st.Roles = append(st.Roles, r)
	}
	for _, name := range e.Expected {
		if st.Role(name) == nil {
			return nil, fmt.Errorf("entry's expected role %s is not staged", name)
		}
		st.expected = append(st.expected, &Staged{Role: name})
	}
	return st, nil
}
