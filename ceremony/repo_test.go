package ceremony

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// TestStartAndVerifyAgree: a trusted repository that is malformed, that
// is no repository, or that fails a check is refused by start with the
// kind of error repoverify.Verify gives for it, so that the commands
// give it one exit code.
func TestStartAndVerifyAgree(t *testing.T) {
	dir := t.TempDir()
	ps := crashPeople(t, dir)
	participants := ps.participants("alice", "bob", "carol", "dave", "erin", "online")
	if err := runToEnd(filepath.Join(dir, "ws"), writePlan(t, dir, "b.yaml", bootstrapPlan+participants), ps); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, "ws", "metadata")
	trusted, err := os.ReadFile(filepath.Join(meta, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	q := writePlan(t, dir, "q.yaml", `ceremony: q
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: ws/metadata/1.root.json, metadata: ws/metadata}
root: {expires_days: 300}
`+participants)
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	change := func(name, old, new string) func(*testing.T) {
		return func(t *testing.T) {
			p := filepath.Join(meta, name)
			b, err := os.ReadFile(p)
			if err != nil || !bytes.Contains(b, []byte(old)) {
				t.Fatalf("%s has no %q (%v)", name, old, err)
			}
			if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name   string
		break_ func(*testing.T)
		kind   error
	}{
		{"duplicate member name", change("timestamp.json", `"_type":"timestamp"`, `"_type":"timestamp","_type":"timestamp"`), repoverify.ErrBadInput},
		{"no timestamp.json", func(*testing.T) { os.Remove(filepath.Join(meta, "timestamp.json")) }, repoverify.ErrBadInput},
		{"claimed changed", change("1.claimed.json", `"version":1`, `"version":2`), repoverify.ErrFailed},
	}
	orig := map[string][]byte{}
	ents, _ := os.ReadDir(meta)
	for _, e := range ents {
		orig[e.Name()], _ = os.ReadFile(filepath.Join(meta, e.Name()))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				for n, b := range orig {
					os.WriteFile(filepath.Join(meta, n), b, 0o644)
				}
			}()
			c.break_(t)
			_, verr := repoverify.Verify(meta, trusted, at)
			_, serr := Begin(filepath.Join(dir, "ws-"+c.name), q, Tool{Version: "test"}, "")
			if !errors.Is(serr, ErrUntrusted) {
				t.Errorf("start: %v is not ErrUntrusted", serr)
			}
			var se *roles.SyntaxError
			for _, kind := range []error{repoverify.ErrBadInput, repoverify.ErrFailed} {
				if got, want := errors.Is(serr, kind), kind == c.kind; got != want || errors.Is(verr, kind) != want {
					t.Errorf("errors.Is %q: start %v (%v), verify %v (%v), want %v", kind, got, serr, errors.Is(verr, kind), verr, want)
				}
			}
			if errors.As(serr, &se) != errors.As(verr, &se) {
				t.Errorf("one wraps a SyntaxError, the other not: start %v; verify %v", serr, verr)
			}
		})
	}
}
