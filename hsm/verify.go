package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
)

// Verify checks sig over msg with pub in software, the way Signer.Sign
// produced it: for Ed25519, msg is the whole message and opts.HashFunc() is
// 0; for ECDSA, msg is the digest and sig is ASN.1 DER; for RSA, msg is the
// digest and opts is *rsa.PSSOptions for PSS or any other crypto.SignerOpts
// for PKCS #1 v1.5. Backends call it on every signature before returning it,
// so that a faulty or malicious device cannot hand out a signature that
// would fail later, in front of every client. A mismatch wraps
// ErrBadSignature.
func Verify(pub crypto.PublicKey, msg, sig []byte, opts crypto.SignerOpts) error {
	hash, err := HashOf(opts)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("verify: Ed25519 public key is %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		if hash != 0 {
			return fmt.Errorf("verify: Ed25519 signs the whole message, but a %v digest was given", hash)
		}
		if !ed25519.Verify(k, msg, sig) {
			return fmt.Errorf("Ed25519 signature does not verify with the key's public half: %w", ErrBadSignature)
		}
		return nil
	case *ecdsa.PublicKey:
		if hash != 0 && len(msg) != hash.Size() {
			return fmt.Errorf("verify: digest is %d bytes, but %v makes %d", len(msg), hash, hash.Size())
		}
		if !ecdsa.VerifyASN1(k, msg, sig) {
			return fmt.Errorf("ECDSA %s signature does not verify with the key's public half: %w", k.Curve.Params().Name, ErrBadSignature)
		}
		return nil
	case *rsa.PublicKey:
		if hash == 0 || !hash.Available() {
			return fmt.Errorf("verify: RSA signatures need a digest and its hash function, got %v", hash)
		}
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			if err := rsa.VerifyPSS(k, hash, msg, sig, pss); err != nil {
				return fmt.Errorf("RSA-PSS signature does not verify with the key's public half (%v): %w", err, ErrBadSignature)
			}
			return nil
		}
		if err := rsa.VerifyPKCS1v15(k, hash, msg, sig); err != nil {
			return fmt.Errorf("RSA PKCS #1 v1.5 signature does not verify with the key's public half (%v): %w", err, ErrBadSignature)
		}
		return nil
	}
	return fmt.Errorf("verify: unsupported public key type %T: %w", pub, ErrUnsupported)
}

// HashOf returns opts.HashFunc(), 0 for nil opts, and an error instead of a
// panic for the typed nil pointers (*rsa.PSSOptions, *ed25519.Options) whose
// HashFunc would dereference nil.
func HashOf(opts crypto.SignerOpts) (crypto.Hash, error) {
	switch o := opts.(type) {
	case nil:
		return 0, nil
	case *rsa.PSSOptions:
		if o == nil {
			return 0, errors.New("nil *rsa.PSSOptions: give the hash and salt length")
		}
	case *ed25519.Options:
		if o == nil {
			return 0, errors.New("nil *ed25519.Options")
		}
	}
	return opts.HashFunc(), nil
}
