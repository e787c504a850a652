// Package tui is the ceremony's terminal UI: a bubbletea program that
// draws the engine's state and submits the engine's commands (Sign,
// Publish, End). It holds no ceremony rule: whatever it shows
// comes from the engine, and whatever the engine refuses is shown as an
// error panel, so everything it does can also be done with the CLI.
package tui

import (
	"context"
	"errors"
	"fmt"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"io"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
)

// Options are what the TUI needs from the world; tests substitute them.
type Options struct {
	// Engine is the ceremony, resumed from its workspace. The TUI owns it
	// while it runs: nothing else may call it meanwhile.
	Engine *ceremony.Engine
	// Devices lists the tokens and cards present; nil: every backend's.
	Devices func(ctx context.Context) ([]hsm.DeviceKeys, []string)
	// Open returns a signer for a key URI; nil: hsm.Open.
	Open func(ctx context.Context, uri string, auth hsm.Auth) (hsm.Signer, error)
	// OnlineURI is the online key's URI for publishing; empty: the plan's.
	OnlineURI string
	// AllowLastTry lets a login spend a device's last PIN try.
	AllowLastTry bool
	// Renderer styles the output; nil: lipgloss's default, which follows
	// the terminal's color support and NO_COLOR.
	Renderer *lipgloss.Renderer
	// DeviceEvery is how often the device panel is refreshed (default 1s).
	DeviceEvery time.Duration
	// Context ends pending device work when the TUI quits.
	Context context.Context
	// PromptOut, when set, is given the writer where devices put what the
	// person must see while they wait ("touch your YubiKey now"), and nil
	// when the TUI ends: a device must not write on the TUI's terminal.
	PromptOut func(io.Writer)

	// Request, instead of Engine, opens the one-signer view on a signing
	// request, for a signer on an air-gapped machine with no workspace.
	Request *ceremony.Request
	// RequestNote says what the request's bytes were compared with (the
	// previous version, verified under a pinned root or not), as 'ceremony
	// sign REQUEST' says it.
	RequestNote string
	// WriteResponse writes the signed response and returns where it went.
	WriteResponse func(*ceremony.Response) (string, error)

	// DemoPINs are the demo tokens' PINs by token label, shown on the PIN
	// screen so a newcomer can try the flow ('ceremony demo --tui'). Never
	// set for real devices.
	DemoPINs map[string]string
}

// AllDevices lists the devices of every registered backend; a backend
// that cannot list them is reported in the second result.
func AllDevices(ctx context.Context) ([]hsm.DeviceKeys, []string) {
	var out []hsm.DeviceKeys
	var problems []string
	for _, b := range hsm.Backends() {
		devs, err := b.Devices(ctx)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", b.Scheme(), err))
			continue
		}
		out = append(out, devs...)
	}
	return out, problems
}

// screen is one of the TUI's screens, in tab order.
type screen int

const (
	screenReview screen = iota
	screenSign
	screenBoard
	screenPublish
	screenClose
	numScreens
)

var screenNames = [numScreens]string{"Review", "Sign", "Thresholds", "Publish", "Close"}

// errPanel is an error as the people in the room read it.
type errPanel struct {
	What string
	ToDo string
}

// Model is the TUI's bubbletea model. It holds what the screens share
// and routes messages and keys; a screen with state of its own keeps it
// in its sub-model (review, sign), and the PIN field, shown over any
// screen while a device waits, in pin.
type Model struct {
	opt      Options
	ctx      context.Context
	sty      styles
	keys     *keyMap
	pins     *PINPrompt
	inflight *sync.WaitGroup // commands that call the engine or a device

	w, h   int
	snap   *snapshot
	screen screen
	// scroll is the first body line shown, and followed the device
	// panel's cursor it last brought into view: Update keeps them, View
	// reads them.
	scroll, followed int
	busy             busy
	notice           string
	prompt           string // what a device asks for now, besides a PIN
	err              *errPanel
	quitting         bool

	review reviewScreen
	sign   signScreen
	pin    pinField
}

// busy is the engine's or a device's work that runs now, and since when.
type busy struct {
	what  string
	since time.Time
	step  *progressMsg // how far the engine's step has gone, when it says
}

// New returns the TUI's model for opt.
func New(opt Options) *Model {
	if opt.Devices == nil {
		opt.Devices = AllDevices
	}
	if opt.Open == nil {
		opt.Open = hsm.Open
	}
	if opt.Renderer == nil {
		opt.Renderer = lipgloss.DefaultRenderer()
	}
	if opt.DeviceEvery <= 0 {
		opt.DeviceEvery = time.Second
	}
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	return &Model{opt: opt, ctx: ctx, sty: newStyles(opt.Renderer), keys: newKeyMap(opt.Request != nil),
		pins: NewPINPrompt(ctx), inflight: &sync.WaitGroup{}, w: 80, h: 24, followed: -1,
		pin: pinField{buf: &pinBuf{b: make([]byte, 0, 256)}}}
}

// Messages from commands.
type (
	snapMsg     struct{ snap *snapshot }
	promptMsg   string
	busyTickMsg struct{}
	devTickMsg  struct{}
	devsMsg     struct {
		devs     []hsm.DeviceKeys
		problems []string
	}
	checkedMsg struct {
		toSign []string
		err    error
	}
	openedMsg struct {
		signer hsm.Signer
		err    error
	}
	signedMsg struct {
		res  []ceremony.SignResult
		err  error
		snap *snapshot
	}
	publishedMsg struct {
		res  *ceremony.PublishResult
		err  error
		snap *snapshot
	}
	closedMsg struct {
		err  error
		snap *snapshot
	}
)

// Init implements tea.Model: the first snapshot, the device panel and
// the PIN listener.
func (m *Model) Init() tea.Cmd {
	eng, req, note := m.opt.Engine, m.opt.Request, m.opt.RequestNote
	return tea.Batch(
		func() tea.Msg {
			if req != nil {
				return snapMsg{requestSnapshot(req, note)}
			}
			return snapMsg{takeSnapshot(eng)}
		},
		m.listDevices(),
		m.pins.next(),
	)
}

func (m *Model) listDevices() tea.Cmd {
	m.sign.devices.listing = true
	list, ctx := m.opt.Devices, m.ctx
	return func() tea.Msg {
		devs, probs := list(ctx)
		return devsMsg{devs, probs}
	}
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.opt.DeviceEvery, func(time.Time) tea.Msg { return devTickMsg{} })
}

// Update implements tea.Model. After each message the scroll is fitted
// to the body as it is now, so that View only reads.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.fitScroll()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
	case snapMsg:
		m.setSnap(msg.snap)
		m.screen = m.startScreen()
	case devTickMsg:
		if !m.sign.devices.listing && !m.quitting {
			return m.listDevices()
		}
	case devsMsg:
		m.sign.devices.set(msg.devs, msg.problems, m.snap)
		return m.tick()
	case pinAskMsg:
		m.pin.asked(pinAsk(msg))
	case busyTickMsg:
		if m.busy.what != "" {
			return m.busyTick() // redraws the elapsed time
		}
	case progressMsg:
		m.progressed(msg)
	case promptMsg:
		m.prompt = untrusted.Text(string(msg))
	case checkedMsg:
		m.checked(msg)
	case openedMsg:
		m.prompt = ""
		return m.opened(msg)
	case signedMsg:
		m.prompt = ""
		m.signed(msg)
	case requestSignedMsg:
		m.prompt = ""
		m.requestSigned(msg)
	case publishedMsg:
		m.published(msg)
	case closedMsg:
		m.closed(msg)
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) setSnap(s *snapshot) {
	m.snap = s
	if m.review.role >= len(s.Roles) {
		m.review.role = 0
	}
	m.sign.devices.resuggest(s)
}

// startScreen is where a ceremony in this state is taken up.
func (m *Model) startScreen() screen {
	s := m.snap
	switch {
	case s.Published || s.Closed || s.Aborted != "":
		return screenClose
	case s.Done || s.Publishing:
		return screenPublish
	case s.anySigned():
		return screenSign
	}
	return screenReview
}

// work wraps a command that calls the engine or a device, so that Run
// can wait for it before the engine is closed.
func (m *Model) work(f func() tea.Msg) tea.Cmd {
	m.inflight.Add(1)
	return func() tea.Msg {
		defer m.inflight.Done()
		return f()
	}
}

// setBusy says what runs now, and starts the clock the header shows
// for long work.
func (m *Model) setBusy(what string) tea.Cmd {
	m.busy = busy{what: what, since: time.Now()}
	return m.busyTick()
}

func (m *Model) busyTick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return busyTickMsg{} })
}

// auth is how devices opened from the TUI log in: the PIN field, and
// the last try spent only when allowed.
func (m *Model) auth() hsm.Auth {
	return hsm.Auth{PINs: m.pins, Policy: hsm.PINPolicy{AllowLastTry: m.opt.AllowLastTry}}
}

// fail shows err as a panel.
func (m *Model) fail(err error) {
	m.err = explain(err)
}

// layer is what has the keyboard: a field or panel drawn over the
// screen, or the screen itself.
type layer int

const (
	onScreen  layer = iota
	onPIN           // a device waits for its PIN
	onError         // an error panel waits to be read
	onConfirm       // the Sign screen waits for "yes"
)

func (m *Model) layer() layer {
	switch {
	case m.pin.ask != nil:
		return onPIN
	case m.err != nil:
		return onError
	case m.screen == screenSign && m.sign.phase == phaseConfirm:
		return onConfirm
	}
	return onScreen
}

// key routes a key press: to the field or panel over the screen if there
// is one, else to the keys every screen has, else to the screen's own.
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	km := m.keys
	if key.Matches(k, km.ForceQuit) {
		return m.quit()
	}
	switch m.layer() {
	case onPIN:
		return m.pinKey(k)
	case onError:
		if key.Matches(k, km.Dismiss) {
			m.err = nil
		} else if key.Matches(k, km.Quit) {
			return m.quit()
		}
		return nil
	case onConfirm:
		return m.confirmKey(k)
	}
	switch {
	case m.snap == nil:
		if key.Matches(k, km.Quit) {
			return m.quit()
		}
	case key.Matches(k, km.Quit):
		if m.busy.what != "" {
			m.notice = "Wait: " + m.busy.what + " (ctrl+c leaves anyway; resume later)."
			return nil
		}
		return m.quit()
	case key.Matches(k, km.NextScreen):
		m.go2(m.nextScreen(1))
	case key.Matches(k, km.PrevScreen):
		m.go2(m.nextScreen(-1))
	case key.Matches(k, km.PageUp):
		m.scroll = max(0, m.scroll-m.bodyHeight())
	case key.Matches(k, km.PageDown):
		m.scroll += m.bodyHeight()
	default:
		for s, b := range km.Jump {
			if key.Matches(k, b) {
				m.go2(screen(s))
				return nil
			}
		}
		return m.screenKey(k)
	}
	return nil
}

// screenKey hands a key to the current screen.
func (m *Model) screenKey(k tea.KeyMsg) tea.Cmd {
	km := m.keys
	switch m.screen {
	case screenReview:
		m.reviewKey(k)
	case screenSign:
		return m.signKey(k)
	case screenBoard:
		m.scrollKey(k)
	case screenPublish:
		if key.Matches(k, km.Publish) && m.busy.what == "" {
			return m.publish()
		}
	case screenClose:
		if key.Matches(k, km.CloseCeremony) && m.busy.what == "" {
			return m.closeCeremony()
		}
	}
	return nil
}

// scrollKey scrolls the body a line.
func (m *Model) scrollKey(k tea.KeyMsg) {
	switch {
	case key.Matches(k, m.keys.ScrollUp):
		m.scroll = max(0, m.scroll-1)
	case key.Matches(k, m.keys.ScrollDown):
		m.scroll++
	}
}

// nextScreen is the screen d places away in tab order, among those this
// view has: a screen whose key is disabled is skipped.
func (m *Model) nextScreen(d int) screen {
	s := m.screen
	for {
		s = (s + screen(d) + numScreens) % numScreens
		if m.keys.Jump[s].Enabled() {
			return s
		}
	}
}

func (m *Model) go2(s screen) {
	if m.screen == screenReview && s != screenReview {
		m.review.done = true
	}
	m.screen = s
	m.scroll = 0
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	m.pin.cancel()
	if m.sign.signer != nil {
		m.sign.signer.Close()
		m.sign.signer = nil
	}
	return tea.Quit
}

// explain turns an error into what happened and what to do.
func explain(err error) *errPanel {
	p := &errPanel{What: untrusted.Text(err.Error())}
	var pe hsm.PINError
	switch {
	case errors.Is(err, ErrPINCancelled):
		p.ToDo = "Nothing was signed. Choose the device again when you are ready."
	case errors.Is(err, hsm.ErrWrongPIN) && errors.As(err, &pe) && pe.TriesLeft >= 0:
		p.ToDo = fmt.Sprintf("Check the PIN and choose the device again: %d tries left.", pe.TriesLeft)
	case exitcode.Hint(err) != "":
		// The one table of kinds of failure says what to do, for the CLI
		// and the TUI alike.
		p.ToDo = exitcode.Hint(err)
	default:
		p.ToDo = "Nothing was lost: every step is in the transcript. Press q to leave and run 'ceremony tui' again to resume."
	}
	return p
}
