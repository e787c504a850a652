package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
)

const maintainerRequestHelp = `For projects that need several maintainers' signatures. Writes a signing
request for the project's delegated metadata, in the ceremony's request
format, under the delegation the delegating file (claimed, or the claimed bin
holding the project) gives it. Each maintainer runs
'ceremony sign REQUEST --key URI --out RESPONSE' on their own machine, and
'ceremony maintainer collect' adds the signatures.

Example:
  ceremony maintainer request 4.sampleproject.json --project sampleproject \
      --delegator 12.claimed.json --out sampleproject-v4.request.json`

type maintainerRequestOptions struct {
	*projectOptions
	out *string
}

func maintainerRequestFlags(fs *flag.FlagSet) *maintainerRequestOptions {
	return &maintainerRequestOptions{projectOptions: projectFlags(fs), out: fs.String("out", "", "the request file to write")}
}

// runMaintainerRequest is 'ceremony maintainer request METADATA'.
func runMaintainerRequest(ctx context.Context, e *env, o *maintainerRequestOptions, args []string) error {
	if len(args) != 1 || *o.project == "" || *o.delegator == "" || *o.out == "" {
		return usageErrorf("give one metadata file, --project, --delegator and --out")
	}
	m, del, err := readProjectFiles(args[0], *o.delegator)
	if err != nil {
		return err
	}
	req, err := ceremony.ProjectRequest(m, *o.project, del)
	if err != nil {
		return exitcode.Mark(exitcode.ErrInput, err)
	}
	b, err := req.Marshal()
	if err != nil {
		return err
	}
	if _, err := os.Stat(*o.out); err == nil {
		return exitcode.Errorf(ceremony.ErrConflict, "%s exists; choose another --out", safe(*o.out))
	}
	if err := ceremony.WriteFileAtomic(*o.out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s v%d, %d of %d maintainer keys must sign\n", safe(*o.out), safe(*o.project), req.Version, req.Thresholds[0].Threshold, len(req.Signers))
	return nil
}
