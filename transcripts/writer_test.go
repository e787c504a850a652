package transcripts

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTornTail simulates a crash in the middle of Append. A crash can only
// be produced on demand by cutting the file, and a cut inside the last line
// is exactly what a crash during its single write leaves: a prefix of the
// line without its newline. Every cut point of the last line is tried.
// Reading and Open leave the tail alone; OpenRepair drops it into an
// artifact, unless all but the newline is there: then it completes it.
func TestTornTail(t *testing.T) {
	// fsync is tested in TestFsync; here it would only make the test slow.
	old := syncFile
	syncFile = func(*os.File) error { return nil }
	t.Cleanup(func() { syncFile = old })
	_, orig, _ := fixture(t)
	last := bytes.LastIndexByte(orig[:len(orig)-1], '\n') + 1
	for cut := last + 1; cut < len(orig); cut++ {
		dir := t.TempDir()
		p, w := exampleTranscript(t, dir)
		w.Close()
		if err := os.Truncate(p, int64(cut)); err != nil {
			t.Fatal(err)
		}
		complete := cut == len(orig)-1
		r, err := Verify(p, "")
		if err == nil || len(r.Problems) != 1 || r.Problems[0].Check != checkTorn || r.Problems[0].Line != 3 || r.Problems[0].Offset != int64(last) ||
			!errors.Is(err, ErrTorn) || strings.Contains(r.Problems[0].Detail, "completes it") != complete {
			t.Fatalf("cut at %d: Verify: %v", cut, err)
		}
		// Reading for replay stops at the torn line, after two good events.
		f, _ := os.Open(p)
		n := 0
		var ierr error
		for _, err := range Events(f) {
			if err != nil {
				ierr = err
				break
			}
			n++
		}
		f.Close()
		if n != 2 || !errors.Is(ierr, ErrTorn) {
			t.Fatalf("cut at %d: Events gave %d events, then %v", cut, n, ierr)
		}
		// Opening to append refuses, and changes nothing.
		if _, err := Open(p); !errors.Is(err, ErrTorn) || !errors.Is(err, ErrIntegrity) {
			t.Fatalf("cut at %d: Open of a torn transcript: %v", cut, err)
		}
		if b, _ := os.ReadFile(p); !bytes.Equal(b, orig[:cut]) {
			t.Fatalf("cut at %d: reading or Open changed the file", cut)
		}

		w, rep, err := OpenRepair(p)
		if err != nil {
			t.Fatalf("cut at %d: OpenRepair: %v", cut, err)
		}
		if rep == nil || rep.Offset != int64(last) || rep.Length != int64(cut-last) || rep.Completed != complete || rep.Event.Hash() != w.Head() {
			t.Fatalf("cut at %d: repair %+v", cut, rep)
		}
		if complete {
			if b, _ := os.ReadFile(p); !bytes.Equal(b, orig) || rep.Event.Seq != 3 || rep.Event.Type != "signature.added" || rep.Dropped != (Artifact{}) {
				t.Fatalf("cut at %d: completing gave %q, %+v", cut, b, rep)
			}
		} else {
			torn, err := ReadArtifact(p, rep.Dropped)
			if err != nil || !bytes.Equal(torn, orig[last:cut]) {
				t.Fatalf("cut at %d: torn bytes kept as %q, %v", cut, torn, err)
			}
			ev := w.Last()
			if ev.Seq != 3 || ev.Type != tornType {
				t.Fatalf("cut at %d: last event %d %s", cut, ev.Seq, ev.Type)
			}
			var d struct {
				Offset, Length int64
				Bytes          Artifact
			}
			if err := json.Unmarshal(ev.Data, &d); err != nil || d.Offset != int64(last) || d.Length != int64(cut-last) || d.Bytes != rep.Dropped {
				t.Fatalf("cut at %d: torn event data %s", cut, ev.Data)
			}
			if !strings.Contains(rep.String(), "dropped") {
				t.Errorf("cut at %d: %s", cut, rep)
			}
		}
		if _, err := w.Append("signature.added", map[string]string{"role": "root"}); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if r, err := Verify(p, ""); err != nil || r.Events != 4 {
			t.Fatalf("cut at %d: after repair: %v", cut, err)
		}
		// A repaired transcript needs no more repair.
		w, rep, err = OpenRepair(p)
		if err != nil || rep != nil {
			t.Fatalf("cut at %d: second OpenRepair: %+v, %v", cut, rep, err)
		}
		w.Close()
	}
}

func TestOpenRefusesDamage(t *testing.T) {
	p, orig, _ := fixture(t)
	b := bytes.Clone(orig)
	b[30] ^= 1
	os.WriteFile(p, b, 0o644)
	if _, err := Open(p); !errors.Is(err, ErrIntegrity) {
		t.Errorf("Open of a damaged transcript: %v", err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, b) {
		t.Error("Open changed a damaged transcript")
	}
	// A torn header cannot be repaired: there is nothing to chain to.
	os.WriteFile(p, orig[:40], 0o644)
	if _, err := Open(p); !errors.Is(err, ErrIntegrity) {
		t.Errorf("Open of a torn header: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.jsonl")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file: %v", err)
	}
}

func TestCreateExclusive(t *testing.T) {
	p, orig, _ := fixture(t)
	if _, err := Create(p, Header{Ceremony: "x"}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a transcript: %v", err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, orig) {
		t.Error("Create changed an existing transcript")
	}
	dir := t.TempDir()
	if _, err := Create(filepath.Join(dir, "x.json"), Header{Ceremony: "x"}); err == nil {
		t.Error("Create accepted a name without .jsonl")
	}
	if _, err := Create(filepath.Join(dir, "x.jsonl"), Header{}); err == nil {
		t.Error("Create accepted a header without a ceremony")
	}
	// No temporary file is left behind.
	ents, _ := os.ReadDir(filepath.Dir(p))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestSecondWriterRefused(t *testing.T) {
	p, w := exampleTranscript(t, t.TempDir())
	if _, err := Open(p); !errors.Is(err, ErrInUse) {
		t.Errorf("second Open in this process: %v", err)
	}
	if _, err := Create(p, Header{Ceremony: "x"}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create while open: %v", err)
	}
	out, err := helperProcess(t, p).CombinedOutput()
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !bytes.Contains(out, []byte("in use")) {
		t.Errorf("second process: %v: %s", err, out)
	}
	// Reading needs no lock.
	if _, err := Verify(p, ""); err != nil {
		t.Error(err)
	}
	w.Close()
	out, err = helperProcess(t, p).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("opened")) {
		t.Errorf("second process after Close: %v: %s", err, out)
	}
	w2, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
}

// countSyncs records what syncFile is called on; fail makes it fail for
// names containing fail.
func countSyncs(t *testing.T, fail string) *[]string {
	t.Helper()
	var names []string
	old := syncFile
	syncFile = func(f *os.File) error {
		names = append(names, f.Name())
		if fail != "" && strings.Contains(f.Name(), fail) {
			return syscall.EIO
		}
		return f.Sync()
	}
	t.Cleanup(func() { syncFile = old })
	return &names
}

func TestFsync(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.jsonl")
	synced := countSyncs(t, "")
	w, err := Create(p, Header{Ceremony: "c"})
	if err != nil {
		t.Fatal(err)
	}
	// The header's temporary file, then the directory it was linked into.
	if len(*synced) != 2 || !strings.Contains((*synced)[0], ".tmp-") || (*synced)[1] != dir {
		t.Errorf("Create fsynced %q", *synced)
	}
	*synced = nil
	if _, err := w.Append("a", nil); err != nil {
		t.Fatal(err)
	}
	if len(*synced) != 1 || (*synced)[0] != p {
		t.Errorf("Append fsynced %q", *synced)
	}
	*synced = nil
	a, err := w.PutArtifact(strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(ArtifactDir(p), "sha256")
	// New directories (and their parents), the temporary file, the store.
	want := []string{dir, ArtifactDir(p), "tmp", store}
	if len(*synced) != len(want) || (*synced)[0] != want[0] || (*synced)[1] != want[1] || !strings.Contains((*synced)[2], ".tmp-") || (*synced)[3] != want[3] {
		t.Errorf("PutArtifact fsynced %q", *synced)
	}
	// Storing it again writes nothing new but fsyncs the store, in case a
	// process died between its rename and its directory fsync.
	*synced = nil
	if b, err := w.PutArtifact(strings.NewReader("x")); err != nil || b != a || len(*synced) != 1 || (*synced)[0] != store {
		t.Errorf("PutArtifact again: %v %q", err, *synced)
	}
	w.Close()
}

func TestFsyncFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.jsonl")
	w, err := Create(p, Header{Ceremony: "c"})
	if err != nil {
		t.Fatal(err)
	}
	countSyncs(t, "f.jsonl")
	if _, err := w.Append("a", nil); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append with a failing fsync: %v", err)
	}
	// The file's state is unknown after a failed fsync: no more appends.
	if _, err := w.Append("b", nil); err == nil {
		t.Fatal("Append after a failed fsync succeeded")
	}
	w.Close()
	syncFile = func(f *os.File) error { return f.Sync() }
	// Reopening reads the truth: here the write itself went through.
	w, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if ev := w.Last(); ev.Seq != 2 || ev.Type != "a" {
		t.Errorf("after reopen, last event %d %s", ev.Seq, ev.Type)
	}
	w.Close()

	// A failing fsync in Create leaves no transcript.
	countSyncs(t, ".tmp-")
	if _, err := Create(filepath.Join(dir, "g.jsonl"), Header{Ceremony: "c"}); !errors.Is(err, syscall.EIO) {
		t.Errorf("Create with failing fsync: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "g.jsonl")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Create with failing fsync left a transcript: %v", err)
	}
}

func TestAppend(t *testing.T) {
	p, w := exampleTranscript(t, t.TempDir())
	defer w.Close()
	bad := []struct {
		typ  string
		data any
	}{
		{"transcript.header", nil},
		{"transcript.torn", nil},
		{"", nil},
		{"Upper", nil},
		{"9lives", nil},
		{"has space", nil},
		{strings.Repeat("a", 65), nil},
		{"x", []int{1}},
		{"x", "string"},
		{"x", json.RawMessage(`{"a":1,"a":2}`)},
		{"x", map[string]any{"artifact": "sha256:00"}},
		{"x", map[string]any{"artifact": 5}},
		{"x", map[string]any{"m": Artifact{"sha256:" + strings.Repeat("0", 64)}}}, // not stored
		{"x", map[string]string{"big": strings.Repeat("x", MaxLine)}},
		{"x", func() {}},
	}
	for _, c := range bad {
		if _, err := w.Append(c.typ, c.data); err == nil {
			t.Errorf("Append(%q, %v) succeeded", c.typ, c.data)
		}
	}
	ok := []struct {
		typ  string
		data any
	}{
		{"a", nil},
		{"a.b_c-d9", struct{}{}},
		{"x", json.RawMessage(" { \"a\" : [1, 2] } ")},
		{"x", map[string]string{"html": "<a href='x'>&</a>", "uni": "é\u2028"}},
	}
	for _, c := range ok {
		ev, err := w.Append(c.typ, c.data)
		if err != nil {
			t.Errorf("Append(%q, %v): %v", c.typ, c.data, err)
			continue
		}
		if bytes.Contains(ev.Raw, []byte(`\u003c`)) {
			t.Errorf("HTML escaping in %s", ev.Raw)
		}
	}
	if _, err := Verify(p, w.Last().Hash().String()); err != nil {
		t.Error(err)
	}
}

// TestClockBackwards: a clock set back does not make times go backwards.
func TestClockBackwards(t *testing.T) {
	p, w := exampleTranscript(t, t.TempDir())
	defer w.Close()
	before := w.Last().Time
	now = func() time.Time { return before.Add(-time.Hour) }
	ev, err := w.Append("late", nil)
	if err != nil || !ev.Time.Equal(before) {
		t.Errorf("Append with the clock set back: %v at %v, want %v", err, ev.Time, before)
	}
	now = func() time.Time { return time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }
	if _, err := w.Append("far", nil); err == nil {
		t.Error("Append in year 10000 succeeded")
	}
	if _, err := Verify(p, ""); err != nil {
		t.Error(err)
	}
}

func TestSecrets(t *testing.T) {
	refused := []string{"pin", "PIN", "Pin", "so_pin", "user-pin", "newPIN", "oldPin", "puk", "new_puk",
		"password", "adminPassword", "passwd", "passphrase", "management_key", "managementKey",
		"MANAGEMENT_KEY", "mgm_key", "mgmKey", "private_key", "privateKey", "PrivateKey", "root.private.key",
		"privkey", "ed25519_private_key", "management key"}
	allowed := []string{"pin_retries", "pin_policy", "pins", "spin", "pinned_root", "public_key", "keyid",
		"key", "private", "puk_retries_left", "password_set", "management_key_type", "tapestry"}
	for _, n := range refused {
		for _, data := range []string{`{"%s":"x"}`, `{"a":{"b":[{"%s":1}]}}`} {
			d := []byte(strings.Replace(data, "%s", n, 1))
			if _, errs := scanData(d); len(errs) != 1 || errs[0].check != checkSecret {
				t.Errorf("%s: %v", d, errs)
			}
		}
		if !secretName(n) {
			t.Errorf("secretName(%q) = false", n)
		}
	}
	for _, n := range allowed {
		if secretName(n) {
			t.Errorf("secretName(%q) = true", n)
		}
	}
	// Escaped names are unescaped before the check.
	if _, errs := scanData([]byte(`{"p\u0069n":"1234"}`)); errs == nil {
		t.Error(`"p\u0069n" accepted`)
	}
	if _, errs := scanData([]byte(`{"k":"-----BEGIN EC PRIVATE KEY-----\nMHc..."}`)); errs == nil {
		t.Error("PEM private key accepted")
	}
	_, w := exampleTranscript(t, t.TempDir())
	defer w.Close()
	type device struct {
		Serial string `json:"serial"`
		PIN    string `json:"pin"`
	}
	if _, err := w.Append("device.used", map[string]any{"device": device{"123", "123456"}}); err == nil {
		t.Error("a struct with a PIN was appended")
	}
}

func TestEvents(t *testing.T) {
	p, orig, _ := fixture(t)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var types []string
	var off int
	for ev, err := range Events(f) {
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ev.Raw, orig[off:off+len(ev.Raw)]) {
			t.Errorf("event %d: raw bytes differ from the file", ev.Seq)
		}
		off += len(ev.Raw)
		types = append(types, ev.Type)
	}
	if strings.Join(types, " ") != "transcript.header role.staged signature.added" {
		t.Errorf("types %v", types)
	}
	for _, err := range Events(bytes.NewReader(nil)) {
		if err == nil {
			t.Error("empty input gave an event")
		}
	}
	// Breaking off early is allowed.
	for range Events(bytes.NewReader(orig)) {
		break
	}
}

// TestConcurrentAppend: goroutines sharing a Writer never interleave lines.
func TestConcurrentAppend(t *testing.T) {
	old := syncFile
	syncFile = func(*os.File) error { return nil }
	t.Cleanup(func() { syncFile = old })
	p, w := exampleTranscript(t, t.TempDir())
	done := make(chan error)
	for g := range 4 {
		go func() {
			for i := range 25 {
				if _, err := w.Append("tick", map[string]int{"g": g, "i": i}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if r, err := Verify(p, w.Last().Hash().String()); err != nil || r.Events != 103 {
		t.Fatalf("after concurrent appends: %d events, %v", r.Events, err)
	}
}
