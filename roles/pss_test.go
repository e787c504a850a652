package roles

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"slices"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"
)

// TestPSSSaltLength: go-securesystemslib refuses an RSA-PSS salt that is
// not as long as the digest, python-tuf accepts it. A threshold counts
// only signatures every client accepts; VerifyWith's AnyPSSSalt counts the
// others too, for a foreign repository, and lists them in Relaxed.
func TestPSSSaltLength(t *testing.T) {
	k := newIKey(t, "rsa")
	priv := k.priv.(*rsa.PrivateKey)
	ssl, err := signerverifier.NewRSAPSSSignerVerifierFromSSLibKey(&signerverifier.SSLibKey{
		KeyType: KeyTypeRSA, Scheme: SchemeRSAPSS, KeyVal: signerverifier.KeyVal{Public: k.key.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	m := New(NewTargets(interopExpires))
	msg := m.CanonicalSigned()
	del := Delegation{Role: "targets", Keys: map[string]*Key{k.key.ID(): k.key}, KeyIDs: []string{k.key.ID()}, Threshold: 1}
	for _, c := range []struct {
		salt   int
		strict bool
	}{{32, true}, {20, false}, {rsa.PSSSaltLengthAuto, false}} {
		sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, digestOf(crypto.SHA256, msg), &rsa.PSSOptions{SaltLength: c.salt})
		if err != nil {
			t.Fatal(err)
		}
		if err := ssl.Verify(context.Background(), msg, sig); (err == nil) != c.strict {
			t.Fatalf("control: go-securesystemslib on salt %d says %v", c.salt, err)
		}
		err = k.key.Verify(msg, sig)
		if c.strict && err != nil || !c.strict && !(errors.Is(err, ErrPSSSalt) && errors.Is(err, ErrSignature)) {
			t.Errorf("Key.Verify, salt %d: %v", c.salt, err)
		}
		m.Signatures = []Signature{{KeyID: k.key.ID(), Sig: sig}}
		rep, err := Verify(m, del)
		if c.strict != (err == nil) || !c.strict && !errors.Is(rep.Invalid[k.key.ID()], ErrPSSSalt) {
			t.Errorf("Verify, salt %d: %v (invalid: %v)", c.salt, err, rep.Invalid)
		}
		rep, err = VerifyWith(m, del, VerifyOptions{AnyPSSSalt: true})
		if err != nil || rep.Count() != 1 || slices.Contains(rep.Relaxed, k.key.ID()) == c.strict {
			t.Errorf("VerifyWith AnyPSSSalt, salt %d: %v, relaxed %v", c.salt, err, rep.Relaxed)
		}
	}
	// What this package signs, go-securesystemslib accepts.
	sig, err := Sign(priv, k.key, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ssl.Verify(context.Background(), msg, sig.Sig); err != nil {
		t.Errorf("go-securesystemslib refuses roles.Sign's signature: %v", err)
	}
}
