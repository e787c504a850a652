package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func TestSignOptions(t *testing.T) {
	for _, salt := range []int{rsa.PSSSaltLengthAuto, rsa.PSSSaltLengthEqualsHash, 32} {
		o, err := SignOptions(&rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: salt})
		if pss, ok := o.(*rsa.PSSOptions); err != nil || !ok || pss.SaltLength != 32 || pss.Hash != crypto.SHA256 {
			t.Errorf("salt %d: got %+v, %v; want a 32-byte salt", salt, o, err)
		}
	}
	var nilPSS *rsa.PSSOptions
	for _, o := range []crypto.SignerOpts{nilPSS, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}} {
		if _, err := SignOptions(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := SignOptions(&rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("salt 20: %v, want ErrUnsupported", err)
	}
	if o, err := SignOptions(crypto.SHA384); o != crypto.SHA384 || err != nil {
		t.Errorf("ECDSA options changed: %v, %v", o, err)
	}
}

// ecdsaRS splits a DER ECDSA signature.
func ecdsaRS(t *testing.T, der []byte) (r, s *big.Int) {
	t.Helper()
	r, s = new(big.Int), new(big.Int)
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) {
		t.Fatalf("not DER: %x", der)
	}
	return r, s
}

// isLowS reports whether a DER ECDSA signature's s is at most half the
// curve order.
func isLowS(t *testing.T, pub *ecdsa.PublicKey, der []byte) bool {
	_, s := ecdsaRS(t, der)
	return s.Cmp(new(big.Int).Rsh(pub.Curve.Params().N, 1)) <= 0
}

func TestLowS(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		priv, _ := ecdsa.GenerateKey(curve, rand.Reader)
		d := sha256.Sum256([]byte("m"))
		var low, high int
		for i := 0; i < 16; i++ {
			sig, err := ecdsa.SignASN1(rand.Reader, priv, d[:])
			if err != nil {
				t.Fatal(err)
			}
			r, s := ecdsaRS(t, sig)
			// Both forms of the one signature go in; the low one comes out.
			var b cryptobyte.Builder
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1BigInt(r)
				b.AddASN1BigInt(new(big.Int).Sub(curve.Params().N, s))
			})
			twin := b.BytesOrPanic()
			for _, in := range [][]byte{sig, twin} {
				out, err := LowS(&priv.PublicKey, in)
				if err != nil {
					t.Fatal(err)
				}
				if !isLowS(t, &priv.PublicKey, out) || !ecdsa.VerifyASN1(&priv.PublicKey, d[:], out) {
					t.Fatalf("LowS(%x) = %x: not a low-S signature that verifies", in, out)
				}
				if isLowS(t, &priv.PublicKey, in) {
					low++
				} else {
					high++
				}
			}
		}
		if low == 0 || high == 0 {
			t.Errorf("%s: %d low and %d high inputs: the test saw only one form", curve.Params().Name, low, high)
		}
	}
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, bad := range [][]byte{nil, {0x30, 0x00}, append(make([]byte, 64), 1)} {
		if _, err := LowS(&priv.PublicKey, bad); !errors.Is(err, ErrBadSignature) {
			t.Errorf("LowS(%x): %v", bad, err)
		}
	}
}
