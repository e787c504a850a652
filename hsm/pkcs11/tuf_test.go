package pkcs11

import (
	"encoding/json"
	"testing"
	"time"

	gotuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
)

// verifyWithRolesAndGoTUF signs TUF root metadata with the device signer
// through roles.Sign, checks it with roles, and has go-tuf v2 verify it as an
// independent client would. The keyid is ceremony's: go-tuf is never asked
// to derive one (it names P-384 keys wrongly), only to agree with it.
func verifyWithRolesAndGoTUF(t *testing.T, s hsm.Signer, kt hsm.KeyType) {
	t.Helper()
	key, err := roles.KeyFromPublic(s.Public())
	if err != nil {
		t.Fatalf("roles.KeyFromPublic: %v", err)
	}
	// Canonical JSON leaves the PEM's newlines raw, which encoding/json
	// refuses, so the key object goes to go-tuf field by field.
	gk := gotuf.Key{Type: key.Type, Scheme: key.Scheme, Value: gotuf.KeyVal{PublicKey: key.Public()}}
	if id, err := gk.ID(); err != nil || id != key.ID() {
		t.Errorf("%s: go-tuf computes keyid %s (%v), ceremony %s", kt, id, err, key.ID())
	}
	root := gotuf.Root(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	root.Signed.Keys[key.ID()] = &gk
	root.Signed.Roles[gotuf.ROOT].KeyIDs = []string{key.ID()}
	signed, err := json.Marshal(root.Signed)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := roles.Canonicalize(signed)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := roles.Sign(s, key, payload)
	if err != nil {
		t.Fatalf("%s: roles.Sign with the device: %v", kt, err)
	}
	if sig.KeyID != key.ID() {
		t.Errorf("signature keyid %s, want %s", sig.KeyID, key.ID())
	}
	if err := key.Verify(payload, sig.Sig); err != nil {
		t.Fatalf("%s: roles rejects the device's signature: %v", kt, err)
	}
	root.Signatures = []gotuf.Signature{{KeyID: sig.KeyID, Signature: sig.Sig}}
	if err := root.VerifyDelegate(gotuf.ROOT, root); err != nil {
		t.Fatalf("%s: go-tuf rejects the device's signature: %v", kt, err)
	}
	// And go-tuf notices when the signed bytes change.
	root.Signed.Version = 2
	if err := root.VerifyDelegate(gotuf.ROOT, root); err == nil {
		t.Fatalf("%s: go-tuf accepts a signature over different bytes", kt)
	}
}
