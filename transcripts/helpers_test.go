package transcripts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as the second process in TestSecondProcessRefused: with
// TRANSCRIPTS_HELPER_OPEN set, it opens that transcript and reports how.
func TestMain(m *testing.M) {
	if p := os.Getenv("TRANSCRIPTS_HELPER_OPEN"); p != "" {
		w, err := Open(p)
		switch {
		case errors.Is(err, ErrInUse):
			fmt.Println("in use:", err)
			os.Exit(3)
		case err != nil:
			fmt.Println("error:", err)
			os.Exit(1)
		}
		w.Close()
		fmt.Println("opened")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fixedClock makes now return t0, t0+1ms, t0+2ms, ... for the test's life.
func fixedClock(t testing.TB, t0 time.Time) {
	t.Helper()
	n := 0
	old := now
	now = func() time.Time {
		n++
		return t0.Add(time.Duration(n-1) * time.Millisecond)
	}
	t.Cleanup(func() { now = old })
}

var exampleTime = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// exampleTranscript writes the transcript docs/TRANSCRIPT.md shows: a
// header, an event naming an artifact, and a plain event.
func exampleTranscript(t testing.TB, dir string) (string, *Writer) {
	t.Helper()
	fixedClock(t, exampleTime)
	p := filepath.Join(dir, "example.jsonl")
	w, err := Create(p, Header{Ceremony: "pypi-2026-q4", Tool: "ceremony 0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.PutArtifact(strings.NewReader(`{"signed":{"_type":"root","version":8}}`))
	if err != nil {
		t.Fatal(err)
	}
	type staged struct {
		Role     string   `json:"role"`
		Version  int      `json:"version"`
		Metadata Artifact `json:"metadata"`
	}
	if _, err := w.Append("role.staged", staged{"root", 8, a}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append("signature.added", map[string]any{"role": "root", "keyid": "3f1a", "signer": "carol <c@example.org>"}); err != nil {
		t.Fatal(err)
	}
	return p, w
}

// fixture is a closed example transcript, its bytes and its head.
func fixture(t testing.TB) (path string, orig []byte, head string) {
	t.Helper()
	p, w := exampleTranscript(t, t.TempDir())
	head = w.Last().Hash().String()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b, head
}

// lineOf returns the 1-based line that holds byte i of b.
func lineOf(b []byte, i int) int {
	return bytes.Count(b[:min(i, len(b))], []byte("\n")) + 1
}

func verifyBytes(t *testing.T, path string, b []byte, head string) (*Report, error) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Verify(path, head)
	if r == nil {
		t.Fatalf("Verify returned no report: %v", err)
	}
	if (err == nil) != r.OK || r.OK != (len(r.Problems) == 0) {
		t.Fatalf("Verify: err %v but OK %v with %d problems", err, r.OK, len(r.Problems))
	}
	if err != nil && !errors.Is(err, ErrIntegrity) {
		t.Fatalf("Verify error does not wrap ErrIntegrity: %v", err)
	}
	return r, err
}

func helperProcess(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "TRANSCRIPTS_HELPER_OPEN="+path)
	return cmd
}
