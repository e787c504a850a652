package ceremony

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
