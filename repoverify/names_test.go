package repoverify

import (
	"fmt"
	"testing"
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
		s := newNameSet(0, 0)
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
