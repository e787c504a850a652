package tui

import (
	"fmt"
	"github.com/ceremony-tuf/ceremony/roles"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// styles only add emphasis: every state is also said with a mark or a
// word, so a monochrome terminal or NO_COLOR loses nothing.
type styles struct {
	title, current, done, todo, good, bad, dim, key, field lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	return styles{
		title:   r.NewStyle().Bold(true).Reverse(true),
		current: r.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		done:    r.NewStyle().Foreground(lipgloss.Color("10")),
		todo:    r.NewStyle().Faint(true),
		good:    r.NewStyle().Foreground(lipgloss.Color("10")),
		bad:     r.NewStyle().Bold(true).Foreground(lipgloss.Color("9")),
		dim:     r.NewStyle().Faint(true),
		key:     r.NewStyle().Bold(true),
		field:   r.NewStyle().Underline(true),
	}
}

// fixed is the number of lines around the body: header, rail, status,
// two rules, three transcript lines and the help bar.
const fixed = 9

func (m *Model) bodyHeight() int { return max(3, m.h-fixed) }

// width is the frame's width: the terminal's, or at least 20 columns.
func (m *Model) width() int { return max(m.w, 20) }

// tooSmall: the terminal cannot show a step without hiding what matters.
func (m *Model) tooSmall() bool { return m.w < 60 || m.h < 16 }

// View implements tea.Model: the whole frame, at most m.w columns by m.h
// lines. It only reads the model.
func (m *Model) View() string {
	w := m.width()
	var out []string
	add := func(s string) { out = append(out, ansi.Truncate(s, w, "…")) }
	if m.snap == nil {
		add("ceremony: reading the transcript…")
		return strings.Join(out, "\n")
	}
	if m.tooSmall() {
		for _, l := range wrap(fmt.Sprintf("The terminal is %d×%d: make it at least 80×24, or quit (q) and use 'ceremony tui --plain'.", m.w, m.h), w) {
			add(l)
		}
		return strings.Join(out[:min(len(out), max(1, m.h))], "\n")
	}
	add(m.header(w))
	add(m.rail())
	add(m.status())
	add(rule(m.title(), w))
	p := m.pane()
	for _, l := range p.fixed {
		add(l)
	}
	for i := 0; i < p.height; i++ {
		j := m.scroll + i
		switch {
		case i == p.height-1 && j < len(p.lines)-1:
			add(m.sty.dim.Render(fmt.Sprintf("  ↓ %d more lines (PgDn)", len(p.lines)-j)))
		case j < len(p.lines):
			add(p.lines[j])
		default:
			add("")
		}
	}
	if m.opt.Request != nil {
		add(rule("request", w))
		add("The ceremony's transcript head when the request was made:")
		add("  " + m.snap.Head)
		add("No workspace here: the signature goes back in the response file.")
	} else {
		add(rule(fmt.Sprintf("transcript, %d events", m.eventCount()), w))
	}
	ev := m.snap.Events
	if m.snap.EventsErr != "" {
		ev = nil
		add(m.sty.bad.Render("cannot read the transcript: " + m.snap.EventsErr))
	}
	for i := max(0, len(ev)-3); i < len(ev); i++ {
		e := ev[i]
		add(fmt.Sprintf("#%-3d %-17s %s", e.Seq, e.Type, e.Detail))
	}
	for len(out) < m.h-1 {
		add("")
	}
	add(m.sty.dim.Render(m.help()))
	return strings.Join(out, "\n")
}

// body is what a screen draws: its lines, the line to keep in view (-1:
// any), and how many lines at the top must not scroll away.
type body struct {
	lines  []string
	focus  int
	sticky int
}

// body draws the field or panel over the screen, or the screen.
func (m *Model) body(w int) body {
	switch m.layer() {
	case onPIN:
		return body{lines: m.pinBody(w), focus: -1}
	case onError:
		return body{lines: m.errBody(w), focus: -1}
	}
	switch m.screen {
	case screenReview:
		return body{lines: m.review.body(m.snap, m.sty, w), focus: -1, sticky: 1}
	case screenSign:
		return m.signBody(w)
	case screenBoard:
		return body{lines: m.boardBody(w), focus: -1}
	case screenPublish:
		return body{lines: m.publishBody(w), focus: -1}
	}
	return body{lines: m.closeBody(w), focus: -1}
}

// pane is the body laid out in the frame: the first lines stay in place
// (what the device flow asks now), the rest scroll in the height left.
type pane struct {
	fixed, lines []string
	focus        int // the line of lines to keep in view; -1: any
	height       int // how many of lines are shown
}

func (m *Model) pane() pane {
	b := m.body(m.width())
	bh := m.bodyHeight()
	sticky := min(b.sticky, len(b.lines), max(0, bh-3))
	if b.focus >= 0 {
		b.focus -= sticky
	}
	return pane{fixed: b.lines[:sticky], lines: b.lines[sticky:], focus: b.focus, height: bh - sticky}
}

// fitScroll keeps the scroll within the body as it is now and, when the
// device panel's cursor has moved, brings the chosen key into view;
// otherwise PgUp/PgDn scroll freely.
func (m *Model) fitScroll() {
	if m.snap == nil || m.tooSmall() {
		return
	}
	p := m.pane()
	if cur := m.sign.devices.cursor; p.focus >= 0 && cur != m.followed {
		m.followed = cur
		if p.focus < m.scroll {
			m.scroll = p.focus
		} else if p.focus+1 >= m.scroll+p.height-1 {
			// The key's line and the line below it, above the scroll hint.
			m.scroll = p.focus - p.height + 3
		}
	}
	m.scroll = max(0, min(m.scroll, len(p.lines)-p.height))
}

func (m *Model) title() string {
	switch m.layer() {
	case onPIN:
		return "PIN"
	case onError:
		return "Error"
	}
	return screenNames[m.screen]
}

// help is the help bar: the keys that work now.
func (m *Model) help() string {
	km := m.keys
	switch m.layer() {
	case onPIN:
		return helpBar("type the PIN", km.Send, km.Cancel)
	case onError:
		return helpBar("", km.Dismiss, km.Quit)
	case onConfirm:
		return helpBar("type yes", km.Confirm, km.Cancel)
	}
	var own []key.Binding
	switch m.screen {
	case screenReview:
		own = []key.Binding{km.PrevRole, km.NextRole, km.Raw, km.ScrollUp, km.ScrollDown, km.Reviewed}
	case screenSign:
		own = []key.Binding{km.KeyUp, km.KeyDown, km.UseKey}
	case screenBoard:
		own = []key.Binding{km.ScrollUp, km.ScrollDown}
	case screenPublish:
		own = []key.Binding{km.Publish}
	case screenClose:
		own = []key.Binding{km.CloseCeremony}
	}
	return helpBar("", append(own, km.everyScreen()...)...)
}

func (m *Model) eventCount() int64 {
	if n := len(m.snap.Events); n > 0 {
		return m.snap.Events[n-1].Seq
	}
	return 0
}

func rule(title string, w int) string {
	s := "── " + title + " "
	return s + strings.Repeat("─", max(0, w-ansi.StringWidth(s)))
}

func (m *Model) header(w int) string {
	left := fmt.Sprintf(" ceremony %s · reference time %s ", m.snap.Ceremony, m.snap.RefTime)
	if m.opt.Request != nil {
		r := m.snap.Roles[0]
		left = fmt.Sprintf(" ceremony %s · signing request for %s v%d ", m.snap.Ceremony, r.Name, r.Version)
	}
	right := ""
	if b := m.busy; b.what != "" {
		right = " … " + b.what + " "
		// Long work (a 100,000-project claimed role) shows its clock.
		if d := time.Since(b.since); !b.since.IsZero() && d >= 2*time.Second {
			right = fmt.Sprintf(" … %s, %ds ", b.what, int(d.Seconds()))
		}
		if p := m.progressLine(); p != "" {
			right = " … " + p + " "
		}
	}
	pad := max(1, w-ansi.StringWidth(left)-ansi.StringWidth(right))
	return m.sty.title.Render(left + strings.Repeat(" ", pad) + right)
}

var stepNames = []string{"Open", "Load", "Stage", "Review", "Sign", "Publish", "Close"}

// requestSteps are the one-signer view's steps.
var requestSteps = []string{"Request", "Review", "Sign and carry back"}

// steps says which steps are done, from the engine's state.
func (m *Model) steps() []bool {
	s := m.snap
	if m.opt.Request != nil {
		return []bool{true, m.review.done || m.sign.written != "", m.sign.written != ""}
	}
	return []bool{
		s.Ceremony != "",
		s.Ceremony != "", // loaded (or, for a bootstrap, nothing to load) when opened
		len(s.Roles) > 0,
		m.review.done || s.anySigned() || s.Publishing,
		s.Done || s.Publishing,
		s.Published,
		s.Closed,
	}
}

func (m *Model) currentStep() int {
	for i, d := range m.steps() {
		if !d {
			return i
		}
	}
	return len(stepNames)
}

func (m *Model) rail() string {
	done := m.steps()
	cur := m.currentStep()
	var parts []string
	names := stepNames
	if m.opt.Request != nil {
		names = requestSteps
	}
	for i, n := range names {
		switch {
		case done[i]:
			parts = append(parts, m.sty.done.Render("✓ "+n))
		case i == cur:
			parts = append(parts, m.sty.current.Render("▸ "+n))
		default:
			parts = append(parts, m.sty.todo.Render("· "+n))
		}
	}
	return " " + strings.Join(parts, "  ")
}

// status says what the current step asks for and why the next is
// blocked, or the latest notice.
func (m *Model) status() string {
	if m.prompt != "" {
		return " ▸ " + m.prompt
	}
	if m.notice != "" {
		return " " + m.notice
	}
	s := m.snap
	if m.opt.Request != nil {
		if m.currentStep() == 1 {
			return " Review: compare the digest with the one read out in the ceremony room."
		}
		return " Sign: choose your key, type yes, give its PIN; the response is written to carry back."
	}
	if s.Aborted != "" {
		return " Aborted: " + s.Aborted + ". Nothing is published; nothing can be added."
	}
	switch m.currentStep() {
	case 1:
		if s.Bootstrap {
			return " Load: a bootstrap, nothing to load."
		}
	case 3:
		return " Review: read each role's change and digest aloud, then press enter."
	case 4:
		return " Sign: Publish waits for " + strings.Join(s.missing(), ", ")
	case 5:
		if s.Publishing {
			return " Publish: cut short; press p, then enter, to finish it."
		}
		return " Publish: every threshold holds; press p, then enter."
	case 6:
		return " Close: record the end of the ceremony; press c, then enter."
	case 7:
		head, _ := s.witnessHead()
		if cp := s.Checkpoint; cp != nil && !cp.Signed {
			return " Closed: its checkpoint needs signatures (c: whose). Head of the close " + roles.ShortID(head) + "…"
		}
		return " Closed: nothing more can be added. Head of the close " + roles.ShortID(head) + "…"
	}
	return ""
}

func (m *Model) errBody(w int) []string {
	inner := w - 4
	var lines []string
	lines = append(lines, m.sty.bad.Render("✗ What happened:"))
	lines = append(lines, wrap(m.err.What, inner)...)
	lines = append(lines, "", m.sty.key.Render("What to do:"))
	lines = append(lines, wrap(m.err.ToDo, inner)...)
	lines = append(lines, "", "Press enter to go back; the ceremony is as the transcript says.")
	return box(lines, w)
}

// box draws lines in a frame of width w.
func box(lines []string, w int) []string {
	inner := w - 4
	out := []string{"┌" + strings.Repeat("─", w-2) + "┐"}
	for _, l := range lines {
		l = ansi.Truncate(l, inner, "…")
		out = append(out, "│ "+l+strings.Repeat(" ", max(0, inner-ansi.StringWidth(l)))+" │")
	}
	return append(out, "└"+strings.Repeat("─", w-2)+"┘")
}

// wrap breaks s into lines of at most w columns at spaces, and a word
// longer than w wherever it must.
func wrap(s string, w int) []string {
	w = max(w, 8)
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		// A long word is cut at characters, never inside one.
		for r := []rune(word); len(r) > w; r = []rune(word) {
			if line != "" {
				out = append(out, line)
				line = ""
			}
			out = append(out, string(r[:w]))
			word = string(r[w:])
		}
		switch {
		case line == "":
			line = word
		case ansi.StringWidth(line)+1+ansi.StringWidth(word) <= w:
			line += " " + word
		default:
			out = append(out, line)
			line = word
		}
	}
	if line != "" || len(out) == 0 {
		out = append(out, line)
	}
	return out
}
