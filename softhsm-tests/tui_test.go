package softhsmtests

import (
	"bytes"
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

	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
)

// The TUI of the built binary, in a real terminal: tmux runs it at 80x24,
// the test types keys and reads the screen, as a person in the room does
// (docs/RUNBOOK.md, "Sign in the room"; docs/TUI.md). Line-by-line mode
// (tui --plain) is in the scenarios.

// tuiWorld is a workspace with a bootstrap ceremony started on SoftHSM
// tokens, for the built binary's TUI.
type tuiWorld struct {
	dir, bin, ws string
	env          []string
}

const tuiPlan = `ceremony: tui-e2e
reference_time: %s
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
	w.bin = filepath.Join(binDir, "ceremony")
	w.ws = filepath.Join(w.dir, "ws")
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
	if err := os.WriteFile(plan, []byte(fmt.Sprintf(tuiPlan, time.Now().UTC().Truncate(time.Minute).Format(time.RFC3339), strings.Join(parts, "\n"))), 0o600); err != nil {
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
	if !x.until(func(s string) bool { return strings.Contains(s, want) }) {
		x.t.Fatalf("the screen never showed %q; it shows:\n%s", want, x.last)
	}
	return x.last
}

// waitGone waits for the TUI to quit and leave the alternate screen.
func (x *tmux) waitGone() {
	x.t.Helper()
	if !x.until(func(s string) bool { return !strings.Contains(s, "── transcript") }) {
		x.t.Fatalf("the TUI did not quit:\n%s", x.last)
	}
}

// until reads the screen until ok holds for it, and reports whether it did
// within 30 seconds: the TUI redraws when it likes, so the test polls.
func (x *tmux) until(ok func(screen string) bool) bool {
	deadline := time.Now().Add(30 * time.Second)
	for !ok(x.screen()) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func (x *tmux) keys(keys ...string) {
	x.t.Helper()
	x.cmd(append([]string{"send-keys", "-t", "tui"}, keys...)...)
}
func (x *tmux) text(s string) { x.t.Helper(); x.cmd("send-keys", "-t", "tui", "-l", s) }

// startTmux runs shell command line in w's folder in a tmux session of
// 80x24 on a private server, killed when the test ends. The line ends in
// a sleep, so that the screen stays to be read after the command exits.
func startTmux(t *testing.T, w *tuiWorld, env []string, line string) *tmux {
	t.Helper()
	x := &tmux{t: t, sock: fmt.Sprintf("ceremony-tui-%d-%d", os.Getpid(), time.Now().UnixNano())}
	start := exec.Command("tmux", "-L", x.sock, "-f", "/dev/null", "new-session", "-d", "-s", "tui", "-x", "80", "-y", "24",
		"-c", w.dir, line+"; sleep 60")
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
	t.Parallel()
	w := newTUIWorld(t)
	for _, noColor := range []bool{false, true} {
		env := w.env
		if noColor {
			env = append(slices.Clone(w.env), "NO_COLOR=1")
		}
		x := startTmux(t, w, env, w.bin+" tui "+w.ws)
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
	t.Parallel()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run scripts/install-deps.sh")
	}
	w := newTUIWorld(t)
	x := startTmux(t, w, w.env, w.bin+" tui "+w.ws)

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
		x.wait("Type yes")
		x.text("yes")
		x.keys("Enter")
		x.wait("The device asks for its PIN")
		x.text(softhsmtest.UserPIN)
		s = x.wait("PIN: ••••••_")
		pinShown = pinShown || strings.Contains(s, softhsmtest.UserPIN)
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
	meta := filepath.Join(w.ws, "metadata")
	w.run(t, "verify", meta, "--root", filepath.Join(meta, "1.root.json"))
	out := w.run(t, "transcript", "replay", filepath.Join(w.ws, "transcript.jsonl"), "--against", meta)
	if !strings.Contains(string(out), "published: true") {
		t.Fatalf("replay:\n%s", out)
	}
	if out := w.run(t, "status", "--workspace", w.ws, "--json"); !strings.Contains(string(out), `"closed": true`) {
		t.Fatalf("the ceremony does not end closed:\n%s", out)
	}
}

// TestRequestViewLeftUnsigned: leaving the one-signer view without
// signing exits 7 (declined), as not typing "yes" does, and writes no
// response.
func TestRequestViewLeftUnsigned(t *testing.T) {
	t.Parallel()
	w := newTUIWorld(t)
	reqs := filepath.Join(w.dir, "requests")
	w.run(t, "request", "export", "--workspace", w.ws, "--out", reqs)
	names, err := filepath.Glob(filepath.Join(reqs, "*-root-v1.request.json"))
	if err != nil || len(names) != 1 {
		t.Fatalf("the root request: %v, %v", names, err)
	}
	resp := filepath.Join(w.dir, "alice.response.json")
	x := startTmux(t, w, w.env, w.bin+" sign "+names[0]+" --out "+resp+"; echo EXIT=$?")
	x.wait("signing request for root v1")
	x.keys("q")
	s := strings.ReplaceAll(x.wait("EXIT="), "\n", "")
	if !strings.Contains(s, "EXIT=7") || !strings.Contains(s, "left the signing view without signing") {
		t.Errorf("leaving unsigned: want exit 7 and why:\n%s", x.last)
	}
	if _, err := os.Stat(resp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a response was written: %v", err)
	}
}

// TestDemoTUI: 'ceremony demo --tui' hands the quarterly ceremony to the
// TUI at the Sign step, logged out of the demo tokens, so choosing a key
// and typing "yes" asks for its PIN and the PIN screen shows the demo
// token's PIN; leaving before publishing says how to go on.
func TestDemoTUI(t *testing.T) {
	t.Parallel()
	w := newTUIWorld(t)
	out := filepath.Join(w.dir, "demo")
	env := slices.DeleteFunc(slices.Clone(w.env), func(kv string) bool { return strings.HasPrefix(kv, "SOFTHSM2_CONF=") })
	x := startTmux(t, w, env, w.bin+" demo --tui --out "+out+"; echo EXIT=$?")
	x.wait("▸ SoftHSM") // the device panel has found the tokens
	x.keys("Enter")
	x.wait("Type yes")
	x.text("yes")
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
