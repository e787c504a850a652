package roles

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"filippo.io/edwards25519"
)

// ed25519Encoding is the 32-byte encoding with y = p + v (v ≤ 18: a second,
// non-canonical encoding of y = v), sign bit clear.
func ed25519Encoding(v byte) []byte {
	b := []byte{0xed + v}
	for i := 0; i < 30; i++ {
		b = append(b, 0xff)
	}
	return append(b, 0x7f)
}

// TestSmallOrderY derives the table checkEd25519 uses: every y it lists,
// with either sign of x, decodes to a point that 8 (the cofactor) sends to
// the identity, and together they are eight distinct points, which is all
// of them.
func TestSmallOrderY(t *testing.T) {
	identity := edwards25519.NewIdentityPoint()
	points := map[string]bool{}
	for _, y := range smallOrderY {
		for _, sign := range []byte{0, 0x80} {
			b := y
			b[31] |= sign
			p, err := new(edwards25519.Point).SetBytes(b[:])
			if err != nil {
				t.Fatalf("%x does not decode: %v", b, err)
			}
			if new(edwards25519.Point).MultByCofactor(p).Equal(identity) != 1 {
				t.Errorf("%x is not of small order", b)
			}
			points[string(p.Bytes())] = true
			if err := checkEd25519(b[:]); err == nil {
				t.Errorf("checkEd25519 accepts %x", b)
			}
		}
	}
	if len(points) != 8 {
		t.Errorf("the table names %d points of small order, want 8", len(points))
	}
}

// TestForgedSignatureOverTwoEncodings is the reported attack: the identity
// point under two encodings was two keyids, and the signature (R =
// identity, S = 0), which verifies under the identity for any message,
// reached threshold 2. Neither key may count, and the two are one key.
func TestForgedSignatureOverTwoEncodings(t *testing.T) {
	canonical := append([]byte{1}, make([]byte, 31)...)
	encodings := [][]byte{canonical, ed25519Encoding(1), append(append([]byte{1}, make([]byte, 30)...), 0x80)}
	forged := append(append([]byte{}, canonical...), make([]byte, 32)...)
	msg := []byte(`{"_type":"root","version":2}`)
	del := Delegation{Role: "root", Keys: map[string]*Key{}, Threshold: 2}
	var sigs []Signature
	var idents []string
	for _, enc := range encodings {
		k := NewKey(KeyTypeEd25519, SchemeEd25519, hex.EncodeToString(enc))
		del.Keys[k.ID()] = k
		del.KeyIDs = append(del.KeyIDs, k.ID())
		sigs = append(sigs, Signature{KeyID: k.ID(), Sig: forged})
		if _, err := k.PublicKey(); err == nil {
			t.Errorf("ed25519 key %x accepted", enc)
		}
		id, err := k.identity()
		if err != nil {
			t.Fatal(err)
		}
		idents = append(idents, id)
	}
	if idents[0] != idents[1] || idents[0] != idents[2] {
		t.Error("three encodings of the identity point are not one key")
	}
	rep, err := VerifyCanonical(msg, sigs, del)
	if !errors.Is(err, ErrThreshold) || rep.Count() != 0 {
		t.Fatalf("forged signatures: %d counted, error %v; want none counted", rep.Count(), err)
	}
	root := NewRoot(interopExpires)
	for id, k := range del.Keys {
		root.Keys[id] = k
	}
	root.Roles[TypeRoot] = &RoleKeys{KeyIDs: del.KeyIDs, Threshold: 2}
	if f := failed(CheckRoot(nil, root, Policy{Now: interopExpires.AddDate(-1, 0, 0)}), CheckKeysValid); f == nil || !strings.Contains(f.Message, "small order") {
		t.Errorf("keys.valid: %+v", f)
	}
}

// failed returns the failed finding of a check, or nil.
func failed(fs Findings, check string) *Finding {
	for _, f := range fs.Failed() {
		if f.Check == check {
			return &f
		}
	}
	return nil
}

// TestNonCanonicalEd25519 finds a point whose y has two encodings (y < 19
// and y + p) and is not of small order: the second encoding is refused and
// names the same key as the first.
func TestNonCanonicalEd25519(t *testing.T) {
	found := false
	for v := byte(2); v < 19; v++ {
		enc := ed25519Encoding(v)
		if _, err := new(edwards25519.Point).SetBytes(enc); err != nil {
			continue // y = v is not on the curve
		}
		found = true
		canon := make([]byte, 32)
		canon[0] = v
		k1 := NewKey(KeyTypeEd25519, SchemeEd25519, hex.EncodeToString(canon))
		k2 := NewKey(KeyTypeEd25519, SchemeEd25519, hex.EncodeToString(enc))
		if _, err := k1.PublicKey(); err != nil {
			t.Errorf("y = %d canonically encoded: %v", v, err)
		}
		if _, err := k2.PublicKey(); err == nil || !strings.Contains(err.Error(), "not canonically encoded") {
			t.Errorf("y = p + %d: got %v, want a refusal as non-canonical", v, err)
		}
		i1, _ := k1.identity()
		i2, _ := k2.identity()
		if i1 != i2 {
			t.Errorf("y = %d and y = p + %d are two keys", v, v)
		}
	}
	if !found {
		t.Fatal("no y below 19 is on the curve: the test finds nothing to check")
	}
}

// TestWeakRSARefused: a 1024-bit RSA key is not a key, in a file or from a
// device, and its signatures do not count.
func TestWeakRSARefused(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := KeyFromPublic(priv.Public()); err == nil {
		t.Error("KeyFromPublic accepts RSA-1024")
	}
	pemKey, err := publicPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	k := NewKey(KeyTypeRSA, SchemeRSAPSS, pemKey)
	if _, err := k.PublicKey(); err == nil || !strings.Contains(err.Error(), "1024 bits is too weak") {
		t.Errorf("RSA-1024 key: got %v", err)
	}
	msg := []byte("m")
	sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, digestOf(crypto.SHA256, msg), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		t.Fatal(err)
	}
	del := Delegation{Role: "targets", Keys: map[string]*Key{k.ID(): k}, KeyIDs: []string{k.ID()}, Threshold: 1}
	if rep, err := VerifyCanonical(msg, []Signature{{KeyID: k.ID(), Sig: sig}}, del); !errors.Is(err, ErrThreshold) {
		t.Errorf("RSA-1024 signature counted: %+v", rep)
	}
}

// TestOneECDSAKeyUnderTwoPEMs: the same P-256 key written as two PEM texts
// (one with a header line) is two keyids but one key.
func TestOneECDSAKeyUnderTwoPEMs(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := KeyFromPublic(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(k1.Public(), "-----\n", "-----\nComment: the same key\n\n", 1)
	k2 := NewKey(KeyTypeECDSA, SchemeECDSAP256, other)
	if k1.ID() == k2.ID() {
		t.Fatal("control: the two PEM texts have one keyid")
	}
	msg := []byte(`{"_type":"targets"}`)
	var sigs []Signature
	for _, k := range []*Key{k1, k2} {
		s, err := Sign(priv, k, msg)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	del := Delegation{Role: "targets", Keys: map[string]*Key{k1.ID(): k1, k2.ID(): k2}, KeyIDs: []string{k1.ID(), k2.ID()}, Threshold: 2}
	if rep, err := VerifyCanonical(msg, sigs, del); !errors.Is(err, ErrThreshold) || rep.Count() != 1 {
		t.Errorf("one key under two PEM texts: %d counted, %v", rep.Count(), err)
	}
}
