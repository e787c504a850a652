package main

import (
	"context"
	"flag"

	"github.com/ceremony-tuf/ceremony/hsm"
)

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

func keysShowFlags(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, `print {"keyid": ..., "key": {...}} for scripts and plans`)
}

// runKeysShow is 'ceremony keys show URI'.
func runKeysShow(ctx context.Context, e *env, asJSON *bool, args []string) error {
	if len(args) != 1 {
		return usageErrorf("keys show takes one key URI, such as 'pkcs11:token=alice;object=root-2026'")
	}
	k, err := hsm.Lookup(ctx, args[0])
	if err != nil {
		return err
	}
	return showKey(e, k, *asJSON)
}
