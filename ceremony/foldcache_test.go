package ceremony

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain keeps the fold cache of this package's tests in a folder of
// their own, so that every test that opens a ceremony goes through it,
// and none writes into the user's cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ceremony-foldcache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("CEREMONY_CACHE_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestFoldCache: a command that opens a ceremony takes up the state the
// previous one left in the fold cache, in the workspace or a copy of it,
// and it is the state the fold of the whole transcript gives; an entry
// that is corrupt, or names bytes the transcript does not hold, is
// ignored or refused; and reading never changes a file in the workspace.
func TestFoldCache(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CEREMONY_CACHE_DIR", filepath.Join(dir, "cache"))
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	ws := filepath.Join(dir, "ws")
	e, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	signAllAs(t, e, ps, "alice")
	e.Release()
	tpath := filepath.Join(ws, TranscriptName)
	head := e.Head()
	entry := foldEntryPath(head)
	if _, err := os.Stat(entry); err != nil {
		t.Fatalf("Release kept no entry: %v", err)
	}
	full, err := Fold(tpath)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, ws)
	open := func(what string) *State {
		t.Helper()
		o, err := Open(ws, Options{})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got, want := stateSummary(o.State()), stateSummary(full); got != want {
			t.Fatalf("%s: the state is\n%s\nthe fold gives\n%s", what, got, want)
		}
		if got, want := fmt.Sprint(o.State().Progress()), fmt.Sprint(full.Progress()); got != want {
			t.Fatalf("%s: progress is\n%s\nthe fold gives\n%s", what, got, want)
		}
		return o.State()
	}
	st := open("from the cache")
	if r := st.Role(RoleRoot); r.Canonical != nil || st.Repo != nil {
		t.Error("a state from the cache read the staged roles' bytes before anything needed them")
	}
	if r := st.Role(RoleRoot); r.Load() != nil || !bytes.Equal(r.Canonical, full.Role(RoleRoot).Canonical) {
		t.Error("Load did not read the staged bytes the transcript names")
	}

	// A copy of the workspace takes the entry up, with its own folders.
	copied := filepath.Join(dir, "copy")
	copyTree(t, ws, copied)
	c, err := Open(copied, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.State().Role(RoleRoot); r.Canonical != nil {
		t.Error("the copy did not take the entry up")
	}
	if got, want := c.State().PublishDir, filepath.Join(copied, "metadata"); got != want {
		t.Errorf("the copy publishes into %s, want %s", got, want)
	}

	good, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	// A flipped byte: the entry no longer matches its digest.
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 1
	if err := os.WriteFile(entry, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if restored := loadFold(tpath, head); restored != nil {
		t.Error("a corrupt entry was taken")
	}
	open("with a corrupt entry")
	// A whole entry that names a role's bytes the transcript does not
	// hold: restored, but Load refuses the bytes rather than trust it.
	body, err := unsealFold(good)
	if err != nil {
		t.Fatal(err)
	}
	var fe foldEntry
	if err := json.Unmarshal(body, &fe); err != nil {
		t.Fatal(err)
	}
	fe.Roles[0].Digest = strings.Repeat("0", 64)
	body, _ = json.Marshal(fe)
	forged := sealFold(body)
	if err := os.WriteFile(entry, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	if restored := loadFold(tpath, head); restored == nil || restored.Roles[0].Load() == nil {
		t.Error("Load took bytes whose digest is not the one the entry names")
	}
	if diff := diffSnapshots(before, snapshotDir(t, ws)); diff != "" {
		t.Errorf("reading changed the workspace: %s", diff)
	}
}
