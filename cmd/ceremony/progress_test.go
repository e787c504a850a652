package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/progress"
)

// TestJSONHasNoProgress: a command that shows its progress on stderr shows
// none under --json, whose output a script reads, and its stdout is the
// JSON alone. Progress is drawn at once here (env.progress), where a
// person sees it after a second, so that its absence means something.
func TestJSONHasNoProgress(t *testing.T) {
	dir := t.TempDir()
	if err := mkrepo(dir, mkrepoOptions{}); err != nil {
		t.Fatal(err)
	}
	verify := []string{"verify", filepath.Join(dir, "metadata"), "--root", filepath.Join(dir, "trusted-root.json"), "--at", "2026-11-01T13:00:00Z"}
	at := &progress.Options{Delay: time.Nanosecond, Every: time.Nanosecond}
	for _, asJSON := range []bool{false, true} {
		args := verify
		if asJSON {
			args = append(args[:len(args):len(args)], "--json")
		}
		var out, errOut strings.Builder
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, progress: at}
		if code := run(context.Background(), e, args); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		shown := strings.Contains(errOut.String(), "verifying roles: ")
		switch {
		case !asJSON && !shown:
			t.Errorf("verify showed no progress: stderr %q", errOut.String())
		case asJSON && errOut.Len() > 0:
			t.Errorf("verify --json wrote to stderr: %q", errOut.String())
		case asJSON && !json.Valid([]byte(out.String())):
			t.Errorf("verify --json printed more than JSON: %q", out.String())
		}
	}
}
