package ceremony

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/internal/transcripttest"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// signedWorkspace starts a bootstrap and has alice sign, so that the
// transcript ends with her signature event; it returns the workspace and
// the transcript's bytes.
func signedWorkspace(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	ws := filepath.Join(dir, "ws")
	e, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Sign(ps["alice"], nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Release(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(ws, TranscriptName))
	if err != nil {
		t.Fatal(err)
	}
	return ws, b
}

func signatureCount(st *State) int {
	n := 0
	for _, r := range st.Roles {
		n += len(r.Signatures)
	}
	return n
}

// TestMissingNewlineIsCompletedNotDropped: a transcript whose last event,
// a signature, lacks only its newline is left alone by reading (status
// once cut the signature and recorded a torn tail), and Resume completes
// the event instead of dropping it, and says so.
func TestMissingNewlineIsCompletedNotDropped(t *testing.T) {
	ws, orig := signedWorkspace(t)
	tpath := filepath.Join(ws, TranscriptName)
	want, err := Fold(tpath)
	if err != nil {
		t.Fatal(err)
	}
	torn := orig[:len(orig)-1]
	if err := os.WriteFile(tpath, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Fold(tpath); !errors.Is(err, transcripts.ErrTorn) {
		t.Errorf("Fold of a torn transcript: %v", err)
	}
	if _, err := Replay(tpath, ""); err == nil {
		t.Error("Replay of a torn transcript succeeded")
	}
	if b, _ := os.ReadFile(tpath); !bytes.Equal(b, torn) {
		t.Fatal("reading a torn transcript changed it")
	}

	e, err := Resume(ws, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Release()
	r := e.Repaired()
	if r == nil || !r.Completed || r.Event.Type != eventSigned || !strings.Contains(r.String(), "completed") {
		t.Fatalf("Resume repaired %v", r)
	}
	if b, _ := os.ReadFile(tpath); !bytes.Equal(b, orig) {
		t.Errorf("after Resume the transcript is not the original:\n%s", b[len(b)-min(len(b), 200):])
	}
	if got := signatureCount(e.State()); got != signatureCount(want) || got == 0 {
		t.Errorf("after Resume %d signatures, want %d", got, signatureCount(want))
	}
}

// TestReplayChecksSignerAgainstKey: a signature recorded as bob's while
// alice's key made it passes every integrity check once the chain is
// recomputed, and replay must refuse it.
func TestReplayChecksSignerAgainstKey(t *testing.T) {
	ws, _ := signedWorkspace(t)
	tpath := filepath.Join(ws, TranscriptName)
	if _, err := Replay(tpath, ""); err != nil {
		t.Fatal(err)
	}
	transcripttest.Rechain(t, tpath, `"signer":"alice"`, `"signer":"bob"`)
	if _, err := transcripts.Verify(tpath, ""); err != nil {
		t.Fatalf("the forged transcript should verify: %v", err)
	}
	_, err := Replay(tpath, "")
	if !errors.Is(err, ErrReplay) || !strings.Contains(err.Error(), `"bob"`) || !strings.Contains(err.Error(), "alice") {
		t.Errorf("Replay of a signature recorded under another name: %v", err)
	}
}

// TestStartAfterTornOpening: a start cut short while it wrote its first
// event leaves a header and a torn tail. Start does not repair it; resume
// drops the tail, says so, and says to start again; start then takes the
// transcript up (it once refused, the last event being the record of the
// repair rather than the header).
func TestStartAfterTornOpening(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	ws := filepath.Join(dir, "ws")
	tpath := filepath.Join(ws, TranscriptName)
	crash := func(seq int64) error {
		if seq == 2 {
			return errCrash
		}
		return nil
	}
	_, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}, AfterAppend: crash})
	if !errors.Is(err, errCrash) {
		t.Fatalf("start did not crash: %v", err)
	}
	b, _ := os.ReadFile(tpath)
	torn := b[:len(b)-10]
	os.WriteFile(tpath, torn, 0o600)

	if _, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}}); !errors.Is(err, transcripts.ErrTorn) {
		t.Errorf("start over a torn transcript: %v", err)
	}
	if b, _ := os.ReadFile(tpath); !bytes.Equal(b, torn) {
		t.Fatal("start changed a torn transcript")
	}
	_, err = Resume(ws, Options{})
	if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "dropped") {
		t.Errorf("resume of a start cut short: %v", err)
	}
	e, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatalf("start after resume: %v", err)
	}
	e.Release()
	if _, err := transcripts.Verify(tpath, ""); err != nil {
		t.Error(err)
	}
	if st, err := Fold(tpath); err != nil || st.Plan == nil || len(st.Roles) == 0 {
		t.Errorf("fold after start: %v", err)
	}
}
