package ceremony

import (
	"crypto"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

func writeProjects(t *testing.T, path string, ps people, names ...string) {
	var list []any
	for _, n := range names {
		list = append(list, map[string]any{"name": n, "threshold": 1, "keys": []any{keyJSON(t, ps["maint"])}})
	}
	b, _ := json.Marshal(map[string]any{"projects": list})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// projectMetadata is a project's metadata listing one target, signed by
// its maintainer's key, as `ceremony maintainer sign` makes it.
func projectMetadata(t *testing.T, maint crypto.Signer, project string, expires time.Time) []byte {
	t.Helper()
	proj := roles.NewTargets(expires)
	proj.Targets[project+"/"+project+"-1.0.tar.gz"] = &roles.TargetFile{Length: 3, Hashes: map[string]string{"sha256": digestOf([]byte("abc"))}}
	m := roles.New(proj)
	k, err := roles.KeyFromPublic(maint.Public())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := roles.Sign(maint, k, m.CanonicalSigned())
	if err != nil {
		t.Fatal(err)
	}
	m.AddSignature(sig)
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestClaimedBins: claimed split into hashed bins by project name; each
// project lands in the bin its name hashes to; go-tuf resolves a project
// through targets → claimed → bin → project; a later ceremony that adds a
// project re-signs only that project's bin.
func TestClaimedBins(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "maint")
	writeProjects(t, filepath.Join(dir, "p1.json"), ps, "sampleproject", "requests", "numpy")
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+"claimed: {projects_file: p1.json, bin_bits: 2}\n"+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e, err := Begin(filepath.Join(dir, "ws"), plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	var binsStaged []string
	for _, r := range e.State().Roles {
		if strings.HasPrefix(r.Role, "claimed-bin-") {
			binsStaged = append(binsStaged, r.Role)
		}
	}
	if len(binsStaged) != 4 {
		t.Fatalf("bootstrap staged bins %v, want 4", binsStaged)
	}
	bin := binner(2).BinFor("sampleproject")
	for _, name := range []string{"sampleproject", "requests", "numpy"} {
		if err := e.Include(name, projectMetadata(t, ps["maint"], name, plan.ReferenceTime.AddDate(0, 1, 0))); err != nil {
			t.Fatal(err)
		}
	}
	signAllAs(t, e, ps, "alice", "bob", "dave", "erin")
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	e.Release()

	meta := filepath.Join(dir, "ws", "metadata")
	read := func(name string) []byte { return mustRead(t, filepath.Join(meta, name)) }
	tm, err := gotufTrusted(read("1.root.json"), plan.ReferenceTime.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { _, err := tm.UpdateTimestamp(read("timestamp.json")); return err },
		func() error { _, err := tm.UpdateSnapshot(read("1.snapshot.json"), false); return err },
		func() error { _, err := tm.UpdateTargets(read("1.targets.json")); return err },
		func() error {
			_, err := tm.UpdateDelegatedTargets(read("1.claimed.json"), "claimed", "targets")
			return err
		},
		func() error { _, err := tm.UpdateDelegatedTargets(read("1."+bin+".json"), bin, "claimed"); return err },
		func() error {
			_, err := tm.UpdateDelegatedTargets(read("1.sampleproject.json"), "sampleproject", bin)
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatalf("go-tuf: %v", err)
		}
	}

	// Adding one project changes claimed (the bin's paths) and one bin.
	trusted := read("1.root.json")
	os.WriteFile(filepath.Join(dir, "trusted.json"), trusted, 0o644)
	writeProjects(t, filepath.Join(dir, "p2.json"), ps, "flask")
	q := writePlan(t, dir, "q.yaml", `ceremony: add-flask
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: trusted.json, metadata: ws/metadata}
claimed: {projects_file: p2.json}
online: {participant: online}
`+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e2, err := Begin(filepath.Join(dir, "ws2"), q, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Release()
	var staged []string
	for _, r := range e2.State().Roles {
		staged = append(staged, r.Role)
	}
	want := []string{"claimed", binner(2).BinFor("flask")}
	if !slices.Equal(staged, want) {
		t.Errorf("adding flask staged %v, want %v", staged, want)
	}
	if err := e2.Include("flask", projectMetadata(t, ps["maint"], "flask", q.ReferenceTime.AddDate(0, 1, 0))); err != nil {
		t.Fatal(err)
	}
	signAllAs(t, e2, ps, "dave", "erin")
	if _, err := e2.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	repo, err := LoadRepo(meta, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if got := projectsOf(repo.Claimed.Signed, repo.ClaimedBins); len(got.roles) != 4 {
		t.Errorf("after adding flask: %d projects", len(got.roles))
	}
}
