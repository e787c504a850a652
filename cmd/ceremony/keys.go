package main

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
)

// pgpKeyIDBytes is how many leading bytes of a keyid are read aloud: 8
// bytes (64 bits) are enough to tell keys apart in a ceremony room and short
// enough to read without losing one's place.
const pgpKeyIDBytes = 8

// keyShow is the --json form of 'keys show' and 'keys generate'.
type keyShow struct {
	KeyID string     `json:"keyid"`
	Key   *roles.Key `json:"key"`
}

// terminalAuth asks for PINs on the terminal, where the URI does not say
// where its PIN is.
func terminalAuth(e *env, allowLastTry bool) hsm.Auth {
	return hsm.Auth{PINs: hsm.TerminalPIN{Prompt: e.stderr}, Policy: hsm.PINPolicy{AllowLastTry: allowLastTry}}
}

// tufKey is a device key as TUF metadata holds it. A key of a type TUF
// has no scheme for is one this device cannot serve a ceremony with.
func tufKey(k hsm.Key) (*roles.Key, error) {
	tk, err := roles.KeyFromPublic(k.Public)
	if err != nil {
		return nil, exitcode.Errorf(hsm.ErrUnsupported, "key %s cannot be a TUF key: %w", safe(k.URI), err)
	}
	return tk, nil
}

// openSigner opens the key uri names, as a signer and as TUF metadata
// holds it. The caller closes the signer.
func openSigner(ctx context.Context, uri string, auth hsm.Auth) (hsm.Signer, *roles.Key, error) {
	s, err := hsm.Open(ctx, uri, auth)
	if err != nil {
		return nil, nil, err
	}
	tk, err := tufKey(s.Key())
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, tk, nil
}

// lookupKey finds the key uri names by its public half, without a PIN
// (hsm.Lookup), and returns it as TUF metadata holds it too: what a
// signing command checks and shows before it asks for the PIN.
func lookupKey(ctx context.Context, uri string) (hsm.Key, *roles.Key, error) {
	k, err := hsm.Lookup(ctx, uri)
	if err != nil {
		return hsm.Key{}, nil, err
	}
	tk, err := tufKey(k)
	if err != nil {
		return hsm.Key{}, nil, err
	}
	return k, tk, nil
}

// openLookedUp opens uri to sign, which asks for the PIN, once the key
// lookupKey found was reviewed and "yes" typed; a device that now holds
// another key (swapped in between) is refused before it signs anything.
// The caller closes the signer.
func openLookedUp(ctx context.Context, uri string, want *roles.Key, auth hsm.Auth) (hsm.Signer, error) {
	s, tk, err := openSigner(ctx, uri, auth)
	if err != nil {
		return nil, err
	}
	if tk.ID() != want.ID() {
		s.Close()
		return nil, fmt.Errorf("the key URI now names key %s, not the key %s shown before the PIN (was the device changed?): nothing was signed; run again: %w", tk.ID()[:16], want.ID()[:16], hsm.ErrNotFound)
	}
	return s, nil
}

// showKey prints a device key as 'keys show' does.
func showKey(e *env, k hsm.Key, asJSON bool) error {
	tk, err := tufKey(k)
	if err != nil {
		return err
	}
	id := tk.ID()
	if asJSON {
		return writeJSON(e.stdout, keyShow{KeyID: id, Key: tk})
	}
	obj, err := json.Marshal(tk)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return fmt.Errorf("encode the public key of %s: %w", safe(k.URI), err)
	}
	raw, err := hex.DecodeString(id)
	if err != nil || len(raw) < pgpKeyIDBytes {
		return fmt.Errorf("keyid %q is not hex SHA-256", id)
	}
	fmt.Fprintf(e.stdout, "keyid      %s\n", id)
	fmt.Fprintf(e.stdout, "pgp words  %s  (first %d bytes: %s)\n", pgpwords.String(raw[:pgpKeyIDBytes]), pgpKeyIDBytes, id[:2*pgpKeyIDBytes])
	fmt.Fprintf(e.stdout, "type       %s (%s)\n", k.Type, safe(tk.Scheme))
	fmt.Fprintf(e.stdout, "uri        %s\n", safe(k.URI))
	fmt.Fprintf(e.stdout, "device     %s\n", safe(k.Device.String()))
	fmt.Fprintf(e.stdout, "tuf key    %s\n", untrusted.JSON(obj))
	fmt.Fprintf(e.stdout, "public key\n%s", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return nil
}
