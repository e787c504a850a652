package roles

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
)

// testSigners returns one in-memory signer of every supported kind.
func testSigners(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{SchemeEd25519: ed, SchemeECDSAP256: p256, SchemeECDSAP384: p384, SchemeRSAPSS: rk}
}

func TestKeySignVerifyEveryScheme(t *testing.T) {
	msg := []byte(`{"_type":"root"}`)
	for scheme, s := range testSigners(t) {
		k, err := KeyFromPublic(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		if k.Scheme != scheme {
			t.Errorf("KeyFromPublic(%T).Scheme = %q, want %q", s.Public(), k.Scheme, scheme)
		}
		sig, err := Sign(s, k, msg)
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if sig.KeyID != k.ID() || len(sig.KeyID) != 64 {
			t.Errorf("%s: keyid %q", scheme, sig.KeyID)
		}
		if err := k.Verify(msg, sig.Sig); err != nil {
			t.Errorf("%s: own signature: %v", scheme, err)
		}
		if err := k.Verify([]byte(`{"_type":"rooT"}`), sig.Sig); err == nil {
			t.Errorf("%s: signature verified over another message", scheme)
		}
		c := &cwriter{escape: true}
		k.write(c)
		back, err := ParseKey(c.buf)
		if err != nil || back.ID() != k.ID() {
			t.Errorf("%s: key does not round-trip: %v", scheme, err)
		}
	}
}

// TestKeyIDCoversExtraFields: the keyid is the hash of the key object as it
// stands, extra members included (FACTS.md).
func TestKeyIDCoversExtraFields(t *testing.T) {
	plain := `{"keytype":"ed25519","keyval":{"public":"` + strings.Repeat("ab", 32) + `"},"scheme":"ed25519"}`
	extra := `{"keyid_hash_algorithms":["sha256","sha512"],"keytype":"ed25519","keyval":{"public":"` + strings.Repeat("ab", 32) + `","x-note":1},"scheme":"ed25519"}`
	a, err := ParseKey([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseKey([]byte(extra))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() == b.ID() {
		t.Error("extra members did not change the keyid")
	}
	if string(b.CanonicalJSON()) != extra {
		t.Errorf("canonical form of key with extras:\n got %s\nwant %s", b.CanonicalJSON(), extra)
	}
	ia, _ := a.identity()
	ib, _ := b.identity()
	if ia != ib {
		t.Error("one public key under two keyids must have one identity")
	}
}

// TestEd25519StreamingMatchesStdlib checks the streamed Ed25519 verifier
// against crypto/ed25519 on valid, altered and malformed signatures.
func TestEd25519StreamingMatchesStdlib(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := KeyFromPublic(pub)
	msg := []byte("message")
	good := ed25519.Sign(priv, msg)
	cases := [][]byte{good}
	for i := 0; i < 64; i++ {
		bad := append([]byte(nil), good...)
		bad[i] ^= 1 << (i % 8)
		cases = append(cases, bad)
	}
	for i, sig := range cases {
		want := ed25519.Verify(pub, msg, sig)
		got := k.Verify(msg, sig) == nil
		if got != want {
			t.Errorf("case %d: streaming verify %v, crypto/ed25519 %v", i, got, want)
		}
	}
}

func TestECDSARawSignatureRefused(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, _ := KeyFromPublic(priv.Public())
	msg := []byte("m")
	d := digestOf(crypto.SHA256, msg)
	r, s, _ := ecdsa.Sign(rand.Reader, priv, d)
	raw := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	if err := k.Verify(msg, raw); err == nil {
		t.Error("raw r||s ECDSA signature accepted; TUF requires DER")
	}
}
