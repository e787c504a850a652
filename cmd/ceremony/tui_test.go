package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
)

// tuiWorld is a workspace with a bootstrap ceremony started on SoftHSM
// tokens, and the built binary, as ceremony_bootstrap.txtar makes it.
type tuiWorld struct {
	dir, bin, ws string
	env          []string
}

const tuiPlan = `ceremony: tui-e2e
reference_time: 2026-11-01T00:00:00Z
allow_network: true   # the test machine has a network; a real ceremony does not
participants:
%s
root: {add: [alice, bob, carol], threshold: 2}
targets:
  add: [alice, bob, carol]
  threshold: 2
  claimed: {add: [dave, erin], threshold: 2}
online: {participant: online, key_uri: "pkcs11:token=online;object=online", unclaimed_bin_bits: 1}
`

func newTUIWorld(t *testing.T) *tuiWorld {
	t.Helper()
	names := []string{"alice", "bob", "carol", "dave", "erin", "online"}
	s := softhsmtest.Setup(t, names...)
	w := &tuiWorld{dir: t.TempDir()}
	w.bin = filepath.Join(w.dir, "ceremony")
	w.ws = filepath.Join(w.dir, "ws")
	if out, err := exec.Command("go", "build", "-o", w.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// CI runs set CI=true, and termenv then takes any terminal for one
	// without colour: the tmux terminal here is a colour one, so CI goes.
	w.env = slices.DeleteFunc(append(os.Environ(), s.Environ()...), func(kv string) bool { return strings.HasPrefix(kv, "CI=") })
	w.env = append(w.env, "PCSCLITE_CSOCK_NAME="+filepath.Join(w.dir, "no-pcscd.comm"))
	pin := filepath.Join(w.dir, "pin")
	if err := os.WriteFile(pin, []byte(softhsmtest.UserPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, n := range names {
		obj := "admin"
		if n == "online" {
			obj = "online"
		}
		out := w.run(t, "keys", "generate", "--json", "--type", "ed25519", fmt.Sprintf("pkcs11:token=%s;object=%s?pin-source=%s", n, obj, pin))
		if err := os.WriteFile(filepath.Join(w.dir, n+".json"), out, 0o600); err != nil {
			t.Fatal(err)
		}
		var kf struct{ KeyID string }
		if err := json.Unmarshal(out, &kf); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("  - {name: %s, key_file: %s.json, keyid: %s}", n, n, kf.KeyID))
	}
	plan := filepath.Join(w.dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte(fmt.Sprintf(tuiPlan, strings.Join(parts, "\n"))), 0o600); err != nil {
		t.Fatal(err)
	}
	w.run(t, "start", plan, "--workspace", w.ws)
	return w
}

func (w *tuiWorld) run(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(w.bin, args...)
	cmd.Env, cmd.Dir = w.env, w.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ceremony %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// tmux drives a terminal of 80x24 on a private server.
type tmux struct {
	t    *testing.T
	sock string
	last string
}

func (x *tmux) cmd(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", x.sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (x *tmux) screen() string {
	x.last = x.cmd("capture-pane", "-p", "-t", "tui")
	return x.last
}

// wait returns the screen once it shows want.
func (x *tmux) wait(want string) string {
	x.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if s := x.screen(); strings.Contains(s, want) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.t.Fatalf("the screen never showed %q; it shows:\n%s", want, x.last)
	return ""
}

// waitGone waits for the TUI to quit and leave the alternate screen.
func (x *tmux) waitGone() {
	x.t.Helper()
	for i := 0; strings.Contains(x.screen(), "── transcript") && i < 200; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(x.last, "── transcript") {
		x.t.Fatalf("the TUI did not quit:\n%s", x.last)
	}
}

func (x *tmux) keys(keys ...string) {
	x.t.Helper()
	x.cmd(append([]string{"send-keys", "-t", "tui"}, keys...)...)
}
func (x *tmux) text(s string) { x.t.Helper(); x.cmd("send-keys", "-t", "tui", "-l", s) }

// startTmux starts the built binary's TUI on w's workspace in a tmux
// session of 80x24 on a private server, killed when the test ends.
func startTmux(t *testing.T, w *tuiWorld, env []string) *tmux {
	t.Helper()
	x := &tmux{t: t, sock: fmt.Sprintf("ceremony-tui-%d-%d", os.Getpid(), time.Now().UnixNano())}
	start := exec.Command("tmux", "-L", x.sock, "-f", "/dev/null", "new-session", "-d", "-s", "tui", "-x", "80", "-y", "24",
		"-c", w.dir, w.bin+" tui "+w.ws+"; sleep 60")
	start.Env = env
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", x.sock, "kill-server").Run() })
	return x
}

// TestTUIColorsInTmux: the TUI uses colour in a colour terminal, and none
// at all under NO_COLOR, where it still says everything.
func TestTUIColorsInTmux(t *testing.T) {
	w := newTUIWorld(t)
	for _, noColor := range []bool{false, true} {
		env := w.env
		if noColor {
			env = append(slices.Clone(w.env), "NO_COLOR=1")
		}
		x := startTmux(t, w, env)
		x.wait("Role 1 of 4: root v1")
		x.keys("right", "right") // claimed: its checks are on screen
		x.wait("✓ pass keys.valid")
		styled := x.cmd("capture-pane", "-p", "-e", "-t", "tui")
		has := strings.Contains(styled, "\x1b[")
		if noColor && has {
			t.Errorf("NO_COLOR: the screen has styled cells:\n%q", styled)
		}
		if !noColor && !has {
			t.Errorf("a colour terminal gets no colour:\n%q", styled)
		}
		x.keys("q")
		x.waitGone()
		x.cmd("kill-server")
	}
}

// TestTUIEndToEnd runs a whole bootstrap ceremony through the TUI of the
// built binary in tmux, on SoftHSM tokens: the PINs and "yes" are typed,
// the screen is read, and what is published must load from its root and
// replay from the transcript.
func TestTUIEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run scripts/install-deps.sh")
	}
	w := newTUIWorld(t)
	x := startTmux(t, w, w.env)

	x.wait("Role 1 of 4: root v1")
	x.keys("s")
	x.wait("Devices, refreshed")
	pinShown := false
	for i := 0; i < 6; i++ {
		s := x.screen()
		if strings.Contains(s, "Every threshold holds") {
			break
		}
		devs := x.wait("▸ SoftHSM") // the device panel has found the tokens
		if i == 1 {
			t.Logf("device panel:\n%s", devs)
		}
		x.keys("Enter")
		x.wait("The device asks for its PIN")
		x.text(softhsmtest.UserPIN)
		s = x.wait("PIN: ••••••_")
		pinShown = pinShown || strings.Contains(s, softhsmtest.UserPIN)
		x.keys("Enter")
		x.wait("Type yes")
		x.text("yes")
		x.keys("Enter")
		x.wait(", verified")
		if i == 0 {
			// Leave after the first signature and come back: the
			// ceremony goes on where it stopped.
			x.keys("q")
			x.waitGone()
			x.cmd("respawn-pane", "-k", "-t", "tui", w.bin+" tui "+w.ws+"; sleep 60")
			x.wait("▸ Sign")
			x.wait("Sign: Publish waits for")
		}
	}
	if pinShown {
		t.Errorf("the PIN was on screen")
	}
	x.wait("Every threshold holds")
	x.keys("t")
	board := x.wait("under claimed: 2 of 2, reached")
	t.Logf("threshold board:\n%s", board)
	x.keys("p")
	x.wait("ready to publish")
	x.keys("Enter")
	x.wait("for the online key, to publish")
	x.text(softhsmtest.UserPIN)
	x.keys("Enter")
	x.wait("Published 1")
	x.keys("Enter")
	closed := x.wait("✓ Closed:")
	t.Logf("closed:\n%s", closed)
	x.keys("q")
	x.waitGone()
	root, err := os.ReadFile(filepath.Join(w.ws, "metadata", "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ceremony.LoadRepo(filepath.Join(w.ws, "metadata"), root); err != nil {
		t.Fatalf("the published repository does not load from its root: %v", err)
	}
	out := w.run(t, "transcript", "replay", filepath.Join(w.ws, ceremony.TranscriptName), "--against", filepath.Join(w.ws, "metadata"))
	if !strings.Contains(string(out), "published: true") {
		t.Fatalf("replay:\n%s", out)
	}
	st, err := ceremony.Fold(filepath.Join(w.ws, ceremony.TranscriptName))
	if err != nil || !st.Closed {
		t.Fatalf("the transcript does not end closed: %v", err)
	}
}

// TestTUIPlain runs the line-by-line mode: the review and thresholds are
// printed, a key signs after "yes", and quit leaves.
func TestTUIPlain(t *testing.T) {
	w := newTUIWorld(t)
	cmd := exec.Command(w.bin, "tui", w.ws, "--plain")
	cmd.Env, cmd.Dir = w.env, w.dir
	cmd.Stdin = strings.NewReader(fmt.Sprintf("status\nsign pkcs11:token=alice;object=admin?pin-source=%s\nyes\npublish\nquit\n", filepath.Join(w.dir, "pin")))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tui --plain: %v\n%s", err, out)
	}
	for _, want := range []string{"root v1", "signed bytes sha256", "Thresholds:", "Steps: ✓ Open", "▸ Sign",
		"signed root with key", "signed targets with key", "error: thresholds not reached"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("plain output lacks %q:\n%s", want, out)
		}
	}
}

// TestTUINeedsTerminal: without a terminal the TUI says to use --plain,
// and a bare 'ceremony' is not taken for the TUI.
func TestTUINeedsTerminal(t *testing.T) {
	var stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr}
	if code := run(context.Background(), e, []string{"tui", t.TempDir()}); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), "--plain") {
		t.Errorf("stderr: %s", stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), e, []string{"tui", t.TempDir(), "--plain"}); code != exitInput || !strings.Contains(stderr.String(), "no ceremony in") {
		t.Fatalf("no workspace: exit %d, %s", code, stderr.String())
	}
	if handled, _ := maybeTUI(context.Background(), e, nil); handled {
		t.Error("maybeTUI took a run with no terminal")
	}
}

// TestResponseWriter: a response is written once and never over a file.
func TestResponseWriter(t *testing.T) {
	out := filepath.Join(t.TempDir(), "alice.response.json")
	write := responseWriter(out)
	r := &ceremony.Response{Format: ceremony.ResponseFormat, Ceremony: "c", Role: "root", Version: 1}
	if p, err := write(r); err != nil || p != out {
		t.Fatalf("write: %q, %v", p, err)
	}
	if _, err := write(r); !errors.Is(err, ceremony.ErrConflict) {
		t.Fatalf("second write: %v, want ErrConflict", err)
	}
	var stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr}
	if err := runRequestTUI(context.Background(), e, "x.request.json", out, false); exitCode(err) != exitUsage {
		t.Fatalf("without a terminal: %v", err)
	}
}

// TestDemoTUI: 'ceremony demo --tui' hands the quarterly ceremony to the
// TUI at the Sign step, logged out of the demo tokens, so choosing a key
// asks for its PIN and the PIN screen shows the demo token's PIN; leaving
// before publishing says how to go on.
func TestDemoTUI(t *testing.T) {
	w := newTUIWorld(t)
	out := filepath.Join(w.dir, "demo")
	env := slices.DeleteFunc(slices.Clone(w.env), func(kv string) bool { return strings.HasPrefix(kv, "SOFTHSM2_CONF=") })
	x := &tmux{t: t, sock: fmt.Sprintf("ceremony-demo-tui-%d-%d", os.Getpid(), time.Now().UnixNano())}
	start := exec.Command("tmux", "-L", x.sock, "-f", "/dev/null", "new-session", "-d", "-s", "tui", "-x", "80", "-y", "24",
		"-c", w.dir, w.bin+" demo --tui --out "+out+"; echo EXIT=$?; sleep 60")
	start.Env = env
	if b, err := start.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, b)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", x.sock, "kill-server").Run() })
	x.wait("▸ SoftHSM") // the device panel has found the tokens
	x.keys("Enter")
	s := x.wait("(shown only in the demo)")
	if !regexp.MustCompile(`Demo token [a-z0-9-]+: PIN [0-9]+ \(shown only in the demo\)`).MatchString(s) {
		t.Errorf("the PIN screen does not show the demo token's PIN:\n%s", s)
	}
	x.keys("Escape")
	// Sent at once, esc and q would read as alt+q, typed into the PIN.
	x.wait("What to do")
	x.keys("q")
	x.wait("EXIT=")
	// The terminal wraps the message at 80 columns: join the lines.
	if s := strings.ReplaceAll(x.screen(), "\n", ""); !strings.Contains(s, "left before publishing") || !strings.Contains(s, "ceremony tui") {
		t.Errorf("leaving early does not say how to go on:\n%s", s)
	}
}
