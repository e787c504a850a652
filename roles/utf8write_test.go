package roles

import (
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func TestInvalidUTF8InModelRefusedOnWrite(t *testing.T) {
	k := newIKey(t, "ed25519")
	tg := NewTargets(interopExpires)
	tg.Targets["proj/caf\xe9.tar.gz"] = &TargetFile{Length: 1, Hashes: map[string]string{"sha256": "00"}}
	m := New(tg)
	isign(t, m, k)
	doc, err := m.MarshalJSON()
	if err != nil {
		return // refused: the fix
	}
	if _, perr := Parse[*Targets](doc); perr == nil {
		t.Fatal("control: roles parsed invalid UTF-8")
	}
	g, gerr := metadata.Targets().FromBytes(doc)
	if gerr == nil {
		gk, _ := metadata.KeyFromPublicKey(k.priv.Public())
		del := metadata.Targets(interopExpires)
		del.Signed.Delegations = &metadata.Delegations{Keys: map[string]*metadata.Key{k.key.ID(): gk},
			Roles: []metadata.DelegatedRole{{Name: "p", KeyIDs: []string{k.key.ID()}, Threshold: 1, Paths: []string{"*/*"}}}}
		gerr = del.VerifyDelegate("p", g)
	}
	t.Errorf("MarshalJSON published a signed document that is not valid UTF-8: roles cannot parse it back; go-tuf: %v", gerr)
}
