package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ceremony-tuf/ceremony/hsm"
)

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

type keysGenerateOptions struct {
	typ, pinPolicy, touchPolicy *string
	allowLastPINTry, json       *bool
}

func keysGenerateFlags(fs *flag.FlagSet) *keysGenerateOptions {
	return &keysGenerateOptions{
		typ:             fs.String("type", "", "key `type`: ed25519, ecdsa-p256, ecdsa-p384 or rsa-3072"),
		allowLastPINTry: fs.Bool("allow-last-pin-try", false, "spend the token's last PIN try if it comes to that"),
		json:            fs.Bool("json", false, `print {"keyid": ..., "key": {...}} for scripts and plans`),
		pinPolicy:       fs.String("pin-policy", "", "YubiKeys: never, once or always (the card's default when empty)"),
		touchPolicy:     fs.String("touch-policy", "", "YubiKeys: never, cached or always (the card's default when empty)"),
	}
}

// runKeysGenerate is 'ceremony keys generate URI'.
func runKeysGenerate(ctx context.Context, e *env, o *keysGenerateOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("keys generate takes one URI naming the token and the new key's label, such as 'pkcs11:token=alice;object=root-2026'")
	}
	if *o.typ == "" {
		return usageErrorf("give the key type with --type (ed25519, ecdsa-p256, ecdsa-p384 or rsa-3072)")
	}
	kt, err := hsm.ParseKeyType(*o.typ)
	if err != nil {
		return usageErrorf("%w", err)
	}
	b, err := hsm.BackendFor(args[0])
	if err != nil {
		return err
	}
	k, err := b.Generate(ctx, args[0], kt, hsm.GenerateOptions{PINPolicy: *o.pinPolicy, TouchPolicy: *o.touchPolicy}, terminalAuth(e, *o.allowLastPINTry))
	if err != nil {
		return err
	}
	if !*o.json {
		fmt.Fprintf(e.stdout, "Generated a new %s key on %s.\n", kt, safe(k.Device.String()))
	}
	return showKey(e, k, *o.json)
}
