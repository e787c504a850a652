// Package transcripttest edits transcripts for tests as a forger with
// write access would: the chain still verifies, and only a check of
// meaning (a replay, a head, a checkpoint) can catch the change.
package transcripttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"testing"
)

// DropCheckpoints removes the checkpoint signatures at the end of the
// transcript at tpath, as a forger who edits a closed ceremony must: they
// signed the history as it was, and no longer fold once it is changed.
// Rechain then chains what is left.
func DropCheckpoints(t testing.TB, tpath string) {
	t.Helper()
	b, err := os.ReadFile(tpath)
	if err != nil {
		t.Fatal(err)
	}
	var kept []byte
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.Contains(l, []byte(`"type":"checkpoint.signed"`)) {
			kept = append(kept, l...)
		}
	}
	if err := os.WriteFile(tpath, kept, 0o644); err != nil {
		t.Fatal(err)
	}
}

var prevRE = regexp.MustCompile(`"prev":"[0-9a-f]{64}"`)

// Rechain replaces each old string in pairs (old, new, old, new, …) at
// its first occurrence in the transcript at tpath, then recomputes every
// line's prev. It fails the test if an old string is not there.
func Rechain(t testing.TB, tpath string, pairs ...string) {
	t.Helper()
	b, err := os.ReadFile(tpath)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if !bytes.Contains(b, []byte(pairs[i])) {
			t.Fatalf("%s is not in the transcript", pairs[i])
		}
		b = bytes.Replace(b, []byte(pairs[i]), []byte(pairs[i+1]), 1)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	var prev [sha256.Size]byte
	for i, l := range lines {
		if len(l) == 0 {
			continue
		}
		if i > 0 {
			l = prevRE.ReplaceAll(l, []byte(`"prev":"`+hex.EncodeToString(prev[:])+`"`))
		}
		lines[i] = l
		prev = sha256.Sum256(l)
	}
	if err := os.WriteFile(tpath, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Copy copies the ceremony workspace (or any folder) src into a new
// temporary folder and returns the copy's path.
func Copy(t testing.TB, src string) string {
	t.Helper()
	dir := t.TempDir() + "/ws"
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dir
}
