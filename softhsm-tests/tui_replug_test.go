package softhsmtests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTUIDevicePanelFollowsReplugging: in the TUI of the built binary, a
// SoftHSM token unplugged (its folder moved out of the token folder)
// leaves the device panel, and comes back to it once plugged in again,
// with no restart (docs/TUI.md: the panel follows plugging).
func TestTUIDevicePanelFollowsReplugging(t *testing.T) {
	t.Parallel()
	w := newTUIWorld(t)
	dir := softhsmTokenDir(t, w.env, "bob")
	away := filepath.Join(t.TempDir(), "bob")
	x := startTmux(t, w, w.env, w.bin+" tui "+w.ws)
	x.wait("Role 1 of 4: root v1")
	x.keys("s")
	x.wait("(bob)")
	if err := os.Rename(dir, away); err != nil {
		t.Fatal(err)
	}
	if !x.until(func(s string) bool { return strings.Contains(s, "(alice)") && !strings.Contains(s, "(bob)") }) {
		t.Fatalf("bob's token unplugged is still on the device panel:\n%s", x.last)
	}
	if err := os.Rename(away, dir); err != nil {
		t.Fatal(err)
	}
	x.wait("(bob)")
}

// softhsmTokenDir finds the folder of the SoftHSM token labelled label,
// in the token folder of the softhsm2.conf env names.
func softhsmTokenDir(t *testing.T, env []string, label string) string {
	t.Helper()
	var conf string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "SOFTHSM2_CONF="); ok {
			conf = v
		}
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	var tokens string
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "directories.tokendir" {
			tokens = strings.TrimSpace(v)
		}
	}
	ents, err := os.ReadDir(tokens)
	if err != nil {
		t.Fatal(err)
	}
	// The label is stored padded with spaces to 32 bytes.
	padded := []byte(label + strings.Repeat(" ", 32-len(label)))
	for _, e := range ents {
		obj, err := os.ReadFile(filepath.Join(tokens, e.Name(), "token.object"))
		if err == nil && bytes.Contains(obj, padded) {
			return filepath.Join(tokens, e.Name())
		}
	}
	t.Fatalf("no SoftHSM token labelled %s in %s", label, tokens)
	return ""
}
