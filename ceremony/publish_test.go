package ceremony

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/repoverify"
)

// signedBootstrap starts a bootstrap in dir/ws with opts and has every
// threshold reached; the engine is released when the test ends.
func signedBootstrap(t *testing.T, dir string, opts Options) (*Engine, people, *Plan) {
	t.Helper()
	ps := crashPeople(t, dir)
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	opts.Tool = Tool{Version: "test"}
	e, err := Begin(filepath.Join(dir, "ws"), plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Release() })
	signAllAs(t, e, ps, "alice", "bob", "dave", "erin")
	return e, ps, plan
}

// workspaceUnchanged returns a check that the workspace of e (its
// transcript and artifacts) is byte for byte what it is now.
func workspaceUnchanged(t *testing.T, e *Engine) func(what string) {
	t.Helper()
	ws := filepath.Dir(e.TranscriptPath())
	before := snapshotDir(t, ws)
	return func(what string) {
		t.Helper()
		unchanged(t, what, before, ws)
	}
}

// TestEndedCeremonyRecordsNothing: a second close, a sign, include,
// publish or abort after close, and anything after an abort are refused
// with the transcript and its artifacts unchanged; the transcript folds
// and replays.
func TestEndedCeremonyRecordsNothing(t *testing.T) {
	dir := t.TempDir()
	e, ps, plan := signedBootstrap(t, dir, Options{})
	if err := e.End(); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "publish first") {
		t.Fatalf("close before publishing: %v", err)
	}
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Publish(ps["online"], nil); !errors.Is(err, ErrState) {
		t.Errorf("publish twice: %v", err)
	}
	if err := e.Abort("too late"); !errors.Is(err, ErrState) {
		t.Errorf("abort after publishing: %v", err)
	}
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	same := workspaceUnchanged(t, e)
	for what, err := range map[string]error{
		"close twice":         e.End(),
		"abort after close":   e.Abort("changed our minds"),
		"sign after close":    func() error { _, err := e.Sign(ps["carol"], nil); return err }(),
		"include after close": e.Include("sampleproject", projectMetadata(t, ps["alice"], "sampleproject", plan.ReferenceTime)),
		"publish after close": func() error { _, err := e.Publish(ps["online"], nil); return err }(),
	} {
		if !errors.Is(err, ErrState) && !(what == "include after close" && err != nil) {
			t.Errorf("%s: %v, want a refusal", what, err)
		}
	}
	same("commands after close")
	st, err := Fold(e.TranscriptPath())
	if err != nil || !st.Closed {
		t.Fatalf("fold after close: %v", err)
	}
	if _, err := Replay(e.TranscriptPath(), filepath.Join(dir, "ws", "metadata")); err != nil {
		t.Errorf("replay: %v", err)
	}
}

// TestAbort: an abort records its reason; afterwards nothing is signed,
// published, closed or aborted again, and no file changes; status (the
// fold), resume and replay take it as it is. A reason that is empty or
// holds a control character is refused.
func TestAbort(t *testing.T) {
	dir := t.TempDir()
	e, ps, _ := signedBootstrap(t, dir, Options{})
	same := workspaceUnchanged(t, e)
	for _, reason := range []string{"", "  \n", "lost\x1b]0;x\x07", strings.Repeat("x", maxReasonLen+1)} {
		if err := e.Abort(reason); !errors.Is(err, ErrReason) {
			t.Errorf("abort with reason %q: %v", reason, err)
		}
	}
	same("refused aborts")
	if err := e.Abort("carol's token was lost; we start again next week"); err != nil {
		t.Fatal(err)
	}
	if st := e.State(); !st.Aborted || st.AbortReason != "carol's token was lost; we start again next week" {
		t.Fatalf("state after abort: aborted %v, reason %q", st.Aborted, st.AbortReason)
	}
	same = workspaceUnchanged(t, e)
	if _, err := e.Sign(ps["carol"], nil); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "aborted (carol's token was lost") {
		t.Errorf("sign after abort: %v", err)
	}
	if _, err := e.Publish(ps["online"], nil); !errors.Is(err, ErrState) {
		t.Errorf("publish after abort: %v", err)
	}
	if err := e.End(); !errors.Is(err, ErrState) {
		t.Errorf("close after abort: %v", err)
	}
	if err := e.Abort("again"); !errors.Is(err, ErrState) {
		t.Errorf("abort twice: %v", err)
	}
	if _, err := e.ExportRequests(filepath.Join(dir, "requests")); !errors.Is(err, ErrState) {
		t.Errorf("export requests after abort: %v", err)
	}
	same("commands after abort")
	if _, err := os.Stat(filepath.Join(dir, "ws", "metadata")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an aborted ceremony published: %v", err)
	}
	e.Release()
	e2, err := Resume(filepath.Join(dir, "ws"), Options{})
	if err != nil {
		t.Fatalf("resume an aborted ceremony: %v", err)
	}
	e2.Release()
	if st, err := Fold(e.TranscriptPath()); err != nil || !st.Aborted {
		t.Errorf("fold: %v", err)
	}
	if _, err := Replay(e.TranscriptPath(), ""); err != nil {
		t.Errorf("replay: %v", err)
	}
}

// TestStartRefusesWhatWouldNotVerify: a plan that revokes a key a role it
// does not change still trusts is refused at start, naming the check,
// with no workspace left behind; so is a reference time in the past whose
// repository the machine's clock finds expired, and a reference time more
// than a day from the clock is refused unless allowed, which the opening
// event records.
func TestStartRefusesWhatWouldNotVerify(t *testing.T) {
	dir := t.TempDir()
	e, ps, plan := signedBootstrap(t, dir, Options{})
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "trusted.json"), mustRead(t, filepath.Join(dir, "ws", "metadata", "1.root.json")))
	revoke := fmt.Sprintf(`ceremony: revoke-carol
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: trusted.json, metadata: ws/metadata}
revocations:
  add: [{keyid: %s, role: root, reason: carol's token was lost}]
online: {participant: online}
`, ps.id("carol")) + ps.participants("alice", "bob", "carol", "dave", "erin", "online")
	q := writePlan(t, dir, "q.yaml", revoke)
	ws := filepath.Join(dir, "ws2")
	_, err := Begin(ws, q, Options{Tool: Tool{Version: "test"}})
	if !errors.Is(err, repoverify.ErrFailed) || !strings.Contains(err.Error(), "revocation.no-revoked-key-trusted") || !strings.Contains(err.Error(), "root trusts key "+ps.id("carol")[:8]) {
		t.Fatalf("revoking a key root still trusts: %v", err)
	}
	if _, err := os.Stat(ws); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start left a workspace: %v", err)
	}
	// A key nobody trusts today is revoked by its key file, its holder no
	// participant.
	mallory := seededPeople(t, dir, "mallory")
	byFile := writePlan(t, dir, "byfile.yaml", fmt.Sprintf(`ceremony: revoke-mallory
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: trusted.json, metadata: ws/metadata}
revocations:
  add: [{keyid: %s, key_file: mallory.json, role: claimed, reason: stolen before it was ever enrolled}]
online: {participant: online}
`, mallory.id("mallory"))+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e2, err := Begin(filepath.Join(dir, "ws-mallory"), byFile, Options{})
	if err != nil {
		t.Fatalf("revoking a key by its key file: %v", err)
	}
	if sum := strings.Join(e2.State().Role(RoleRevocations).Summary, "\n"); !strings.Contains(sum, mallory.id("mallory")[:8]) {
		t.Errorf("the revocation list's summary does not name the key: %s", sum)
	}
	e2.Release()

	clock := func(s string) func() time.Time {
		return func() time.Time { return mustTime(t, s) }
	}
	old := writePlan(t, dir, "old.yaml", strings.Replace(bootstrapPlan, "2026-11-01T00:00:00Z", "2024-11-01T00:00:00Z", 1)+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	_, err = Begin(filepath.Join(dir, "ws-old"), old, Options{Now: clock("2026-11-01T08:00:00Z")})
	if !errors.Is(err, ErrClock) || !strings.Contains(err.Error(), "730 days before the machine's clock") {
		t.Errorf("a reference time two years back: %v", err)
	}
	_, err = Begin(filepath.Join(dir, "ws-old"), old, Options{Now: clock("2026-11-01T08:00:00Z"), AllowReferenceTime: true})
	if !errors.Is(err, repoverify.ErrFailed) || !strings.Contains(err.Error(), "as of the machine's clock") || !strings.Contains(err.Error(), "timestamp.expiry") {
		t.Errorf("an allowed reference time whose repository is expired today: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ws-old")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start left a workspace: %v", err)
	}
	// A ceremony prepared for the day after tomorrow: allowed, and said.
	early, err := Begin(filepath.Join(dir, "ws-early"), plan, Options{Now: clock("2026-10-29T23:00:00Z"), AllowReferenceTime: true})
	if err != nil {
		t.Fatal(err)
	}
	early.Release()
	st, err := Fold(early.TranscriptPath())
	if err != nil || !st.ReferenceTimeAllowed || !st.StartClock.Equal(mustTime(t, "2026-10-29T23:00:00Z")) {
		t.Errorf("fold: allowed %v, clock %v, %v", st.ReferenceTimeAllowed, st.StartClock, err)
	}
	// Within a day of the clock, nothing is asked and nothing said.
	e3, err := Begin(filepath.Join(dir, "ws-today"), plan, Options{Now: clock("2026-11-01T20:00:00Z"), AllowReferenceTime: true})
	if err != nil {
		t.Fatal(err)
	}
	if e3.State().ReferenceTimeAllowed {
		t.Errorf("a reference time within a day recorded as allowed")
	}
	e3.Release()
}

// TestPublishRefusesAnExpiredRepository: publishing days after the
// reference time, when the machine's clock finds the timestamp expired,
// is refused with nothing recorded or written.
func TestPublishRefusesAnExpiredRepository(t *testing.T) {
	dir := t.TempDir()
	now := mustTime(t, "2026-11-01T06:00:00Z")
	e, ps, _ := signedBootstrap(t, dir, Options{Now: func() time.Time { return now }})
	now = now.Add(72 * time.Hour)
	same := workspaceUnchanged(t, e)
	_, err := e.Publish(ps["online"], nil)
	if !errors.Is(err, repoverify.ErrFailed) || !strings.Contains(err.Error(), "as of the machine's clock 2026-11-04T06:00:00Z") || !strings.Contains(err.Error(), "timestamp.expiry") {
		t.Fatalf("publish three days late: %v", err)
	}
	same("a refused publish")
	if _, err := os.Stat(filepath.Join(dir, "ws", "metadata")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused publish wrote: %v", err)
	}
}

// TestPublishOnlineKeyWithoutOnlineSection: an online key given to a
// ceremony whose plan has no online section is refused (it panicked),
// before anything is recorded.
func TestPublishOnlineKeyWithoutOnlineSection(t *testing.T) {
	dir := t.TempDir()
	e, ps, _ := signedBootstrap(t, dir, Options{})
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	e.Release()
	writeFile(t, filepath.Join(dir, "trusted.json"), mustRead(t, filepath.Join(dir, "ws", "metadata", "1.root.json")))
	q := writePlan(t, dir, "q.yaml", `ceremony: refresh
reference_time: 2026-11-01T06:00:00Z
allow_network: true
start: {trusted_root: trusted.json, metadata: ws/metadata}
claimed: {expires_days: 30}
`+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e2, err := Begin(filepath.Join(dir, "ws2"), q, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Release()
	signAllAs(t, e2, ps, "dave", "erin")
	same := workspaceUnchanged(t, e2)
	if _, err := e2.Publish(ps["online"], nil); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "no online: section") {
		t.Fatalf("an online key for a plan with none: %v", err)
	}
	same("a refused publish")
	// Without it, the offline roles are published for the online
	// service, after a check against the snapshot and timestamp it would
	// make.
	res, err := e2.Publish(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2.claimed.json"}; strings.Join(res.Files, " ") != strings.Join(want, " ") {
		t.Errorf("published %v, want %v", res.Files, want)
	}
}

// immutable makes dir unwritable until the test ends or the returned
// function runs: immutable (chattr +i) where the test may, which stops
// root too, else read-only by its mode.
func immutable(t *testing.T, dir string) func() {
	t.Helper()
	undo := func() { os.Chmod(dir, 0o755) }
	if exec.Command("chattr", "+i", dir).Run() == nil {
		undo = func() { exec.Command("chattr", "-i", dir).Run() }
	} else if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(undo)
	return undo
}

// crashAfter is an Options.AfterAppend that stops the engine, as a
// killed process stops, right after an event of type typ is on disk in
// the workspace ws.
func crashAfter(ws, typ string) func(int64) error {
	return func(int64) error {
		b, err := os.ReadFile(filepath.Join(ws, TranscriptName))
		if err != nil {
			return err
		}
		lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
		if bytes.Contains(lines[len(lines)-1], []byte(`"type":"`+typ+`"`)) {
			return errCrash
		}
		return nil
	}
}

// TestPublishIntoAnUnwritableFolder: a folder that cannot be written is
// found before publishing is recorded; one that becomes unwritable after
// is an ErrWrite saying what to do, and publishing goes on once it is
// writable again.
func TestPublishIntoAnUnwritableFolder(t *testing.T) {
	dir := t.TempDir()
	meta := filepath.Join(dir, "ws", "metadata")
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	e, ps, _ := signedBootstrap(t, dir, Options{AfterAppend: crashAfter(filepath.Join(dir, "ws"), eventPublishStarted)})
	undo := immutable(t, meta)
	same := workspaceUnchanged(t, e)
	if _, err := e.Publish(ps["online"], nil); !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), "make the folder writable") {
		t.Fatalf("publish into an immutable folder: %v", err)
	}
	same("publish into an immutable folder")
	undo()
	if _, err := e.Publish(ps["online"], nil); !errors.Is(err, errCrash) {
		t.Fatalf("publish: %v", err)
	}
	e.Release()
	// The folder turned read-only once publishing had started.
	undo = immutable(t, meta)
	e2, err := Resume(filepath.Join(dir, "ws"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Release()
	if _, err := e2.Publish(nil, nil); !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), "publishing goes on where it stopped") {
		t.Fatalf("publish into a folder made immutable once publishing started: %v", err)
	}
	undo()
	res, err := e2.Publish(nil, nil)
	if err != nil {
		t.Fatalf("publish again once writable: %v", err)
	}
	if len(res.Files) != 13 {
		t.Errorf("published %d files", len(res.Files))
	}
}

// TestResumedPublishNeverReplacesAVersion: after a publish cut short, a
// versioned file found on disk with other bytes is never replaced: the
// refusal names both digests. The temporary files a killed publish left
// are removed, and nothing else.
func TestResumedPublishNeverReplacesAVersion(t *testing.T) {
	dir := t.TempDir()
	e, ps, _ := signedBootstrap(t, dir, Options{AfterAppend: crashAfter(filepath.Join(dir, "ws"), eventPublishStarted)})
	if _, err := e.Publish(ps["online"], nil); !errors.Is(err, errCrash) {
		t.Fatalf("publish: %v", err)
	}
	e.Release()
	meta := filepath.Join(dir, "ws", "metadata")
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	other := []byte(`{"signed": "something else"}`)
	writeFile(t, filepath.Join(meta, "1.targets.json"), other)
	writeFile(t, filepath.Join(meta, ".1.claimed.json.tmp-123456"), []byte("half a file"))
	writeFile(t, filepath.Join(meta, ".notes.tmp-1"), []byte("not ours"))
	e2, err := Resume(filepath.Join(dir, "ws"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Release()
	_, err = e2.Publish(nil, nil)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), digestOf(other)) || !strings.Contains(err.Error(), "1.targets.json") {
		t.Fatalf("resume over another 1.targets.json: %v", err)
	}
	ours := ""
	for _, f := range e2.State().publishing.Files {
		if f.Name == "1.targets.json" {
			ours = f.SHA256
		}
	}
	if !strings.Contains(err.Error(), ours) {
		t.Errorf("the refusal does not name this ceremony's digest %s: %v", ours, err)
	}
	if got := mustRead(t, filepath.Join(meta, "1.targets.json")); string(got) != string(other) {
		t.Errorf("1.targets.json was replaced")
	}
	if _, err := os.Stat(filepath.Join(meta, ".1.claimed.json.tmp-123456")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file a killed publish left is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(meta, ".notes.tmp-1")); err != nil {
		t.Errorf("a file not ours was removed: %v", err)
	}
	// Once the stray version is moved away, publishing finishes.
	os.Remove(filepath.Join(meta, "1.targets.json"))
	if _, err := e2.Publish(nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestPublishFolderIsRelativeToTheWorkspace: a copied workspace
// publishes into its own copy of the folder; --into publishes elsewhere;
// a transcript that recorded absolute folders still folds to them.
func TestPublishFolderIsRelativeToTheWorkspace(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig")
	if err := os.Mkdir(orig, 0o755); err != nil {
		t.Fatal(err)
	}
	e, ps, _ := signedBootstrap(t, orig, Options{})
	e.Release()
	copied := filepath.Join(dir, "copy")
	copyTree(t, orig, copied)
	e2, err := Resume(filepath.Join(copied, "ws"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(copied, "ws", "metadata"); e2.State().PublishDir != want {
		t.Errorf("the copy publishes into %s, want %s", e2.State().PublishDir, want)
	}
	res, err := e2.Publish(ps["online"], nil)
	e2.Release()
	if err != nil {
		t.Fatal(err)
	}
	if res.Dir != filepath.Join(copied, "ws", "metadata") {
		t.Errorf("published into %s", res.Dir)
	}
	if _, err := os.Stat(filepath.Join(orig, "ws", "metadata")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy published into the original's folder: %v", err)
	}

	// --into.
	e3, err := Resume(filepath.Join(orig, "ws"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	into := filepath.Join(dir, "elsewhere")
	if _, err := e3.PublishInto(into, ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	e3.Release()
	if _, err := os.Stat(filepath.Join(into, "1.root.json")); err != nil {
		t.Errorf("--into: %v", err)
	}

	// A transcript from before relative folders recorded them absolute.
	abs := rewriteOpened(t, filepath.Join(copied, "ws"), filepath.Join(dir, "old", "ws"), func(d map[string]any) {
		d["publish_dir"] = "/srv/ceremony/metadata"
	})
	st, err := Fold(abs)
	if err != nil {
		t.Fatal(err)
	}
	if st.PublishDir != "/srv/ceremony/metadata" || st.publishing == nil || st.publishing.Dir != filepath.Join(dir, "old", "ws", "metadata") {
		t.Errorf("old transcript: publish dir %s, publishing into %v", st.PublishDir, st.publishing)
	}
}

// rewriteOpened copies the workspace from into to with the opening
// event's data changed by edit, the rest of the chain written anew, as
// an older tool would have written it.
func rewriteOpened(t *testing.T, from, to string, edit func(map[string]any)) string {
	t.Helper()
	return rewriteEvents(t, from, to, func(typ string, data []byte) []byte {
		if typ != eventOpened {
			return data
		}
		var d map[string]any
		json.Unmarshal(data, &d)
		edit(d)
		data, _ = json.Marshal(d)
		return data
	})
}
