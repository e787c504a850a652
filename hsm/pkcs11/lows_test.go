package pkcs11

import (
	"bytes"
	"crypto/ecdsa"
	"testing"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// TestECDSALowS: SoftHSM's s is as often high as low; every signature the
// signer returns has the low one. 32 signatures all low by chance: 2^-32.
func TestECDSALowS(t *testing.T) {
	resetAfter(t, "gen")
	for _, kt := range []hsm.KeyType{hsm.ECDSAP256, hsm.ECDSAP384} {
		k := generate(t, "pkcs11:token=gen;object=lows-"+string(kt), kt)
		s := open(t, k.URI)
		in, opts := digestFor(kt)
		for i := 0; i < 32; i++ {
			sig, err := s.Sign(nil, in, opts)
			if err != nil {
				t.Fatal(err)
			}
			if low, err := hsm.LowS(k.Public.(*ecdsa.PublicKey), sig); err != nil || !bytes.Equal(low, sig) {
				t.Fatalf("%s: signature %d has a high s: %x", kt, i, sig)
			}
		}
		s.Close()
	}
}
