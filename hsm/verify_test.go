package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"testing"
)

// TestVerify signs with in-memory keys of every type and checks that Verify
// accepts the signature and refuses it once a bit is flipped.
func TestVerify(t *testing.T) {
	msg := []byte("signed: root v8")
	d256 := sha256.Sum256(msg)
	d384 := sha512.Sum384(msg)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	pss := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
	cases := []struct {
		name   string
		signer crypto.Signer
		pub    crypto.PublicKey
		in     []byte
		opts   crypto.SignerOpts
	}{
		{"ed25519", edPriv, edPub, msg, crypto.Hash(0)},
		{"p256", p256, &p256.PublicKey, d256[:], crypto.SHA256},
		{"p384", p384, &p384.PublicKey, d384[:], crypto.SHA384},
		{"rsa-pss", rk, &rk.PublicKey, d256[:], pss},
		{"rsa-pkcs1", rk, &rk.PublicKey, d256[:], crypto.SHA256},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sig, err := c.signer.Sign(rand.Reader, c.in, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(c.pub, c.in, sig, c.opts); err != nil {
				t.Fatalf("good signature refused: %v", err)
			}
			sig[len(sig)/2] ^= 1
			if err := Verify(c.pub, c.in, sig, c.opts); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("flipped signature: got %v, want ErrBadSignature", err)
			}
		})
	}
	if err := Verify(edPub, d256[:], nil, crypto.SHA256); err == nil {
		t.Error("Ed25519 with a digest accepted")
	}
	if err := Verify(&p256.PublicKey, d256[:10], nil, crypto.SHA256); err == nil {
		t.Error("short digest accepted")
	}
	var nilPSS *rsa.PSSOptions
	if err := Verify(&rk.PublicKey, d256[:], nil, nilPSS); err == nil {
		t.Error("nil *rsa.PSSOptions accepted")
	}
	var nilEd *ed25519.Options
	if err := Verify(edPub, msg, nil, nilEd); err == nil {
		t.Error("nil *ed25519.Options accepted")
	}
	if err := Verify("not a key", msg, nil, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown key type: got %v", err)
	}
}
