package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	p11 "github.com/miekg/pkcs11"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// signer signs with one private key through its token's shared session.
type signer struct {
	tok    *token
	priv   p11.ObjectHandle // guarded by tok.mu: a new login may change it
	find   []*p11.Attribute // finds priv again after a new login
	auth   hsm.Auth         // logs in again if the token was logged out
	key    hsm.Key
	closed atomic.Bool
	// alwaysAuth is the key's CKA_ALWAYS_AUTHENTICATE: the token wants the
	// PIN again for every signature (a YubiKey's PIV signature slot through
	// ykcs11, for one). Set once, before the signer is shared.
	alwaysAuth bool
	// verify is false only in the benchmark that measures the cost of the
	// software check on its own; every other signer verifies.
	verify bool
}

func newSigner(t *token, priv p11.ObjectHandle, find []*p11.Attribute, auth hsm.Auth, k hsm.Key) *signer {
	t.mod.signers.Add(1)
	return &signer{tok: t, priv: priv, find: find, auth: auth, key: k, verify: true}
}

// Public implements crypto.Signer.
func (s *signer) Public() crypto.PublicKey { return s.key.Public }

// Key implements hsm.Signer.
func (s *signer) Key() hsm.Key { return s.key }

// Close implements hsm.Signer. The token's session and login stay open for
// other signers on it until the backend is closed: a ceremony logs in once.
func (s *signer) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.tok.mod.signers.Add(-1)
	}
	return nil
}

// Sign implements crypto.Signer; see hsm.Signer for what it signs. rand is
// ignored: the token has its own randomness.
func (s *signer) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("%s: this signer was closed; open the key again", s.key.Device)
	}
	opts, err := hsm.SignOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.key.Device, err)
	}
	mech, size, err := s.mechanism(msg, opts)
	if err != nil {
		return nil, err
	}
	raw, err := s.tok.signFor(s, mech, msg)
	if err != nil {
		return nil, err
	}
	sig := raw
	if size > 0 {
		sig, err = rsToDER(raw, size)
		if err == nil {
			sig, err = hsm.LowS(s.key.Public.(*ecdsa.PublicKey), sig)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v: %w", s.key.Device, err, hsm.ErrBadSignature)
		}
	}
	if s.verify {
		if err := hsm.Verify(s.key.Public, msg, sig, opts); err != nil {
			return nil, fmt.Errorf("%s, key %s: %w; do not use this device until it is checked", s.key.Device, s.key.Label, err)
		}
	}
	return sig, nil
}

// mechanism chooses the PKCS#11 mechanism for the key and options. size is
// the ECDSA coordinate size when the result needs converting to DER.
func (s *signer) mechanism(msg []byte, opts crypto.SignerOpts) (m []*p11.Mechanism, size int, err error) {
	hash, err := hsm.HashOf(opts)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", s.key.Device, err)
	}
	switch pub := s.key.Public.(type) {
	case ed25519.PublicKey:
		if o, ok := opts.(*ed25519.Options); ok && o.Context != "" {
			return nil, 0, fmt.Errorf("%s: Ed25519 with a context is not supported: %w", s.key.Device, hsm.ErrUnsupported)
		}
		if hash != 0 {
			return nil, 0, fmt.Errorf("%s: Ed25519 signs the whole message (crypto.Hash(0)); Ed25519ph with %v is not supported: %w", s.key.Device, hash, hsm.ErrUnsupported)
		}
		return []*p11.Mechanism{p11.NewMechanism(ckmEdDSA, nil)}, 0, nil
	case *ecdsa.PublicKey:
		if hash != 0 && len(msg) != hash.Size() {
			return nil, 0, fmt.Errorf("%s: ECDSA signs a digest: got %d bytes, but %v digests are %d", s.key.Device, len(msg), hash, hash.Size())
		}
		if len(msg) == 0 {
			return nil, 0, errors.New("ECDSA: empty digest")
		}
		return []*p11.Mechanism{p11.NewMechanism(p11.CKM_ECDSA, nil)}, (pub.Curve.Params().BitSize + 7) / 8, nil
	case *rsa.PublicKey:
		pss, ok := opts.(*rsa.PSSOptions)
		if !ok {
			return nil, 0, fmt.Errorf("%s: RSA keys sign with PSS only (TUF's rsassa-pss-sha256): pass *rsa.PSSOptions: %w", s.key.Device, hsm.ErrUnsupported)
		}
		var hm, mgf uint
		switch hash {
		case crypto.SHA256:
			hm, mgf = p11.CKM_SHA256, p11.CKG_MGF1_SHA256
		case crypto.SHA384:
			hm, mgf = p11.CKM_SHA384, p11.CKG_MGF1_SHA384
		case crypto.SHA512:
			hm, mgf = p11.CKM_SHA512, p11.CKG_MGF1_SHA512
		default:
			return nil, 0, fmt.Errorf("%s: RSA-PSS with %v is not supported; use SHA-256, SHA-384 or SHA-512: %w", s.key.Device, hash, hsm.ErrUnsupported)
		}
		if len(msg) != hash.Size() {
			return nil, 0, fmt.Errorf("%s: RSA-PSS signs a digest: got %d bytes, but %v digests are %d", s.key.Device, len(msg), hash, hash.Size())
		}
		// Sign has made the salt as long as the digest (hsm.SignOptions).
		return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_PSS, p11.NewPSSParams(hm, mgf, uint(pss.SaltLength)))}, 0, nil
	}
	return nil, 0, fmt.Errorf("%s: unsupported key type %T: %w", s.key.Device, s.key.Public, hsm.ErrUnsupported)
}

// signFor signs for s, logging in again and finding its key anew when the
// token was logged out since s was made (a logout invalidates the handles
// of private objects).
func (t *token) signFor(s *signer, mech []*p11.Mechanism, in []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sig, err := t.signKeyLocked(s, mech, in)
	if err == nil || !errors.Is(err, hsm.ErrNotLoggedIn) {
		return sig, err
	}
	if lerr := t.loginLocked(s.auth); lerr != nil {
		return nil, fmt.Errorf("%w (logging in again failed: %v)", err, lerr)
	}
	hs, ferr := t.findLocked(s.find)
	if ferr != nil {
		return nil, ferr
	}
	if len(hs) != 1 {
		return nil, fmt.Errorf("%s: key %s is no longer on the token (%d matches after logging in again): %w", t.dev, s.key.URI, len(hs), hsm.ErrNotFound)
	}
	s.priv = hs[0]
	return t.signKeyLocked(s, mech, in)
}

// signKeyLocked signs with s's key, giving the PIN again between
// C_SignInit and C_Sign when the key asks for it.
func (t *token) signKeyLocked(s *signer, mech []*p11.Mechanism, in []byte) ([]byte, error) {
	if !s.alwaysAuth {
		return t.signLocked(s.priv, mech, in)
	}
	if err := t.sessionLocked(); err != nil {
		return nil, err
	}
	if err := t.mod.ctx.SignInit(t.sess, mech, s.priv); err != nil {
		return nil, t.errLocked("start signing", err)
	}
	if err := t.contextLoginLocked(s.auth); err != nil {
		// A C_Sign that fails ends the operation, so the session is free
		// for the next one; without the PIN it cannot produce a signature.
		_, _ = t.mod.ctx.Sign(t.sess, in)
		return nil, err
	}
	sig, err := t.mod.ctx.Sign(t.sess, in)
	if err != nil {
		return nil, t.errLocked("sign", err)
	}
	return sig, nil
}

// sign runs one C_SignInit + C_Sign on the token's session, holding the
// token's lock so that concurrent signers take turns.
func (t *token) sign(h p11.ObjectHandle, mech []*p11.Mechanism, in []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.signLocked(h, mech, in)
}

func (t *token) signLocked(h p11.ObjectHandle, mech []*p11.Mechanism, in []byte) ([]byte, error) {
	if err := t.sessionLocked(); err != nil {
		return nil, err
	}
	if err := t.mod.ctx.SignInit(t.sess, mech, h); err != nil {
		return nil, t.errLocked("start signing", err)
	}
	sig, err := t.mod.ctx.Sign(t.sess, in)
	if err != nil {
		return nil, t.errLocked("sign", err)
	}
	return sig, nil
}
