package ceremony

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// TestProjectChanges: the review lists every project claimed adds,
// removes or re-keys, with the maintainers' keyids and thresholds, and
// counts them; the summary the transcript records stays as it was (the
// first few, counted).
func TestProjectChanges(t *testing.T) {
	k := func(c byte) string { return strings.Repeat(string(c), 64) }
	before := []*roles.DelegatedRole{
		{Name: "kept", KeyIDs: []string{k('a')}, Threshold: 1},
		{Name: "rekeyed", KeyIDs: []string{k('b')}, Threshold: 1},
		{Name: "gone", KeyIDs: []string{k('c'), k('d')}, Threshold: 2},
	}
	after := []*roles.DelegatedRole{
		{Name: "kept", KeyIDs: []string{k('a')}, Threshold: 1},
		{Name: "new", KeyIDs: []string{k('e')}, Threshold: 1},
		{Name: "rekeyed", KeyIDs: []string{k('f'), k('b')}, Threshold: 2},
	}
	got := ProjectLines(diffDelegations(before, after), 8)
	want := []string{
		"projects changed, 3 in all, each with its maintainers' keys:",
		"adds new: threshold 1 of 1: eeeeeeeeeeeeeeee",
		"re-keys rekeyed: threshold 2 of 2: ffffffffffffffff, bbbbbbbbbbbbbbbb (was threshold 1 of 1: bbbbbbbbbbbbbbbb)",
		"removes gone (was threshold 2 of 2: cccccccccccccccc, dddddddddddddddd)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("project lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := ProjectLines(diffDelegations(before, after), 1); len(got) != 3 || got[2] != "and 2 more: 'ceremony status --json' lists every one" {
		t.Errorf("one page of one: %q", got)
	}

	// In a ceremony: a bootstrap's claimed adds every project, each named
	// with its maintainer's key, where the summary names five.
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "maint")
	names := []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7"}
	writeProjects(t, filepath.Join(dir, "p.json"), ps, names...)
	// The plan says where dave's key lives: the review names him and it.
	pts := strings.Replace(ps.participants("alice", "bob", "carol", "dave", "erin", "online"),
		"keyid: "+ps.id("dave")+"}", "keyid: "+ps.id("dave")+", device: 'YubiKey 5 #12345678'}", 1)
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+"claimed: {projects_file: p.json}\n"+pts)
	e, err := Begin(filepath.Join(dir, "ws"), plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Release()
	st := e.State()
	changes := st.ProjectChanges(RoleClaimed)
	if len(changes) != len(names) {
		t.Fatalf("claimed changes %d projects, want %d", len(changes), len(names))
	}
	for i, c := range changes {
		if c.Project != names[i] || c.Change != ChangeAdded || !slices.Equal(c.KeyIDs, []string{ps.id("maint")}) || c.Threshold != 1 {
			t.Errorf("change %d: %+v", i, c)
		}
	}
	if st.ProjectChanges(RoleTargets) != nil || st.ProjectChanges(RoleRoot) != nil {
		t.Error("roles that delegate no projects list project changes")
	}
	holders := fmt.Sprintf("delegates claimed to threshold 2 of 2: %s (dave, YubiKey 5 #12345678), %s (erin)", ps.id("dave")[:16], ps.id("erin")[:16])
	if !slices.Contains(st.Role(RoleTargets).Summary, holders) {
		t.Errorf("targets' summary does not name claimed's key holders and devices (%s): %q", holders, st.Role(RoleTargets).Summary)
	}
	if !slices.Contains(st.Role(RoleClaimed).Summary, "delegates to: p1, p2, p3, p4, p5 and 2 more") {
		t.Errorf("claimed's recorded summary changed: %q", st.Role(RoleClaimed).Summary)
	}
}

// BenchmarkDiffDelegations100k: claimed at PyPI's scale, every project
// re-keyed: one pass over each list, not one search per project.
func BenchmarkDiffDelegations100k(b *testing.B) {
	const n = 100_000
	before, after := make([]*roles.DelegatedRole, n), make([]*roles.DelegatedRole, n)
	for i := range n {
		name := fmt.Sprintf("project-%d", i)
		before[i] = &roles.DelegatedRole{Name: name, KeyIDs: []string{"a"}, Threshold: 1}
		after[i] = &roles.DelegatedRole{Name: name, KeyIDs: []string{"b"}, Threshold: 1}
	}
	for b.Loop() {
		if got := diffDelegations(before, after); len(got) != n {
			b.Fatal(len(got))
		}
	}
}

// TestRequestProjectChanges: a signing request's review, read from its
// bytes against the previous version it carries, lists every project
// added, removed or re-keyed as the room's review does, paged the same
// way; names are escaped, and a delegation's keys are bounded a line.
func TestRequestProjectChanges(t *testing.T) {
	expires := time.Date(2027, 11, 1, 0, 0, 0, 0, time.UTC)
	var keys []*roles.Key
	for range maxKeysListed + 8 {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, err := roles.KeyFromPublic(pub)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	a, b := keys[0].ID(), keys[1].ID()
	claimed := func(version int64, projects ...*roles.DelegatedRole) *roles.Targets {
		t := roles.NewTargets(expires)
		t.Version = version
		t.Delegations = &roles.Delegations{Keys: map[string]*roles.Key{}, Roles: projects}
		for _, k := range keys {
			t.Delegations.Keys[k.ID()] = k
		}
		return t
	}
	project := func(name string, threshold int64, ids ...string) *roles.DelegatedRole {
		return &roles.DelegatedRole{Name: name, KeyIDs: ids, Threshold: threshold, Paths: []string{name + "/*"}}
	}
	var before, after []*roles.DelegatedRole
	for i := range 5 {
		before = append(before, project(fmt.Sprintf("old-%d", i), 1, a))
	}
	// old-0 removed; old-1 and old-4 re-keyed; old-2 and old-3 kept.
	after = append(after, project("old-1", 1, b), before[2], before[3], project("old-4", 2, a, b))
	for i := range 210 {
		after = append(after, project(fmt.Sprintf("new-%03d", i), 1, a))
	}
	allKeys := make([]string, len(keys))
	for i, k := range keys {
		allKeys[i] = k.ID()
	}
	after = append(after, project("evil\x1b[2J", 1, allKeys...))
	prev, err := roles.New(claimed(1, before...)).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(RoleClaimed, roles.New(claimed(2, after...)).CanonicalSigned(), prev, nil)
	if err != nil {
		t.Fatal(err)
	}
	// old-1 and old-4 re-keyed, 211 added, old-0 removed.
	if n := len(s.Projects); n != 214 {
		t.Fatalf("%d project changes, want 214", n)
	}
	lines := s.ProjectLines(200)
	if len(lines) != 202 || lines[0] != "projects changed, 214 in all, each with its maintainers' keys:" ||
		lines[201] != "and 14 more: 'ceremony request show --json REQUEST' lists every one" {
		t.Errorf("the page: %d lines, head %q, tail %q", len(lines), lines[0], lines[len(lines)-1])
	}
	if want := "re-keys old-1: threshold 1 of 1: " + b[:16] + " (was threshold 1 of 1: " + a[:16] + ")"; lines[1] != want {
		t.Errorf("first change %q, want %q", lines[1], want)
	}
	all := s.ProjectLines(1000)
	text := strings.Join(all, "\n")
	for _, want := range []string{
		"removes old-0 (was threshold 1 of 1: " + a[:16] + ")",
		"re-keys old-4: threshold 2 of 2: " + a[:16] + ", " + b[:16] + " (was threshold 1 of 1: " + a[:16] + ")",
		"adds new-209: threshold 1 of 1: " + a[:16],
		`adds evil\x1b[2J [`,
		", and 8 more keys",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the review lacks %q", want)
		}
	}
	if strings.Contains(text, "\x1b") {
		t.Error("a project name reaches the review unescaped")
	}
	// The summary the transcript would record still names a few, counted.
	if !slices.Contains(s.Changes, "moves 211 projects into claimed: new-000, new-001, new-002, new-003, new-004 and 206 more") {
		t.Errorf("the summary's changes: %q", s.Changes)
	}

	// A new claimed: every project added. One whose previous version is
	// not at hand: none listed, for none can be told apart.
	if s, err := Summarize(RoleClaimed, roles.New(claimed(1, before...)).CanonicalSigned(), nil, nil); err != nil || len(s.Projects) != 5 || s.Projects[4].Change != ChangeAdded {
		t.Errorf("a new claimed: %v, %+v", err, s)
	}
	if s, err := Summarize(RoleClaimed, roles.New(claimed(2, after...)).CanonicalSigned(), nil, nil); err != nil || s.Projects != nil {
		t.Errorf("claimed v2 without its previous version lists changes: %v, %d", err, len(s.Projects))
	}
	// A claimed whose first delegation is named like a bin still lists
	// every change its bytes make: a request cannot hide them so.
	binLike := append([]*roles.DelegatedRole{project(binPrefix+"-0", 1, a)}, after...)
	if s, err := Summarize(RoleClaimed, roles.New(claimed(2, binLike...)).CanonicalSigned(), prev, nil); err != nil || len(s.Projects) != 215 {
		t.Errorf("a bin-like first project hides the changes: %v, %d", err, len(s.Projects))
	}
	// Targets delegates no projects.
	if s, err := Summarize(RoleTargets, roles.New(claimed(2, after...)).CanonicalSigned(), prev, nil); err != nil || s.Projects != nil {
		t.Errorf("targets lists project changes: %v", err)
	}
}
