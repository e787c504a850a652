package transcripts

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// checkLocated asserts that a changed transcript fails, and that the first
// problem points at the changed line or the next one (whose prev names the
// changed line's hash).
func checkLocated(t *testing.T, what string, r *Report, err error, line int) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: not detected", what)
		return
	}
	p := r.Problems[0]
	if p.Line != line && p.Line != line+1 {
		t.Errorf("%s: first problem at line %d, want %d or %d: %v", what, p.Line, line, line+1, &p)
	}
	if p.Check == "" || p.Detail == "" {
		t.Errorf("%s: problem without check or detail: %+v", what, p)
	}
}

func TestUntouchedVerifies(t *testing.T) {
	p, orig, head := fixture(t)
	r, err := Verify(p, head)
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 3 || r.Artifacts != 1 || r.Ceremony != "pypi-2026-q4" || r.Format != 1 || r.Head.String() != head {
		t.Errorf("report %+v", r)
	}
	// The head in PGP words, as a witness wrote it down, in any case.
	if _, err := Verify(p, strings.ToUpper(r.HeadWords)); err != nil {
		t.Errorf("head in words: %v", err)
	}
	if _, err := Verify(p, "not a digest"); err == nil {
		t.Error("a malformed head was accepted")
	}
	_ = orig
}

// TestTamperEveryByte changes, removes or inserts each byte of the
// transcript in turn; each change must be found, and located.
func TestTamperEveryByte(t *testing.T) {
	p, orig, head := fixture(t)
	for i := range orig {
		line := lineOf(orig, i)
		for _, flip := range []byte{0x01, 0x20, 0x80} {
			b := bytes.Clone(orig)
			b[i] ^= flip
			r, err := verifyBytes(t, p, b, head)
			checkLocated(t, fmt.Sprintf("byte %d ^ %#x", i, flip), r, err, line)
		}
		b := append(bytes.Clone(orig[:i]), orig[i+1:]...)
		r, err := verifyBytes(t, p, b, head)
		checkLocated(t, fmt.Sprintf("delete byte %d", i), r, err, line)
		for _, c := range []byte{' ', '0', '\n', '"'} {
			b := append(append(bytes.Clone(orig[:i]), c), orig[i:]...)
			r, err := verifyBytes(t, p, b, head)
			checkLocated(t, fmt.Sprintf("insert %q before byte %d", c, i), r, err, line)
		}
	}
	// Without the head, every change but those to the last line is found
	// all the same: the chain covers every line but the last.
	lastStart := bytes.LastIndexByte(orig[:len(orig)-1], '\n') + 1
	for i := range lastStart {
		b := bytes.Clone(orig)
		b[i] ^= 0x01
		r, err := verifyBytes(t, p, b, "")
		checkLocated(t, fmt.Sprintf("byte %d ^ 1 without head", i), r, err, lineOf(orig, i))
	}
}

func TestTamperLines(t *testing.T) {
	p, orig, head := fixture(t)
	lines := bytes.SplitAfter(orig, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty string after the last newline
	join := func(ls [][]byte) []byte { return bytes.Join(ls, nil) }
	n := len(lines)
	for i := range n {
		for j := i + 1; j < n; j++ {
			ls := append([][]byte{}, lines...)
			ls[i], ls[j] = ls[j], ls[i]
			r, err := verifyBytes(t, p, join(ls), "")
			checkLocated(t, fmt.Sprintf("swap lines %d and %d", i+1, j+1), r, err, i+1)
			if r.Problems[0].Line != i+1 {
				t.Errorf("swap %d,%d: first problem at line %d", i+1, j+1, r.Problems[0].Line)
			}
		}
		ls := append(append([][]byte{}, lines[:i]...), lines[i+1:]...)
		r, err := verifyBytes(t, p, join(ls), head)
		if i == n-1 { // the new last line is not the head
			checkLocated(t, "remove the last line", r, err, n-1)
		} else {
			checkLocated(t, fmt.Sprintf("remove line %d", i+1), r, err, i+1)
		}
		ls = append(append(append([][]byte{}, lines[:i+1]...), lines[i]), lines[i+1:]...)
		r, err = verifyBytes(t, p, join(ls), head)
		checkLocated(t, fmt.Sprintf("repeat line %d", i+1), r, err, i+1)
	}
	// An extra line at the end, even one that chains, is not the witnessed head.
	if err := os.WriteFile(p, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append("extra", nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r, err := Verify(p, head)
	if err == nil || r.Problems[0].Check != checkHead || r.Problems[0].Line != n+1 {
		t.Errorf("appended line with old head: %v", err)
	}
}

func TestTruncateEveryLength(t *testing.T) {
	p, orig, head := fixture(t)
	for l := range len(orig) {
		r, err := verifyBytes(t, p, orig[:l], head)
		if err == nil {
			t.Fatalf("truncated to %d bytes: not detected", l)
		}
		want := checkTorn
		switch {
		case l == 0:
			want = checkHeader
		case orig[l-1] == '\n':
			want = checkHead
		}
		if got := r.Problems[0].Check; got != want {
			t.Errorf("truncated to %d bytes: check %q, want %q: %v", l, got, want, err)
		}
		if want == checkTorn && (r.Problems[0].Line != lineOf(orig, l) || r.Problems[0].Offset != int64(bytes.LastIndexByte(orig[:l], '\n')+1)) {
			t.Errorf("truncated to %d bytes: located at %+v", l, r.Problems[0])
		}
		// Without a head, a cut at a line boundary is invisible: that is
		// what witnesses writing the head down is for.
		if want == checkHead {
			if _, err := verifyBytes(t, p, orig[:l], ""); err != nil {
				t.Errorf("truncated at a line boundary, no head: %v", err)
			}
		}
	}
}

func TestTamperArtifact(t *testing.T) {
	p, orig, head := fixture(t)
	entries, err := os.ReadDir(filepath.Join(ArtifactDir(p), "sha256"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("artifact store: %v %v", entries, err)
	}
	ap := filepath.Join(ArtifactDir(p), "sha256", entries[0].Name())
	good, _ := os.ReadFile(ap)
	name := "sha256:" + entries[0].Name()
	check := func(what string) {
		t.Helper()
		r, err := verifyBytes(t, p, orig, head)
		if err == nil {
			t.Fatalf("%s: not detected", what)
		}
		pr := r.Problems[0]
		if pr.Check != checkArtifact || pr.Artifact != name || pr.Line != 2 || pr.Seq != 2 {
			t.Errorf("%s: %v", what, &pr)
		}
		if _, err := ReadArtifact(p, Artifact{name}); err == nil {
			t.Errorf("%s: ReadArtifact accepted it", what)
		}
	}
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		os.WriteFile(ap, b, 0o644)
		check(fmt.Sprintf("artifact byte %d flipped", i))
	}
	os.WriteFile(ap, append(bytes.Clone(good), '\n'), 0o644)
	check("artifact extended")
	os.WriteFile(ap, good[:len(good)-1], 0o644)
	check("artifact cut")
	os.Remove(ap)
	check("artifact removed")
	os.WriteFile(ap, good, 0o644)
	if b, err := ReadArtifact(p, Artifact{name}); err != nil || !bytes.Equal(b, good) {
		t.Errorf("restored artifact: %v", err)
	}
}

// TestArtifactNotRegular: a FIFO (or device) in the store is reported, not
// read forever.
func TestArtifactNotRegular(t *testing.T) {
	p, orig, _ := fixture(t)
	ents, _ := os.ReadDir(filepath.Join(ArtifactDir(p), "sha256"))
	ap := filepath.Join(ArtifactDir(p), "sha256", ents[0].Name())
	os.Remove(ap)
	if err := syscall.Mkfifo(ap, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := verifyBytes(t, p, orig, "")
	if err == nil || r.Problems[0].Check != checkArtifact || !strings.Contains(r.Problems[0].Detail, "regular") {
		t.Errorf("FIFO artifact: %v", err)
	}
	if _, err := ReadArtifact(p, Artifact{"sha256:" + ents[0].Name()}); err == nil {
		t.Error("ReadArtifact read a FIFO")
	}
}

// TestWitnessedHeadFollowed checks a head witnesses wrote down before
// the events the caller allows after it were recorded: it verifies with
// them, and is reported; it fails without them, and once an event of
// another type follows.
func TestWitnessedHeadFollowed(t *testing.T) {
	p, orig, head := fixture(t)
	n := bytes.Count(orig, []byte("\n"))
	w, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := w.Append("witness.signed", map[string]any{"head": head}); err != nil {
			t.Fatal(err)
		}
	}
	last := w.Last().Hash().String()
	w.Close()
	after := []string{"other.kind", "witness.signed"}

	r, err := VerifyWith(p, VerifyOptions{Head: head, After: after})
	if err != nil {
		t.Fatalf("the witnessed head, followed by allowed events: %v", err)
	}
	if want := (HeadLine{Line: n, Seq: int64(n), Type: "signature.added", Following: 2}); r.Witnessed == nil || *r.Witnessed != want {
		t.Errorf("witnessed %+v, want %+v", r.Witnessed, want)
	}
	if r.Head.String() != last {
		t.Errorf("report head %s, want the last line's %s", r.Head, last)
	}
	r, err = VerifyWith(p, VerifyOptions{Head: last, After: after})
	if err != nil || r.Witnessed == nil || r.Witnessed.Line != n+2 || r.Witnessed.Following != 0 {
		t.Errorf("the last head: %+v, %v", r.Witnessed, err)
	}

	// Without After, the transcript must end at the head.
	r, err = Verify(p, head)
	if err == nil || r.Problems[0].Check != checkHead || r.Problems[0].Line != n+1 || !strings.Contains(r.Problems[0].Detail, "nothing may follow") {
		t.Errorf("followed, nothing allowed: %v", err)
	}

	// An event of another type after the allowed ones is reported where it is.
	w, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append("role.staged", map[string]any{"role": "root"}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r, err = VerifyWith(p, VerifyOptions{Head: head, After: after})
	if err == nil || len(r.Problems) != 1 || r.Problems[0].Check != checkHead || r.Problems[0].Line != n+3 ||
		!strings.Contains(r.Problems[0].Detail, fmt.Sprintf(`"role.staged" follows line %d`, n)) || r.Witnessed == nil || r.Witnessed.Following != 3 {
		t.Errorf("another type after the head: %+v, %v", r.Witnessed, err)
	}

	// A head no line hashes to.
	r, err = VerifyWith(p, VerifyOptions{Head: strings.Repeat("ab", 32), After: after})
	if err == nil || r.Problems[0].Check != checkHead || r.Witnessed != nil || !strings.Contains(r.Problems[0].Detail, "no line hashes") {
		t.Errorf("unknown head: %v", err)
	}
}
