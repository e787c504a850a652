package ceremony

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// TestOpenNeedsNoLock: a ceremony is read while another engine holds the
// writer's lock, as a signer at a PIN prompt does (status once exited 6
// then). The reading engine takes the lock at its first append: refused
// while it is held, and, once the other appended, it reads the
// transcript again and asks for the action again rather than act on what
// it read before.
func TestOpenNeedsNoLock(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	ws := filepath.Join(dir, "ws")
	writer, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Release()
	tpath := filepath.Join(ws, TranscriptName)
	before, _ := os.ReadFile(tpath)

	r, err := Open(ws, Options{})
	if err != nil {
		t.Fatalf("Open while another holds the lock: %v", err)
	}
	defer r.Release()
	if r.Head() != writer.Head() || len(r.State().Roles) != len(writer.State().Roles) {
		t.Errorf("Open read head %s, %d roles; the writer has %s, %d", r.Head(), len(r.State().Roles), writer.Head(), len(writer.State().Roles))
	}
	if _, err := r.Sign(ps["alice"], nil); !errors.Is(err, transcripts.ErrInUse) {
		t.Errorf("a reading engine appended while another held the lock: %v", err)
	}
	if after, _ := os.ReadFile(tpath); !bytes.Equal(after, before) {
		t.Fatal("reading changed the transcript")
	}

	if _, err := writer.Sign(ps["bob"], nil); err != nil {
		t.Fatal(err)
	}
	writer.Release()
	_, err = r.Sign(ps["alice"], nil)
	if !errors.Is(err, transcripts.ErrInUse) || !strings.Contains(err.Error(), "read again") {
		t.Fatalf("signing on a state another process moved on: %v", err)
	}
	if r.Head() != writer.Head() || signatureCount(r.State()) != signatureCount(writer.State()) {
		t.Fatalf("the state was not read again: %d signatures", signatureCount(r.State()))
	}
	if _, err := r.Sign(ps["alice"], nil); err != nil {
		t.Fatalf("signing again, on the state read again: %v", err)
	}
	if ev, err := transcripts.ReadHead(tpath); err != nil || ev.Hash() != r.Head() {
		t.Errorf("head %s, on disk %s (%v)", r.Head(), ev.Hash(), err)
	}
	if _, err := transcripts.Verify(tpath, ""); err != nil {
		t.Error(err)
	}
}

// TestOpenNeverRepairs: a torn tail is left as it is by Open and by Lock,
// with an error that says to resume; Resume mends it.
func TestOpenNeverRepairs(t *testing.T) {
	ws, orig := signedWorkspace(t)
	tpath := filepath.Join(ws, TranscriptName)
	torn := orig[:len(orig)-1]
	os.WriteFile(tpath, torn, 0o600)
	_, err := Open(ws, Options{})
	if !errors.Is(err, ErrNeedsResume) || !errors.Is(err, transcripts.ErrTorn) || !strings.Contains(err.Error(), "ceremony resume") {
		t.Errorf("Open of a torn transcript: %v", err)
	}
	if b, _ := os.ReadFile(tpath); !bytes.Equal(b, torn) {
		t.Fatal("Open changed a torn transcript")
	}

	// Torn after it was read: the first append refuses, unrepaired.
	os.WriteFile(tpath, orig, 0o600)
	e, err := Open(ws, Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(tpath, torn, 0o600)
	if err := e.Lock(); !errors.Is(err, ErrNeedsResume) {
		t.Errorf("Lock of a torn transcript: %v", err)
	}
	if b, _ := os.ReadFile(tpath); !bytes.Equal(b, torn) {
		t.Fatal("Lock changed a torn transcript")
	}
	r, err := Resume(ws, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if r.Repaired() == nil || !r.Repaired().Completed {
		t.Errorf("Resume repaired %v", r.Repaired())
	}
}

// TestOpenAfterStartCutShort: a start cut short before it staged every
// role is left for Resume, which stages the rest.
func TestOpenAfterStartCutShort(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	ws := filepath.Join(dir, "ws")
	crash := func(seq int64) error {
		if seq == 4 { // the opening event, then two roles staged
			return errCrash
		}
		return nil
	}
	if _, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}, AfterAppend: crash}); !errors.Is(err, errCrash) {
		t.Fatalf("start did not crash: %v", err)
	}
	tpath := filepath.Join(ws, TranscriptName)
	before, _ := os.ReadFile(tpath)
	if _, err := Open(ws, Options{}); !errors.Is(err, ErrNeedsResume) || !strings.Contains(err.Error(), "staged") {
		t.Errorf("Open of a start cut short: %v", err)
	}
	if after, _ := os.ReadFile(tpath); !bytes.Equal(after, before) {
		t.Fatal("Open changed the transcript")
	}
	r, err := Resume(ws, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Release()
	e, err := Open(ws, Options{})
	if err != nil {
		t.Fatalf("Open after Resume: %v", err)
	}
	if len(e.State().Roles) != len(e.State().expected) {
		t.Errorf("%d of %d roles staged", len(e.State().Roles), len(e.State().expected))
	}
}

// TestReplayAgainstHostileFiles: replay --against reads each file within
// the length the fold gives it: a 3 GB file in place of one is different,
// found unread; a FIFO or a link to /dev/zero is refused, and never hangs
// or reads for ever.
func TestReplayAgainstHostileFiles(t *testing.T) {
	dir, _ := publishedAndPlan(t)
	ws := filepath.Join(dir, "ws")
	meta := filepath.Join(ws, "metadata")
	p := filepath.Join(meta, "1.claimed.json")
	orig, _ := os.ReadFile(p)
	os.Truncate(p, 3<<30)
	rep, err := Replay(filepath.Join(ws, TranscriptName), meta)
	if !errors.Is(err, ErrReplay) || rep == nil {
		t.Fatalf("a 3 GB file in place of claimed: %v", err)
	}
	for _, f := range rep.Files {
		if f.Name == "1.claimed.json" && (f.Matches || f.OnDisk != "different") {
			t.Errorf("claimed: %+v", f)
		}
	}
	for name, mk := range map[string]func() error{
		"FIFO":              func() error { return syscall.Mkfifo(p, 0o644) },
		"link to /dev/zero": func() error { return os.Symlink("/dev/zero", p) },
	} {
		os.Remove(p)
		if err := mk(); err != nil {
			t.Fatal(err)
		}
		if _, err := Replay(filepath.Join(ws, TranscriptName), meta); !errors.Is(err, boundedfile.ErrNotRegular) {
			t.Errorf("%s in place of claimed: %v", name, err)
		}
	}
	os.Remove(p)
	os.WriteFile(p, orig, 0o644)
	if _, err := Replay(filepath.Join(ws, TranscriptName), meta); err != nil {
		t.Errorf("restored: %v", err)
	}
}
