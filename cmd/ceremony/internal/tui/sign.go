package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
)

// signScreen is the Sign screen: the device panel, and one signing at a
// time: the chosen key's device is opened (it asks for its PIN), "yes"
// is typed, and the engine signs.
type signScreen struct {
	devices devicePanel
	phase   signPhase
	signer  hsm.Signer // the open device, from phaseConfirm until signed or left
	with    devRow     // the key signed with
	confirm string     // what is typed in the "yes" field
	results []string   // what the last signing did
	written string     // the one-signer view: where the response was written
}

type signPhase int

const (
	phasePick signPhase = iota
	phaseOpening
	phaseConfirm
	phaseSigning
)

// end closes the open device, if any, and goes back to choosing a key.
func (s *signScreen) end() {
	if s.signer != nil {
		s.signer.Close()
		s.signer = nil
	}
	s.phase = phasePick
	s.confirm = ""
}

// devicePanel lists the keys on the tokens and cards plugged in, with a
// cursor on the key to sign with.
type devicePanel struct {
	rows     []devRow
	problems []string // the backends that could not list their devices
	loaded   bool     // a listing has come in
	listing  bool     // a listing runs now
	cursor   int
}

// devRow is one line of the device panel: a key on a device, or a device
// with no key.
type devRow struct {
	dev   hsm.Device
	key   *hsm.Key
	keyID string
	note  string
}

// set rebuilds the panel from a fresh listing. The cursor stays on the
// key it was on while that key is plugged in; a new choice is suggested
// only when it is gone (or nothing was chosen yet).
func (p *devicePanel) set(devs []hsm.DeviceKeys, probs []string, s *snapshot) {
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
	if r, ok := p.chosen(); ok {
		cur = r.key.URI
	}
	p.listing, p.loaded = false, true
	p.rows, p.problems = rows, probs
	p.cursor = -1
	for i, r := range rows {
		if cur != "" && r.key != nil && r.key.URI == cur {
			p.cursor = i
		}
	}
	if p.cursor < 0 {
		p.cursor = p.suggest(s)
	}
}

// chosen is the key under the cursor, if the cursor is on one.
func (p *devicePanel) chosen() (devRow, bool) {
	if p.cursor < 0 || p.cursor >= len(p.rows) || p.rows[p.cursor].key == nil {
		return devRow{}, false
	}
	return p.rows[p.cursor], true
}

// move puts the cursor on the nearest key d rows up (-1) or down (+1),
// past devices with no key.
func (p *devicePanel) move(d int) {
	for i := p.cursor + d; i >= 0 && i < len(p.rows); i += d {
		if p.rows[i].key != nil {
			p.cursor = i
			return
		}
	}
}

// resuggest moves the cursor to the key to offer next, unless the one it
// is on is still needed.
func (p *devicePanel) resuggest(s *snapshot) {
	if r, ok := p.chosen(); !ok || !s.mayStillSign(r.keyID) {
		p.cursor = p.suggest(s)
	}
}

// suggest picks the key to offer first: one whose holder is still
// missing where a threshold is not reached, else one with anything left
// to sign, else any key.
func (p *devicePanel) suggest(s *snapshot) int {
	for i, r := range p.rows {
		if r.key != nil && s.mayStillSign(r.keyID) && s.needed(s.Keys[r.keyID].Participant) {
			return i
		}
	}
	for i, r := range p.rows {
		if r.key != nil && s.mayStillSign(r.keyID) {
			return i
		}
	}
	for i, r := range p.rows {
		if r.key != nil {
			return i
		}
	}
	return 0
}

func (m *Model) signKey(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.KeyUp):
		m.sign.devices.move(-1)
	case key.Matches(k, m.keys.KeyDown):
		m.sign.devices.move(+1)
	case key.Matches(k, m.keys.UseKey):
		return m.useKey()
	}
	return nil
}

// useKey opens the chosen key's device, which asks for its PIN.
func (m *Model) useKey() tea.Cmd {
	s := &m.sign
	row, ok := s.devices.chosen()
	if s.phase != phasePick || m.busy.what != "" || !ok {
		return nil
	}
	s.with, s.phase, s.results = row, phaseOpening, nil
	m.notice = ""
	tick := m.setBusy("opening " + row.dev.String())
	open, ctx, uri, auth := m.opt.Open, m.ctx, row.key.URI, m.auth()
	return tea.Batch(tick, m.work(func() tea.Msg {
		signer, err := open(ctx, uri, auth)
		return openedMsg{signer: signer, err: err}
	}))
}

func (m *Model) opened(msg openedMsg) {
	m.busy = busy{}
	s := &m.sign
	if msg.err != nil {
		s.phase = phasePick
		m.fail(msg.err)
		return
	}
	if m.quitting {
		msg.signer.Close()
		return
	}
	s.signer, s.phase, s.confirm = msg.signer, phaseConfirm, ""
}

// confirmKey types into the "yes" field.
func (m *Model) confirmKey(k tea.KeyMsg) tea.Cmd {
	s := &m.sign
	switch {
	case key.Matches(k, m.keys.Cancel):
		s.end()
		m.notice = "Not signed: you left the confirmation."
	case key.Matches(k, m.keys.Erase):
		if s.confirm != "" {
			s.confirm = s.confirm[:len(s.confirm)-1]
		}
	case key.Matches(k, m.keys.Confirm):
		return m.confirmed()
	case k.Type == tea.KeyRunes, k.Type == tea.KeySpace:
		if len(s.confirm) < 16 {
			s.confirm += string(k.Runes)
		}
	}
	return nil
}

// confirmed signs if "yes" was typed, and leaves the device otherwise.
func (m *Model) confirmed() tea.Cmd {
	s := &m.sign
	typed := strings.TrimSpace(s.confirm)
	if typed != "yes" {
		s.end()
		m.notice = fmt.Sprintf("Not confirmed (typed %q, not \"yes\"): nothing was signed.", typed)
		return nil
	}
	s.phase = phaseSigning
	if m.opt.Request != nil {
		return m.signRequest()
	}
	tick := m.setBusy("signing with " + s.with.dev.String())
	eng, signer := m.opt.Engine, s.signer
	dev := signer.Key().Device
	return tea.Batch(tick, m.work(func() tea.Msg {
		res, err := eng.Sign(signer, &dev)
		return signedMsg{res: res, err: err, snap: takeSnapshot(eng)}
	}))
}

func (m *Model) signed(msg signedMsg) {
	m.busy = busy{}
	m.sign.end()
	if msg.snap != nil {
		m.setSnap(msg.snap)
	}
	m.sign.results = nil
	for _, r := range msg.res {
		who := r.KeyID
		if k := m.snap.Keys[r.KeyID]; k != nil {
			who = k.Participant
		}
		m.sign.results = append(m.sign.results, fmt.Sprintf("signed %s as %s with key %s, verified", r.Role, who, shortID(r.KeyID)))
	}
	if msg.err != nil {
		m.fail(msg.err)
		return
	}
	if m.snap.Done {
		m.notice = "Every threshold holds: press p to publish."
	}
}

// signBody draws the Sign screen: where the signing stands, then the
// device panel, with the cursor's line to keep in view.
func (m *Model) signBody(w int) body {
	s := &m.sign
	var lines []string
	switch s.phase {
	case phaseOpening:
		lines = append(lines, "Opening "+s.with.dev.String()+"; it may ask for its PIN.")
	case phaseConfirm:
		k := m.snap.Keys[s.with.keyID]
		who, what := "this key", "nothing the plan expects"
		if k != nil {
			who, what = k.Participant, strings.Join(k.toSign(), ", ")
		}
		lines = append(lines, wrap(fmt.Sprintf("%s signs %s with key %s on %s.", who, what, shortID(s.with.keyID), s.with.dev), w)...)
		lines = append(lines, "Type yes and press enter to sign: "+m.sty.field.Render(s.confirm+"_"))
	case phaseSigning:
		lines = append(lines, "Signing; each signature is verified as it is made…")
	}
	if m.prompt != "" {
		lines = append(lines, m.sty.current.Render("▸ "+m.prompt))
	}
	if s.phase == phasePick {
		if len(s.results) == 0 {
			lines = append(lines, "Choose your key with ↑/↓ and press enter; plug in your device if it is not listed.")
		}
		for _, r := range s.results {
			lines = append(lines, m.sty.good.Render("✓ ")+r)
		}
	}
	lines = append(lines, "", fmt.Sprintf("Devices, refreshed every %s:", m.opt.DeviceEvery))
	b := body{sticky: len(lines), focus: -1}
	p := &s.devices
	if !p.loaded {
		lines = append(lines, "  looking for tokens and cards…")
	} else if len(p.rows) == 0 {
		lines = append(lines, "  none found: plug in your token or card.")
	}
	for i, r := range p.rows {
		mark := "  "
		if i == p.cursor && r.key != nil {
			mark = m.sty.current.Render("▸ ")
			b.focus = len(lines)
		}
		if r.key == nil {
			line := "  " + r.dev.String() + " · no keys"
			if r.note != "" {
				line += " (" + r.note + ")"
			}
			lines = append(lines, m.sty.dim.Render(line))
			continue
		}
		lines = append(lines, fmt.Sprintf("%s%s · %s %s", mark, r.dev, r.key.Label, r.key.Type))
		lines = append(lines, m.keyLine(r))
	}
	for _, p := range p.problems {
		lines = append(lines, m.sty.dim.Render("  ("+p+")"))
	}
	b.lines = lines
	return b
}

// keyLine says whose key a row holds and what it may sign.
func (m *Model) keyLine(r devRow) string {
	k := m.snap.Keys[r.keyID]
	switch {
	case r.keyID == "":
		return "    not a key TUF can use"
	case k == nil && m.opt.Request != nil:
		return m.sty.dim.Render(fmt.Sprintf("    key %s: may not sign this request", shortID(r.keyID)))
	case k == nil:
		return m.sty.dim.Render(fmt.Sprintf("    key %s: not a participant's key in this plan", shortID(r.keyID)))
	case len(k.MaySign) == 0:
		return fmt.Sprintf("    %s's key %s: signs none of the roles staged here", k.Participant, shortID(r.keyID))
	}
	var rs []string
	for _, role := range k.MaySign {
		if slices.Contains(k.Signed, role) {
			role += " ✓signed"
		}
		rs = append(rs, role)
	}
	return fmt.Sprintf("    %s's key %s may sign: %s", k.Participant, shortID(r.keyID), strings.Join(rs, ", "))
}
