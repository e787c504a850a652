package tui

import (
	"strings"
	"testing"
)

// TestAbortedCeremony: a ceremony aborted (from the CLI) opens on the
// Close screen, which says it was aborted and why, with the reason's
// control characters made visible; the status line says so too.
func TestAbortedCeremony(t *testing.T) {
	w := newWorld(t)
	if _, err := w.eng.Sign(w.keys["alice"], nil); err != nil {
		t.Fatal(err)
	}
	if err := w.eng.Abort("carol's token was lost\nwe meet again on Friday"); err != nil {
		t.Fatal(err)
	}
	d := start(t, w.model(asciiRenderer()))
	f := d.wait("Aborted: carol's token was lost")
	for _, want := range []string{"Nothing is published, and nothing can be added", `lost\x0awe meet`, "ceremony.aborted  carol's token"} {
		if !strings.Contains(f, want) {
			t.Errorf("the frame lacks %q:\n%s", want, f)
		}
	}
}
