package prefixbins

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// names: many projects under a few prefixes, and projects named exactly
// like prefixes that are split ("ab", "a"), as PyPI has ("a", "ab", "abc").
func testNames() []string {
	var out []string
	for i := range 3000 {
		out = append(out, fmt.Sprintf("ab%d", i), fmt.Sprintf("b-%d", i))
	}
	return append(out, "a", "ab", "b", "b-", "c", "zz.top", "9lives")
}

func unit(string) int { return 1000 }

// matching returns the bins of layout whose pattern matches a file of
// project name, as ours and go-tuf's path matching see it (which must
// agree).
func matching(t *testing.T, layout map[Bin][]string, name string) []Bin {
	t.Helper()
	var out []Bin
	path := name + "/" + name + "-1.0.tar.gz"
	for b := range layout {
		ours := (&roles.DelegatedRole{Paths: []string{b.Pattern()}}).Matches(path)
		theirs, err := (&metadata.DelegatedRole{Paths: []string{b.Pattern()}}).IsDelegatedPath(path)
		if err != nil || ours != theirs {
			t.Fatalf("pattern %q, path %q: ours %v, go-tuf %v (%v)", b.Pattern(), path, ours, theirs, err)
		}
		if ours {
			out = append(out, b)
		}
	}
	return out
}

// checkPartition: every name lies in exactly one bin, the one whose
// pattern matches its paths, and that is the bin the layout put it in.
func checkPartition(t *testing.T, layout map[Bin][]string, names []string) {
	t.Helper()
	in := map[string]Bin{}
	for b, list := range layout {
		for _, n := range list {
			if _, dup := in[n]; dup {
				t.Fatalf("%s is in two bins", n)
			}
			in[n] = b
		}
	}
	for _, n := range names {
		m := matching(t, layout, n)
		if len(m) != 1 || m[0] != in[n] {
			t.Fatalf("%s: in bin %v, matched by %v", n, in[n], m)
		}
	}
	if len(in) != len(names) {
		t.Fatalf("layout holds %d names, want %d", len(in), len(names))
	}
}

func TestLayoutPartitions(t *testing.T) {
	names := testNames()
	layout := Layout(names, unit, nil)
	checkPartition(t, layout, names)
	for b, list := range layout {
		if len(list) > 1 && total(list, unit) > Fill {
			t.Errorf("bin %s holds %d bytes, over %d", b.Role(), total(list, unit), Fill)
		}
	}
	// "ab" and "a" are split prefixes, so their projects have exact bins;
	// "c" is not, so project c is in the prefix bin c.
	for _, b := range []Bin{{"ab", true}, {"a", true}, {"c", false}} {
		if _, ok := layout[b]; !ok {
			t.Errorf("no bin %s in %v", b.Role(), Sorted(layout))
		}
	}
}

// TestLayoutKeepsBins: a later layout from the bins claimed has keeps
// them, puts a new name where the bins say, makes a bin only where none
// matches, and splits only a bin that outgrows Max.
func TestLayoutKeepsBins(t *testing.T) {
	names := testNames()
	first := Layout(names, unit, nil)
	prev, err := NewPartition(slices.Collect(maps.Keys(first)))
	if err != nil {
		t.Fatal(err)
	}
	more := append(slices.Clone(names), "ab77777", "c2", "d", "abz")
	second := Layout(more, unit, prev)
	checkPartition(t, second, more)
	changed := 0
	for b, list := range second {
		if !slices.Equal(first[b], list) {
			changed++
		}
	}
	// ab7… and abz each join a bin under ab, c2 joins c, d gets a new bin.
	if changed > 4 {
		t.Errorf("%d bins changed for 4 new names", changed)
	}
	if _, ok := second[Bin{Prefix: "d"}]; !ok {
		t.Errorf("no new bin for d")
	}

	// One bin outgrows Max: it alone is split.
	heavy := func(n string) int {
		if n == "c" || n == "c2" {
			return Max
		}
		return 1000
	}
	third := Layout(more, heavy, prev)
	checkPartition(t, third, more)
	if _, ok := third[Bin{Prefix: "c"}]; ok {
		t.Errorf("bin c was not split: %v", Sorted(third))
	}
	if _, ok := third[Bin{Prefix: "c", Exact: true}]; !ok {
		t.Errorf("project c has no exact bin once c is split: %v", Sorted(third))
	}
}

func TestRoleRoundTrip(t *testing.T) {
	for _, b := range []Bin{{"ab", false}, {"ab", true}} {
		got, err := FromRole(&roles.DelegatedRole{Name: b.Role(), Paths: []string{b.Pattern()}})
		if err != nil || got != b {
			t.Errorf("%v: %v %v", b, got, err)
		}
	}
	for _, r := range []*roles.DelegatedRole{
		{Name: RolePrefix + "ab", Paths: []string{"a*/*"}},
		{Name: RolePrefix + "ab", Paths: []string{"ab*/*", "x/*"}},
		{Name: RolePrefix, Paths: []string{"*/*"}},
		{Name: "claimed-bin-00", Paths: []string{"ab*/*"}},
	} {
		if _, err := FromRole(r); err == nil {
			t.Errorf("%s %q accepted", r.Name, r.Paths)
		}
	}
	if _, err := NewPartition([]Bin{{Prefix: "a"}, {Prefix: "ab"}}); err == nil {
		t.Error("overlapping bins a and ab accepted")
	}
	if _, err := NewPartition([]Bin{{Prefix: "a"}, {Prefix: "a", Exact: true}}); err == nil {
		t.Error("bin a beside exact bin a accepted")
	}
}
