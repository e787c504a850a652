package softhsmtests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildIsReproducible runs `make build` twice, as the two people of
// RUNBOOK step 1 do, the second time with an empty build cache so that
// nothing is reused, and checks that the two binaries are byte-identical,
// that `ceremony version` reports the digest anyone computes from the
// file, and that it names the commit it was built from. The builds are
// made in a fresh clone of the commit under test, as a person makes them
// (a git worktree's .git is a file, which the go command does not stamp
// from); where the source is not a git checkout (a tarball), they are made
// in place and name no commit.
func TestBuildIsReproducible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, commit := "..", ""
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(head))
		top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			t.Fatal(err)
		}
		src = filepath.Join(dir, "src")
		for _, args := range [][]string{
			{"clone", "--quiet", "--no-checkout", strings.TrimSpace(string(top)), src},
			{"-C", src, "checkout", "--quiet", commit},
		} {
			if b, err := exec.Command("git", args...).CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, b)
			}
		}
	}
	build := func(out string, env ...string) []byte {
		cmd := exec.Command("make", "-s", "-C", src, "build", "BIN="+out)
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make build: %v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := build(filepath.Join(dir, "a", "ceremony"))
	b := build(filepath.Join(dir, "b", "ceremony"), "GOCACHE="+filepath.Join(dir, "cache"))
	if !bytes.Equal(a, b) {
		t.Fatalf("two builds differ: %d and %d bytes", len(a), len(b))
	}
	sum := sha256.Sum256(a)
	out, err := exec.Command(filepath.Join(dir, "a", "ceremony"), "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var facts struct {
		Commit   string `json:"commit"`
		Modified bool   `json:"modified"`
		Binary   string `json:"binary_sha256"`
	}
	if err := json.Unmarshal(out, &facts); err != nil {
		t.Fatal(err)
	}
	if facts.Binary != hex.EncodeToString(sum[:]) {
		t.Errorf("version reports %s, the file's SHA-256 is %x", facts.Binary, sum)
	}
	if facts.Commit != commit || facts.Modified {
		t.Errorf("version reports commit %q (modified: %v); the build was of %q, unmodified", facts.Commit, facts.Modified, commit)
	}
}
