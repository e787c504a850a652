package main

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

// buildFlags must stay the Makefile's BUILDFLAGS: the test proves that
// what `make build` does is reproducible.
var buildFlags = []string{"-trimpath", "-buildvcs=auto", "-ldflags=-buildid="}

// TestBuildIsReproducible builds the tool as `make build` does, twice, the
// second time with an empty build cache so that nothing is reused, and
// checks that the two binaries are byte-identical, that `ceremony version`
// reports the digest an auditor computes from the file, and that it names
// the commit it was built from. The builds are made in a fresh clone of
// the commit under test, as an auditor makes them (a git worktree's .git
// is a file, which the go command does not stamp from); where the source
// is not a git checkout (a tarball), they are made in place and name no
// commit.
func TestBuildIsReproducible(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "BUILDFLAGS = "+strings.Join(buildFlags, " ")+"\n") {
		t.Fatalf("the Makefile's BUILDFLAGS differ from this test's %v: keep them in step", buildFlags)
	}
	dir := t.TempDir()
	src, commit := ".", ""
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(head))
		top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			t.Fatal(err)
		}
		clone := filepath.Join(dir, "src")
		for _, args := range [][]string{
			{"clone", "--quiet", "--no-checkout", strings.TrimSpace(string(top)), clone},
			{"-C", clone, "checkout", "--quiet", commit},
		} {
			if b, err := exec.Command("git", args...).CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, b)
			}
		}
		src = filepath.Join(clone, "cmd", "ceremony")
	}
	build := func(out string, env ...string) []byte {
		cmd := exec.Command("go", append(append([]string{"build"}, buildFlags...), "-o", out, ".")...)
		cmd.Dir, cmd.Env = src, append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
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
	var facts buildFacts
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
