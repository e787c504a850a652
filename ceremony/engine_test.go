package ceremony

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// people are in-memory keys standing in for the participants' devices;
// the signing path is the same one device signers take (crypto.Signer).
type people map[string]crypto.Signer

func newPeople(t *testing.T, dir string, names ...string) people {
	t.Helper()
	ps := people{}
	for i, n := range names {
		var s crypto.Signer
		if i%2 == 0 {
			_, s, _ = ed25519.GenerateKey(rand.Reader)
		} else {
			s, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
		ps[n] = s
		writeKeyFile(t, filepath.Join(dir, n+".json"), s.Public())
	}
	return ps
}

func writeKeyFile(t *testing.T, path string, pub crypto.PublicKey) string {
	k, err := roles.KeyFromPublic(pub)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"keyid": k.ID(), "key": k})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return k.ID()
}

func (ps people) id(n string) string {
	k, _ := roles.KeyFromPublic(ps[n].Public())
	return k.ID()
}

func (ps people) participants(names ...string) string {
	var b strings.Builder
	b.WriteString("participants:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - {name: %s, key_file: %s.json, keyid: %s}\n", n, n, ps.id(n))
	}
	return b.String()
}

func writePlan(t *testing.T, dir, name, body string) *Plan {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func signAllAs(t *testing.T, e *Engine, ps people, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := e.Sign(ps[n], nil); err != nil {
			t.Fatalf("%s signs: %v", n, err)
		}
	}
}

const bootstrapPlan = `ceremony: bootstrap-test
reference_time: 2026-11-01T00:00:00Z
allow_network: true
root: {add: [alice, bob, carol], threshold: 2}
targets:
  add: [alice, bob, carol]
  threshold: 2
  claimed: {add: [dave, erin], threshold: 2}
online: {participant: online, unclaimed_bin_bits: 2}
`

func TestBootstrapThenQuarterly(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "frank", "maint1", "maint2")
	plan := writePlan(t, dir, "bootstrap.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	ws := filepath.Join(dir, "ws1")
	e, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Publish(ps["online"], nil); !errors.Is(err, ErrNotSigned) {
		t.Fatalf("publish before signing: %v", err)
	}
	signAllAs(t, e, ps, "alice", "bob", "dave", "erin")
	if _, err := e.Sign(ps["alice"], nil); !errors.Is(err, ErrState) {
		t.Errorf("signing twice: %v", err)
	}
	res, err := e.Publish(ps["online"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2+1+1+1+1+1+4+1+1 {
		t.Errorf("published %d files: %v", len(res.Files), res.Files)
	}
	// The fold of the transcript is the live state.
	st, err := Fold(e.TranscriptPath())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Published || len(st.Roles) != len(e.State().Roles) {
		t.Errorf("fold: published %v, %d roles", st.Published, len(st.Roles))
	}
	e.Release()

	// The quarterly ceremony starts from what was published.
	meta := filepath.Join(ws, "metadata")
	trusted, _ := os.ReadFile(filepath.Join(meta, "1.root.json"))
	os.WriteFile(filepath.Join(dir, "trusted-root.json"), trusted, 0o644)
	projects := map[string]any{"projects": []any{
		map[string]any{"name": "sampleproject", "threshold": 1, "keys": []any{keyJSON(t, ps["maint1"])}},
		map[string]any{"name": "requests", "threshold": 1, "keys": []any{keyJSON(t, ps["maint2"])}},
	}}
	pb, _ := json.Marshal(projects)
	os.WriteFile(filepath.Join(dir, "projects.json"), pb, 0o644)
	q := writePlan(t, dir, "q.yaml", `ceremony: quarterly-test
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: trusted-root.json, metadata: ws1/metadata}
root: {add: [frank], remove: [carol], threshold: 3}
targets:
  claimed: {add: [frank], remove: [erin], threshold: 2}
claimed: {projects_file: projects.json}
online: {participant: online}
`+ps.participants("alice", "bob", "carol", "dave", "erin", "online", "frank"))
	e2, err := Begin(filepath.Join(dir, "ws2"), q, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Release()
	rootSummary := strings.Join(e2.State().Role(RoleRoot).Summary, "\n")
	for _, want := range []string{"root v1 → v2", "threshold 2 of 3 → 3 of 3", "adds key " + ps.id("frank")[:16] + " (frank)", "removes key " + ps.id("carol")[:16] + " (carol)"} {
		if !strings.Contains(rootSummary, want) {
			t.Errorf("root summary lacks %q:\n%s", want, rootSummary)
		}
	}
	// The projects moved into claimed are published with their
	// maintainers' metadata: a delegation to metadata not there would not
	// verify.
	for name, maint := range map[string]string{"sampleproject": "maint1", "requests": "maint2"} {
		if err := e2.Include(name, projectMetadata(t, ps[maint], name, q.ReferenceTime.AddDate(0, 1, 0))); err != nil {
			t.Fatal(err)
		}
	}
	// Root v2 needs 2 of root v1's keys and 3 of its own.
	signAllAs(t, e2, ps, "alice", "bob")
	if e2.State().Done() {
		t.Fatal("done after two signatures")
	}
	signAllAs(t, e2, ps, "frank", "dave")
	if !e2.State().Done() {
		t.Fatalf("not done: %s", e2.State().missingSummary())
	}
	if _, err := e2.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	// The new repository loads from the pinned root v1 through root v2.
	repo, err := LoadRepo(meta, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if repo.Root.Signed.Version != 2 || repo.Claimed.Signed.Delegations.Role("sampleproject") == nil {
		t.Errorf("loaded root v%d; claimed has %d roles", repo.Root.Signed.Version, len(repo.Claimed.Signed.Delegations.Roles))
	}
}

func keyJSON(t *testing.T, s crypto.Signer) json.RawMessage {
	k, err := roles.KeyFromPublic(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPublishedRepositoryLoadsInGoTUF: go-tuf v2's client-side trusted
// metadata, an implementation we did not write, accepts what two
// ceremonies published: the root chain, timestamp, snapshot, targets,
// claimed, a project delegation's keys, recently-claimed and an unclaimed
// bin.
func TestPublishedRepositoryLoadsInGoTUF(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "frank")
	plan := writePlan(t, dir, "bootstrap.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e, err := Begin(filepath.Join(dir, "ws"), plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	signAllAs(t, e, ps, "alice", "carol", "dave", "erin")
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	e.Release()
	meta := filepath.Join(dir, "ws", "metadata")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(meta, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tm, err := gotufTrusted(read("1.root.json"), plan.ReferenceTime.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.UpdateTimestamp(read("timestamp.json")); err != nil {
		t.Fatalf("go-tuf timestamp: %v", err)
	}
	if _, err := tm.UpdateSnapshot(read("1.snapshot.json"), false); err != nil {
		t.Fatalf("go-tuf snapshot: %v", err)
	}
	if _, err := tm.UpdateTargets(read("1.targets.json")); err != nil {
		t.Fatalf("go-tuf targets: %v", err)
	}
	for _, d := range []struct{ role, parent string }{
		{RoleClaimed, "targets"}, {RoleRecentlyClaimed, "targets"}, {RoleUnclaimed, "targets"}, {"unclaimed-2", RoleUnclaimed},
	} {
		if _, err := tm.UpdateDelegatedTargets(read("1."+d.role+".json"), d.role, d.parent); err != nil {
			t.Errorf("go-tuf %s: %v", d.role, err)
		}
	}
}

// TestIncludeProjectMetadata: a project's metadata signed by its
// maintainer is published with the ceremony and listed in snapshot; one
// signed by another key is refused.
func TestIncludeProjectMetadata(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "maint1", "mallory")
	pb, _ := json.Marshal(map[string]any{"projects": []any{map[string]any{"name": "sampleproject", "threshold": 1, "keys": []any{keyJSON(t, ps["maint1"])}}}})
	os.WriteFile(filepath.Join(dir, "projects.json"), pb, 0o644)
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+"claimed: {projects_file: projects.json}\n"+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e, err := Begin(filepath.Join(dir, "ws"), plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Release()
	signedBy := func(who string) []byte {
		return projectMetadata(t, ps[who], "sampleproject", plan.ReferenceTime.AddDate(0, 1, 0))
	}
	if err := e.Include("sampleproject", signedBy("mallory")); !errors.Is(err, roles.ErrThreshold) {
		t.Errorf("metadata signed by another key: %v", err)
	}
	if err := e.Include("sampleproject", signedBy("maint1")); err != nil {
		t.Fatal(err)
	}
	signAllAs(t, e, ps, "alice", "bob", "dave", "erin")
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	snap, err := roles.Parse[*roles.Snapshot](mustRead(t, filepath.Join(dir, "ws", "metadata", "1.snapshot.json")))
	if err != nil {
		t.Fatal(err)
	}
	if mf := snap.Signed.Meta["sampleproject.json"]; mf == nil || mf.Version != 1 {
		t.Errorf("snapshot does not list sampleproject.json: %v", snap.Signed.Meta)
	}
	if _, err := Fold(e.TranscriptPath()); err != nil {
		t.Errorf("fold: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpeningEventNamesTheTool: the opening event records the tool as the
// CLI describes it: version, commit, whether the tree was modified, the
// binary's digest. A build that knows no commit (a tarball's, or any
// before the commit was stamped) writes exactly what earlier releases
// wrote, and such a transcript folds, resumes and replays.
func TestOpeningEventNamesTheTool(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	plan := writePlan(t, dir, "bootstrap.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	commit, binary := strings.Repeat("c0", 20), strings.Repeat("b1", 32)
	for i, c := range []struct {
		tool Tool
		want string // the opening event's tool member
	}{
		{Tool{Version: "0.1.0", Commit: commit, Modified: true, Binary: binary},
			`{"version":"0.1.0","commit":"` + commit + `","modified":true,"binary_sha256":"` + binary + `"}`},
		{Tool{Version: "0.1.0", Commit: commit, Binary: binary},
			`{"version":"0.1.0","commit":"` + commit + `","binary_sha256":"` + binary + `"}`},
		{Tool{Version: "0.1.0-dev", Binary: binary},
			`{"version":"0.1.0-dev","binary_sha256":"` + binary + `"}`},
	} {
		ws := filepath.Join(dir, fmt.Sprintf("ws%d", i))
		e, err := Begin(ws, plan, Options{Tool: c.tool})
		if err != nil {
			t.Fatal(err)
		}
		tpath := e.TranscriptPath()
		e.Release()
		f, err := os.Open(tpath)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for ev, err := range transcripts.Events(f) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type == eventOpened {
				var d struct{ Tool json.RawMessage }
				if err := json.Unmarshal(ev.Data, &d); err != nil {
					t.Fatal(err)
				}
				got = string(d.Tool)
			}
		}
		f.Close()
		if got != c.want {
			t.Errorf("the opening event records tool %s, want %s", got, c.want)
		}
		st, err := Fold(tpath)
		if err != nil || st.Tool != c.tool {
			t.Fatalf("fold: %+v, %v; want tool %+v", st, err, c.tool)
		}
		if e, err = Resume(ws, Options{}); err != nil {
			t.Fatalf("resume: %v", err)
		}
		e.Release()
		if _, err := Replay(tpath, ""); err != nil {
			t.Errorf("replay: %v", err)
		}
	}
}
