//go:build unix

package transcripts

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
)

// TestReadHead: the head read from the tail, with no lock, is the
// writer's, while the writer holds the lock; a torn tail is ErrTorn, and
// the file is never changed.
func TestReadHead(t *testing.T) {
	p, w := exampleTranscript(t, t.TempDir())
	defer w.Close()
	ev, err := ReadHead(p)
	if err != nil || ev.Hash() != w.Head() || ev.Seq != 3 {
		t.Fatalf("ReadHead = seq %d %s, %v; the writer's head is %s", ev.Seq, ev.Hash(), err, w.Head())
	}
	// Lines longer than the window ReadHead reads from the tail.
	big := strings.Repeat("x", MaxLine-400)
	for range 3 {
		if _, err := w.Append("note.added", map[string]string{"text": big}); err != nil {
			t.Fatal(err)
		}
	}
	if ev, err := ReadHead(p); err != nil || ev.Hash() != w.Head() || ev.Seq != 6 {
		t.Fatalf("after long lines: seq %d, %v", ev.Seq, err)
	}
	w.Close()

	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-1], 0o600)
	if _, err := ReadHead(p); !errors.Is(err, ErrTorn) || !errors.Is(err, ErrIntegrity) {
		t.Errorf("torn tail: %v", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, b[:len(b)-1]) {
		t.Error("ReadHead changed the file")
	}
	for name, mk := range map[string]func(string) error{
		"empty": func(p string) error { return os.WriteFile(p, nil, 0o600) },
		"FIFO":  func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"link to /dev/zero": func(p string) error {
			return os.Symlink("/dev/zero", p)
		},
	} {
		q := filepath.Join(t.TempDir(), "t.jsonl")
		if err := mk(q); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadHead(q); err == nil {
			t.Errorf("%s: read a head", name)
		}
	}
}

// TestTranscriptNotAFile: a transcript that is a FIFO or a link to
// /dev/zero is refused before it is read, by Verify and by Open: neither
// hangs nor reads for ever.
func TestTranscriptNotAFile(t *testing.T) {
	for name, mk := range map[string]func(string) error{
		"FIFO":              func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"link to /dev/zero": func(p string) error { return os.Symlink("/dev/zero", p) },
		"3 GB sparse":       func(p string) error { return os.WriteFile(p, nil, 0o600) },
	} {
		p := filepath.Join(t.TempDir(), "t.jsonl")
		if err := mk(p); err != nil {
			t.Fatal(err)
		}
		if name == "3 GB sparse" {
			os.Truncate(p, 3<<30)
		}
		done := make(chan error, 2)
		go func() { _, err := Verify(p, ""); done <- err }()
		go func() { _, err := Open(p); done <- err }()
		for range 2 {
			select {
			case err := <-done:
				if !errors.Is(err, boundedfile.ErrNotRegular) && !errors.Is(err, boundedfile.ErrTooLarge) {
					t.Errorf("%s: %v", name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: still reading after 10s", name)
			}
		}
	}
}

// TestHugeArtifact: an artifact replaced by a 3 GB sparse file is found
// altered without being read into memory.
func TestHugeArtifact(t *testing.T) {
	p, _, _ := fixture(t)
	ents, _ := os.ReadDir(filepath.Join(ArtifactDir(p), "sha256"))
	if len(ents) == 0 {
		t.Fatal("no artifact")
	}
	os.Truncate(filepath.Join(ArtifactDir(p), "sha256", ents[0].Name()), 3<<30)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := Verify(p, "")
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrIntegrity) || r == nil || r.Problems[0].Check != checkArtifact || !strings.Contains(r.Problems[0].Detail, "1 GiB") {
		t.Errorf("a 3 GB artifact: %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("verify allocated %d MiB", alloc>>20)
	}
}

// TestPutArtifactLimit: no artifact larger than readers read is stored.
func TestPutArtifactLimit(t *testing.T) {
	p, w := exampleTranscript(t, t.TempDir())
	defer w.Close()
	old := boundedfile.Artifact.Max
	boundedfile.Artifact.Max = 10
	defer func() { boundedfile.Artifact.Max = old }()
	if _, err := w.PutArtifact(strings.NewReader("0123456789")); err != nil {
		t.Errorf("an artifact of the limit: %v", err)
	}
	if _, err := w.PutArtifact(bytes.NewReader([]byte("0123456789a"))); err == nil || !strings.Contains(err.Error(), "10 bytes") {
		t.Errorf("an artifact over the limit: %v", err)
	}
	boundedfile.Artifact.Max = old
	if _, err := Verify(p, ""); err != nil {
		t.Error(err)
	}
}

// TestTranscriptLimitOnAppend: a writer never makes a transcript its
// readers refuse.
func TestTranscriptLimitOnAppend(t *testing.T) {
	p, w := exampleTranscript(t, t.TempDir())
	defer w.Close()
	fi, _ := os.Stat(p)
	old := boundedfile.Transcript.Max
	boundedfile.Transcript.Max = fi.Size() + 10
	defer func() { boundedfile.Transcript.Max = old }()
	if _, err := w.Append("note.added", map[string]string{"text": "x"}); err == nil || !strings.Contains(err.Error(), "grow past") {
		t.Errorf("an append past the limit: %v", err)
	}
	if after, _ := os.Stat(p); after.Size() != fi.Size() {
		t.Error("the refused append wrote")
	}
}
