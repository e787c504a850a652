package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// What every backend's signer makes of a request, so that no device signs
// in a form some verifier refuses.

// SignOptions returns the options a signer signs with: opts, except that
// RSA-PSS gets a salt exactly as long as the digest. python-tuf accepts
// any salt length, but go-securesystemslib accepts only that one, so it is
// the only one a signature of this module has. PSSSaltLengthAuto and
// PSSSaltLengthEqualsHash both mean it; any other length is refused,
// wrapping ErrUnsupported. Signers verify with the options returned, so a
// device that used another salt is caught.
func SignOptions(opts crypto.SignerOpts) (crypto.SignerOpts, error) {
	pss, ok := opts.(*rsa.PSSOptions)
	if !ok {
		return opts, nil
	}
	if pss == nil {
		return nil, errors.New("nil *rsa.PSSOptions: give the hash and salt length")
	}
	h := pss.HashFunc()
	if !h.Available() {
		return nil, fmt.Errorf("RSA-PSS needs a hash function, got %v: %w", h, ErrUnsupported)
	}
	switch pss.SaltLength {
	case rsa.PSSSaltLengthAuto, rsa.PSSSaltLengthEqualsHash, h.Size():
	default:
		return nil, fmt.Errorf("RSA-PSS with a %d-byte salt: signatures here have a salt as long as the digest (%d bytes), the only length every TUF client accepts: %w",
			pss.SaltLength, h.Size(), ErrUnsupported)
	}
	return &rsa.PSSOptions{SaltLength: h.Size(), Hash: h}, nil
}

// LowS returns the DER ECDSA signature (r, s) as (r, n - s) when s is
// above half the curve order n. Both verify; the low form is the only one
// this module hands out (docs/SECURITY.md).
func LowS(pub *ecdsa.PublicKey, der []byte) ([]byte, error) {
	r, s := new(big.Int), new(big.Int)
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) || !seq.Empty() {
		return nil, fmt.Errorf("ECDSA signature is not DER (r, s): %w", ErrBadSignature)
	}
	n := pub.Curve.Params().N
	if s.Cmp(new(big.Int).Rsh(n, 1)) <= 0 {
		return der, nil
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s.Sub(n, s))
	})
	return b.Bytes()
}
