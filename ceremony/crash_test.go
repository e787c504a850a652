package ceremony

import (
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// errCrash stands for the process dying: Options.AfterAppend returns it
// right after an event is on disk, and the test then drops the engine
// without another write, as a killed process would (Release only gives up
// the lock, which the kernel does for a dead process).
var errCrash = errors.New("simulated crash")

// crashPeople are the bootstrap's participants, with keys whose
// signatures are deterministic (seededPeople).
func crashPeople(t *testing.T, dir string) people {
	return seededPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
}

// runToEnd drives a bootstrap to publication from whatever state the
// workspace is in: start (or take up a start cut short), resume, sign what
// is unsigned, publish. It returns errCrash when afterAppend (nil: none)
// does.
func runToEnd(ws string, plan *Plan, ps people, afterAppend func(seq int64) error) error {
	opts := Options{Tool: Tool{Version: "test"}, AfterAppend: afterAppend}
	e, err := Resume(ws, opts)
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(ws, TranscriptName)); statErr == nil && !errors.Is(err, ErrState) {
			return err
		}
		if e, err = Begin(ws, plan, opts); err != nil {
			return err
		}
	}
	defer e.Release()
	for _, n := range []string{"alice", "bob", "dave", "erin"} {
		if _, err := e.Sign(ps[n], nil); err != nil && !errors.Is(err, ErrState) {
			return err
		}
	}
	if e.State().Published {
		return nil
	}
	var online crypto.Signer = ps["online"]
	_, err = e.Publish(online, nil)
	return err
}

func publishedFiles(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, en.Name()))
		out[en.Name()] = digestOf(b)
	}
	return out
}

// TestCrashAtEveryEventBoundary cuts the ceremony short after each event
// in turn, resumes, and checks that the ceremony finishes with the same
// published files as an uninterrupted run, that none is left half written,
// and that the transcript verifies and folds.
func TestCrashAtEveryEventBoundary(t *testing.T) {
	dir := t.TempDir()
	ps := crashPeople(t, dir)
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))

	refWS := filepath.Join(dir, "ref")
	if err := runToEnd(refWS, plan, ps, nil); err != nil {
		t.Fatal(err)
	}
	want := publishedFiles(t, filepath.Join(refWS, "metadata"))
	if _, err := Fold(filepath.Join(refWS, TranscriptName)); err != nil {
		t.Fatal(err)
	}
	total := countEvents(t, filepath.Join(refWS, TranscriptName))
	t.Logf("an uninterrupted bootstrap records %d events and publishes %d files", total, len(want))

	for at := int64(1); at <= total; at++ {
		ws := filepath.Join(dir, "crash", string(rune('a'+at/26))+string(rune('a'+at%26)))
		err := runToEnd(ws, plan, ps, func(seq int64) error {
			if seq == at {
				return errCrash
			}
			return nil
		})
		if at > 1 && !errors.Is(err, errCrash) {
			// Seq 1 is the header, written by the transcript itself.
			t.Fatalf("crash at event %d did not happen: %v", at, err)
		}
		if err := runToEnd(ws, plan, ps, nil); err != nil {
			t.Fatalf("resume after a crash at event %d: %v", at, err)
		}
		got := publishedFiles(t, filepath.Join(ws, "metadata"))
		if len(got) != len(want) {
			t.Fatalf("crash at event %d: published %v, want %v", at, keys(got), keys(want))
		}
		for name, d := range want {
			if got[name] != d {
				t.Errorf("crash at event %d: %s differs from the uninterrupted run's", at, name)
			}
		}
		fst, err := Fold(filepath.Join(ws, TranscriptName))
		if err != nil || !fst.Published {
			t.Fatalf("crash at event %d: fold after resume: published %v, %v", at, fst != nil && fst.Published, err)
		}
	}
}

func countEvents(t *testing.T, path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestReplay: a finished ceremony replays against what it published; a
// published file changed afterwards is found.
func TestReplay(t *testing.T) {
	dir := t.TempDir()
	ps := crashPeople(t, dir)
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	ws := filepath.Join(dir, "ws")
	if err := runToEnd(ws, plan, ps, nil); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(ws, "metadata")
	rep, err := Replay(filepath.Join(ws, TranscriptName), meta)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Published || rep.Roles != 12 || len(rep.Files) != 13 {
		t.Errorf("report: %+v", rep)
	}
	b, _ := os.ReadFile(filepath.Join(meta, "1.claimed.json"))
	b[len(b)-2] ^= 1
	os.WriteFile(filepath.Join(meta, "1.claimed.json"), b, 0o644)
	if _, err := Replay(filepath.Join(ws, TranscriptName), meta); !errors.Is(err, ErrReplay) {
		t.Errorf("replay against a changed file: %v", err)
	}
}
