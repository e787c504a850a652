package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
)

// signScreen is the Sign screen: the device panel, and one signing at a
// time, in the order every face keeps: the chosen key is checked by its
// public half (a key with nothing to sign is refused before anything is
// asked), "yes" is typed under the digests of what it signs, then its
// device is opened, which asks for the PIN, and the engine signs.
type signScreen struct {
	devices devicePanel
	phase   signPhase
	signer  hsm.Signer // the open device, from phaseSigning until signed or left
	with    devRow     // the key signed with
	toSign  []string   // the roles the key signs, as the check found them
	confirm string     // what is typed in the "yes" field
	results []string   // what the last signing did
	written string     // the one-signer view: where the response was written
}

type signPhase int

const (
	phasePick     signPhase = iota
	phaseChecking           // the engine checks what the key may sign
	phaseConfirm            // "yes" is asked
	phaseOpening            // the device is opened: it asks for its PIN
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
	s.toSign = nil
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
// with no key. name, label and note are what the device says of itself,
// escaped to draw.
type devRow struct {
	dev   hsm.Device
	key   *hsm.Key
	keyID string
	name  string
	label string
	note  string
}

// set rebuilds the panel from a fresh listing. The cursor stays on the
// key it was on while that key is plugged in; a new choice is suggested
// only when it is gone (or nothing was chosen yet).
func (p *devicePanel) set(devs []hsm.DeviceKeys, probs []string, s *snapshot) {
	var rows []devRow
	for _, d := range devs {
		name := untrusted.Line(d.Device.String())
		if len(d.Keys) == 0 {
			rows = append(rows, devRow{dev: d.Device, name: name, note: untrusted.Text(d.Note)})
			continue
		}
		for i := range d.Keys {
			k := d.Keys[i]
			row := devRow{dev: d.Device, key: &k, name: name, label: untrusted.Line(k.Label)}
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
	p.rows, p.problems = rows, safeLines(probs)
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

// useKey checks the chosen key before anything is asked: in the room,
// the engine says what it may sign (ceremony.State.ToSign), or why
// nothing; for a request, whether the request lists it.
func (m *Model) useKey() tea.Cmd {
	s := &m.sign
	row, ok := s.devices.chosen()
	if s.phase != phasePick || m.busy.what != "" || !ok {
		return nil
	}
	s.with, s.results = row, nil
	m.notice = ""
	if row.keyID == "" {
		m.fail(fmt.Errorf("%s holds a key TUF cannot use: %w", row.dev, hsm.ErrUnsupported))
		return nil
	}
	if req := m.opt.Request; req != nil {
		if req.Signer(row.keyID) == nil {
			m.fail(fmt.Errorf("%w: key %s is none of the keys that may sign %s v%d: choose the key the request names for you", ceremony.ErrUntrustedKey, roles.ShortID(row.keyID), m.snap.Roles[0].Name, req.Version))
			return nil
		}
		s.phase, s.toSign, s.confirm = phaseConfirm, []string{m.snap.Roles[0].Name}, ""
		return nil
	}
	s.phase = phaseChecking
	tick := m.setBusy("checking the key")
	eng, id := m.opt.Engine, row.keyID
	return tea.Batch(tick, m.work(func() tea.Msg {
		rs, err := toSignNow(eng, id)
		msg := checkedMsg{err: err}
		for _, r := range rs {
			msg.toSign = append(msg.toSign, untrusted.Line(r))
		}
		return msg
	}))
}

// checked takes the engine's word on what the chosen key may sign: on to
// "yes", or the refusal.
func (m *Model) checked(msg checkedMsg) {
	m.busy = busy{}
	s := &m.sign
	if msg.err != nil {
		s.end()
		m.fail(msg.err)
		return
	}
	s.phase, s.toSign, s.confirm = phaseConfirm, msg.toSign, ""
}

// open opens the key's device once "yes" is typed: it asks for its PIN.
func (m *Model) open() tea.Cmd {
	s := &m.sign
	s.phase = phaseOpening
	tick := m.setBusy("opening " + s.with.name)
	open, ctx, uri, auth := m.opt.Open, m.ctx, s.with.key.URI, m.auth()
	return tea.Batch(tick, m.work(func() tea.Msg {
		signer, err := open(ctx, uri, auth)
		return openedMsg{signer: signer, err: err}
	}))
}

// opened signs with the device just opened, if it holds the key that was
// checked and confirmed.
func (m *Model) opened(msg openedMsg) tea.Cmd {
	m.busy = busy{}
	s := &m.sign
	if msg.err != nil {
		s.end()
		m.fail(msg.err)
		return nil
	}
	if m.quitting {
		msg.signer.Close()
		return nil
	}
	s.signer = msg.signer
	if k, err := roles.KeyFromPublic(msg.signer.Public()); err != nil || k.ID() != s.with.keyID {
		s.end()
		m.fail(fmt.Errorf("the device now holds another key than the one confirmed (was it changed?): nothing was signed: %w", hsm.ErrNotFound))
		return nil
	}
	s.phase = phaseSigning
	if m.opt.Request != nil {
		return m.signRequest()
	}
	tick := m.setBusy("signing with " + s.with.name)
	eng, signer, id := m.opt.Engine, s.signer, s.with.keyID
	dev := signer.Key().Device
	return tea.Batch(tick, m.work(func() tea.Msg {
		res, err := signNow(eng, signer, &dev, id)
		return signedMsg{res: res, err: err, snap: takeSnapshot(eng)}
	}))
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

// confirmed opens the device if "yes" was typed, and goes back to
// choosing a key otherwise.
func (m *Model) confirmed() tea.Cmd {
	s := &m.sign
	typed := strings.TrimSpace(s.confirm)
	if typed != "yes" {
		s.end()
		m.notice = `Not confirmed (the answer was not "yes"): nothing was signed.` // never the answer: it may be a PIN typed by mistake
		return nil
	}
	return m.open()
}

func (m *Model) signed(msg signedMsg) {
	m.busy = busy{}
	m.sign.end()
	if msg.snap != nil {
		m.setSnap(msg.snap)
	}
	m.sign.results = nil
	for _, r := range msg.res {
		who := roles.ShortID(r.KeyID)
		if k := m.snap.Keys[r.KeyID]; k != nil {
			who = k.Participant
		}
		m.sign.results = append(m.sign.results, fmt.Sprintf("signed %s as %s with key %s, verified", untrusted.Line(r.Role), who, roles.ShortID(r.KeyID)))
	}
	if msg.err != nil {
		m.fail(msg.err)
		return
	}
	switch {
	case m.snap.Checkpoint != nil && m.snap.Checkpoint.Signed:
		m.notice = "The checkpoint is signed: the ceremony is done."
	case m.snap.Checkpoint != nil:
		m.notice = "Signed the checkpoint; the Close screen (c) shows who is still needed."
	case m.snap.Done:
		m.notice = "Every threshold holds: press p to publish."
	}
}

// signBody draws the Sign screen: where the signing stands, then the
// device panel, with the cursor's line to keep in view.
func (m *Model) signBody(w int) body {
	s := &m.sign
	var lines []string
	switch s.phase {
	case phaseChecking:
		lines = append(lines, "Checking what key "+roles.ShortID(s.with.keyID)+" may sign…")
	case phaseConfirm:
		who := "this key"
		if k := m.snap.Keys[s.with.keyID]; k != nil {
			who = k.Participant
		}
		compare := "Compare each digest with the one read out:"
		if slices.Contains(s.toSign, checkpointRole) {
			compare = "Compare the head with the one the witnesses wrote down:"
		}
		lines = append(lines, wrap(fmt.Sprintf("%s signs %s with key %s on %s. %s", who, strings.Join(s.toSign, ", "), roles.ShortID(s.with.keyID), s.with.name, compare), w)...)
		for _, name := range s.toSign {
			if name == checkpointRole {
				lines = append(lines, m.checkpointReview(w)...)
			}
			if i := slices.IndexFunc(m.snap.Roles, func(r roleView) bool { return r.Name == name }); i >= 0 {
				r := m.snap.Roles[i]
				lines = append(lines, fmt.Sprintf("  %s v%d, sha256:", r.Name, r.Version), "    "+r.Digest)
			}
		}
		lines = append(lines, "Type yes and press enter to sign; the device then asks for its PIN: "+m.sty.field.Render(s.confirm+"_"))
	case phaseOpening:
		lines = append(lines, "Opening "+s.with.name+"; it asks for its PIN.")
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
			line := "  " + r.name + " · no keys"
			if r.note != "" {
				line += " (" + r.note + ")"
			}
			lines = append(lines, m.sty.dim.Render(line))
			continue
		}
		lines = append(lines, fmt.Sprintf("%s%s · %s %s", mark, r.name, r.label, untrusted.Line(string(r.key.Type))))
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
		return m.sty.dim.Render(fmt.Sprintf("    key %s: may not sign this request", roles.ShortID(r.keyID)))
	case k == nil:
		return m.sty.dim.Render(fmt.Sprintf("    key %s: not a participant's key in this plan", roles.ShortID(r.keyID)))
	case len(k.MaySign) == 0:
		return fmt.Sprintf("    %s's key %s: signs none of the roles staged here", k.Participant, roles.ShortID(r.keyID))
	}
	var rs []string
	for _, role := range k.MaySign {
		if slices.Contains(k.Signed, role) {
			role += " ✓signed"
		}
		rs = append(rs, role)
	}
	return fmt.Sprintf("    %s's key %s may sign: %s", k.Participant, roles.ShortID(r.keyID), strings.Join(rs, ", "))
}
