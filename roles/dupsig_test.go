package roles

import (
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func TestDuplicateSignatureKeyIDRefused(t *testing.T) {
	k := newIKey(t, "ed25519")
	m := New(NewTargets(interopExpires))
	isign(t, m, k)
	// A second, garbage signature under the same keyid.
	m.Signatures = append(m.Signatures, Signature{KeyID: k.key.ID(), Sig: make([]byte, 64)})
	doc := publish(t, m)
	if _, err := metadata.Targets().FromBytes(doc); err == nil {
		t.Fatal("control: go-tuf loaded a document with a duplicate signature keyid")
	}
	p, err := Parse[*Targets](doc)
	if err == nil {
		del := Delegation{Role: "p", Keys: map[string]*Key{k.key.ID(): k.key}, KeyIDs: []string{k.key.ID()}, Threshold: 1}
		_, verr := Verify(p, del)
		t.Errorf("roles parses a document stock clients refuse (two signatures by keyid %s); Verify says %v", k.key.ID()[:8], verr)
	}
}
