package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/roles"
)

const maintainerSignHelp = `For maintainers. Signs the project's delegated targets metadata (its
canonical signed bytes, with the key's scheme), checks the signature in
software, and adds it to the file, which is rewritten atomically (or written
to --out). A signature by the same key is replaced.

The key is found by its public half first, without a PIN. Then what the
metadata holds is shown, read from its bytes (its version, expiry and
target files), with the digest of the bytes to sign last; "yes" is asked,
and only then the PIN.

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

// runMaintainerSign is 'ceremony maintainer sign METADATA': the key found
// without a PIN, the review, "yes", then the PIN and the signature.
func runMaintainerSign(ctx context.Context, e *env, o *maintainerSignOptions, args []string) error {
	if len(args) != 1 || *o.key == "" {
		return usageErrorf("give one metadata file and --key")
	}
	m, err := readProjectMetadata(args[0])
	if err != nil {
		return err
	}
	key, tk, err := lookupKey(ctx, *o.key)
	if err != nil {
		return err
	}
	canon := m.CanonicalSigned()
	review, err := ceremony.Summarize(projectName(args[0]), canon, nil, nil)
	if err != nil {
		return err
	}
	who := fmt.Sprintf("key %s on %s", tk.ID()[:16], safe(key.Device.String()))
	fmt.Fprintf(e.stderr, "Signing %s with %s.\n\nWhat the metadata holds, read from its bytes:\n", safe(args[0]), who)
	printSummary(e.stderr, "  ", review.Lines())
	fmt.Fprintln(e.stderr)
	printDigest(e.stderr, fmt.Sprintf("%s v%d", safe(review.Role), m.Signed.Version), canon)
	if err := confirm(e, "sign it with "+who); err != nil {
		return err
	}
	s, err := openLookedUp(ctx, *o.key, tk, terminalAuth(e, *o.allowLastPINTry))
	if err != nil {
		return err
	}
	defer s.Close()
	sig, err := roles.Sign(s, tk, canon)
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
	fmt.Fprintf(e.stdout, "signed %s v%d with key %s, verified; wrote %s\n", safe(args[0]), m.Signed.Version, tk.ID()[:8], safe(dst))
	return nil
}

// projectName is the project a metadata file is named for, as consistent
// snapshots name it: "sampleproject" for 4.sampleproject.json.
func projectName(path string) string {
	name := strings.TrimSuffix(filepath.Base(path), ".json")
	if v, rest, ok := strings.Cut(name, "."); ok && strings.Trim(v, "0123456789") == "" {
		name = rest
	}
	return name
}
