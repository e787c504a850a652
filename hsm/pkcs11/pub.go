package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"math/big"

	p11 "github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DER-encoded CKA_EC_PARAMS: named curve OIDs.
var (
	oidP256    = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07} // 1.2.840.10045.3.1.7
	oidP384    = []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}                   // 1.3.132.0.34
	oidEd25519 = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}                               // 1.3.101.112
)

// parsePublic builds a public key from a key object's attributes: for EC
// and Edwards keys CKA_EC_PARAMS and CKA_EC_POINT, for RSA CKA_MODULUS and
// CKA_PUBLIC_EXPONENT.
func parsePublic(keyType uint, a, b []byte) (crypto.PublicKey, error) {
	switch keyType {
	case p11.CKK_EC:
		var curve elliptic.Curve
		switch {
		case bytes.Equal(a, oidP256):
			curve = elliptic.P256()
		case bytes.Equal(a, oidP384):
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("EC key on a curve other than P-256 or P-384 (CKA_EC_PARAMS %x)", a)
		}
		size := (curve.Params().BitSize + 7) / 8
		point := unwrapPoint(b, 1+2*size)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("CKA_EC_POINT is not an uncompressed %s point: %v", curve.Params().Name, err)
		}
		return pub, nil
	case ckkECEdwards:
		if !bytes.Equal(a, oidEd25519) && !isPrintable(a, "edwards25519") {
			return nil, fmt.Errorf("an Edwards-curve key on a curve other than Ed25519 (CKA_EC_PARAMS %x)", a)
		}
		point := unwrapPoint(b, ed25519.PublicKeySize)
		if len(point) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 CKA_EC_POINT is %d bytes, want %d", len(point), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(bytes.Clone(point)), nil
	case p11.CKK_RSA:
		if len(a) == 0 || len(b) == 0 || len(b) > 8 {
			return nil, fmt.Errorf("RSA key with an empty modulus or an unusable exponent")
		}
		e := new(big.Int).SetBytes(b)
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, fmt.Errorf("RSA key with public exponent %v, which Go cannot verify with", e)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(a), E: int(e.Int64())}, nil
	}
	return nil, fmt.Errorf("key type 0x%x is not EC, Edwards or RSA", keyType)
}

// isPrintable reports whether der is an ASN.1 PrintableString holding s,
// the other CKA_EC_PARAMS form PKCS#11 3.0 allows for Edwards curves.
func isPrintable(der []byte, s string) bool {
	var got string
	rest, err := asn1.UnmarshalWithParams(der, &got, "printable")
	return err == nil && len(rest) == 0 && got == s
}

// unwrapPoint removes the DER OCTET STRING that PKCS#11 puts around
// CKA_EC_POINT. Some modules return the bare point instead; a value of
// exactly the bare length is taken as it is.
func unwrapPoint(b []byte, bareLen int) []byte {
	if len(b) == bareLen && (bareLen == ed25519.PublicKeySize || b[0] == 0x04) {
		// A bare uncompressed point also starts with 0x04, but its length
		// tells it apart from the wrapped one (2 or 3 bytes longer).
		return b
	}
	s := cryptobyte.String(b)
	var inner cryptobyte.String
	if s.ReadASN1(&inner, cbasn1.OCTET_STRING) && s.Empty() {
		return inner
	}
	return b
}

// rsToDER converts the r‖s form PKCS#11 returns for ECDSA into the ASN.1
// DER form Go, python-tuf and securesystemslib use.
func rsToDER(raw []byte, size int) ([]byte, error) {
	if len(raw) != 2*size {
		return nil, fmt.Errorf("the token returned a %d-byte ECDSA signature, want %d (r‖s)", len(raw), 2*size)
	}
	r := new(big.Int).SetBytes(raw[:size])
	s := new(big.Int).SetBytes(raw[size:])
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
}
