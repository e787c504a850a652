package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/roles"
)

const maintainerSignHelp = `For maintainers. Signs the project's delegated targets metadata (its
canonical signed bytes, with the key's scheme), checks the signature in
software, and adds it to the file, which is rewritten atomically (or written
to --out). A signature by the same key is replaced.

Example:
  ceremony maintainer sign 4.sampleproject.json --key 'piv:serial=12345678;slot=9c'`

type maintainerSignOptions struct {
	key, out        *string
	allowLastPINTry *bool
}

func maintainerSignFlags(fs *flag.FlagSet) *maintainerSignOptions {
	return &maintainerSignOptions{
		key:             fs.String("key", "", "the key URI (piv: or pkcs11:)"),
		out:             fs.String("out", "", "write here instead of over METADATA"),
		allowLastPINTry: fs.Bool("allow-last-pin-try", false, "let the login spend the device's last PIN try"),
	}
}

// runMaintainerSign is 'ceremony maintainer sign METADATA'.
func runMaintainerSign(ctx context.Context, e *env, o *maintainerSignOptions, args []string) error {
	if len(args) != 1 || *o.key == "" {
		return usageErrorf("give one metadata file and --key")
	}
	m, err := readProjectMetadata(args[0])
	if err != nil {
		return err
	}
	s, tk, err := openSigner(ctx, *o.key, terminalAuth(e, *o.allowLastPINTry))
	if err != nil {
		return err
	}
	defer s.Close()
	sig, err := roles.Sign(s, tk, m.CanonicalSigned())
	if err != nil {
		return err
	}
	m.AddSignature(sig)
	pub, err := m.MarshalJSON()
	if err != nil {
		return err
	}
	dst := args[0]
	if *o.out != "" {
		dst = *o.out
	}
	if err := ceremony.WriteFileAtomic(dst, pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "signed %s v%d with key %s, verified; wrote %s\n", args[0], m.Signed.Version, tk.ID()[:8], dst)
	return nil
}
