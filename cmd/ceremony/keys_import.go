package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/rstuf"
)

const keysImportHelp = `Makes a participant key file, the file a plan's key_file names, from a
public key in PEM ("PUBLIC KEY", as 'openssl pkey -pubout' or 'ykman piv
keys export' write it) or from a certificate ("CERTIFICATE", such as the
one a YubiKey PIV slot holds: 'ykman piv certificates export 9c'), for a
key on hardware this machine cannot see at plan time. The file is what
'ceremony keys show --json' prints: {"keyid": …, "key": {TUF key object}}.
Ed25519, ECDSA P-256 and P-384 (ecdsa-sha2-nistp256/384) and RSA of 2048
bits or more (rsassa-pss-sha256) are taken. A certificate's own signature
and validity are not judged: only its public key is read. Check the keyid
with the key holder, aloud, before the plan names it.

For an RSTUF deployment, --rstuf-online-key-uri gives the online key the
x-rstuf-online-key-uri RSTUF's worker finds its signer by ("fn:NAME",
"awskms:…", "gcpkms:…", "hv:…"), and --rstuf-key-name its
x-rstuf-key-name; the keyid covers both. Give them to the online key only
(docs/RSTUF.md says why).

The output is written atomically and never over an existing file.

Exit status 3 means the input is not a public key or certificate of a type
TUF signs with; 6 that the output exists.

Examples:
  ceremony keys import alice-9c.crt --out alice.key.json
  ceremony keys import online.pub --rstuf-online-key-uri fn:online --rstuf-key-name 'Online Key' --out online.key.json --json`

type keysImportOptions struct {
	out, onlineURI, name *string
	json                 *bool
}

func keysImportFlags(fs *flag.FlagSet) *keysImportOptions {
	return &keysImportOptions{
		out:       fs.String("out", "", "the key `file` to write (it must not exist)"),
		onlineURI: fs.String("rstuf-online-key-uri", "", "RSTUF: the online key's x-rstuf-online-key-uri"),
		name:      fs.String("rstuf-key-name", "", "RSTUF: the key's x-rstuf-key-name"),
		json:      fs.Bool("json", false, `print {"keyid": ..., "key": {...}} as written`),
	}
}

// runKeysImport is 'ceremony keys import PEM|CERT --out KEY.json'.
func runKeysImport(ctx context.Context, e *env, o *keysImportOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("keys import takes one file: a public key or certificate in PEM")
	}
	if *o.out == "" {
		return usageErrorf("name the key file to write with --out, e.g. --out alice.key.json")
	}
	for flagName, v := range map[string]string{"--rstuf-online-key-uri": *o.onlineURI, "--rstuf-key-name": *o.name} {
		if err := untrusted.Check(flagName, v); err != nil {
			return exitcode.Mark(exitcode.ErrInput, err)
		}
	}
	b, err := boundedfile.Read(args[0], boundedfile.Plan)
	if err != nil {
		return exitcode.Mark(exitcode.ErrInput, err)
	}
	k, err := importPublicKey(b)
	if err != nil {
		return exitcode.Errorf(exitcode.ErrInput, "%s: %w: give a PEM \"PUBLIC KEY\" or \"CERTIFICATE\" of an Ed25519, ECDSA P-256/P-384 or RSA (2048 bits or more) key", safe(args[0]), err)
	}
	if k, err = rstuf.WithMembers(k, map[string]string{rstuf.OnlineKeyURIField: *o.onlineURI, rstuf.KeyNameField: *o.name}); err != nil {
		return err
	}
	out, err := json.MarshalIndent(keyShow{KeyID: k.ID(), Key: k}, "", "  ")
	if err != nil {
		return err
	}
	if err := reqRefuseExisting(*o.out); err != nil {
		return err
	}
	if err := ceremony.WriteFileAtomic(*o.out, append(out, '\n'), 0o644); err != nil {
		return exitcode.Mark(exitcode.ErrInput, err)
	}
	if *o.json {
		return writeJSON(e.stdout, keyShow{KeyID: k.ID(), Key: k})
	}
	fmt.Fprintf(e.stdout, "keyid      %s\nscheme     %s\nWrote %s: name it as a participant's key_file, with this keyid, once its holder has read the keyid back.\n", k.ID(), safe(k.Scheme), safe(*o.out))
	return nil
}

// importPublicKey reads the first PEM block of b: a public key or a
// certificate's.
func importPublicKey(b []byte) (*roles.Key, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	var pub any
	var err error
	switch blk.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(blk.Bytes); err == nil {
			pub = c.PublicKey
		}
	default:
		return nil, fmt.Errorf("a PEM %q block (a private key is never taken)", untrusted.Line(blk.Type))
	}
	if err != nil {
		return nil, err
	}
	k, err := roles.KeyFromPublic(pub)
	if err != nil {
		return nil, err
	}
	if _, err := k.PublicKey(); err != nil {
		return nil, err
	}
	return k, nil
}
