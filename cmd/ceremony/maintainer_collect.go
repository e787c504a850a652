package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
)

const maintainerCollectHelp = `Checks each response against the project's metadata and the maintainer
keys the delegating file gives it (the project, the version and the signed
bytes, a trusted key, a signature that verifies, no key twice) and adds the
signatures, rewriting METADATA atomically. Nothing is written if any
response is refused.

Example:
  ceremony maintainer collect 4.sampleproject.json --project sampleproject \
      --delegator 12.claimed.json alice.response.json bob.response.json`

// runMaintainerCollect is 'ceremony maintainer collect METADATA RESPONSE...'.
func runMaintainerCollect(ctx context.Context, e *env, o *projectOptions, args []string) error {
	if len(args) < 2 || *o.project == "" || *o.delegator == "" {
		return usageErrorf("give the metadata file, --project, --delegator and at least one response")
	}
	m, del, err := readProjectFiles(args[0], *o.delegator)
	if err != nil {
		return err
	}
	for _, rp := range args[1:] {
		b, err := os.ReadFile(rp)
		if err != nil {
			return exitcode.Mark(exitcode.ErrInput, err)
		}
		resp, err := ceremony.ParseResponse(b)
		if err != nil {
			return exitcode.Errorf(exitcode.ErrInput, "%s: %w", safe(rp), err)
		}
		if err := ceremony.AddProjectResponse(m, *o.project, del, resp); err != nil {
			return fmt.Errorf("%s: %w", safe(rp), err)
		}
	}
	pub, err := m.MarshalJSON()
	if err != nil {
		return err
	}
	if err := ceremony.WriteFileAtomic(args[0], pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added %d signatures to %s\n", len(args)-1, safe(args[0]))
	return nil
}
