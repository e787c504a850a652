// Package piv is the hsm backend for YubiKeys through their PIV applet,
// with github.com/go-piv/piv-go/v2 over PC/SC (libpcsclite and pcscd).
//
// Speaking PIV natively, rather than PKCS#11 through ykcs11, is what makes
// attestation possible: proof, signed by Yubico, that a key was generated
// on a genuine YubiKey and cannot be exported. Keys are named by "piv:"
// URIs (see URI and docs/URIS-piv.md).
//
// go-piv opens a YubiKey exclusively: every operation here opens it and
// closes it at once, except a Signer, which holds it until Close, so that
// a PIN entered once serves the signatures of one step.
package piv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	gopiv "github.com/go-piv/piv-go/v2/piv"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// Backend is the "piv" backend. The zero Backend writes prompts and
// warnings to os.Stderr.
type Backend struct {
	// Out receives what the user must see while the card waits: "touch
	// your YubiKey now", and the warning that a management key is still
	// the factory default. Nil means os.Stderr.
	Out io.Writer
}

func init() { hsm.Register(&Backend{}) }

// Scheme implements hsm.Backend.
func (b *Backend) Scheme() string { return "piv" }

func (b *Backend) out() io.Writer {
	if b.Out != nil {
		return b.Out
	}
	return os.Stderr
}

func parse(uri string) (*URI, error) { return ParseURI(uri) }

// authFor applies the URI's pin-source over the caller's PIN source: a
// URI that says where its PIN is wins over the terminal.
func authFor(u *URI, a hsm.Auth) hsm.Auth {
	if u.PINSource != "" {
		a.PINs = hsm.FilePIN{Path: u.PINSource}
	}
	return a
}

// Devices implements hsm.Backend: every YubiKey plugged in, with the keys
// in its slots (PIV reads them without a PIN).
func (b *Backend) Devices(ctx context.Context) ([]hsm.DeviceKeys, error) {
	rs, err := readers()
	if err != nil {
		return nil, err
	}
	var out []hsm.DeviceKeys
	for _, r := range rs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := openReader(r)
		if err != nil {
			if errors.Is(err, hsm.ErrRemoved) {
				continue // an empty reader
			}
			out = append(out, hsm.DeviceKeys{
				Device: hsm.Device{Backend: "piv", Model: "YubiKey", Manufacturer: "Yubico", Label: r},
				Note:   err.Error(),
			})
			continue
		}
		dk := hsm.DeviceKeys{Device: c.dev}
		dk.Keys, err = c.keys(&URI{})
		if err != nil {
			dk.Note = err.Error()
		}
		if dk.Keys == nil {
			dk.Keys = []hsm.Key{}
		}
		c.Close()
		out = append(out, dk)
	}
	return out, nil
}

// Keys implements hsm.Backend: the keys in the slots the URI selects (all
// of them when it names no slot) on the YubiKeys it selects.
func (b *Backend) Keys(ctx context.Context, uri string, auth hsm.Auth) ([]hsm.Key, error) {
	u, err := parse(uri)
	if err != nil {
		return nil, err
	}
	cs, err := openCards(u)
	if err != nil {
		return nil, err
	}
	var out []hsm.Key
	for _, c := range cs {
		ks, err := c.keys(u)
		c.Close()
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return nil, err
		}
		out = append(out, ks...)
	}
	return out, nil
}

// keyTypeAlgorithm maps hsm key types onto PIV algorithms.
func keyTypeAlgorithm(t hsm.KeyType, v gopiv.Version) (gopiv.Algorithm, error) {
	switch t {
	case hsm.ECDSAP256:
		return gopiv.AlgorithmEC256, nil
	case hsm.ECDSAP384:
		return gopiv.AlgorithmEC384, nil
	case hsm.Ed25519:
		if !atLeast(v, 5, 7) {
			return 0, fmt.Errorf("Ed25519 needs YubiKey firmware 5.7 or later, this one has %d.%d.%d: choose ecdsa-p256 or ecdsa-p384: %w", v.Major, v.Minor, v.Patch, hsm.ErrUnsupported)
		}
		return gopiv.AlgorithmEd25519, nil
	case hsm.RSA2048:
		return gopiv.AlgorithmRSA2048, nil
	case hsm.RSA3072, hsm.RSA4096:
		if !atLeast(v, 5, 7) {
			return 0, fmt.Errorf("%s needs YubiKey firmware 5.7 or later: choose rsa-2048 or an ECDSA key: %w", t, hsm.ErrUnsupported)
		}
		if t == hsm.RSA3072 {
			return gopiv.AlgorithmRSA3072, nil
		}
		return gopiv.AlgorithmRSA4096, nil
	}
	return 0, fmt.Errorf("key type %q: %w", t, hsm.ErrUnsupported)
}

// ParsePINPolicy maps "never", "once", "always" (and "" for the default,
// "once") onto go-piv's PIN policy.
func ParsePINPolicy(s string) (gopiv.PINPolicy, error) {
	switch s {
	case "", "once":
		return gopiv.PINPolicyOnce, nil
	case "never":
		return gopiv.PINPolicyNever, nil
	case "always":
		return gopiv.PINPolicyAlways, nil
	}
	return 0, fmt.Errorf("unknown PIN policy %q: use never, once or always", s)
}

// ParseTouchPolicy maps "never", "always", "cached" (and "" for the
// default, "never") onto go-piv's touch policy.
func ParseTouchPolicy(s string) (gopiv.TouchPolicy, error) {
	switch s {
	case "", "never":
		return gopiv.TouchPolicyNever, nil
	case "always":
		return gopiv.TouchPolicyAlways, nil
	case "cached":
		return gopiv.TouchPolicyCached, nil
	}
	return 0, fmt.Errorf("unknown touch policy %q: use never, always or cached", s)
}

// PINPolicyName and TouchPolicyName are the words the CLI and transcripts use.
func PINPolicyName(p gopiv.PINPolicy) string {
	switch p {
	case gopiv.PINPolicyNever:
		return "never"
	case gopiv.PINPolicyOnce:
		return "once"
	case gopiv.PINPolicyAlways:
		return "always"
	case gopiv.PINPolicyMatchOnce:
		return "match-once"
	case gopiv.PINPolicyMatchAlways:
		return "match-always"
	}
	return fmt.Sprintf("unknown(%d)", int(p))
}

// TouchPolicyName names a touch policy.
func TouchPolicyName(p gopiv.TouchPolicy) string {
	switch p {
	case gopiv.TouchPolicyNever:
		return "never"
	case gopiv.TouchPolicyAlways:
		return "always"
	case gopiv.TouchPolicyCached:
		return "cached"
	}
	return fmt.Sprintf("unknown(%d)", int(p))
}

// Generate implements hsm.Backend: a new key pair in the URI's slot (9c
// when it names none), generated on the YubiKey. It refuses a slot that
// already holds a key (hsm.ErrExists): replacing a key is not undone.
//
// Generating needs the management key. When it is still the factory
// default, Generate uses it and warns on Out; when it is PIN-protected (as
// ykman's --protect sets it up), Generate reads it with the PIN. The
// management key is never taken from the command line. The slot's
// attestation certificate is stored as the slot's certificate, so that
// PKCS#11 (ykcs11) finds the key too.
func (b *Backend) Generate(ctx context.Context, uri string, kt hsm.KeyType, opts hsm.GenerateOptions, auth hsm.Auth) (hsm.Key, error) {
	u, err := parse(uri)
	if err != nil {
		return hsm.Key{}, err
	}
	auth = authFor(u, auth)
	pp, err := ParsePINPolicy(opts.PINPolicy)
	if err != nil {
		return hsm.Key{}, fmt.Errorf("%v: %w", err, hsm.ErrUnsupported)
	}
	tp, err := ParseTouchPolicy(opts.TouchPolicy)
	if err != nil {
		return hsm.Key{}, fmt.Errorf("%v: %w", err, hsm.ErrUnsupported)
	}
	c, err := openOne(u)
	if err != nil {
		return hsm.Key{}, err
	}
	defer c.Close()
	slot := u.SlotOrDefault()
	ps, _ := pivSlot(slot)
	alg, err := keyTypeAlgorithm(kt, c.ver)
	if err != nil {
		return hsm.Key{}, fmt.Errorf("%s: %w", c.dev, err)
	}
	if _, err := c.slot(slot); err == nil {
		return hsm.Key{}, fmt.Errorf("%s: %s already holds a key; choose another slot (slot=82 to 95 are free for signing keys) or clear it with ykman first: %w", c.dev, slotLabel(slot), hsm.ErrExists)
	} else if !errors.Is(err, hsm.ErrNotFound) {
		return hsm.Key{}, err
	} else if !atLeast(c.ver, 5, 3) {
		// Without key metadata an imported key is invisible; a stored
		// certificate is the only sign of it.
		if _, err := c.yk.Certificate(ps); err == nil {
			return hsm.Key{}, fmt.Errorf("%s: %s holds a certificate, so probably a key; choose another slot or clear it with ykman first: %w", c.dev, slotLabel(slot), hsm.ErrExists)
		}
	}
	key := gopiv.Key{Algorithm: alg, PINPolicy: pp, TouchPolicy: tp}
	// go-piv has no bare "authenticate" call: GenerateKey authenticates
	// first and changes nothing when the key is wrong, so the factory key
	// is simply tried first.
	mk := append([]byte(nil), gopiv.DefaultManagementKey...)
	defer func() { hsm.Wipe(mk) }()
	pub, err := c.yk.GenerateKey(mk, ps, key)
	if err == nil {
		fmt.Fprintf(b.out(), "warning: %s still has the factory default management key: anyone holding it can replace its keys. Set a PIN-protected one: ykman piv access change-management-key --generate --protect\n", c.dev)
	} else if isAuthFailure(err) {
		hsm.Wipe(mk)
		if mk, err = c.protectedManagementKey(auth); err != nil {
			return hsm.Key{}, err
		}
		pub, err = c.yk.GenerateKey(mk, ps, key)
	}
	if err != nil {
		return hsm.Key{}, classify(c, "generate a key in "+slotLabel(slot), err)
	}
	if cert, err := c.yk.Attest(ps); err == nil {
		// Best effort: the key is there whether or not the copy is.
		if err := c.yk.SetCertificate(mk, ps, cert); err != nil {
			fmt.Fprintf(b.out(), "warning: %s: could not store the attestation certificate in %s (%v); PKCS#11 (ykcs11) will not list the key\n", c.dev, slotLabel(slot), err)
		}
	}
	return c.key(slot, slotInfo{pub: pub, pinPolicy: pp, touchPolicy: tp})
}

// protectedManagementKey reads a PIN-protected management key (ykman's
// --protect stores it in the PIN-protected data object) with the PIN.
func (c *card) protectedManagementKey(auth hsm.Auth) ([]byte, error) {
	pin, err := c.login(auth, true)
	if err != nil {
		return nil, err
	}
	m, err := c.yk.Metadata(hsm.PINString(pin))
	hsm.Wipe(pin)
	if err != nil {
		return nil, classify(c, "read the PIN-protected management key", err)
	}
	if m.ManagementKey == nil {
		return nil, fmt.Errorf("%s: the management key is neither the factory default nor PIN-protected, and ceremony never takes it on the command line: protect it with 'ykman piv access change-management-key --protect', then run again: %w", c.dev, hsm.ErrNotLoggedIn)
	}
	return *m.ManagementKey, nil
}

// isAuthFailure tells a wrong management key from other failures (a
// pulled-out card) during go-piv's management key authentication.
func isAuthFailure(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "authenticating with management key") &&
		(strings.Contains(msg, "6982") || strings.Contains(msg, "challenge failed") || strings.Contains(msg, "invalid management key length"))
}
