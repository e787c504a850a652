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
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
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

type screen int

const (
	screenReview screen = iota
	screenSign
	screenBoard
	screenPublish
	screenClose
)

var screenNames = []string{"Review", "Sign", "Thresholds", "Publish", "Close"}

type signPhase int

const (
	phasePick signPhase = iota
	phaseOpening
	phaseConfirm
	phaseSigning
)

// devRow is one line of the device panel: a key on a device, or a device
// with no key.
type devRow struct {
	dev   hsm.Device
	key   *hsm.Key
	keyID string
	note  string
}

// errPanel is an error as the people in the room read it.
type errPanel struct {
	What string
	ToDo string
}

// Model is the TUI's bubbletea model.
type Model struct {
	opt  Options
	ctx  context.Context
	sty  styles
	pins *PINPrompt

	w, h int
	snap *snapshot

	screen    screen
	reviewed  bool
	roleIdx   int
	raw       bool
	scroll    int
	busy      string
	busySince time.Time
	inflight  *sync.WaitGroup
	notice    string
	err       *errPanel
	quitting  bool

	devs      []devRow
	devProbs  []string
	devLoaded bool
	listing   bool
	cursor    int
	// shownCursor is the cursor the view last scrolled to.
	shownCursor int

	phase    signPhase
	signer   hsm.Signer
	signFor  devRow
	pinAsk   *pinAsk
	pin      *pinBuf
	confirm  string
	prompt   string // what the device asks for now, besides a PIN
	results  []string
	onlineOp bool   // the PIN asked is the online key's, for publishing
	written  string // request view: where the response was written
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
	m := &Model{opt: opt, ctx: ctx, sty: newStyles(opt.Renderer), pins: NewPINPrompt(ctx), w: 80, h: 24,
		pin: &pinBuf{b: make([]byte, 0, 256)}, shownCursor: -1, inflight: &sync.WaitGroup{}}
	return m
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
	eng, req := m.opt.Engine, m.opt.Request
	return tea.Batch(
		func() tea.Msg {
			if req != nil {
				return snapMsg{requestSnapshot(req)}
			}
			return snapMsg{takeSnapshot(eng)}
		},
		m.listDevices(),
		m.pins.next(),
	)
}

func (m *Model) listDevices() tea.Cmd {
	m.listing = true
	list, ctx := m.opt.Devices, m.ctx
	return func() tea.Msg {
		devs, probs := list(ctx)
		return devsMsg{devs, probs}
	}
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.opt.DeviceEvery, func(time.Time) tea.Msg { return devTickMsg{} })
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		return m, nil
	case snapMsg:
		m.setSnap(msg.snap)
		m.screen = m.startScreen()
		return m, nil
	case devTickMsg:
		if m.listing || m.quitting {
			return m, nil
		}
		return m, m.listDevices()
	case devsMsg:
		m.listing = false
		devs := msg.devs
		if devs == nil {
			devs = []hsm.DeviceKeys{} // none plugged in: clear the panel
		}
		m.setDevices(devs, msg.problems)
		return m, m.tick()
	case pinAskMsg:
		a := pinAsk(msg)
		m.pinAsk = &a
		m.pin.wipe()
		return m, nil
	case busyTickMsg:
		if m.busy == "" {
			return m, nil
		}
		return m, m.busyTick() // redraws the elapsed time
	case promptMsg:
		m.prompt = string(msg)
		return m, nil
	case openedMsg:
		m.prompt = ""
		return m.opened(msg)
	case signedMsg:
		m.prompt = ""
		return m.signed(msg)
	case requestSignedMsg:
		m.prompt = ""
		return m.requestSigned(msg)
	case publishedMsg:
		m.busy = ""
		m.prompt = ""
		m.onlineOp = false
		if msg.snap != nil {
			m.setSnap(msg.snap)
		}
		if msg.err != nil {
			m.fail(msg.err)
			return m, nil
		}
		m.notice = fmt.Sprintf("Published %d files into %s.", len(msg.res.Files), msg.res.Dir)
		m.screen = screenClose
		return m, nil
	case closedMsg:
		m.busy = ""
		if msg.snap != nil {
			m.setSnap(msg.snap)
		}
		if msg.err != nil {
			m.fail(msg.err)
			return m, nil
		}
		m.notice = "The ceremony is closed. Witnesses: write down the head digest."
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) setSnap(s *snapshot) {
	m.snap = s
	if m.roleIdx >= len(s.Roles) {
		m.roleIdx = 0
	}
	m.resuggest()
}

// startScreen is where a ceremony in this state is taken up.
func (m *Model) startScreen() screen {
	s := m.snap
	switch {
	case s.Published || s.Closed:
		return screenClose
	case s.Done || s.Publishing:
		return screenPublish
	case m.anySigned():
		return screenSign
	}
	return screenReview
}

func (m *Model) anySigned() bool {
	for _, r := range m.snap.Roles {
		if len(r.SignedBy) > 0 {
			return true
		}
	}
	return false
}

// setDevices rebuilds the device panel from a fresh listing. The cursor
// stays on the key it was on while that key is plugged in; a new choice
// is suggested only when it is gone (or nothing was chosen yet).
func (m *Model) setDevices(devs []hsm.DeviceKeys, probs []string) {
	var rows []devRow
	for _, d := range devs {
		if len(d.Keys) == 0 {
			rows = append(rows, devRow{dev: d.Device, note: d.Note})
			continue
		}
		for i := range d.Keys {
			k := d.Keys[i]
			row := devRow{dev: d.Device, key: &k}
			if tk, err := roles.KeyFromPublic(k.Public); err == nil {
				row.keyID = tk.ID()
			}
			rows = append(rows, row)
		}
	}
	var cur string
	if m.cursor >= 0 && m.cursor < len(m.devs) && m.devs[m.cursor].key != nil {
		cur = m.devs[m.cursor].key.URI
	}
	m.devLoaded = true
	m.devs, m.devProbs = rows, probs
	m.cursor = -1
	for i, r := range rows {
		if cur != "" && r.key != nil && r.key.URI == cur {
			m.cursor = i
		}
	}
	if m.cursor < 0 {
		m.cursor = m.suggest()
	}
}

// resuggest moves the cursor to the key to offer next, unless the one it
// is on is still needed.
func (m *Model) resuggest() {
	if m.cursor < 0 || m.cursor >= len(m.devs) || !m.usable(m.devs[m.cursor]) {
		m.cursor = m.suggest()
	}
}

// usable: the row is a key the plan names with something left to sign.
func (m *Model) usable(r devRow) bool {
	if r.key == nil || m.snap == nil {
		return false
	}
	k := m.snap.Keys[r.keyID]
	return k != nil && len(k.toSign()) > 0
}

// suggest picks the key to offer first: one whose holder is still
// missing where a threshold is not reached, else one with anything left
// to sign, else any key.
func (m *Model) suggest() int {
	for i, r := range m.devs {
		if m.usable(r) && m.needed(m.snap.Keys[r.keyID].Participant) {
			return i
		}
	}
	for i, r := range m.devs {
		if m.usable(r) {
			return i
		}
	}
	for i, r := range m.devs {
		if r.key != nil {
			return i
		}
	}
	return 0
}

// needed reports whether the engine's progress lists name as missing
// from a threshold not reached yet.
func (m *Model) needed(name string) bool {
	for _, p := range m.snap.Progress {
		if !p.Reached && slices.Contains(p.Missing, name) {
			return true
		}
	}
	return false
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
	m.busy = what
	m.busySince = time.Now()
	return m.busyTick()
}

func (m *Model) busyTick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return busyTickMsg{} })
}

// fail shows err as a panel.
func (m *Model) fail(err error) {
	m.err = explain(err)
}

func (m *Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if k.Type == tea.KeyCtrlC {
		return m.quit()
	}
	if m.pinAsk != nil {
		return m.pinKey(k)
	}
	if m.err != nil {
		switch k.Type {
		case tea.KeyEnter, tea.KeyEsc:
			m.err = nil
		}
		if k.String() == "q" {
			return m.quit()
		}
		return m, nil
	}
	if m.screen == screenSign && m.phase == phaseConfirm {
		return m.confirmKey(k)
	}
	if m.snap == nil {
		if k.String() == "q" {
			return m.quit()
		}
		return m, nil
	}
	if m.opt.Request != nil {
		switch k.String() {
		case "t", "p", "c":
			return m, nil
		case "tab", "shift+tab":
			m.go2(screenReview + screenSign - m.screen)
			return m, nil
		}
	}
	switch k.String() {
	case "q":
		if m.busy != "" {
			m.notice = "Wait: " + m.busy + " (ctrl+c leaves anyway; resume later)."
			return m, nil
		}
		return m.quit()
	case "tab":
		m.go2((m.screen + 1) % screen(len(screenNames)))
		return m, nil
	case "shift+tab":
		m.go2((m.screen + screen(len(screenNames)) - 1) % screen(len(screenNames)))
		return m, nil
	case "r":
		m.go2(screenReview)
		return m, nil
	case "s":
		m.go2(screenSign)
		return m, nil
	case "t":
		m.go2(screenBoard)
		return m, nil
	case "p":
		m.go2(screenPublish)
		return m, nil
	case "c":
		m.go2(screenClose)
		return m, nil
	case "pgup":
		m.scroll = max(0, m.scroll-m.bodyHeight())
		return m, nil
	case "pgdown":
		m.scroll += m.bodyHeight()
		return m, nil
	}
	switch m.screen {
	case screenReview:
		switch k.String() {
		case "left", "h":
			if m.roleIdx > 0 {
				m.roleIdx--
				m.scroll = 0
			}
		case "right", "l", " ":
			if m.roleIdx < len(m.snap.Roles)-1 {
				m.roleIdx++
				m.scroll = 0
			}
		case "x":
			m.raw = !m.raw
			m.scroll = 0
		case "up", "k":
			m.scroll = max(0, m.scroll-1)
		case "down", "j":
			m.scroll++
		case "enter":
			m.reviewed = true
			m.go2(screenSign)
		}
	case screenSign:
		switch k.String() {
		case "up", "k":
			for i := m.cursor - 1; i >= 0; i-- {
				if m.devs[i].key != nil {
					m.cursor = i
					break
				}
			}
		case "down", "j":
			for i := m.cursor + 1; i < len(m.devs); i++ {
				if m.devs[i].key != nil {
					m.cursor = i
					break
				}
			}
		case "enter":
			return m.useKey()
		}
	case screenBoard:
		switch k.String() {
		case "up", "k":
			m.scroll = max(0, m.scroll-1)
		case "down", "j":
			m.scroll++
		}
	case screenPublish:
		if k.String() == "enter" && m.busy == "" {
			return m.publish()
		}
	case screenClose:
		if k.String() == "enter" && m.busy == "" {
			tick := m.setBusy("closing the ceremony")
			eng := m.opt.Engine
			return m, tea.Batch(tick, m.work(func() tea.Msg {
				err := eng.End()
				return closedMsg{err: err, snap: takeSnapshot(eng)}
			}))
		}
	}
	return m, nil
}

func (m *Model) go2(s screen) {
	if m.screen == screenReview && s != screenReview {
		m.reviewed = true
	}
	m.screen = s
	m.scroll = 0
}

func (m *Model) quit() (tea.Model, tea.Cmd) {
	m.quitting = true
	if m.pinAsk != nil {
		m.pinAsk.reply <- pinReply{err: ErrPINCancelled}
		m.pinAsk = nil
	}
	m.pin.wipe()
	if m.signer != nil {
		m.signer.Close()
		m.signer = nil
	}
	return m, tea.Quit
}

func (m *Model) pinKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch k.Type {
	case tea.KeyEnter:
		m.pinAsk.reply <- pinReply{pin: m.pin.take()}
		m.pinAsk = nil
		return m, m.pins.next()
	case tea.KeyEsc:
		m.pin.wipe()
		m.pinAsk.reply <- pinReply{err: ErrPINCancelled}
		m.pinAsk = nil
		return m, m.pins.next()
	case tea.KeyBackspace:
		m.pin.backspace()
	case tea.KeyRunes:
		m.pin.add(k.Runes)
	}
	return m, nil
}

func (m *Model) confirmKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch k.Type {
	case tea.KeyEsc:
		m.endSigner()
		m.notice = "Not signed: you left the confirmation."
	case tea.KeyBackspace:
		if m.confirm != "" {
			m.confirm = m.confirm[:len(m.confirm)-1]
		}
	case tea.KeyRunes, tea.KeySpace:
		if len(m.confirm) < 16 {
			m.confirm += string(k.Runes)
		}
	case tea.KeyEnter:
		typed := strings.TrimSpace(m.confirm)
		if typed != "yes" {
			m.endSigner()
			m.notice = fmt.Sprintf("Not confirmed (typed %q, not \"yes\"): nothing was signed.", typed)
			return m, nil
		}
		m.phase = phaseSigning
		if m.opt.Request != nil {
			return m.signRequest()
		}
		tick := m.setBusy("signing with " + m.signFor.dev.String())
		eng, signer := m.opt.Engine, m.signer
		dev := signer.Key().Device
		return m, tea.Batch(tick, m.work(func() tea.Msg {
			res, err := eng.Sign(signer, &dev)
			return signedMsg{res: res, err: err, snap: takeSnapshot(eng)}
		}))
	}
	return m, nil
}

func (m *Model) useKey() (tea.Model, tea.Cmd) {
	if m.phase != phasePick || m.busy != "" || m.cursor >= len(m.devs) || m.devs[m.cursor].key == nil {
		return m, nil
	}
	row := m.devs[m.cursor]
	m.signFor = row
	m.phase = phaseOpening
	m.results = nil
	m.notice = ""
	tick := m.setBusy("opening " + row.dev.String())
	open, ctx, uri := m.opt.Open, m.ctx, row.key.URI
	auth := hsm.Auth{PINs: m.pins, Policy: hsm.PINPolicy{AllowLastTry: m.opt.AllowLastTry}}
	return m, tea.Batch(tick, m.work(func() tea.Msg {
		s, err := open(ctx, uri, auth)
		return openedMsg{signer: s, err: err}
	}))
}

func (m *Model) opened(msg openedMsg) (tea.Model, tea.Cmd) {
	m.busy = ""
	if msg.err != nil {
		m.phase = phasePick
		m.fail(msg.err)
		return m, nil
	}
	if m.quitting {
		msg.signer.Close()
		return m, nil
	}
	m.signer = msg.signer
	m.phase = phaseConfirm
	m.confirm = ""
	return m, nil
}

func (m *Model) signed(msg signedMsg) (tea.Model, tea.Cmd) {
	m.busy = ""
	m.endSigner()
	if msg.snap != nil {
		m.setSnap(msg.snap)
	}
	m.results = nil
	for _, r := range msg.res {
		who := r.KeyID
		if k := m.snap.Keys[r.KeyID]; k != nil {
			who = k.Participant
		}
		m.results = append(m.results, fmt.Sprintf("signed %s as %s with key %s, verified", r.Role, who, shortID(r.KeyID)))
	}
	if msg.err != nil {
		m.fail(msg.err)
		return m, nil
	}
	if m.snap.Done {
		m.notice = "Every threshold holds: press p to publish."
	}
	return m, nil
}

func (m *Model) endSigner() {
	if m.signer != nil {
		m.signer.Close()
		m.signer = nil
	}
	m.phase = phasePick
	m.confirm = ""
}

func (m *Model) publish() (tea.Model, tea.Cmd) {
	eng := m.opt.Engine
	uri := m.opt.OnlineURI
	if uri == "" {
		uri = m.snap.OnlineURI
	}
	if m.snap.Publishing || !m.snap.Done {
		// Finishing a publish cut short needs no key; and no PIN is asked
		// before the engine has said whether it will publish at all.
		uri = ""
	}
	tick := m.setBusy("publishing")
	m.notice = ""
	m.onlineOp = uri != ""
	open, ctx := m.opt.Open, m.ctx
	auth := hsm.Auth{PINs: m.pins, Policy: hsm.PINPolicy{AllowLastTry: m.opt.AllowLastTry}}
	return m, tea.Batch(tick, m.work(func() tea.Msg {
		if uri == "" {
			res, err := eng.Publish(nil, nil)
			return publishedMsg{res: res, err: err, snap: takeSnapshot(eng)}
		}
		s, err := open(ctx, uri, auth)
		if err != nil {
			return publishedMsg{err: fmt.Errorf("online key %s: %w", uri, err)}
		}
		defer s.Close()
		dev := s.Key().Device
		res, err := eng.Publish(s, &dev)
		return publishedMsg{res: res, err: err, snap: takeSnapshot(eng)}
	}))
}

// explain turns an error into what happened and what to do.
func explain(err error) *errPanel {
	p := &errPanel{What: err.Error()}
	var pe hsm.PINError
	switch {
	case errors.Is(err, ErrPINCancelled):
		p.ToDo = "Nothing was signed. Choose the device again when you are ready."
	case errors.Is(err, hsm.ErrPINLocked):
		p.ToDo = "The PIN is locked: unblock it with the PUK or SO PIN, away from this ceremony, then sign again."
	case errors.Is(err, hsm.ErrLastTry):
		p.ToDo = "Only one PIN try is left. Make sure of the PIN, then restart with 'ceremony tui --allow-last-pin-try'."
	case errors.As(err, &pe) && pe.TriesLeft >= 0:
		p.ToDo = fmt.Sprintf("Check the PIN and choose the device again: %d tries left.", pe.TriesLeft)
	case errors.Is(err, hsm.ErrWrongPIN):
		p.ToDo = "Check the PIN and choose the device again."
	case errors.Is(err, hsm.ErrRemoved), errors.Is(err, hsm.ErrNotFound):
		p.ToDo = "Plug the device in again, wait for it in the device panel, and choose it."
	case errors.Is(err, ceremony.ErrWrongKey):
		p.ToDo = "This key is not one the plan expects: use the device the plan names for you."
	case errors.Is(err, ceremony.ErrNotSigned):
		p.ToDo = "More signatures are needed first: see who is missing on the threshold board (t)."
	case errors.Is(err, ceremony.ErrConflict):
		p.ToDo = "Publish into an empty folder, or start again from the repository as it is."
	case errors.Is(err, ceremony.ErrState):
		p.ToDo = "The ceremony is past that step: see the step rail for where it stands."
	default:
		p.ToDo = "Nothing was lost: every step is in the transcript. Press q to leave and run 'ceremony tui' again to resume."
	}
	return p
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
