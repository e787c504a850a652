package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
)

// The TUI's end-to-end tests, in tmux on the built binary, are in
// softhsm-tests/tui_test.go; these need neither terminal nor device.

// TestTUINeedsTerminal: without a terminal the TUI says to use --plain,
// and a bare 'ceremony' is not taken for the TUI.
func TestTUINeedsTerminal(t *testing.T) {
	var stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr}
	if code := run(context.Background(), e, []string{"tui", t.TempDir()}); code != int(exitcode.Usage) {
		t.Fatalf("exit %d, want %d", code, exitcode.Usage)
	}
	if !strings.Contains(stderr.String(), "--plain") {
		t.Errorf("stderr: %s", stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), e, []string{"tui", t.TempDir(), "--plain"}); code != int(exitcode.Input) || !strings.Contains(stderr.String(), "no ceremony in") {
		t.Fatalf("no workspace: exit %d, %s", code, stderr.String())
	}
	if handled, _ := maybeTUI(context.Background(), e, nil); handled {
		t.Error("maybeTUI took a run with no terminal")
	}
}

// TestResponseFile: a response is written once and never over a file,
// and the one-signer view's outcome says whether it was.
func TestResponseFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "alice.response.json")
	f := &responseFile{path: out}
	if err := f.outcome(); exitcode.Of(err) != exitcode.Declined {
		t.Fatalf("nothing written yet: %v, want declined", err)
	}
	r := &ceremony.Response{Ceremony: "c", Role: "root", Version: 1}
	if p, err := f.write(r); err != nil || p != out {
		t.Fatalf("write: %q, %v", p, err)
	}
	if err := f.outcome(); err != nil {
		t.Fatalf("written: %v", err)
	}
	again := &responseFile{path: out}
	if _, err := again.write(r); !errors.Is(err, ceremony.ErrConflict) {
		t.Fatalf("second write: %v, want ErrConflict", err)
	}
	if err := again.outcome(); !errors.Is(err, ceremony.ErrConflict) {
		t.Fatalf("outcome after a refused write: %v, want ErrConflict", err)
	}
	var stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr}
	if err := runRequestTUI(context.Background(), e, "x.request.json", out, "", false); exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("without a terminal: %v", err)
	}
}
