package main

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
	"github.com/ceremony-tuf/ceremony/roles"
)

// pgpKeyIDBytes is how many leading bytes of a keyid are read aloud: 8
// bytes (64 bits) are enough to tell keys apart in a ceremony room and short
// enough to read without losing one's place.
const pgpKeyIDBytes = 8

const keysShowHelp = `Shows the key a URI names, as TUF metadata will hold it: the keyid, the
TUF key object exactly as it stands in metadata (its keyid is the SHA-256 of
its canonical JSON), the public key in PEM, and the keyid's first 8 bytes
in PGP words, for reading aloud when key holders compare keys. No PIN is
needed: the key is found by its public half.

The URI must name exactly one key; one that matches several is an error
listing them. pkcs11: URIs follow RFC 7512 (token, serial, object, id, ...;
see 'ceremony devices' for the URI of every key).

The --json form is {"keyid": "...", "key": {...TUF key object...}}.

Exit status 3 means the URI is malformed; 5 that the token or key is not
there (or the URI matches several keys).

Example:
  ceremony keys show 'pkcs11:token=alice;object=root-2026'
  ceremony keys show --json 'pkcs11:token=alice;object=root-2026' > alice.key.json`

const keysGenerateHelp = `Generates a key pair on the token or card the URI names, and prints what
'ceremony keys show' prints for it. The private key is made on the device
and never leaves it: on PKCS#11 tokens it is CKA_SENSITIVE and not
CKA_EXTRACTABLE. Name the key with object=LABEL in a pkcs11: URI; id= sets
its CKA_ID (percent-encoded bytes), otherwise a random id is chosen. A
label or id already on the token is refused: ceremony never overwrites a
key.

The user PIN is asked for on the terminal without echo, or read from the
file the URI's pin-source= names. When the token has one PIN try left,
ceremony refuses to spend it unless --allow-last-pin-try is given.

Key types: ed25519 (recommended by PEP 458), ecdsa-p256, ecdsa-p384,
rsa-3072 (also rsa-2048, rsa-4096).

Exit status 2 means a bad --type; 3 a malformed URI; 5 a missing token, a
wrong or locked PIN, or a key type the token cannot make; 6 that the label
or id exists already.

Example:
  ceremony keys generate --type ed25519 'pkcs11:token=alice;object=root-2026'
  ceremony keys generate --type ecdsa-p256 'pkcs11:token=alice;object=targets-2026?pin-source=/media/usb/pin'`

// keyShow is the --json form of 'keys show' and 'keys generate'.
type keyShow struct {
	KeyID string     `json:"keyid"`
	Key   *roles.Key `json:"key"`
}

// backendFor finds the backend for a key URI; an unknown scheme is bad
// input, not a device failure.
func backendFor(uri string) (hsm.Backend, error) {
	b, err := hsm.BackendFor(uri)
	if err != nil {
		return nil, withCode(exitInput, err)
	}
	return b, nil
}

// keyErr marks an error from a backend with its exit code: malformed URIs
// are input errors, other device failures device errors; the rest are
// classed by exitCode.
func keyErr(err error) error {
	switch {
	case errors.Is(err, hsm.ErrBadURI):
		return withCode(exitInput, err)
	case errors.Is(err, hsm.ErrDevice):
		return withCode(exitDevice, err)
	}
	return err
}

// terminalAuth asks for PINs on the terminal, where the URI does not say
// where its PIN is.
func terminalAuth(e *env, allowLastTry bool) hsm.Auth {
	return hsm.Auth{PINs: hsm.TerminalPIN{Prompt: e.stderr}, Policy: hsm.PINPolicy{AllowLastTry: allowLastTry}}
}

func showKey(e *env, k hsm.Key, asJSON bool) error {
	tk, err := roles.KeyFromPublic(k.Public)
	if err != nil {
		return withCode(exitDevice, fmt.Errorf("key %s cannot be a TUF key: %w", k.URI, err))
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
		return fmt.Errorf("encode the public key of %s: %w", k.URI, err)
	}
	raw, err := hex.DecodeString(id)
	if err != nil || len(raw) < pgpKeyIDBytes {
		return fmt.Errorf("keyid %q is not hex SHA-256", id)
	}
	fmt.Fprintf(e.stdout, "keyid      %s\n", id)
	fmt.Fprintf(e.stdout, "pgp words  %s  (first %d bytes: %s)\n", pgpwords.String(raw[:pgpKeyIDBytes]), pgpKeyIDBytes, id[:2*pgpKeyIDBytes])
	fmt.Fprintf(e.stdout, "type       %s (%s)\n", k.Type, tk.Scheme)
	fmt.Fprintf(e.stdout, "uri        %s\n", k.URI)
	fmt.Fprintf(e.stdout, "device     %s\n", k.Device)
	fmt.Fprintf(e.stdout, "tuf key    %s\n", obj)
	fmt.Fprintf(e.stdout, "public key\n%s", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return nil
}

func init() {
	register(&command{
		name:    "keys show",
		summary: "show a key's keyid, TUF key object, PEM and PGP words",
		usage:   "[--json] URI",
		help:    keysShowHelp,
		setup: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, `print {"keyid": ..., "key": {...}} for scripts and plans`)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("keys show takes one key URI, such as 'pkcs11:token=alice;object=root-2026'")
				}
				b, err := backendFor(args[0])
				if err != nil {
					return err
				}
				keys, err := b.Keys(ctx, args[0], hsm.Auth{})
				if err != nil {
					return keyErr(err)
				}
				switch len(keys) {
				case 0:
					return fmt.Errorf("no key matches %s: run 'ceremony devices' to see the keys present: %w", args[0], hsm.ErrNotFound)
				case 1:
					return showKey(e, keys[0], *asJSON)
				}
				uris := make([]string, len(keys))
				for i, k := range keys {
					uris[i] = k.URI
				}
				return fmt.Errorf("%s matches %d keys; name one:\n  %s\n%w", args[0], len(keys), strings.Join(uris, "\n  "), hsm.ErrAmbiguous)
			}
		},
	})
	register(&command{
		name:    "keys generate",
		summary: "generate a key pair on a token or card",
		usage:   "--type TYPE [--pin-policy P] [--touch-policy P] [--allow-last-pin-try] [--json] URI",
		help:    keysGenerateHelp,
		setup: func(fs *flag.FlagSet) runFunc {
			typ := fs.String("type", "", "key `type`: ed25519, ecdsa-p256, ecdsa-p384 or rsa-3072")
			lastTry := fs.Bool("allow-last-pin-try", false, "spend the token's last PIN try if it comes to that")
			asJSON := fs.Bool("json", false, `print {"keyid": ..., "key": {...}} for scripts and plans`)
			pinPolicy := fs.String("pin-policy", "", "YubiKeys: never, once or always (the card's default when empty)")
			touchPolicy := fs.String("touch-policy", "", "YubiKeys: never, cached or always (the card's default when empty)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("keys generate takes one URI naming the token and the new key's label, such as 'pkcs11:token=alice;object=root-2026'")
				}
				if *typ == "" {
					return usageErrorf("give the key type with --type (ed25519, ecdsa-p256, ecdsa-p384 or rsa-3072)")
				}
				kt, err := hsm.ParseKeyType(*typ)
				if err != nil {
					return usageErrorf("%v", err)
				}
				b, err := backendFor(args[0])
				if err != nil {
					return err
				}
				k, err := b.Generate(ctx, args[0], kt, hsm.GenerateOptions{PINPolicy: *pinPolicy, TouchPolicy: *touchPolicy}, terminalAuth(e, *lastTry))
				if err != nil {
					return keyErr(err)
				}
				if !*asJSON {
					fmt.Fprintf(e.stdout, "Generated a new %s key on %s.\n", kt, k.Device)
				}
				return showKey(e, k, *asJSON)
			}
		},
	})
}
