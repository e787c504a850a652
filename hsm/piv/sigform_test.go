package piv_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/piv"
	"github.com/ceremony-tuf/ceremony/internal/vpiv"
)

// TestSignatureForms: the card's ECDSA s is as often high as low, and
// go-piv pads RSA-PSS with the salt it is asked for; what the signer
// returns has a low s, and a salt as long as the digest whatever the
// options said.
func TestSignatureForms(t *testing.T) {
	insert(t, vpiv.Config{Serial: 4242})
	b := &piv.Backend{Out: &syncBuffer{}}
	for slot, kt := range map[string]hsm.KeyType{"9c": hsm.ECDSAP256, "9a": hsm.RSA2048} {
		if _, err := b.Generate(ctx, "piv:serial=4242;slot="+slot, kt, hsm.GenerateOptions{PINPolicy: "never", TouchPolicy: "never"}, hsm.Auth{}); err != nil {
			t.Fatal(err)
		}
	}
	d := sha256.Sum256([]byte("signed"))

	s, err := b.Signer(ctx, "piv:serial=4242;slot=9c", hsm.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(*ecdsa.PublicKey)
	for i := 0; i < 32; i++ { // all 32 low by chance: 2^-32
		sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if low, err := hsm.LowS(pub, sig); err != nil || !bytes.Equal(low, sig) {
			t.Fatalf("signature %d has a high s: %x", i, sig)
		}
	}
	s.Close()

	s, err = b.Signer(ctx, "piv:serial=4242;slot=9a", hsm.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, salt := range []int{rsa.PSSSaltLengthAuto, rsa.PSSSaltLengthEqualsHash} {
		sig, err := s.Sign(rand.Reader, d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		if err := rsa.VerifyPSS(s.Public().(*rsa.PublicKey), crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: 32}); err != nil {
			t.Errorf("salt option %d: the signature's salt is not 32 bytes: %v", salt, err)
		}
	}
	if _, err := s.Sign(rand.Reader, d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}); !errors.Is(err, hsm.ErrUnsupported) {
		t.Errorf("salt 20: got %v, want ErrUnsupported", err)
	}
}
