package tui

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
)

var people = []string{"alice", "bob", "carol", "dave", "erin", "online"}

const testPIN = "123456"

// world is a ceremony with software keys standing in for tokens.
type world struct {
	dir  string
	eng  *ceremony.Engine
	keys map[string]ed25519.PrivateKey
	// pulled are tokens taken out: the device panel no longer lists them.
	pulled map[string]bool
	tries  map[string]int
	mu     sync.Mutex // guards pulled and tries, which tests change while the TUI runs
}

func (w *world) set(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f()
}

func keyOf(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("tui-test " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

const bootstrapPlan = `ceremony: tui-golden
reference_time: 2026-11-01T00:00:00Z
allow_network: true
participants:
%s
root: {add: [alice, bob, carol], threshold: 2}
targets:
  add: [alice, bob, carol]
  threshold: 2
  claimed: {add: [dave, erin], threshold: 2}
online: {participant: online, key_uri: "fake:online", unclaimed_bin_bits: 1}
`

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), keys: map[string]ed25519.PrivateKey{}, pulled: map[string]bool{}, tries: map[string]int{}}
	var parts []string
	for _, n := range people {
		k := keyOf(n)
		w.keys[n] = k
		w.tries[n] = 5
		tk, err := roles.KeyFromPublic(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]any{"keyid": tk.ID(), "key": tk})
		if err := os.WriteFile(filepath.Join(w.dir, n+".json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("  - {name: %s, key_file: %s.json, keyid: %s, device: \"token %s\"}", n, n, tk.ID(), n))
	}
	plan := filepath.Join(w.dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte(fmt.Sprintf(bootstrapPlan, strings.Join(parts, "\n"))), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := ceremony.LoadPlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	w.eng, err = ceremony.Begin(filepath.Join(w.dir, "ws"), p, ceremony.Options{Tool: ceremony.Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.eng.Release() })
	return w
}

func (w *world) device(n string) hsm.Device {
	return hsm.Device{Backend: "pkcs11", URI: "fake:" + n, Model: "SoftHSM v2", Manufacturer: "SoftHSM project", Serial: fmt.Sprintf("%04d", 1+slices.Index(people, n)), Label: n}
}

func (w *world) hsmKey(n string) hsm.Key {
	return hsm.Key{URI: "fake:" + n, Label: "admin", Type: hsm.Ed25519, Public: w.keys[n].Public(), Device: w.device(n)}
}

func (w *world) devices(context.Context) ([]hsm.DeviceKeys, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []hsm.DeviceKeys
	for _, n := range people {
		if !w.pulled[n] {
			out = append(out, hsm.DeviceKeys{Device: w.device(n), Keys: []hsm.Key{w.hsmKey(n)}})
		}
	}
	out = append(out, hsm.DeviceKeys{Device: hsm.Device{Backend: "pkcs11", Model: "SoftHSM v2", Serial: "0009", Label: "spare"}, Keys: []hsm.Key{}})
	return out, []string{"piv: no smart-card reader (pcscd is not running)"}
}

// open logs in as a token does: it asks the PIN until it is right or the
// tries run out.
func (w *world) open(ctx context.Context, uri string, auth hsm.Auth) (hsm.Signer, error) {
	n := strings.TrimPrefix(uri, "fake:")
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.keys[n]; !ok || w.pulled[n] {
		return nil, fmt.Errorf("token %s: %w", n, hsm.ErrNotFound)
	}
	dev := w.device(n)
	retry := false
	for {
		if err := auth.Policy.Check(dev, w.tries[n]); err != nil {
			return nil, err
		}
		pin, err := auth.PINs.PIN(hsm.PINRequest{Device: dev, TriesLeft: w.tries[n], Retry: retry})
		if err != nil {
			return nil, err
		}
		ok := string(pin) == testPIN
		hsm.Wipe(pin)
		if ok {
			w.tries[n] = 5
			return &fakeSigner{key: w.keys[n], hk: w.hsmKey(n)}, nil
		}
		w.tries[n]--
		retry = true
	}
}

type fakeSigner struct {
	key ed25519.PrivateKey
	hk  hsm.Key
}

func (s *fakeSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s *fakeSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(r, d, o)
}
func (s *fakeSigner) Key() hsm.Key { return s.hk }
func (s *fakeSigner) Close() error { return nil }

func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func (w *world) model(r *lipgloss.Renderer) *Model {
	return New(Options{Engine: w.eng, Devices: w.devices, Open: w.open, Renderer: r, DeviceEvery: 50 * time.Millisecond})
}

// probe wraps the model so a test can ask for the frame it would draw,
// from the program's own goroutine, and wait for the model to change.
type probe struct {
	m *Model
	// updated is signalled after each message the model takes.
	updated chan struct{}
}

type frameMsg chan string

func (p probe) Init() tea.Cmd { return p.m.Init() }
func (p probe) View() string  { return p.m.View() }
func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if c, ok := msg.(frameMsg); ok {
		c <- p.frame()
		return p, nil
	}
	_, cmd := p.m.Update(msg)
	select {
	case p.updated <- struct{}{}:
	default: // a signal is pending already
	}
	return p, cmd
}

// frame is the view with what changes from run to run (temporary
// folders, the transcript's head, which hashes event times) made fixed.
func (p probe) frame() string {
	m := p.m
	if m.snap == nil {
		return m.View()
	}
	s := *m.snap
	fixed := s
	fixed.Head = strings.Repeat("0", 64)
	fixed.HeadWords = digestWords(fixed.Head)
	fixed.PublishDir = "/ws/metadata"
	if s.Checkpoint != nil {
		cp := *s.Checkpoint
		cp.Head, cp.HeadWords = fixed.Head, fixed.HeadWords
		fixed.Checkpoint = &cp
	}
	m.snap = &fixed
	notice, since := m.notice, m.busy.since
	m.busy.since = time.Time{}
	if s.PublishDir != "" {
		m.notice = strings.ReplaceAll(m.notice, s.PublishDir, "/ws/metadata")
	}
	out := m.View()
	m.snap, m.notice, m.busy.since = &s, notice, since
	return out
}

type driver struct {
	t       *testing.T
	tm      *teatest.TestModel
	updated chan struct{}
}

func start(t *testing.T, m *Model) *driver {
	p := probe{m: m, updated: make(chan struct{}, 1)}
	tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(80, 24))
	t.Cleanup(func() { tm.Quit() })
	d := &driver{t: t, tm: tm, updated: p.updated}
	d.wait("── ")
	return d
}

func (d *driver) frame() string {
	c := make(frameMsg, 1)
	d.tm.Send(c)
	select {
	case f := <-c:
		return f
	case <-time.After(5 * time.Second):
		d.t.Fatal("no frame")
	}
	return ""
}

// wait returns the first frame that holds want.
func (d *driver) wait(want string) string {
	d.t.Helper()
	return d.waitFor(fmt.Sprintf("shows %q", want), func(f string) bool { return strings.Contains(f, want) })
}

// waitFor returns the first frame that is as ok wants it, looking again
// each time the model takes a message, for 10 seconds at most.
func (d *driver) waitFor(what string, ok func(frame string) bool) string {
	d.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		f := d.frame()
		if ok(f) {
			return f
		}
		select {
		case <-d.updated:
		case <-deadline:
			d.t.Fatalf("no frame %s; the last:\n%s", what, f)
		}
	}
}

func (d *driver) key(k tea.KeyType) { d.tm.Send(tea.KeyMsg{Type: k}) }
func (d *driver) typ(s string)      { d.tm.Type(s) }

// checkFrame compares a frame with its golden file and checks it fits.
func checkFrame(t *testing.T, f string, w, h int) {
	t.Helper()
	lines := strings.Split(f, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d columns wide, over %d: %q", i+1, n, w, l)
		}
	}
	golden.RequireEqual(t, []byte(f))
}

// signAs goes through the sign screen for one token: choose it, "yes",
// PIN.
func (d *driver) signAs(name string) string {
	d.t.Helper()
	d.typ("s")
	d.wait("Devices, refreshed")
	d.choose(name)
	d.key(tea.KeyEnter)
	d.wait("Type yes")
	d.typ("yes")
	d.key(tea.KeyEnter)
	d.wait("The device asks for its PIN")
	d.typ(testPIN)
	d.key(tea.KeyEnter)
	return d.wait("as " + name + " with key")
}

// choose moves the cursor to name's token.
func (d *driver) choose(name string) {
	d.t.Helper()
	for range 2 * len(people) {
		d.key(tea.KeyUp)
	}
	for range len(people) + 1 {
		if f := d.frame(); strings.Contains(f, "▸ SoftHSM v2 #"+fmt.Sprintf("%04d", 1+slices.Index(people, name))+" ("+name+")") {
			return
		}
		d.key(tea.KeyDown)
	}
	d.t.Fatalf("cannot choose %s's token:\n%s", name, d.frame())
}

// TestFrames walks a whole bootstrap through the TUI and checks the frame
// of each step against its golden file.
func TestFrames(t *testing.T) {
	w := newWorld(t)
	d := start(t, w.model(asciiRenderer()))

	t.Run("review", func(t *testing.T) { checkFrame(t, d.wait("Role 1 of 4: root v1"), 80, 24) })
	d.typ("x")
	t.Run("review-raw-json", func(t *testing.T) { checkFrame(t, d.wait("Canonical JSON"), 80, 24) })
	d.typ("x")
	d.key(tea.KeyRight)
	d.key(tea.KeyRight)
	t.Run("review-claimed", func(t *testing.T) { checkFrame(t, d.wait("Role 3 of 4: claimed"), 80, 24) })

	// Publishing before the thresholds hold: the engine refuses, the TUI
	// shows why and what to do.
	d.typ("p")
	d.wait("Not ready")
	d.key(tea.KeyEnter)
	t.Run("error-panel", func(t *testing.T) { checkFrame(t, d.wait("What happened"), 80, 24) })
	d.key(tea.KeyEnter)

	d.typ("s")
	t.Run("sign-devices", func(t *testing.T) { checkFrame(t, d.wait("Devices, refreshed"), 80, 24) })
	d.choose("alice")
	d.key(tea.KeyEnter)
	d.wait("Type yes")
	d.typ("ye")
	t.Run("confirm", func(t *testing.T) { checkFrame(t, d.wait("sign; the device then asks for its PIN: ye_"), 80, 24) })
	d.typ("p")
	d.key(tea.KeyEnter) // "yep" is not "yes"
	d.wait("Not confirmed")
	d.key(tea.KeyEnter)
	d.wait("Type yes")
	d.typ("yes")
	d.key(tea.KeyEnter)
	d.wait("The device asks for its PIN")
	d.typ("999")
	d.key(tea.KeyEnter) // a wrong PIN costs a try
	d.wait("Wrong PIN")
	d.typ("123")
	t.Run("pin-field", func(t *testing.T) {
		f := d.wait("•••_")
		if strings.Contains(f, "123") || strings.Contains(f, "999") {
			t.Errorf("the PIN is on screen:\n%s", f)
		}
		checkFrame(t, f, 80, 24)
	})
	d.typ("456")
	d.key(tea.KeyEnter)
	d.wait("as alice with key")
	d.signAs("bob")
	t.Run("signed", func(t *testing.T) {
		d.signAs("dave")
		checkFrame(t, d.frame(), 80, 24)
	})
	d.typ("t")
	t.Run("thresholds", func(t *testing.T) { checkFrame(t, d.wait("under claimed"), 80, 24) })
	d.signAs("erin")
	d.typ("p")
	t.Run("publish-ready", func(t *testing.T) { checkFrame(t, d.wait("ready to publish"), 80, 24) })
	d.key(tea.KeyEnter)
	d.wait("The device asks for its PIN for the online key")
	d.typ(testPIN)
	d.key(tea.KeyEnter)
	d.wait("Published 1")
	// Before closing, no head is offered to the witnesses: closing adds
	// an event, so the head they must write down does not exist yet.
	if f := d.wait("once it is closed"); strings.Contains(f, "for the witnesses to write down:") {
		t.Errorf("the close screen offers a head before the close:\n%s", f)
	}
	d.key(tea.KeyEnter)
	t.Run("closed", func(t *testing.T) { checkFrame(t, d.wait("✓ Closed:"), 80, 24) })

	// The checkpoint: the keys that signed the metadata sign the head of
	// the close, through the same review (the head in hex and words),
	// "yes" and PIN.
	d.typ("s")
	d.wait("Devices, refreshed")
	d.choose("alice")
	d.key(tea.KeyEnter)
	t.Run("checkpoint-confirm", func(t *testing.T) { checkFrame(t, d.wait("Type yes"), 80, 24) })
	d.typ("yes")
	d.key(tea.KeyEnter)
	d.wait("The device asks for its PIN")
	d.typ(testPIN)
	d.key(tea.KeyEnter)
	d.wait("signed the checkpoint as alice with key")
	for _, n := range []string{"bob", "dave", "erin"} {
		d.signAs(n)
	}
	d.typ("c")
	t.Run("checkpointed", func(t *testing.T) { checkFrame(t, d.wait("The checkpoint is signed"), 80, 24) })
	if st := w.eng.State(); !st.Checkpointed() || len(st.Checkpoint.Signatures) != 4 {
		t.Errorf("after the TUI: checkpointed %v, %d signatures", st.Checkpointed(), len(st.Checkpoint.Signatures))
	}

	if _, err := os.Stat(filepath.Join(w.dir, "ws", "metadata", "1.root.json")); err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(filepath.Join(w.dir, "ws", "metadata", "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ceremony.LoadRepo(filepath.Join(w.dir, "ws", "metadata"), root); err != nil {
		t.Fatalf("published metadata does not load: %v", err)
	}
}

// TestDevicePanelFollowsPlugging: a token pulled out leaves the panel and
// comes back when plugged in again.
func TestDevicePanelFollowsPlugging(t *testing.T) {
	w := newWorld(t)
	d := start(t, w.model(asciiRenderer()))
	d.typ("s")
	d.wait("(carol) · admin")
	w.set(func() { w.pulled["carol"] = true })
	d.waitFor("without carol's token, pulled out", func(f string) bool {
		return strings.Contains(f, "Devices, refreshed") && !strings.Contains(f, "(carol)")
	})
	w.set(func() { w.pulled["carol"] = false })
	d.wait("(carol) · admin")
}

// TestResize: the frame follows the terminal's size.
func TestResize(t *testing.T) {
	w := newWorld(t)
	d := start(t, w.model(asciiRenderer()))
	d.wait("Role 1 of 4")
	d.tm.Send(tea.WindowSizeMsg{Width: 100, Height: 30})
	f := d.waitFor("of 30 lines", func(f string) bool { return len(strings.Split(f, "\n")) == 30 })
	if lines := strings.Split(f, "\n"); ansi.StringWidth(lines[3]) != 100 {
		t.Fatalf("after a resize to 100x30 the rule is %d wide", ansi.StringWidth(lines[3]))
	}
	d.tm.Send(tea.WindowSizeMsg{Width: 40, Height: 10})
	if f := d.wait("The terminal is 40×10"); len(strings.Split(f, "\n")) > 10 {
		t.Errorf("a 40x10 terminal gets a frame of %d lines", len(strings.Split(f, "\n")))
	}
	d.tm.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
	checkFrame(t, d.wait("── Review"), 80, 24)
}

// TestNoColor: in a colour terminal the frame has colour; with NO_COLOR
// it has no escape sequence at all and still says everything.
func TestNoColor(t *testing.T) {
	w := newWorld(t)
	t.Setenv("TERM", "xterm-256color")
	t.Setenv("NO_COLOR", "")
	os.Unsetenv("NO_COLOR")
	color := lipgloss.NewRenderer(io.Discard, termenv.WithTTY(true), termenv.WithEnvironment(env{"TERM": "xterm-256color"}))
	if f := w.model(color).render(); !strings.Contains(f, "\x1b[") {
		t.Fatalf("a colour terminal gets no colour:\n%q", f)
	}
	mono := lipgloss.NewRenderer(io.Discard, termenv.WithTTY(true), termenv.WithEnvironment(env{"TERM": "xterm-256color", "NO_COLOR": "1"}))
	f := w.model(mono).render()
	if strings.Contains(f, "\x1b") {
		t.Fatalf("NO_COLOR: the frame has escape sequences:\n%q", f)
	}
	plain := w.model(asciiRenderer()).render()
	if f != plain {
		t.Fatalf("NO_COLOR frame differs from the monochrome one:\n%s\n---\n%s", f, plain)
	}
	for _, want := range []string{"✓ Open", "▸ Review", "· Sign", "• root: threshold 2 of 3"} {
		if !strings.Contains(f, want) {
			t.Errorf("monochrome frame lacks %q", want)
		}
	}
}

// render draws the first frame without a program.
func (m *Model) render() string {
	m.Update(snapMsg{takeSnapshot(m.opt.Engine)})
	return m.View()
}

// env is a termenv.Environ with fixed variables.
type env map[string]string

func (e env) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}
func (e env) Getenv(k string) string { return e[k] }

// TestPINPromptNeverKeeps: the PIN typed reaches the device and the TUI's
// buffer is wiped.
func TestPINPromptNeverKeeps(t *testing.T) {
	var p pinBuf
	p.b = make([]byte, 0, 16)
	p.add([]rune("123456"))
	got := p.take()
	if string(got) != "123456" || len(p.b) != 0 || !bytes.Equal(p.b[:6], make([]byte, 6)) {
		t.Fatalf("take gave %q and left %q", got, p.b[:6])
	}
}

const rotationPlan = `ceremony: tui-rotation
reference_time: 2026-11-05T00:00:00Z
allow_network: true
start: {trusted_root: ws/metadata/1.root.json, metadata: ws/metadata}
participants:
%s
root: {add: [dave], remove: [carol], threshold: 2}
`

// TestRotationBoard: for a new root the board shows the old root's
// threshold and the new one's side by side.
func TestRotationBoard(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"alice", "bob", "dave", "erin"} {
		if _, err := w.eng.Sign(w.keys[n], nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.eng.Publish(w.keys["online"], nil); err != nil {
		t.Fatal(err)
	}
	w.eng.Release()
	var parts []string
	for _, n := range people {
		tk, _ := roles.KeyFromPublic(w.keys[n].Public())
		parts = append(parts, fmt.Sprintf("  - {name: %s, key_file: %s.json, keyid: %s}", n, n, tk.ID()))
	}
	plan := filepath.Join(w.dir, "rotation.yaml")
	if err := os.WriteFile(plan, []byte(fmt.Sprintf(rotationPlan, strings.Join(parts, "\n"))), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := ceremony.LoadPlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := ceremony.Begin(filepath.Join(w.dir, "ws2"), p, ceremony.Options{Tool: ceremony.Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Release()
	if _, err := eng.Sign(w.keys["alice"], nil); err != nil {
		t.Fatal(err)
	}
	w.eng = eng
	d := start(t, w.model(asciiRenderer()))
	d.typ("t")
	checkFrame(t, d.wait("under root (old)"), 80, 24)
}

// touchSigner waits for a touch, as a YubiKey with a touch policy does,
// and says so through the device prompt writer.
type touchSigner struct {
	fakeSigner
	out     io.Writer
	touched chan struct{}
}

func (s *touchSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	fmt.Fprintf(s.out, "Touch YubiKey #%s now: it is waiting, its light blinks (slot 9c).\n", s.hk.Device.Serial)
	<-s.touched
	return s.fakeSigner.Sign(r, d, o)
}

// TestTouchPrompt: what a device asks while it waits is on screen until
// the signature is made.
func TestTouchPrompt(t *testing.T) {
	w := newWorld(t)
	m := w.model(asciiRenderer())
	touched := make(chan struct{})
	var d *driver
	m.opt.Open = func(ctx context.Context, uri string, auth hsm.Auth) (hsm.Signer, error) {
		s, err := w.open(ctx, uri, auth)
		if err != nil {
			return nil, err
		}
		return &touchSigner{fakeSigner: *s.(*fakeSigner), out: promptWriter{d.tm.Send}, touched: touched}, nil
	}
	d = start(t, m)
	d.typ("s")
	d.wait("▸ SoftHSM")
	d.key(tea.KeyEnter)
	d.wait("Type yes")
	d.typ("yes")
	d.key(tea.KeyEnter)
	d.wait("The device asks for its PIN")
	d.typ(testPIN)
	d.key(tea.KeyEnter)
	checkFrame(t, d.wait("Touch YubiKey #0001 now"), 80, 24)
	close(touched)
	if f := d.wait(", verified"); strings.Contains(f, "Touch YubiKey") {
		t.Errorf("the touch prompt stays after signing:\n%s", f)
	}
}

// TestDeviceErrors: a token pulled out before it opens, a PIN entry
// cancelled, and a device down to its last PIN try each end in an error
// panel that says what to do, and nothing is signed.
func TestDeviceErrors(t *testing.T) {
	w := newWorld(t)
	m := w.model(asciiRenderer())
	m.opt.DeviceEvery = time.Hour // the panel keeps showing the pulled token
	d := start(t, m)
	d.typ("s")
	d.wait("▸ SoftHSM v2 #0001 (alice)")

	w.set(func() { w.pulled["alice"] = true })
	d.key(tea.KeyEnter)
	d.wait("Type yes")
	d.typ("yes")
	d.key(tea.KeyEnter)
	if f := d.wait("What to do"); !strings.Contains(f, "Plug the device in") {
		t.Errorf("pulled token:\n%s", f)
	}
	d.key(tea.KeyEnter)
	w.set(func() { w.pulled["alice"] = false })

	d.key(tea.KeyEnter)
	d.wait("Type yes")
	d.typ("yes")
	d.key(tea.KeyEnter)
	d.wait("The device asks for its PIN")
	d.typ("12")
	d.key(tea.KeyEsc)
	if f := d.wait("What to do"); !strings.Contains(f, "cancelled") || !strings.Contains(f, "Nothing was signed") {
		t.Errorf("cancelled PIN:\n%s", f)
	}
	d.key(tea.KeyEnter)

	w.set(func() { w.tries["alice"] = 2 })
	d.key(tea.KeyEnter)
	d.wait("Type yes")
	d.typ("yes")
	d.key(tea.KeyEnter)
	d.wait("2 tries left")
	d.typ("000000")
	d.key(tea.KeyEnter)
	f := d.wait("What to do")
	if !strings.Contains(f, "only one PIN try is left") || !strings.Contains(f, "--allow-last-pin-try") {
		t.Errorf("last try:\n%s", f)
	}
	checkFrame(t, f, 80, 24)
	if sigs := len(w.eng.State().Roles[0].Signatures); sigs != 0 {
		t.Errorf("%d signatures after errors only", sigs)
	}
}

// TestRequestView: the one-signer view of a signing request, on a
// machine with no workspace: review, sign with a token, and the response
// written is one the ceremony takes.
func TestRequestView(t *testing.T) {
	w := newWorld(t)
	paths, err := w.eng.ExportRequests(filepath.Join(w.dir, "requests"))
	if err != nil {
		t.Fatal(err)
	}
	var req *ceremony.Request
	for _, p := range paths {
		if strings.Contains(filepath.Base(p), "-root-") {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if req, err = ceremony.ParseRequest(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if req == nil {
		t.Fatalf("no root request among %v", paths)
	}
	out := filepath.Join(w.dir, "alice.response.json")
	m := New(Options{Request: req, Devices: w.devices, Open: w.open, Renderer: asciiRenderer(), DeviceEvery: 50 * time.Millisecond,
		WriteResponse: func(r *ceremony.Response) (string, error) {
			b, err := r.Marshal()
			if err != nil {
				return "", err
			}
			return "alice.response.json", os.WriteFile(out, b, 0o600)
		}})
	d := start(t, m)
	t.Run("review", func(t *testing.T) { checkFrame(t, d.wait("signing request for root v1"), 80, 24) })
	d.typ("s")
	d.wait("▸ SoftHSM v2 #0001 (alice)")
	d.key(tea.KeyEnter)
	d.wait("Type yes")
	d.typ("yes")
	d.key(tea.KeyEnter)
	d.wait("The device asks for its PIN")
	d.typ(testPIN)
	d.key(tea.KeyEnter)
	t.Run("signed", func(t *testing.T) { checkFrame(t, d.wait("response written to"), 80, 24) })
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ceremony.ParseResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.eng.CheckResponse(resp); err != nil {
		t.Fatalf("the ceremony refuses the response: %v", err)
	}
}

// TestPINBufferNeverGrows: typing past the buffer's capacity drops the
// extra characters instead of copying the PIN to a new array.
func TestPINBufferNeverGrows(t *testing.T) {
	p := pinBuf{b: make([]byte, 0, 8)}
	first := &p.b[:1][0]
	p.add([]rune("0123456789"))
	if string(p.b) != "01234567" || &p.b[0] != first {
		t.Fatalf("buffer %q moved or grew", p.b)
	}
}
