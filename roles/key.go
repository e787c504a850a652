package roles

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"strings"
	"unsafe"

	"filippo.io/edwards25519"
)

// Key types and signature schemes this package signs and verifies.
const (
	KeyTypeEd25519 = "ed25519"
	KeyTypeECDSA   = "ecdsa"
	KeyTypeRSA     = "rsa"

	SchemeEd25519   = "ed25519"
	SchemeECDSAP256 = "ecdsa-sha2-nistp256"
	SchemeECDSAP384 = "ecdsa-sha2-nistp384"
	SchemeRSAPSS    = "rsassa-pss-sha256"
)

// Key is a TUF public key object: {"keytype", "scheme", "keyval":
// {"public"}}. Members this package does not know, in the key object or in
// keyval, are kept, because the keyid covers them.
type Key struct {
	Type   string // "keytype"
	Scheme string

	// public is keyval.public (hex for ed25519, PEM for ecdsa and rsa). A
	// parsed PEM value is kept as it stood in the file, JSON escapes and
	// all (publicEscaped), and decoded only when needed: at PyPI's scale a
	// claimed role holds a hundred thousand of them.
	public        string
	publicEscaped bool
	x             *keyExtras // nil when the key has no unknown members
}

// keyExtras are a key's unknown members, kept because the keyid covers
// them.
type keyExtras struct {
	extra       fields // of the key object
	keyvalExtra fields // of keyval
}

// NewKey returns a key object with the given type, scheme and
// keyval.public value, and no other members.
func NewKey(keyType, scheme, public string) *Key {
	return &Key{Type: keyType, Scheme: scheme, public: public}
}

// Public returns keyval.public: hex for ed25519, PEM for ecdsa and rsa.
func (k *Key) Public() string {
	if k.publicEscaped {
		return unescapeJSON(k.public)
	}
	return k.public
}

// KeyFromPublic returns the TUF key object for a public key, with the
// scheme TUF implementations use for its type: ed25519 (hex), ecdsa P-256
// and P-384 (PEM), rsa with rsassa-pss-sha256 (PEM).
func KeyFromPublic(pub crypto.PublicKey) (*Key, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("ed25519 public key has %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		if err := checkEd25519(k); err != nil {
			return nil, err
		}
		return NewKey(KeyTypeEd25519, SchemeEd25519, hex.EncodeToString(k)), nil
	case *ecdsa.PublicKey:
		var scheme string
		switch k.Curve {
		case elliptic.P256():
			scheme = SchemeECDSAP256
		case elliptic.P384():
			scheme = SchemeECDSAP384
		default:
			return nil, fmt.Errorf("ECDSA curve %s is not supported: use P-256 or P-384", k.Curve.Params().Name)
		}
		p, err := publicPEM(k)
		if err != nil {
			return nil, err
		}
		return NewKey(KeyTypeECDSA, scheme, p), nil
	case *rsa.PublicKey:
		if err := checkRSA(k); err != nil {
			return nil, err
		}
		p, err := publicPEM(k)
		if err != nil {
			return nil, err
		}
		return NewKey(KeyTypeRSA, SchemeRSAPSS, p), nil
	}
	return nil, fmt.Errorf("public key type %T is not supported: use ed25519, ECDSA P-256/P-384 or RSA", pub)
}

func publicPEM(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ID returns the key's keyid: the hex SHA-256 of its canonical JSON,
// including any members this package does not know.
func (k *Key) ID() string {
	sum := sha256.Sum256(k.CanonicalJSON())
	return hex.EncodeToString(sum[:])
}

// CanonicalJSON returns the key object in canonical JSON.
func (k *Key) CanonicalJSON() []byte {
	c := &cwriter{}
	k.write(c) // writing into memory cannot fail
	return c.buf
}

// MarshalJSON returns the key object as published: canonical order, with
// control characters in strings escaped so that any JSON parser reads it.
func (k *Key) MarshalJSON() ([]byte, error) {
	c := &cwriter{escape: true}
	err := k.write(c)
	return c.buf, err
}

func (k *Key) write(c *cwriter) error {
	if k.x == nil {
		// The common case, written without the general merge.
		c.raw(`{"keytype":`)
		c.quote(k.Type)
		c.raw(`,"keyval":{"public":`)
		k.writePublic(c)
		c.raw(`},"scheme":`)
		c.quote(k.Scheme)
		c.byte('}')
		return nil
	}
	return writeMerged(c, k.x.extra,
		member("keytype", true, func() { c.quote(k.Type) }),
		memberErr("keyval", true, func() error {
			return writeMerged(c, k.x.keyvalExtra, member("public", true, func() { k.writePublic(c) }))
		}),
		member("scheme", true, func() { c.quote(k.Scheme) }),
	)
}

// writePublic writes keyval.public, decoding a kept escaped value into the
// writer's scratch space rather than a new string.
func (k *Key) writePublic(c *cwriter) {
	if !k.publicEscaped {
		c.quote(k.public)
		return
	}
	c.scratch = appendUnescaped(c.scratch[:0], k.public)
	c.quote(unsafe.String(unsafe.SliceData(c.scratch), len(c.scratch)))
}

func decodeKey(d *decoder) (*Key, error) {
	k := &Key{}
	var have uint8
	it := d.members()
	for it.next() {
		var err error
		switch it.name {
		case "keytype":
			have |= 1
			k.Type, err = d.str()
		case "scheme":
			have |= 2
			k.Scheme, err = d.str()
		case "keyval":
			have |= 4
			kv := d.members()
			for kv.next() {
				if kv.name == "public" {
					have |= 8
					k.public, k.publicEscaped, err = d.strRaw()
				} else {
					err = k.extras().keyvalExtra.unknown(d, kv.name)
				}
				if err != nil {
					err = at(kv.name, err)
					break
				}
			}
			if err == nil {
				err = kv.err
			}
		default:
			err = k.extras().extra.unknown(d, it.name)
		}
		if err != nil {
			return nil, at(it.name, err)
		}
	}
	if it.err != nil {
		return nil, it.err
	}
	switch {
	case have&1 == 0:
		return nil, d.errorf("key has no keytype")
	case have&2 == 0:
		return nil, d.errorf("key has no scheme")
	case have&4 == 0:
		return nil, d.errorf("key has no keyval")
	case have&8 == 0:
		return nil, d.errorf("key has no keyval.public")
	}
	return k, nil
}

func (k *Key) extras() *keyExtras {
	if k.x == nil {
		k.x = &keyExtras{}
	}
	return k.x
}

// ParseKey parses a TUF key object.
func ParseKey(data []byte) (*Key, error) {
	d := &decoder{data: data}
	k, err := decodeKey(d)
	if err != nil {
		return nil, err
	}
	return k, d.end()
}

// PublicKey returns the key as a crypto.PublicKey, checking that its type,
// scheme and public value agree, and refusing a key no signature may count
// for: an Ed25519 point of small order or not canonically encoded, an RSA
// key below 2048 bits.
func (k *Key) PublicKey() (crypto.PublicKey, error) {
	pub, err := k.decodePublic()
	if err != nil {
		return nil, err
	}
	switch pk := pub.(type) {
	case ed25519.PublicKey:
		err = checkEd25519(pk)
	case *rsa.PublicKey:
		err = checkRSA(pk)
	}
	if err != nil {
		return nil, err
	}
	return pub, nil
}

// minRSABits is the smallest RSA key a signature may count for. Keys this
// tool generates have 3072 bits.
const minRSABits = 2048

func checkRSA(pub *rsa.PublicKey) error {
	if n := pub.N.BitLen(); n < minRSABits {
		return fmt.Errorf("RSA key of %d bits is too weak: use %d bits or more (ceremony generates 3072)", n, minRSABits)
	}
	return nil
}

// checkEd25519 refuses a public key that is not the one canonical encoding
// of its point (y below p; the sign of x only where x is not 0), since a
// second encoding would be a second keyid for one key, and a point of small
// order, under which signatures anyone can make verify: (R = identity,
// S = 0) for every message, for one. Both are tested on the bytes:
// decoding every key of a role with a hundred thousand delegations would
// cost seconds.
func checkEd25519(pub []byte) error {
	if !canonicalY(pub) {
		return errors.New("ed25519 public key is not canonically encoded (its y is not below 2^255-19): another encoding names the same point")
	}
	for _, y := range smallOrderY {
		// Each y names the point and its negation; y = 1 and y = p-1 have
		// x = 0, and their sign-bit forms are non-canonical encodings.
		if string(pub[:31]) == string(y[:31]) && pub[31]&0x7f == y[31] {
			return errors.New("ed25519 public key is a point of small order: signatures anyone can make verify under it")
		}
	}
	return nil
}

// canonicalY reports whether the y an Ed25519 encoding holds (its 255 low
// bits, little-endian) is below p = 2^255-19.
func canonicalY(b []byte) bool {
	if b[31]&0x7f != 0x7f || b[0] < 0xed {
		return true
	}
	for _, c := range b[1:31] {
		if c != 0xff {
			return true
		}
	}
	return false
}

// smallOrderY are the y coordinates of edwards25519's eight points of
// small order (the identity, one point of order 2, two of order 4, four of
// order 8), canonically encoded with the sign bit clear. TestSmallOrderY
// derives them with filippo.io/edwards25519.
var smallOrderY = [...][32]byte{
	{0x01}, // identity (0, 1)
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // (0, -1), order 2
	{}, // (±sqrt(-1), 0), order 4
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05}, // order 8
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}, // order 8
}

// decodePublic is PublicKey without the strength checks: a weak key still
// has an identity, so that a revocation can name it.
func (k *Key) decodePublic() (crypto.PublicKey, error) {
	switch k.Scheme {
	case SchemeEd25519:
		if k.Type != KeyTypeEd25519 {
			break
		}
		b, err := hex.DecodeString(k.Public())
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("keyval.public of an ed25519 key must be %d bytes in hex", ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(b), nil
	case SchemeECDSAP256, SchemeECDSAP384:
		if k.Type != KeyTypeECDSA && k.Type != "ecdsa-sha2-nistp256" && k.Type != "ecdsa-sha2-nistp384" {
			break
		}
		pub, err := parsePEM(k.Public())
		if b, herr := hex.DecodeString(k.Public()); err != nil && herr == nil && len(b) > 0 && b[0] == 4 {
			return nil, fmt.Errorf("%w: keyval.public is a hex-encoded EC point, as securesystemslib wrote ECDSA keys before TUF 1.0 (sigstore's roots 1 to 4); TUF 1.0 keys are PEM: verify from a root that lists its keys so", ErrHexECPoint)
		}
		if err != nil {
			return nil, err
		}
		ek, ok := pub.(*ecdsa.PublicKey)
		want := elliptic.P256()
		if k.Scheme == SchemeECDSAP384 {
			want = elliptic.P384()
		}
		if !ok || ek.Curve != want {
			return nil, fmt.Errorf("keyval.public is not a %s key, as scheme %s requires", want.Params().Name, k.Scheme)
		}
		return ek, nil
	case SchemeRSAPSS:
		if k.Type != KeyTypeRSA {
			break
		}
		pub, err := parsePEM(k.Public())
		if err != nil {
			return nil, err
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("keyval.public is not an RSA key, as scheme rsassa-pss-sha256 requires")
		}
		return rk, nil
	default:
		return nil, fmt.Errorf("signature scheme %q is not supported: use ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384 or rsassa-pss-sha256", k.Scheme)
	}
	return nil, fmt.Errorf("keytype %q does not go with scheme %q", k.Type, k.Scheme)
}

func parsePEM(s string) (crypto.PublicKey, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" || strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("keyval.public must be one PEM block of type PUBLIC KEY")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keyval.public: %w", err)
	}
	return pub, nil
}

// hashFor is the hash a scheme signs with; 0 for ed25519, which hashes
// inside the algorithm.
func hashFor(scheme string) crypto.Hash {
	switch scheme {
	case SchemeECDSAP256, SchemeRSAPSS:
		return crypto.SHA256
	case SchemeECDSAP384:
		return crypto.SHA384
	}
	return 0
}

// Signature is one entry of a metadata file's "signatures".
type Signature struct {
	KeyID string
	Sig   []byte // the raw signature; hex in JSON

	extra fields
}

// Sign signs msg with s as key's scheme requires and checks the result
// with the public key before returning it. s may be a device signer from
// package hsm or an in-memory key; its public key must be key's.
func Sign(s crypto.Signer, key *Key, msg []byte) (Signature, error) {
	pub, err := key.PublicKey()
	if err != nil {
		return Signature{}, err
	}
	if want, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !want.Equal(s.Public()) {
		return Signature{}, fmt.Errorf("the signer's public key is not key %s", ShortID(key.ID()))
	}
	var sig []byte
	switch h := hashFor(key.Scheme); key.Scheme {
	case SchemeEd25519:
		sig, err = s.Sign(rand.Reader, msg, crypto.Hash(0))
	case SchemeRSAPSS:
		digest := digestOf(h, msg)
		sig, err = s.Sign(rand.Reader, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h})
	default:
		sig, err = s.Sign(rand.Reader, digestOf(h, msg), h)
	}
	if err != nil {
		return Signature{}, fmt.Errorf("sign with key %s: %w", ShortID(key.ID()), err)
	}
	if err := key.Verify(msg, sig); err != nil {
		return Signature{}, fmt.Errorf("signature by key %s does not verify: %w", ShortID(key.ID()), err)
	}
	return Signature{KeyID: key.ID(), Sig: sig}, nil
}

func digestOf(h crypto.Hash, msg []byte) []byte {
	hh := h.New()
	hh.Write(msg)
	return hh.Sum(nil)
}

// ErrSignature is wrapped by every error that reports a signature which
// does not verify.
var ErrSignature = errors.New("signature does not verify")

// ErrHexECPoint is wrapped by the error of an ECDSA key whose
// keyval.public is a bare hex EC point instead of PEM, as keys were
// written before TUF 1.0.
var ErrHexECPoint = errors.New("EC key not in PEM")

// Verify checks sig over msg with the key's scheme.
func (k *Key) Verify(msg, sig []byte) error {
	v, err := newSigCheck(k, sig)
	if err != nil {
		return err
	}
	v.Write(msg)
	return v.check()
}

// sigCheck verifies one signature over a message that arrives in pieces
// through Write, so that the message never has to be held in memory.
type sigCheck struct {
	keyid  string // the keyid the signature names
	key    *Key
	pub    crypto.PublicKey
	sig    []byte
	scheme string
	h      hash.Hash
}

func newSigCheck(k *Key, sig []byte) (*sigCheck, error) {
	pub, err := k.PublicKey()
	if err != nil {
		return nil, err
	}
	v := &sigCheck{key: k, pub: pub, sig: sig, scheme: k.Scheme}
	if k.Scheme == SchemeEd25519 {
		// Pure Ed25519 hashes R || A || M with SHA-512 (RFC 8032, 5.1.7),
		// which is what lets the message stream through.
		if len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
			return nil, fmt.Errorf("%w: ed25519 signature must be %d bytes", ErrSignature, ed25519.SignatureSize)
		}
		v.h = sha512.New()
		v.h.Write(sig[:32])
		v.h.Write(pub.(ed25519.PublicKey))
	} else {
		v.h = hashFor(k.Scheme).New()
	}
	return v, nil
}

func (v *sigCheck) Write(p []byte) (int, error) { return v.h.Write(p) }

func (v *sigCheck) check() error {
	switch v.scheme {
	case SchemeEd25519:
		if !verifyEd25519(v.pub.(ed25519.PublicKey), v.sig, v.h.Sum(nil)) {
			return ErrSignature
		}
	case SchemeECDSAP256, SchemeECDSAP384:
		// VerifyASN1 refuses raw r||s: TUF signatures are DER.
		if !ecdsa.VerifyASN1(v.pub.(*ecdsa.PublicKey), v.h.Sum(nil), v.sig) {
			return fmt.Errorf("%w (ECDSA signatures must be DER-encoded)", ErrSignature)
		}
	case SchemeRSAPSS:
		pub, digest := v.pub.(*rsa.PublicKey), v.h.Sum(nil)
		if rsa.VerifyPSS(pub, crypto.SHA256, digest, v.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil {
			return nil
		}
		if rsa.VerifyPSS(pub, crypto.SHA256, digest, v.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil {
			return ErrPSSSalt
		}
		return ErrSignature
	}
	return nil
}

// ErrPSSSalt reports an RSA-PSS signature whose salt is not as long as the
// digest (32 bytes for rsassa-pss-sha256). python-tuf accepts any salt
// length, go-tuf (go-securesystemslib) only that one, so such a signature
// does not count: a threshold must hold for every client. It wraps
// ErrSignature. VerifyOptions.AnyPSSSalt counts it, for a repository this
// tool did not sign.
var ErrPSSSalt = fmt.Errorf("%w: its RSA-PSS salt is not as long as the digest, which go-tuf refuses (python-tuf accepts it)", ErrSignature)

// verifyEd25519 finishes an RFC 8032 verification given SHA-512(R||A||M),
// as crypto/ed25519 does: the encoded [S]B - [k]A must equal R.
func verifyEd25519(pub ed25519.PublicKey, sig, hram []byte) bool {
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return false
	}
	k, err := new(edwards25519.Scalar).SetUniformBytes(hram)
	if err != nil {
		return false
	}
	S, err := new(edwards25519.Scalar).SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	minusA := new(edwards25519.Point).Negate(A)
	R := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, minusA, S)
	return string(R.Bytes()) == string(sig[:32])
}

// identity is what makes two key objects the same key for threshold
// counting: the public key itself in its one canonical encoding (an
// Ed25519 point re-encoded, an ECDSA or RSA key as DER), not the keyid,
// which extra members and other encodings change.
func (k *Key) identity() (string, error) {
	pub, err := k.decodePublic()
	if err != nil {
		return "", err
	}
	if ed, ok := pub.(ed25519.PublicKey); ok {
		if checkEd25519(ed) != nil {
			// Possibly a second encoding of a point: name it by the
			// canonical one. (Keys that pass the check are canonical.)
			if p, err := new(edwards25519.Point).SetBytes(ed); err == nil {
				ed = p.Bytes()
			}
		}
		return "ed25519:" + string(ed), nil
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(der), nil
}

// ShortID is a keyid's (or any hex digest's) first 8 hex digits, as
// messages and reviews name a key.
func ShortID(keyid string) string {
	if len(keyid) > 8 {
		return keyid[:8]
	}
	return keyid
}
