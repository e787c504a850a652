// Package hsm finds keys on hardware devices (PKCS#11 tokens, PIV cards) and
// signs with them through the standard crypto.Signer interface.
//
// hsm knows cryptography, not TUF: package roles maps a TUF key and signature
// scheme onto any crypto.Signer. Backends live in hsm/pkcs11 and hsm/piv and
// register themselves with Register, so that Open can choose one by the
// scheme of a key URI ("pkcs11:" or "piv:").
package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// KeyType names a kind of key pair a device can generate and sign with.
type KeyType string

// The key types every backend understands. A device may support fewer.
const (
	Ed25519   KeyType = "ed25519"
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	RSA2048   KeyType = "rsa-2048"
	RSA3072   KeyType = "rsa-3072"
	RSA4096   KeyType = "rsa-4096"
)

// KeyTypes lists the key types in the order help texts show them.
var KeyTypes = []KeyType{Ed25519, ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096}

// ParseKeyType returns the KeyType named s, or an error listing the valid names.
func ParseKeyType(s string) (KeyType, error) {
	for _, t := range KeyTypes {
		if string(t) == s {
			return t, nil
		}
	}
	names := make([]string, len(KeyTypes))
	for i, t := range KeyTypes {
		names[i] = string(t)
	}
	return "", fmt.Errorf("unknown key type %q: use one of %s", s, strings.Join(names, ", "))
}

// KeyTypeOf returns the KeyType of a public key.
func KeyTypeOf(pub crypto.PublicKey) (KeyType, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return Ed25519, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256, nil
		case elliptic.P384():
			return ECDSAP384, nil
		}
		return "", fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return RSA2048, nil
		case 3072:
			return RSA3072, nil
		case 4096:
			return RSA4096, nil
		}
		return "", fmt.Errorf("unsupported RSA key size %d bits", k.N.BitLen())
	}
	return "", fmt.Errorf("unsupported public key type %T", pub)
}

// Device describes one token or card as a transcript records it.
type Device struct {
	Backend      string `json:"backend"` // "pkcs11" or "piv"
	URI          string `json:"uri"`     // selects this device and no other
	Model        string `json:"model"`
	Manufacturer string `json:"manufacturer"`
	Serial       string `json:"serial"`
	Label        string `json:"label,omitempty"`
	Firmware     string `json:"firmware,omitempty"`
}

// String names the device for people: "SoftHSM v2 #1a2b3c (token alice)".
func (d Device) String() string {
	s := d.Model
	if s == "" {
		s = d.Backend + " device"
	}
	if d.Serial != "" {
		s += " #" + d.Serial
	}
	if d.Label != "" {
		s += " (" + d.Label + ")"
	}
	return s
}

// Key describes one key pair on a device. Public is the key's public half as
// a crypto.PublicKey (ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey).
type Key struct {
	URI    string           `json:"uri"` // selects this key and no other
	Label  string           `json:"label,omitempty"`
	ID     string           `json:"id,omitempty"` // hex CKA_ID, or the PIV slot
	Type   KeyType          `json:"type"`
	Public crypto.PublicKey `json:"-"`
	Device Device           `json:"device"`
}

// Signer is a crypto.Signer whose private key never leaves its device.
//
// Sign follows the standard library's conventions: Ed25519 signs the whole
// message (opts.HashFunc() == 0); ECDSA signs the digest it is given and
// returns an ASN.1 DER signature; RSA signs the digest with PSS when opts is
// *rsa.PSSOptions. Every signature is verified in software with the public
// key before Sign returns it. Close ends the device session; a Signer must
// not be used after Close.
type Signer interface {
	crypto.Signer
	Key() Key
	Close() error
}

// GenerateOptions are the choices made when a key is generated on a device.
// Backends ignore what they cannot honour and say so in an error when the
// choice matters (a PIV touch policy on a PKCS#11 token, for instance).
type GenerateOptions struct {
	Label       string // PKCS#11 CKA_LABEL
	PINPolicy   string // PIV: "never", "once", "always"; empty for the default
	TouchPolicy string // PIV: "never", "always", "cached"; empty for the default
}

// Backend is one kind of device access. Implementations register themselves
// with Register from an init function.
type Backend interface {
	// Scheme is the URI scheme the backend answers, without the colon.
	Scheme() string
	// Devices lists the devices present now, and the keys on each where they
	// can be read without a PIN.
	Devices(ctx context.Context) ([]DeviceKeys, error)
	// Keys lists the keys a URI matches (a URI may name a device and no key).
	Keys(ctx context.Context, uri string, auth Auth) ([]Key, error)
	// Signer finds the one key the URI names and returns a signer for it.
	// A URI that matches no key or several is an error.
	Signer(ctx context.Context, uri string, auth Auth) (Signer, error)
	// Generate makes a new key pair on the device the URI names.
	Generate(ctx context.Context, uri string, t KeyType, opts GenerateOptions, auth Auth) (Key, error)
}

// DeviceKeys is a device and the keys found on it.
type DeviceKeys struct {
	Device Device `json:"device"`
	Keys   []Key  `json:"keys"`
	// Note says why Keys may be incomplete ("log in to list private keys").
	Note string `json:"note,omitempty"`
}

var (
	backendsMu sync.Mutex
	backends   = map[string]Backend{}
)

// Register makes a backend available to Open, Devices and Generate.
func Register(b Backend) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	backends[b.Scheme()] = b
}

// Backends returns the registered backends, sorted by scheme.
func Backends() []Backend {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	out := make([]Backend, 0, len(backends))
	for _, b := range backends {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scheme() < out[j].Scheme() })
	return out
}

// BackendFor returns the backend that answers uri's scheme.
func BackendFor(uri string) (Backend, error) {
	// The URI itself is never quoted: a mangled one may hold a PIN.
	scheme, _, ok := strings.Cut(uri, ":")
	if !ok {
		return nil, fmt.Errorf("the key URI has no scheme: it must start with pkcs11: or piv: (%w)", ErrBadURI)
	}
	backendsMu.Lock()
	b := backends[scheme]
	backendsMu.Unlock()
	if b == nil {
		return nil, fmt.Errorf("the key URI has an unknown scheme%s: use pkcs11: or piv: (%w)", showScheme(scheme), ErrBadURI)
	}
	return b, nil
}

// showScheme quotes a scheme that looks like one ("gpg", "file"), and
// withholds anything with a digit, which may be a PIN typed in the wrong
// place.
func showScheme(s string) string {
	if !nameLike(s, "+-.") || strings.ContainsAny(s, "0123456789") {
		return ""
	}
	return fmt.Sprintf(" %q", s)
}

// Open returns a signer for the one key that uri names.
func Open(ctx context.Context, uri string, auth Auth) (Signer, error) {
	b, err := BackendFor(uri)
	if err != nil {
		return nil, err
	}
	return b.Signer(ctx, uri, auth)
}

// Lookup finds the one key uri names by its public half, without logging
// in, and returns it with its device: what a face needs to refuse a wrong
// key, and to show which key will sign, before any PIN is asked. Open
// logs in afterwards. A URI that matches no key wraps ErrNotFound (a key
// whose public half the device shows only after a PIN is not found); one
// that matches several, ErrAmbiguous. Neither quotes the URI, which may
// name a pin-source.
func Lookup(ctx context.Context, uri string) (Key, error) {
	b, err := BackendFor(uri)
	if err != nil {
		return Key{}, err
	}
	keys, err := b.Keys(ctx, uri, Auth{})
	if err != nil {
		return Key{}, err
	}
	switch len(keys) {
	case 0:
		return Key{}, fmt.Errorf("no key matches the key URI without a PIN: check it with 'ceremony devices', which lists every key a device shows (a key whose public half the device keeps behind its PIN cannot be checked before the PIN is asked; import its public key object): %w", ErrNotFound)
	case 1:
		return keys[0], nil
	}
	uris := make([]string, len(keys))
	for i, k := range keys {
		uris[i] = k.URI
	}
	return Key{}, fmt.Errorf("the key URI matches %d keys, and ceremony will not guess: use one of\n  %s\n%w", len(keys), strings.Join(uris, "\n  "), ErrAmbiguous)
}

// Errors that callers tell apart with errors.Is. Backends wrap them with the
// device's own words and what the user should do.
var (
	ErrNotFound     = errors.New("not found")      // no such device or key
	ErrAmbiguous    = errors.New("ambiguous")      // a URI matched several keys or devices
	ErrExists       = errors.New("already exists") // generating over an existing label or id
	ErrWrongPIN     = errors.New("wrong PIN")      // see PINError for the tries left
	ErrPINLocked    = errors.New("PIN locked")     // no tries left
	ErrLastTry      = errors.New("last PIN try")   // refused to spend the last try
	ErrRemoved      = errors.New("device removed") // pulled out mid-operation
	ErrNotLoggedIn  = errors.New("PIN or touch required")
	ErrUnsupported  = errors.New("not supported by this device")
	ErrBadSignature = errors.New("device returned a signature that does not verify")
	// ErrDevice marks any other failure the device or its driver reports
	// (a PKCS#11 return value with no better class): the device, not the
	// user's input or this program, needs looking at.
	ErrDevice = errors.New("device error")
	// ErrBadURI marks a key URI that does not parse or names an unknown
	// attribute: the user's input is wrong, not the device.
	ErrBadURI = errors.New("malformed key URI")
)
