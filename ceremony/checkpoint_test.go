package ceremony

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/transcripts"
)

// TestCheckpointDocument: the bytes a checkpoint signature covers are the
// canonical JSON of a document of their own type.
func TestCheckpointDocument(t *testing.T) {
	var head transcripts.Digest
	head[0], head[31] = 0xab, 0x01
	b, err := Checkpoint{Ceremony: "pypi-2026-q4", Seq: 42, Head: head}.Canonical()
	got := string(b)
	want := `{"_type":"ceremony-checkpoint","ceremony":"pypi-2026-q4","head":"ab` + strings.Repeat("00", 30) + `01","seq":42}`
	if err != nil || got != want {
		t.Errorf("checkpoint document (%v)\n got %s\nwant %s", err, got, want)
	}
}

// closedBootstrap is a bootstrap published and closed, its checkpoint
// not signed yet.
func closedBootstrap(t *testing.T, dir string) (*Engine, people) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e, ps, _ := signedBootstrap(t, dir, Options{})
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	return e, ps
}

// TestCheckpoint: after close, only checkpoint signatures are taken, by
// the keys the signed roles' delegations trust, once each, on a device or
// through a request and response; refusals change no file; the ceremony
// is checkpointed once every threshold is reached, and the fold and
// VerifySigned agree.
func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	e, ps := closedBootstrap(t, dir)
	st := e.State()
	if st.Checkpoint == nil || st.Checkpoint.Head != e.Head() || st.Checkpointed() {
		t.Fatalf("after close: checkpoint %+v, head %s", st.Checkpoint, e.Head())
	}
	// root, targets (alice, bob, carol: 2), claimed, revocations (dave, erin: 2).
	if n := len(st.CheckpointProgress()); n != 4 {
		t.Errorf("%d thresholds, want 4: %+v", n, st.CheckpointProgress())
	}
	same := workspaceUnchanged(t, e)
	for what, err := range map[string]error{
		"the online key":      e.SignCheckpoint(ps["online"], nil),
		"close again":         e.End(),
		"sign metadata":       func() error { _, err := e.Sign(ps["carol"], nil); return err }(),
		"abort after close":   e.Abort("no"),
		"export metadata req": func() error { _, err := e.ExportRequests(filepath.Join(dir, "r")); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: taken after close", what)
		}
	}
	same("refusals after close")
	if err := e.SignCheckpoint(ps["alice"], nil); err != nil {
		t.Fatal(err)
	}
	same = workspaceUnchanged(t, e)
	if err := e.SignCheckpoint(ps["alice"], nil); !errors.Is(err, ErrDuplicate) {
		t.Errorf("alice twice: %v", err)
	}
	same("a second signature by the same key")

	// bob is elsewhere: a request out, a response back.
	path, err := e.ExportCheckpointRequest(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	b := mustRead(t, path)
	if !IsCheckpointFile(b) {
		t.Error("IsCheckpointFile says no to a checkpoint request")
	}
	req, err := ParseCheckpointRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SignCheckpointRequest(req, ps["online"], nil); !errors.Is(err, ErrUntrustedKey) {
		t.Errorf("the online key signs a checkpoint request: %v", err)
	}
	resp, err := SignCheckpointRequest(req, ps["bob"], nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := *resp
	bad.Sig = strings.Repeat("0", len(resp.Sig))
	if err := e.CollectCheckpoint(&bad); !errors.Is(err, ErrRequestInvalid) {
		t.Errorf("a damaged response: %v", err)
	}
	rb, _ := resp.Marshal()
	resp2, err := ParseCheckpointResponse(rb)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CollectCheckpoint(resp2); err != nil {
		t.Fatal(err)
	}
	if err := e.CollectCheckpoint(resp2); !errors.Is(err, ErrDuplicate) {
		t.Errorf("the same response twice: %v", err)
	}
	// A request changed on the way is refused before anyone signs.
	tampered := bytes.Replace(b, []byte(`"seq": `), []byte(`"seq": 1`), 1)
	if _, err := ParseCheckpointRequest(tampered); !errors.Is(err, ErrRequestInvalid) {
		t.Errorf("a request with another seq: %v", err)
	}
	if e.State().Checkpointed() {
		t.Fatal("checkpointed before claimed's keys signed")
	}
	signCheckpointAs(t, e, ps, "dave", "erin")
	if !e.State().Checkpointed() {
		t.Fatalf("not checkpointed: %+v", e.State().CheckpointProgress())
	}
	folded, err := Fold(e.TranscriptPath())
	if err != nil || !folded.Checkpointed() || len(folded.Checkpoint.Signatures) != 4 {
		t.Fatalf("fold: %v", err)
	}
	if _, err := Replay(e.TranscriptPath(), ""); err != nil {
		t.Errorf("replay: %v", err)
	}
	root := mustRead(t, filepath.Join(dir, "ws", "metadata", "1.root.json"))
	rep, err := VerifySigned(e.TranscriptPath(), root)
	if err != nil || rep.Status != "closed, signed" {
		t.Fatalf("VerifySigned: %+v, %v", rep, err)
	}
	// Under another repository's root the same history is not signed.
	if _, err := VerifySigned(e.TranscriptPath(), otherRoot(t, filepath.Join(dir, "other"))); !errors.Is(err, ErrUnsigned) || !strings.Contains(err.Error(), "none of the roots") {
		t.Errorf("under another root: %v", err)
	}
	// An unsigned checkpoint does not verify.
	unsigned, _ := closedBootstrap(t, filepath.Join(dir, "unsigned"))
	if _, err := VerifySigned(unsigned.TranscriptPath(), root); !errors.Is(err, ErrNotCheckpointed) {
		t.Errorf("an unsigned checkpoint: %v", err)
	}
}

func signCheckpointAs(t *testing.T, e *Engine, ps people, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := e.SignCheckpoint(ps[n], nil); err != nil {
			t.Fatalf("%s signs the checkpoint: %v", n, err)
		}
	}
}

// TestRewrittenTranscriptFailsVerifySigned: whoever can write the
// workspace can change a signature's "via" or who it is attributed to
// and chain the transcript again; the chain then verifies, but the
// checkpoint signatures cover the old head.
func TestRewrittenTranscriptFailsVerifySigned(t *testing.T) {
	dir := t.TempDir()
	e, ps := closedBootstrap(t, dir)
	signCheckpointAs(t, e, ps, "alice", "bob", "dave", "erin")
	e.Release()
	root := mustRead(t, filepath.Join(dir, "ws", "metadata", "1.root.json"))
	for name, edit := range map[string]func(map[string]any){
		"via":    func(d map[string]any) { d["via"] = "response" },
		"device": func(d map[string]any) { d["device"] = map[string]any{"backend": "piv", "serial": "1234"} },
	} {
		path := rewriteEvents(t, filepath.Join(dir, "ws"), filepath.Join(dir, name), func(typ string, data []byte) []byte {
			var d map[string]any
			json.Unmarshal(data, &d)
			if typ != eventSigned || d["role"] != RoleRoot || d["signer"] != "alice" {
				return data
			}
			edit(d)
			data, _ = json.Marshal(d)
			return data
		})
		if r, err := transcripts.Verify(path, ""); err != nil || !r.OK {
			t.Fatalf("%s: the chain of the rewritten transcript: %v", name, err)
		}
		if _, err := VerifySigned(path, root); !errors.Is(err, ErrUnsigned) || !strings.Contains(err.Error(), "changed before its close") {
			t.Errorf("%s: a rewritten transcript: %v", name, err)
		}
	}
	if _, err := VerifySigned(filepath.Join(dir, "ws", TranscriptName), root); err != nil {
		t.Errorf("the original: %v", err)
	}
}

// rewriteEvents copies the workspace from into to with each event's data
// what edit returns for it, and the chain written anew, as someone who
// can write the workspace (or an older tool) would; it returns the new
// transcript's path.
func rewriteEvents(t *testing.T, from, to string, edit func(typ string, data []byte) []byte) string {
	t.Helper()
	out := filepath.Join(to, TranscriptName)
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	copyTree(t, transcripts.ArtifactDir(filepath.Join(from, TranscriptName)), transcripts.ArtifactDir(out))
	f, err := os.Open(filepath.Join(from, TranscriptName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w *transcripts.Writer
	for ev, err := range transcripts.Events(f) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == transcripts.HeaderType {
			var h transcripts.Header
			json.Unmarshal(ev.Data, &h)
			if w, err = transcripts.Create(out, h); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := w.Append(ev.Type, json.RawMessage(edit(ev.Type, ev.Data))); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return out
}

// TestAbortedCeremonyTakesNoCheckpoint: an aborted ceremony needs no
// checkpoint, takes none, and verifies as aborted, unsigned.
func TestAbortedCeremonyTakesNoCheckpoint(t *testing.T) {
	dir := t.TempDir()
	e, ps, _ := signedBootstrap(t, dir, Options{})
	if err := e.Abort("the plan was wrong"); err != nil {
		t.Fatal(err)
	}
	same := workspaceUnchanged(t, e)
	if err := e.SignCheckpoint(ps["alice"], nil); !errors.Is(err, ErrState) {
		t.Errorf("checkpoint after abort: %v", err)
	}
	if _, err := e.ExportCheckpointRequest(filepath.Join(dir, "out")); !errors.Is(err, ErrState) {
		t.Errorf("checkpoint request after abort: %v", err)
	}
	same("checkpoint after abort")
	if rep, err := VerifySigned(e.TranscriptPath(), []byte(`{}`)); err == nil || rep != nil {
		t.Errorf("a pinned root that is no root: %+v, %v", rep, err)
	}
	if rep, err := VerifySigned(e.TranscriptPath(), otherRoot(t, filepath.Join(dir, "other"))); err != nil || rep.Status != "aborted, unsigned" {
		t.Errorf("VerifySigned of an aborted ceremony: %+v, %v", rep, err)
	}
}

// otherRoot is the root of another repository, bootstrapped in dir with
// keys of its own.
func otherRoot(t *testing.T, dir string) []byte {
	t.Helper()
	e, _, root := mixedBootstrap(t, dir)
	e.Release()
	return root
}

// mixedBootstrap is a bootstrap in dir with new Ed25519 and ECDSA keys,
// published, and its root.
func mixedBootstrap(t *testing.T, dir string) (*Engine, people, []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e, err := Begin(filepath.Join(dir, "ws"), plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Release() })
	signAllAs(t, e, ps, "alice", "bob", "dave", "erin")
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	return e, ps, mustRead(t, filepath.Join(dir, "ws", "metadata", "1.root.json"))
}

// TestPreviousTranscriptLink: a plan naming the previous ceremony's
// transcript is refused until that ceremony's checkpoint is signed; then
// the root and targets it stages carry the link, the review says so, a
// replay derives the same bytes, and VerifyLinks finds the transcript.
func TestPreviousTranscriptLink(t *testing.T) {
	dir := t.TempDir()
	e, ps := closedBootstrap(t, dir)
	path := writeQuarterly(t, dir, ps)
	if _, err := LoadPlan(path); !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), "previous_transcript") || !strings.Contains(err.Error(), "lacks signatures") {
		t.Fatalf("a previous transcript whose checkpoint is unsigned: %v", err)
	}
	signCheckpointAs(t, e, ps, "alice", "bob", "dave", "erin")
	plan, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	want := PreviousHead{Ceremony: "bootstrap-test", Head: e.State().Checkpoint.Head.String()}
	if plan.PreviousHead == nil || *plan.PreviousHead != want {
		t.Fatalf("previous head %+v, want %+v", plan.PreviousHead, want)
	}
	q, err := Begin(filepath.Join(dir, "q"), plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Release() })
	for _, role := range []string{RoleRoot, RoleTargets} {
		r := q.State().Role(role)
		if !bytes.Contains(r.Canonical, []byte(`"x-ceremony-previous-head":{"ceremony":"bootstrap-test","head":"`+want.Head+`"}`)) {
			t.Errorf("%s does not carry the link: %s", role, r.Canonical)
		}
		if !strings.Contains(strings.Join(r.Summary, "\n"), "links the transcript of ceremony bootstrap-test") {
			t.Errorf("%s's review does not say it links: %q", role, r.Summary)
		}
	}
	if claimed := q.State().Role(RoleClaimed); claimed != nil && bytes.Contains(claimed.Canonical, []byte(PreviousHeadMember)) {
		t.Error("claimed carries the link")
	}
	signAllAs(t, q, ps, "alice", "bob", "frank", "dave")
	if _, err := q.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Replay(q.TranscriptPath(), ""); err != nil {
		t.Errorf("replay: %v", err)
	}
	root := mustRead(t, filepath.Join(dir, "trusted.json"))
	links, err := VerifyLinks(filepath.Join(dir, "ws", "metadata"), dir, root)
	if err != nil || len(links) != 2 || !links[0].OK {
		t.Errorf("VerifyLinks: %+v, %v", links, err)
	}
	if _, err := VerifyLinks(filepath.Join(dir, "ws", "metadata"), filepath.Join(dir, "q"), root); !errors.Is(err, ErrLink) {
		t.Errorf("VerifyLinks without the linked transcript: %v", err)
	}
}

// writeQuarterly writes q.yaml into dir, a ceremony after the one in
// dir/ws (published by closedBootstrap) that links its transcript and
// rotates a root and a claimed key to frank's; trusted.json is its pin.
func writeQuarterly(t *testing.T, dir string, ps people) string {
	t.Helper()
	ps["frank"] = seededPeople(t, dir, "frank")["frank"]
	writeFile(t, filepath.Join(dir, "trusted.json"), mustRead(t, filepath.Join(dir, "ws", "metadata", "1.root.json")))
	body := `ceremony: quarterly-test
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: trusted.json, metadata: ws/metadata}
previous_transcript: ws/transcript.jsonl
root: {add: [frank], remove: [carol], threshold: 2}
targets:
  claimed: {add: [frank], remove: [erin], threshold: 2}
online: {participant: online}
` + ps.participants("alice", "bob", "carol", "dave", "erin", "online", "frank")
	path := filepath.Join(dir, "q.yaml")
	writeFile(t, path, []byte(body))
	return path
}
