package repoverify

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// TestNameSetCollisions: names whose digests collide are told apart by
// the names themselves, so that a collision neither hides a name
// delegated twice nor makes a name the set lacks look reached.
func TestNameSetCollisions(t *testing.T) {
	for _, digest := range []struct {
		name string
		f    func(string) uint64
	}{
		{"seeded", nil},
		{"all collide", func(string) uint64 { return 7 }},
		{"by length", func(s string) uint64 { return uint64(len(s)) }},
	} {
		s := newNameSet(nil, 0, 0)
		if digest.f != nil {
			s.digest = digest.f
		}
		root, fresh := s.insert("targets", -1)
		if !fresh {
			t.Fatalf("%s: the empty set holds targets", digest.name)
		}
		for i := range 300 {
			name := fmt.Sprintf("p%d", i)
			if _, ok := s.find(name); ok {
				t.Fatalf("%s: %s found before it was added", digest.name, name)
			}
			if _, fresh := s.insert(name, root); !fresh {
				t.Fatalf("%s: %s is taken for a duplicate", digest.name, name)
			}
		}
		for i := range 300 {
			name := fmt.Sprintf("p%d", i)
			j, fresh := s.insert(name, 0)
			if fresh || s.name(j) != name || s.delegator(j) != "targets" {
				t.Fatalf("%s: adding %s again: fresh %v, found %q delegated by %s", digest.name, name, fresh, s.name(j), s.delegator(j))
			}
		}
		if _, ok := s.find("p300"); ok {
			t.Errorf("%s: a name never added is found", digest.name)
		}
		i, _ := s.find("p42")
		s.walked[i] = true
		if !s.hasWalked("p42") || s.hasWalked("p41") || s.hasWalked("p4") || s.delegator(0) != "root" {
			t.Errorf("%s: walked p42 %v, p41 %v, p4 %v; targets delegated by %s", digest.name, s.hasWalked("p42"), s.hasWalked("p41"), s.hasWalked("p4"), s.delegator(0))
		}
	}
}

// TestNameSetListed: names snapshot lists are known by their place in its
// index, the others as before, and neither hides the other.
func TestNameSetListed(t *testing.T) {
	snap := roles.NewSnapshot(time.Unix(0, 0))
	for _, n := range []string{"targets", "claimed", "a", "ab", "abc", "b.json", "z"} {
		snap.Meta[n+".json"] = &roles.MetaFile{Version: 1}
	}
	s := newNameSet(indexSnapshot(snap), 0, 0)
	root, fresh := s.insert("targets", -1)
	if !fresh || root >= 7 {
		t.Fatalf("targets: id %d, fresh %v", root, fresh)
	}
	for _, n := range []string{"ab", "b", "b.json", "abcd", "claimed"} {
		if _, ok := s.find(n); ok {
			t.Fatalf("%s found before it was added", n)
		}
		if _, fresh := s.insert(n, root); !fresh {
			t.Fatalf("%s taken for a duplicate", n)
		}
	}
	for _, c := range []struct {
		name   string
		listed bool
	}{{"ab", true}, {"b.json", true}, {"claimed", true}, {"b", false}, {"abcd", false}} {
		i, fresh := s.insert(c.name, 0)
		if fresh || s.name(i) != c.name || s.delegator(i) != "targets" || (i < 7) != c.listed {
			t.Errorf("adding %s again: fresh %v, id %d, found %q delegated by %s", c.name, fresh, i, s.name(i), s.delegator(i))
		}
	}
	for _, n := range []string{"a", "abc", "z", "abcde", "b.j"} {
		if _, ok := s.find(n); ok {
			t.Errorf("%s, never added, is found", n)
		}
	}
	i, _ := s.find("ab")
	s.walked[i] = true
	if !s.hasWalked("ab") || s.hasWalked("abc") || s.hasWalked("abcd") || s.delegator(root) != "root" {
		t.Errorf("walked ab %v, abc %v, abcd %v; targets delegated by %s", s.hasWalked("ab"), s.hasWalked("abc"), s.hasWalked("abcd"), s.delegator(root))
	}
}

// TestEntryListIndex: entries handed over in any order are indexed by
// name, each with its own version, length and hashes.
func TestEntryListIndex(t *testing.T) {
	want := map[string]*roles.MetaFile{
		"c.json": {Version: 3},
		"a.json": {Version: 1, Length: 10, Hashes: map[string]string{"sha256": "aa"}},
		"d.json": {Version: 4, Hashes: map[string]string{"sha512": "dd"}},
		"b.json": {Version: 2, Length: 20},
	}
	for _, order := range [][]string{{"a.json", "b.json", "c.json", "d.json"}, {"d.json", "b.json", "a.json", "c.json"}} {
		var l entryList
		for _, name := range order {
			l.add(name, want[name])
		}
		ix := l.index(7)
		if ix.version != 7 || ix.names.len() != len(want) {
			t.Fatalf("order %v: version %d, %d names", order, ix.version, ix.names.len())
		}
		for i := range ix.names.len() - 1 {
			if ix.names.name(i) >= ix.names.name(i+1) {
				t.Errorf("order %v: names not sorted: %s before %s", order, ix.names.name(i), ix.names.name(i+1))
			}
		}
		for name, mf := range want {
			if got := ix.meta(name); !reflect.DeepEqual(got, mf) {
				t.Errorf("order %v: %s is %+v, want %+v", order, name, got, mf)
			}
		}
		if ix.meta("e.json") != nil {
			t.Errorf("order %v: an unlisted name has an entry", order)
		}
	}
}
