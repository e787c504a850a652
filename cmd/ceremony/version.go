package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/ceremony-tuf/ceremony/ceremony"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// version is the release this source tree is; make build leaves it as is so
// that two builds of one commit are byte-identical.
const version = "0.1.0-dev"

// buildFacts says which tool this is, so an auditor can rebuild it.
type buildFacts struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`   // empty when the build stamped none
	Modified bool   `json:"modified"` // the tree had uncommitted changes
	Go       string `json:"go"`
	Binary   string `json:"binary_sha256"` // SHA-256 of the running executable
}

// tool is what the engine records of the tool in a ceremony's opening
// event.
func (f buildFacts) tool() ceremony.Tool {
	return ceremony.Tool{Version: f.Version, Commit: f.Commit, Modified: f.Modified, Binary: f.Binary}
}

func readBuildFacts() (buildFacts, error) {
	f := buildFacts{Version: version, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				f.Commit = s.Value
			case "vcs.modified":
				f.Modified = s.Value == "true"
			}
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return f, fmt.Errorf("find own executable: %w", err)
	}
	fh, err := os.Open(exe)
	if err != nil {
		return f, fmt.Errorf("read own executable: %w", err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return f, fmt.Errorf("hash own executable: %w", err)
	}
	f.Binary = hex.EncodeToString(h.Sum(nil))
	return f, nil
}

const versionHelp = `Prints the tool's version, the git commit it was built from, and the SHA-256
of the running binary. 'make build' is reproducible: rebuilding the same
commit with the same Go gives the same digest, so an auditor can check that
a ceremony ran the tool it says it ran.

Example:
  ceremony version --json`

// runVersion is 'ceremony version'.
func runVersion(ctx context.Context, e *env, asJSON *bool, args []string) error {
	if len(args) > 0 {
		return usageErrorf("version takes no arguments")
	}
	f, err := readBuildFacts()
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, f)
	}
	commit := f.Commit
	if commit == "" {
		commit = "unknown (not stamped: built outside git, or with -buildvcs=false)"
	} else if f.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(e.stdout, "ceremony %s\ncommit  %s\ngo      %s\nsha256  %s\n", f.Version, commit, f.Go, f.Binary)
	// Two people compare the digest of the binary they each built aloud
	// (docs/RUNBOOK.md): words are harder to misread than hex.
	fmt.Fprintf(e.stdout, "in words: %s\n", digestWords(f.Binary))
	return nil
}
