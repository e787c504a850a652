package ceremony

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
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
	bins, err := repo.readBins(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := projectsOf(repo.Claimed.Signed, bins); len(got.roles) != 4 {
		t.Errorf("after adding flask: %d projects", len(got.roles))
	}
}

// TestClaimedPrefixBinsMigration: a repository in hashed bins moves to
// name-prefix bins in one ceremony (claimed and the new bin staged, the
// old bins left as they are); a later ceremony that adds a project no
// bin's pattern matches re-signs claimed and a new bin only; and two
// clients we did
// not write, go-tuf v2 and tuf-js, resolve every project's target through
// targets → claimed → bin → project, while a path no project claims walks
// on past claimed.
func TestClaimedPrefixBinsMigration(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "maint")
	all := ps.participants("alice", "bob", "carol", "dave", "erin", "online")
	// Clients judge expiry by the wall clock: the ceremonies happen now.
	ref := time.Now().UTC().Truncate(time.Hour)
	head := func(id string) string {
		return "ceremony: " + id + "\nreference_time: " + ref.Format(time.RFC3339) + "\nallow_network: true\n"
	}
	meta := filepath.Join(dir, "ws", "metadata")
	ceremony := func(ws string, plan *Plan, signers []string, projects ...string) *Engine {
		t.Helper()
		e, err := Begin(filepath.Join(dir, ws), plan, Options{Tool: Tool{Version: "test"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range projects {
			if err := e.Include(name, projectMetadata(t, ps["maint"], name, ref.AddDate(0, 1, 0))); err != nil {
				t.Fatal(err)
			}
		}
		signAllAs(t, e, ps, signers...)
		if _, err := e.Publish(ps["online"], nil); err != nil {
			t.Fatal(err)
		}
		e.Release()
		return e
	}
	// staged names the roles of claimed's the ceremony signed.
	staged := func(e *Engine) []string {
		var out []string
		for _, r := range e.State().Roles {
			if r.Role == RoleClaimed || isBinName(r.Role) {
				out = append(out, r.Role)
			}
		}
		return out
	}

	writeProjects(t, filepath.Join(dir, "p1.json"), ps, "sampleproject", "requests", "numpy")
	boot := strings.Replace(bootstrapPlan, "reference_time: 2026-11-01T00:00:00Z\n", "reference_time: "+ref.Format(time.RFC3339)+"\n", 1)
	ceremony("ws", writePlan(t, dir, "b.yaml", boot+"claimed: {projects_file: p1.json, bin_bits: 2}\n"+all),
		[]string{"alice", "bob", "dave", "erin"}, "sampleproject", "requests", "numpy")
	trusted := mustRead(t, filepath.Join(meta, "1.root.json"))
	os.WriteFile(filepath.Join(dir, "trusted.json"), trusted, 0o644)
	start := "start: {trusted_root: trusted.json, metadata: ws/metadata}\nonline: {participant: online}\n"

	writeProjects(t, filepath.Join(dir, "p2.json"), ps, "flask")
	e := ceremony("ws2", writePlan(t, dir, "m.yaml", head("to-prefix-bins")+start+"claimed: {projects_file: p2.json, bins: prefix}\n"+all),
		[]string{"dave", "erin"}, "flask")
	// Four small projects: one bin, with a pattern for each first letter.
	if got, want := staged(e), []string{"claimed", "claimed-prefix-f"}; !slices.Equal(got, want) {
		t.Errorf("the move to prefix bins staged %v, want %v", got, want)
	}

	writeProjects(t, filepath.Join(dir, "p3.json"), ps, "django")
	e = ceremony("ws3", writePlan(t, dir, "d.yaml", head("add-django")+start+"claimed: {projects_file: p3.json}\n"+all),
		[]string{"dave", "erin"}, "django")
	if got, want := staged(e), []string{"claimed", "claimed-prefix-d"}; !slices.Equal(got, want) {
		t.Errorf("adding django staged %v, want %v", got, want)
	}
	// The review of the first role (claimed here) judges the snapshot
	// publish signs against the clients' limits.
	var snapCheck *roles.Finding
	for _, f := range e.State().Roles[0].Checks {
		if f.Role == RoleSnapshot && f.Check == roles.CheckFileSizeClientLimit {
			snapCheck = &f
		}
	}
	if snapCheck == nil || !snapCheck.Passed || !strings.Contains(snapCheck.Message, "snapshot is ") {
		t.Errorf("claimed's checks on snapshot's size: %+v", snapCheck)
	}
	// Hashed bins are not made again.
	_, err := Begin(filepath.Join(dir, "ws4"), writePlan(t, dir, "h.yaml", head("back")+start+"claimed: {projects_file: p3.json, bin_bits: 2}\n"+all), Options{Tool: Tool{Version: "test"}})
	if !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), "name-prefix bins") {
		t.Errorf("bin_bits on a claimed in prefix bins: %v", err)
	}

	repo, err := LoadRepo(meta, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if isHashBinned(repo.Claimed.Signed) || len(repo.Bins) != 2 {
		t.Errorf("claimed's bins after the move: %v", repo.Bins)
	}
	// A plan that changes a few projects reads the bins that hold them and
	// stages what laying out every bin stages: here it re-keys django
	// (bin d), takes numpy out (bin f) and adds zope (a new bin).
	b5, _ := json.Marshal(map[string]any{"projects": []any{
		map[string]any{"name": "django", "threshold": 1, "keys": []any{keyJSON(t, ps["alice"])}},
		map[string]any{"name": "zope", "threshold": 1, "keys": []any{keyJSON(t, ps["maint"])}},
	}})
	if err := os.WriteFile(filepath.Join(dir, "p5.json"), b5, 0o644); err != nil {
		t.Fatal(err)
	}
	// Adding zope alone reads no bin, and keeps claimed's delegations to
	// the others as they are.
	writeProjects(t, filepath.Join(dir, "p6.json"), ps, "zope")
	for _, c := range []struct {
		plan string
		want []string
	}{
		{"claimed: {projects_file: p5.json, remove_projects: [numpy]}\n", []string{"claimed", "claimed-prefix-d", "claimed-prefix-f", "claimed-prefix-z"}},
		{"claimed: {projects_file: p6.json}\n", []string{"claimed", "claimed-prefix-z"}},
	} {
		few := writePlan(t, dir, "few.yaml", head("few")+start+c.plan+all)
		got, err := stagePlan(few, repo)
		if err != nil {
			t.Fatal(err)
		}
		want, err := stageFrom(&staging{plan: few, repo: repo, names: map[string]string{}, everyBin: true})
		if err != nil {
			t.Fatal(err)
		}
		var roleNames []string
		for i, w := range want {
			roleNames = append(roleNames, w.Role)
			if i >= len(got) || got[i].Role != w.Role || string(got[i].Metadata) != string(w.Metadata) || !slices.Equal(got[i].Summary, w.Summary) {
				t.Errorf("%s: staged from the bins the plan changes differs from laying out every bin at %s", c.plan, w.Role)
			}
		}
		if len(got) != len(want) || !slices.Equal(roleNames, c.want) {
			t.Errorf("%s: staged %d roles from the bins the plan changes, %v laying out every bin, want %v", c.plan, len(got), roleNames, c.want)
		}
	}

	var paths []string
	published := map[string][]byte{}
	for _, p := range []string{"sampleproject", "requests", "numpy", "flask", "django"} {
		paths = append(paths, p+"/"+p+"-1.0.tar.gz")
		published[paths[len(paths)-1]] = []byte("abc")
	}
	const missing = "nosuchproject/nosuchproject-1.0.tar.gz"
	if err := goTUFResolves(meta, trusted, paths, missing); err != nil {
		t.Errorf("go-tuf: %v", err)
	}
	if err := tufJSResolves(t, meta, filepath.Join(dir, "trusted.json"), published, missing); err != nil {
		t.Errorf("tuf-js: %v", err)
	}

	// A bin is read again when needed, and refused if it changed since
	// the walk verified it.
	binFile := filepath.Join(meta, repo.binFiles["claimed-prefix-d"])
	b, err := os.ReadFile(binFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(binFile, append(b, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Bin("claimed-prefix-d"); !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), "changed since it was verified") {
		t.Errorf("a bin changed after the walk, read again: %v", err)
	}
}

// goTUFResolves refreshes the repository in dir with go-tuf's updater from
// the pinned root and looks every path up; missing must not be found.
func goTUFResolves(dir string, root []byte, paths []string, missing string) error {
	cfg, err := config.New("file:///metadata/", root)
	if err != nil {
		return err
	}
	cfg.Fetcher = dirFetcher(dir)
	cfg.DisableLocalCache = true
	up, err := updater.New(cfg)
	if err != nil {
		return err
	}
	if err := up.Refresh(); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	for _, p := range paths {
		if _, err := up.GetTargetInfo(p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	if _, err := up.GetTargetInfo(missing); err == nil {
		return fmt.Errorf("found %s, which no project lists", missing)
	}
	if up.GetTrustedMetadataSet().Targets[RoleRecentlyClaimed] == nil {
		return fmt.Errorf("looking %s up did not walk on to recently-claimed", missing)
	}
	return nil
}

// tufJSResolves runs softhsm-tests' tuf-js client (tufjs/refresh.js, as
// its tuf-clients command does) on the repository in dir, trusting the
// root at rootPath, and checks it resolves every path in want to that
// content's length and SHA-256, and missing to nothing.
func tufJSResolves(t *testing.T, dir, rootPath string, want map[string][]byte, missing string) error {
	paths := append(slices.Sorted(maps.Keys(want)), missing)
	list := filepath.Join(t.TempDir(), "targets.json")
	b, _ := json.Marshal(paths)
	if err := os.WriteFile(list, b, 0o644); err != nil {
		return err
	}
	script, err := filepath.Abs(filepath.Join("..", "softhsm-tests", "tufjs", "refresh.js"))
	if err != nil {
		return err
	}
	cmd := exec.Command("node", script, dir, rootPath, list)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var got struct {
		Targets map[string]*struct {
			Length int64  `json:"length"`
			SHA256 string `json:"sha256"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		return fmt.Errorf("its output %q: %w", out, err)
	}
	for p, content := range want {
		if g := got.Targets[p]; g == nil || g.Length != int64(len(content)) || g.SHA256 != digestOf(content) {
			return fmt.Errorf("did not find %s as published (%s)", p, out)
		}
	}
	if got.Targets[missing] != nil {
		return fmt.Errorf("found %s, which was never published", missing)
	}
	return nil
}

// TestClaimedBinsPlanErrors: claimed.bins takes only prefix, and not
// beside bin_bits.
func TestClaimedBinsPlanErrors(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "maint")
	writeProjects(t, filepath.Join(dir, "p.json"), ps, "numpy")
	for _, c := range []struct{ claimed, want string }{
		{"{projects_file: p.json, bins: hashed}", `claimed.bins: "hashed" is not a layout`},
		{"{projects_file: p.json, bins: prefix, bin_bits: 2}", "claimed.bins: bins and bin_bits both say"},
	} {
		path := filepath.Join(dir, "bad.yaml")
		os.WriteFile(path, []byte(bootstrapPlan+"claimed: "+c.claimed+"\n"+ps.participants("alice", "bob", "carol", "dave", "erin", "online")), 0o644)
		_, err := LoadPlan(path)
		if !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("claimed: %s: %v, want %q", c.claimed, err, c.want)
		}
	}
}
