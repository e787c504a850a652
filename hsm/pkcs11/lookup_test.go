package pkcs11

import (
	"errors"
	"testing"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// TestLookupWithoutLogin: hsm.Lookup finds a key and its device by the
// key's public half, with no PIN and no login, so that a face can refuse
// a wrong key before it asks for one; a URI matching no key or several is
// refused as such.
func TestLookupWithoutLogin(t *testing.T) {
	resetAfter(t, "list")
	k := generate(t, "pkcs11:token=list;object=lookup-a", hsm.Ed25519)
	generate(t, "pkcs11:token=list;object=lookup-b", hsm.ECDSAP256)
	// Log out, so that a login would need a PIN.
	tok, err := Default().oneToken(&URI{Token: "list"})
	if err != nil {
		t.Fatal(err)
	}
	tok.mu.Lock()
	if tok.loggedIn {
		tok.mod.ctx.Logout(tok.sess)
		tok.loggedIn = false
	}
	tok.mu.Unlock()
	got, err := hsm.Lookup(ctx, "pkcs11:token=list;object=lookup-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.URI != k.URI || got.Device.Label != "list" || got.Public == nil {
		t.Errorf("found %+v, want %+v", got, k)
	}
	tok.mu.Lock()
	loggedIn := tok.loggedIn
	tok.mu.Unlock()
	if loggedIn {
		t.Error("Lookup logged in")
	}
	if _, err := hsm.Lookup(ctx, "pkcs11:token=list;object=nothing"); !errors.Is(err, hsm.ErrNotFound) {
		t.Errorf("no such key: %v", err)
	}
	if _, err := hsm.Lookup(ctx, "pkcs11:token=list"); !errors.Is(err, hsm.ErrAmbiguous) {
		t.Errorf("two keys: %v", err)
	}
	// Open, after Lookup, logs in and signs with the key Lookup found.
	s, err := hsm.Open(ctx, got.URI, goodAuth())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Key().URI != got.URI {
		t.Errorf("opened %s, looked up %s", s.Key().URI, got.URI)
	}
}
