package roles

import (
	"errors"
	"strings"
	"testing"
)

func aliasOf(t *testing.T, k ikey) ikey {
	t.Helper()
	a, err := ParseKey([]byte(`{"keytype":"` + k.key.Type + `","keyval":{"public":"` + k.key.Public() + `"},"scheme":"` + k.key.Scheme + `","x-alias":true}`))
	if err != nil {
		t.Fatal(err)
	}
	return ikey{k.priv, a}
}

func TestPolicyDelegatedThresholdCountsDistinctKeys(t *testing.T) {
	k := newIKey(t, "ed25519")
	alias := aliasOf(t, k)
	cl := NewTargets(interopExpires)
	cl.Delegations = &Delegations{
		Keys:  map[string]*Key{k.key.ID(): k.key, alias.key.ID(): alias.key},
		Roles: []*DelegatedRole{{Name: "proj", KeyIDs: []string{k.key.ID(), alias.key.ID()}, Threshold: 2, Paths: []string{"proj/*"}}},
	}
	// Verify can never reach threshold 2 for proj: one key signed.
	pm := New(NewTargets(interopExpires))
	isign(t, pm, k, alias)
	del, _ := cl.Delegations.Delegation("proj")
	if _, err := Verify(pm, del); !errors.Is(err, ErrThreshold) {
		t.Fatalf("control: Verify reached threshold 2 with one key: %v", err)
	}
	fs := CheckTargets("claimed", nil, cl, 1000, Policy{Now: interopNow})
	for _, f := range fs {
		if f.Check == CheckThresholdWithinKeys && f.Passed {
			t.Errorf("policy passes a role whose threshold cannot be reached: %s", f)
		}
	}
}

func TestPolicyOfflineKeySharedOnlineUnderAlias(t *testing.T) {
	keys := []ikey{newIKey(t, "ed25519"), newIKey(t, "p256"), newIKey(t, "ed25519")}
	r := NewRoot(interopExpires)
	r.AddKey(TypeRoot, keys[0].key)
	r.AddKey(TypeRoot, keys[1].key)
	r.Roles[TypeRoot].Threshold = 2
	r.AddKey(TypeTargets, keys[2].key)
	r.AddKey(TypeSnapshot, keys[2].key) // control: same keyid, caught
	r.AddKey(TypeTimestamp, aliasOf(t, keys[0]).key)
	for _, f := range CheckRoot(nil, r, Policy{Now: interopNow}) {
		if f.Check == CheckOfflineNotSharedOnline {
			if !strings.Contains(f.Message, "targets key") {
				t.Fatalf("control: the targets key shared with snapshot under one keyid was not caught: %s", f)
			}
			if !strings.Contains(f.Message, "root key") {
				t.Errorf("a root key signing for timestamp under another keyid was not caught: %s", f)
			}
		}
	}
}
