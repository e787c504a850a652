package prefixbins

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// testNames: many projects under a few prefixes, and projects named
// exactly like prefixes that get split ("ab", "a", "b-"), as PyPI has
// ("a", "ab", "abc").
func testNames() []string {
	var out []string
	for i := range 2000 {
		out = append(out, fmt.Sprintf("ab%d", i), fmt.Sprintf("b-%d", i))
	}
	return append(out, "a", "ab", "b", "b-", "c", "zz.top", "9lives")
}

func unit(string) int { return 1000 }

// delegated is claimed's delegations to the bins, as Delegations writes
// them.
func delegated(bins []*Bin) []*roles.DelegatedRole {
	var out []*roles.DelegatedRole
	for _, b := range bins {
		out = append(out, &roles.DelegatedRole{Name: b.Role(), Paths: b.Paths()})
	}
	return out
}

// checkPartition: every name lies in exactly one bin, the one whose
// patterns match its paths (as ours and go-tuf's path matching see it,
// which must agree) and the one BinFor names.
func checkPartition(t *testing.T, bins []*Bin, names []string) *Partition {
	t.Helper()
	p, err := NewPartition(delegated(bins))
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]string{}
	for _, b := range bins {
		for _, n := range b.Names {
			if _, dup := in[n]; dup {
				t.Fatalf("%s is in two bins", n)
			}
			in[n] = b.Role()
		}
	}
	for _, n := range names {
		path := n + "/" + n + "-1.0.tar.gz"
		var matched []string
		for _, r := range delegated(bins) {
			ours := r.Matches(path)
			theirs, err := (&metadata.DelegatedRole{Paths: r.Paths}).IsDelegatedPath(path)
			if err != nil || ours != theirs {
				t.Fatalf("patterns %q, path %q: ours %v, go-tuf %v (%v)", r.Paths, path, ours, theirs, err)
			}
			if ours {
				matched = append(matched, r.Name)
			}
		}
		if len(matched) != 1 || matched[0] != in[n] || p.BinFor(n) != in[n] {
			t.Fatalf("%s: in bin %s, matched by %v, BinFor says %s", n, in[n], matched, p.BinFor(n))
		}
	}
	if len(in) != len(names) {
		t.Fatalf("the bins hold %d names, want %d", len(in), len(names))
	}
	return p
}

func binNamed(bins []*Bin, role string) *Bin {
	for _, b := range bins {
		if b.Role() == role {
			return b
		}
	}
	return nil
}

func TestLayoutPartitions(t *testing.T) {
	names := testNames()
	bins := Layout(names, unit, nil)
	checkPartition(t, bins, names)
	slots := map[Slot]bool{}
	for _, b := range bins {
		if total(b.Names, unit) > Fill {
			t.Errorf("bin %s holds %d bytes, over %d", b.Role(), total(b.Names, unit), Fill)
		}
		for _, s := range b.Slots {
			slots[s] = true
		}
	}
	// "ab" and "a" are split prefixes, so their projects have exact slots;
	// "c" is not, so project c is in the prefix slot c.
	for _, s := range []Slot{{"ab", true}, {"a", true}, {"c", false}} {
		if !slots[s] {
			t.Errorf("no slot %s", s.Pattern())
		}
	}
	// Packing: 4,007 names of 1,000 bytes fill 5 bins, not one a slot.
	if len(bins) > 6 || len(slots) < 20 {
		t.Errorf("%d slots packed into %d bins", len(slots), len(bins))
	}
}

// TestLayoutKeepsBins: a later layout from the bins claimed has keeps
// them, puts a new name where the bins say, makes a bin only where none
// matches, and lays out again only a bin that outgrows Max.
func TestLayoutKeepsBins(t *testing.T) {
	names := testNames()
	first := Layout(names, unit, nil)
	prev := checkPartition(t, first, names)
	more := append(slices.Clone(names), "ab77777", "c2", "d", "abz")
	second := Layout(more, unit, prev)
	checkPartition(t, second, more)
	changed := 0
	for _, b := range second {
		if old := binNamed(first, b.Role()); old == nil || !slices.Equal(old.Names, b.Names) || !slices.Equal(old.Slots, b.Slots) {
			changed++
		}
	}
	// ab7…, abz and c2 each join a bin; d gets a new one.
	if changed > 4 || binNamed(second, RolePrefix+"d") == nil {
		t.Errorf("%d bins changed for 4 new names; bins %v", changed, delegated(second))
	}

	// One bin outgrows Max: it alone is laid out again, and c, whose
	// prefix is then split, gets an exact slot.
	heavy := func(n string) int {
		if n == "c" || n == "c2" {
			return Max
		}
		return 1000
	}
	third := Layout(more, heavy, prev)
	checkPartition(t, third, more)
	cBin := prev.BinFor("c")
	for _, b := range third {
		if old := binNamed(second, b.Role()); b.Role() != cBin && old != nil && !slices.Equal(old.Names, b.Names) {
			t.Errorf("bin %s changed, though only %s outgrew Max", b.Role(), cBin)
		}
	}
	if third := checkPartition(t, third, more); third.BinFor("c") == third.BinFor("c2") {
		t.Errorf("c and c2 (%d bytes each) share a bin", Max)
	}
}

// TestPartitionRefuses: claimed's delegations must be bins as Delegations
// writes them.
func TestPartitionRefuses(t *testing.T) {
	for _, rs := range [][]*roles.DelegatedRole{
		{{Name: RolePrefix + "ab", Paths: []string{"a*/*"}}},                                                     // name and first pattern differ
		{{Name: RolePrefix + "ab", Paths: []string{"ab*/*", "a[b]*/*"}}},                                         // a class
		{{Name: RolePrefix, Paths: []string{"*/*"}}},                                                             // empty prefix
		{{Name: RolePrefix + "ab", Paths: []string{"ab*/*", "ab*/*"}}},                                           // twice
		{{Name: RolePrefix + "a", Paths: []string{"a*/*"}}, {Name: RolePrefix + "ab", Paths: []string{"ab*/*"}}}, // overlap
		{{Name: RolePrefix + "a", Paths: []string{"a*/*"}}, {Name: RoleExact + "a", Paths: []string{"a/*"}}},     // a* holds a
		{{Name: RolePrefix + "ab", Paths: nil, PathHashPrefixes: []string{"00"}}},
	} {
		if _, err := NewPartition(rs); err == nil {
			t.Errorf("accepted %s %q", rs[0].Name, rs[0].Paths)
		}
	}
}
