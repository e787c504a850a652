package roles

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRoleIndexFollowsChanges: Role answers as a scan would, before and
// after Roles is appended to, shrunk and overwritten in place.
func TestRoleIndexFollowsChanges(t *testing.T) {
	dl := &Delegations{}
	for i := range 40 {
		dl.Roles = append(dl.Roles, &DelegatedRole{Name: fmt.Sprintf("p%d", i)})
	}
	check := func(when string) {
		t.Helper()
		for i := range 50 {
			name := fmt.Sprintf("p%d", i)
			var want *DelegatedRole
			for _, r := range dl.Roles {
				if r.Name == name {
					want = r
					break
				}
			}
			if got := dl.Role(name); got != want {
				t.Errorf("%s: Role(%q) = %v, want %v", when, name, got, want)
			}
		}
	}
	check("first")
	dl.Roles = append(dl.Roles, &DelegatedRole{Name: "p45"})
	check("after append")
	dl.Roles[3] = &DelegatedRole{Name: "p46"}
	check("after an overwrite in place")
	dl.Roles = dl.Roles[:20]
	check("after shrinking")
}

// TestMatchesIndexedAsScanned: with enough patterns to be indexed,
// Matches answers as matching each pattern in turn does, for literal,
// wildcard, class and escaped patterns, and after Paths changes.
func TestMatchesIndexedAsScanned(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		const letters = "ab-."
		b := make([]byte, 1+rng.IntN(4))
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	shapes := []func(string) string{
		func(w string) string { return w + "/*" },
		func(w string) string { return w + "*/*" },
		func(w string) string { return w + "/" + w + "-?.tar.gz" },
		func(w string) string { return w },
		func(w string) string { return "[ab]" + w + "/*" },
		func(w string) string { return w + `\*/*` },
		func(w string) string { return w + "[/]x" },
	}
	r := &DelegatedRole{}
	for range 200 {
		r.Paths = append(r.Paths, shapes[rng.IntN(len(shapes))](word()))
	}
	scan := func(target string) bool {
		for _, p := range r.Paths {
			if matchPattern(p, target) {
				return true
			}
		}
		return false
	}
	targets := []string{"*/x", "a/x", "[/]x"}
	for range 2000 {
		w := word()
		targets = append(targets, w, w+"/"+word(), w+"/"+w+"-1.tar.gz", w+"*/y", word()+"/"+word()+"/z")
	}
	try := func(when string) {
		t.Helper()
		hits := 0
		for _, tp := range targets {
			want := scan(tp)
			if got := r.Matches(tp); got != want {
				t.Errorf("%s: Matches(%q) = %v, a scan says %v", when, tp, got, want)
			}
			if want {
				hits++
			}
		}
		if hits == 0 || hits == len(targets) {
			t.Fatalf("%s: %d of %d targets match: the test proves nothing", when, hits, len(targets))
		}
	}
	try("first")
	r.Paths[0], r.Paths[1] = "zz/*", "b*/*"
	try("after an overwrite in place")
	r.Paths = append(r.Paths[:100], "a/*")
	try("after shrinking")
}

// TestRevokedIndexAsList: the index answers as the list does, by keyid
// and by key under another keyid, first entry first.
func TestRevokedIndexAsList(t *testing.T) {
	keys := newTestKeys(t, 4)
	alias, err := ParseKey([]byte(`{"keytype":"ed25519","keyval":{"public":"` + keys[0].key.Public() + `"},"scheme":"ed25519","x-alias":true}`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRevocations(testExpires)
	for i, k := range []*Key{keys[1].key, alias, keys[0].key} {
		r.Revoked = append(r.Revoked, &Revocation{KeyID: k.ID(), Key: k, Role: fmt.Sprint(i)})
	}
	ix := r.Index()
	for _, c := range []struct {
		id  string
		key *Key
	}{{keys[0].key.ID(), keys[0].key}, {keys[1].key.ID(), keys[1].key}, {"other", keys[0].key}, {keys[2].key.ID(), keys[2].key},
		{keys[0].key.ID(), nil}, {"other", nil}, {keys[0].key.ID(), keys[3].key}, {keys[3].key.ID(), alias}} {
		if got, want := ix.IsRevoked(c.id, c.key), r.IsRevoked(c.id, c.key); got != want {
			t.Errorf("IsRevoked(%s): index %v, list %v", ShortID(c.id), got, want)
		}
	}
}
