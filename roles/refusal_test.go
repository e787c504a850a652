package roles

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestRefusalKinds: each refusal that callers tell apart carries its
// class, found by errors.Is, and other malformations carry none.
func TestRefusalKinds(t *testing.T) {
	k := newTestKeys(t, 2)
	targets := func(change func(*Targets)) []byte {
		tg := NewTargets(testExpires)
		tg.Delegations = &Delegations{Keys: map[string]*Key{k[0].key.ID(): k[0].key}}
		change(tg)
		b, err := New(tg).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	role := func(name string) *DelegatedRole {
		return &DelegatedRole{Name: name, KeyIDs: []string{k[0].key.ID()}, Threshold: 1, Paths: []string{"x/*"}}
	}
	plain := targets(func(*Targets) {})
	rv := NewRevocations(testExpires)
	rv.Revoked = append(rv.Revoked, &Revocation{KeyID: k[0].key.ID(), Key: k[0].key, Role: "alpha", Reason: "lost", RevokedAt: time.Unix(0, 0).UTC()})
	revocations, err := New(rv).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	parse := map[string]func([]byte) error{
		"targets":     func(b []byte) error { _, err := Parse[*Targets](b); return err },
		"revocations": func(b []byte) error { _, err := Parse[*Revocations](b); return err },
	}
	cases := []struct {
		name, as string
		doc      []byte
		kind     error
	}{
		{"duplicate name", "targets", bytes.Replace(plain, []byte(`"version":1`), []byte(`"version":1,"version":1`), 1), ErrDuplicateName},
		{"version 0", "targets", bytes.Replace(plain, []byte(`"version":1`), []byte(`"version":0`), 1), ErrVersionBelowOne},
		{"spec version 2", "targets", bytes.Replace(plain, []byte(`"spec_version":"`+SpecVersion+`"`), []byte(`"spec_version":"2.0.0"`), 1), ErrSpecVersion},
		{"role delegated twice", "targets", targets(func(tg *Targets) { tg.Delegations.Roles = []*DelegatedRole{role("a"), role("a")} }), ErrRoleDelegatedTwice},
		{"top-level role delegated", "targets", targets(func(tg *Targets) { tg.Delegations.Roles = []*DelegatedRole{role(TypeSnapshot)} }), ErrTopLevelDelegated},
		{"revoked keyid not the key's", "revocations", bytes.Replace(revocations, []byte(`"keyid":"`+k[0].key.ID()), []byte(`"keyid":"`+k[1].key.ID()), 1), ErrKeyIDMismatch},
		{"truncated", "targets", plain[:len(plain)/2], nil},
	}
	kinds := []error{ErrDuplicateName, ErrVersionBelowOne, ErrSpecVersion, ErrRoleDelegatedTwice, ErrTopLevelDelegated, ErrKeyIDMismatch}
	for _, c := range cases {
		err := parse[c.as](c.doc)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: %v is not a *SyntaxError", c.name, err)
			continue
		}
		for _, kind := range kinds {
			if got, want := errors.Is(err, kind), kind == c.kind; got != want {
				t.Errorf("%s: errors.Is(%v, %q) = %v", c.name, err, kind, got)
			}
		}
	}
}
