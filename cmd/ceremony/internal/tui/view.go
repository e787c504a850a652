package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

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

// View implements tea.Model: the whole frame, at most m.w columns by m.h
// lines.
func (m *Model) View() string {
	w := max(m.w, 20)
	var out []string
	add := func(s string) { out = append(out, ansi.Truncate(s, w, "…")) }
	if m.snap == nil {
		add("ceremony: reading the transcript…")
		return strings.Join(out, "\n")
	}
	if m.w < 60 || m.h < 16 {
		// Too small to show a step without hiding what matters.
		for _, l := range wrap(fmt.Sprintf("The terminal is %d×%d: make it at least 80×24, or quit (q) and use 'ceremony tui --plain'.", m.w, m.h), w) {
			add(l)
		}
		return strings.Join(out[:min(len(out), max(1, m.h))], "\n")
	}
	add(m.header(w))
	add(m.rail())
	add(m.status())
	title := screenNames[m.screen]
	switch {
	case m.pinAsk != nil:
		title = "PIN"
	case m.err != nil:
		title = "Error"
	}
	add(rule(title, w))
	body, focus, sticky := m.body(w)
	bh := m.bodyHeight()
	// The first sticky lines stay in place (what the device flow asks
	// now); the rest scrolls.
	sticky = min(sticky, len(body), max(0, bh-3))
	for _, l := range body[:sticky] {
		add(l)
	}
	body, bh = body[sticky:], bh-sticky
	if focus >= 0 {
		focus -= sticky
	}
	if focus >= 0 && m.cursor != m.shownCursor {
		// Keep the key just chosen in view; PgUp/PgDn scroll freely.
		m.shownCursor = m.cursor
		if focus < m.scroll {
			m.scroll = focus
		} else if focus+1 >= m.scroll+bh-1 {
			// The key's line and the line below it, above the scroll hint.
			m.scroll = focus - bh + 3
		}
	}
	m.scroll = max(0, min(m.scroll, len(body)-bh))
	for i := 0; i < bh; i++ {
		j := m.scroll + i
		switch {
		case i == bh-1 && j < len(body)-1:
			add(m.sty.dim.Render(fmt.Sprintf("  ↓ %d more lines (PgDn)", len(body)-j)))
		case j < len(body):
			add(body[j])
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
	if m.busy != "" {
		right = " … " + m.busy + " "
		// Long work (a 100,000-project claimed role) shows its clock.
		if d := time.Since(m.busySince); !m.busySince.IsZero() && d >= 2*time.Second {
			right = fmt.Sprintf(" … %s, %ds ", m.busy, int(d.Seconds()))
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
		return []bool{true, m.reviewed || m.written != "", m.written != ""}
	}
	return []bool{
		s.Ceremony != "",
		s.Ceremony != "", // loaded (or, for a bootstrap, nothing to load) when opened
		len(s.Roles) > 0,
		m.reviewed || m.anySigned() || s.Publishing,
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
		return " Sign: choose your key, give its PIN, type yes; the response is written to carry back."
	}
	switch m.currentStep() {
	case 1:
		if s.Bootstrap {
			return " Load: a bootstrap, nothing to load."
		}
	case 3:
		return " Review: read each role's change and digest aloud, then press enter."
	case 4:
		return " Sign: Publish waits for " + strings.Join(m.missing(), ", ")
	case 5:
		if s.Publishing {
			return " Publish: cut short; press p, then enter, to finish it."
		}
		return " Publish: every threshold holds; press p, then enter."
	case 6:
		return " Close: record the end of the ceremony; press c, then enter."
	case 7:
		return " Closed: nothing more can be added. Head " + shortID(s.Head) + "…"
	}
	return ""
}

// missing lists the thresholds not reached yet, as "claimed 0/2".
func (m *Model) missing() []string {
	var out []string
	for _, p := range m.snap.Progress {
		if p.Reached || m.online(p.Role) {
			continue
		}
		name := p.Role
		if p.Under != p.Role && p.Under != "" {
			name += " under " + p.Under
		}
		out = append(out, fmt.Sprintf("%s %d/%d", name, len(p.Signed), p.Threshold))
	}
	if len(out) == 0 {
		out = []string{"nothing"}
	}
	return out
}

func (m *Model) online(role string) bool {
	for _, r := range m.snap.Roles {
		if r.Name == role {
			return r.Online
		}
	}
	return false
}

func (m *Model) help() string {
	screens := "r s t p c/tab screens · q quit"
	if m.opt.Request != nil {
		screens = "r s/tab screens · q quit"
	}
	switch {
	case m.pinAsk != nil:
		return " type the PIN · enter send · esc cancel"
	case m.err != nil:
		return " enter dismiss · q quit"
	case m.screen == screenSign && m.phase == phaseConfirm:
		return " type yes · enter sign · esc cancel"
	}
	switch m.screen {
	case screenReview:
		return " ←/→ role · x JSON · ↑/↓ scroll · enter done · " + screens
	case screenSign:
		return " ↑/↓ choose key · enter use it · " + screens
	case screenBoard:
		return " ↑/↓ scroll · " + screens
	case screenPublish:
		return " enter publish · " + screens
	}
	return " enter close the ceremony · " + screens
}

// body returns the screen's lines and the line to keep in view (-1: any).
// body returns the screen's lines, the line to keep in view (-1: any),
// and how many lines at the top must not scroll away.
func (m *Model) body(w int) ([]string, int, int) {
	switch {
	case m.pinAsk != nil:
		return m.pinBody(w), -1, 0
	case m.err != nil:
		return m.errBody(w), -1, 0
	}
	switch m.screen {
	case screenReview:
		return m.reviewBody(w), -1, 1
	case screenSign:
		return m.signBody(w)
	case screenBoard:
		return m.boardBody(w), -1, 0
	case screenPublish:
		return m.publishBody(w), -1, 0
	}
	return m.closeBody(w), -1, 0
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

func (m *Model) pinBody(w int) []string {
	a := m.pinAsk.req
	var lines []string
	what := "to sign"
	if m.onlineOp {
		what = "for the online key, to publish"
	}
	lines = append(lines, fmt.Sprintf("The device asks for its PIN %s:", what), "  "+a.Device.String())
	switch {
	case a.TriesLeft < 0:
		lines = append(lines, "  (the device does not say how many tries are left)")
	case a.TriesLeft == 1:
		lines = append(lines, m.sty.bad.Render("  1 try left: a wrong PIN now locks the device"))
	default:
		lines = append(lines, fmt.Sprintf("  %d tries left", a.TriesLeft))
	}
	if a.Retry {
		lines = append(lines, m.sty.bad.Render("  ✗ Wrong PIN: try again."))
	}
	lines = append(lines, "", "  PIN: "+m.sty.field.Render(strings.Repeat("•", len(m.pin.b))+"_"), "")
	if pin, ok := m.opt.DemoPINs[a.Device.Label]; ok {
		lines = append(lines, m.sty.key.Render("  Demo token "+a.Device.Label+": PIN "+pin+" (shown only in the demo)"), "")
	}
	lines = append(lines, "The PIN goes to the device only: it is not shown, logged or recorded.")
	return box(lines, w)
}

func (m *Model) reviewBody(w int) []string {
	s := m.snap
	if len(s.Roles) == 0 {
		return []string{"Nothing is staged in this ceremony."}
	}
	r := s.Roles[m.roleIdx]
	kind := ""
	switch {
	case r.Online:
		kind = " (online role, signed with the online key at publish)"
	case r.Included:
		kind = " (signed elsewhere, published as it is)"
	}
	head := fmt.Sprintf("Role %d of %d: %s v%d%s", m.roleIdx+1, len(s.Roles), r.Name, r.Version, kind)
	lines := []string{m.sty.key.Render(head)}
	if m.raw {
		lines = append(lines, fmt.Sprintf("Canonical JSON, %d bytes: what each signature covers.", len(r.Canonical)))
		for c := r.Canonical; len(c) > 0; {
			n := min(len(c), w)
			lines = append(lines, c[:n])
			c = c[n:]
		}
		return lines
	}
	lines = append(lines, "What changes:")
	for _, l := range r.Summary {
		for i, x := range wrap(l, w-4) {
			if i == 0 {
				lines = append(lines, "  • "+x)
			} else {
				lines = append(lines, "    "+x)
			}
		}
	}
	if len(r.Checks) > 0 {
		lines = append(lines, "Policy checks:")
	}
	for _, c := range r.Checks {
		if c.Passed {
			// The message says what was checked ("root: threshold 2 of 3
			// distinct keys"): one role's checks of one kind differ by it.
			lines = append(lines, m.sty.good.Render("  ✓ pass ")+c.Check+m.sty.dim.Render(" · "+c.Message))
		} else {
			lines = append(lines, m.sty.bad.Render(fmt.Sprintf("  ✗ %s ", c.Severity))+c.Check+": "+c.Message)
		}
	}
	lines = append(lines, "Signed bytes, sha256:", "  "+r.Digest, "In words, to read aloud:")
	for _, l := range wrap(r.Words, w-2) {
		lines = append(lines, "  "+l)
	}
	return lines
}

func (m *Model) signBody(w int) ([]string, int, int) {
	var lines []string
	switch m.phase {
	case phaseOpening:
		lines = append(lines, "Opening "+m.signFor.dev.String()+"; it may ask for its PIN.")
	case phaseConfirm:
		k := m.snap.Keys[m.signFor.keyID]
		who, what := "this key", "nothing the plan expects"
		if k != nil {
			who, what = k.Participant, strings.Join(k.toSign(), ", ")
		}
		lines = append(lines, wrap(fmt.Sprintf("%s signs %s with key %s on %s.", who, what, shortID(m.signFor.keyID), m.signFor.dev), w)...)
		lines = append(lines, "Type yes and press enter to sign: "+m.sty.field.Render(m.confirm+"_"))
	case phaseSigning:
		lines = append(lines, "Signing; each signature is verified as it is made…")
	}
	if m.prompt != "" {
		lines = append(lines, m.sty.current.Render("▸ "+m.prompt))
	}
	switch m.phase {
	case phaseOpening, phaseConfirm, phaseSigning:
	default:
		if len(m.results) == 0 {
			lines = append(lines, "Choose your key with ↑/↓ and press enter; plug in your device if it is not listed.")
		}
		for _, r := range m.results {
			lines = append(lines, m.sty.good.Render("✓ ")+r)
		}
	}
	lines = append(lines, "", fmt.Sprintf("Devices, refreshed every %s:", m.opt.DeviceEvery))
	sticky := len(lines)
	focus := -1
	if !m.devLoaded {
		lines = append(lines, "  looking for tokens and cards…")
	} else if len(m.devs) == 0 {
		lines = append(lines, "  none found: plug in your token or card.")
	}
	for i, r := range m.devs {
		mark := "  "
		if i == m.cursor && r.key != nil {
			mark = m.sty.current.Render("▸ ")
			focus = len(lines)
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
		k := m.snap.Keys[r.keyID]
		switch {
		case r.keyID == "":
			lines = append(lines, "    not a key TUF can use")
		case k == nil && m.opt.Request != nil:
			lines = append(lines, m.sty.dim.Render(fmt.Sprintf("    key %s: may not sign this request", shortID(r.keyID))))
		case k == nil:
			lines = append(lines, m.sty.dim.Render(fmt.Sprintf("    key %s: not a participant's key in this plan", shortID(r.keyID))))
		case len(k.MaySign) == 0:
			lines = append(lines, fmt.Sprintf("    %s's key %s: signs none of the roles staged here", k.Participant, shortID(r.keyID)))
		default:
			var rs []string
			for _, r := range k.MaySign {
				if slices.Contains(k.Signed, r) {
					r += " ✓signed"
				}
				rs = append(rs, r)
			}
			lines = append(lines, fmt.Sprintf("    %s's key %s may sign: %s", k.Participant, shortID(r.keyID), strings.Join(rs, ", ")))
		}
	}
	for _, p := range m.devProbs {
		lines = append(lines, m.sty.dim.Render("  ("+p+")"))
	}
	return lines, focus, sticky
}

func (m *Model) boardBody(w int) []string {
	var lines []string
	groups := map[string][]int{}
	var order []string
	online := 0
	for i, p := range m.snap.Progress {
		if m.online(p.Role) {
			online++
			continue
		}
		if _, ok := groups[p.Role]; !ok {
			order = append(order, p.Role)
		}
		groups[p.Role] = append(groups[p.Role], i)
	}
	version := map[string]int64{}
	for _, r := range m.snap.Roles {
		version[r.Name] = r.Version
	}
	for _, role := range order {
		var cols [][]string
		for _, i := range groups[role] {
			c := m.delegationColumn(i)
			if len(groups[role]) == 2 && m.snap.Progress[i].Under == role {
				c[0] = strings.Replace(c[0], "under "+role, "under "+role+" (new)", 1)
			}
			cols = append(cols, c)
		}
		lines = append(lines, m.sty.key.Render(fmt.Sprintf("%s v%d", role, version[role])))
		if len(cols) == 2 {
			cw := (w - 5) / 2
			for j := 0; j < max(len(cols[0]), len(cols[1])); j++ {
				a, b := cell(cols[0], j), cell(cols[1], j)
				a = ansi.Truncate(a, cw, "…")
				lines = append(lines, "  "+a+strings.Repeat(" ", max(0, cw-ansi.StringWidth(a)))+" │ "+b)
			}
			continue
		}
		for _, c := range cols {
			// One delegation: its signers on one line.
			lines = append(lines, "  "+c[0])
			for _, l := range wrap(strings.Join(c[1:], ", "), w-4) {
				lines = append(lines, "    "+l)
			}
		}
	}
	if online > 0 {
		lines = append(lines, fmt.Sprintf("%d thresholds of online roles, signed with the online key at publish.", online))
	}
	if len(lines) == 0 {
		lines = append(lines, "No thresholds: nothing is staged.")
	}
	return lines
}

func cell(c []string, j int) string {
	if j < len(c) {
		return c[j]
	}
	return ""
}

// delegationColumn shows one delegation: its threshold and each signer.
func (m *Model) delegationColumn(i int) []string {
	p := m.snap.Progress[i]
	state := m.sty.bad.Render("missing")
	if p.Reached {
		state = m.sty.good.Render("reached")
	}
	out := []string{fmt.Sprintf("under %s: %d of %d, %s", p.Under, len(p.Signed), p.Threshold, state)}
	for _, n := range p.Signed {
		out = append(out, m.sty.good.Render("✓ ")+n+" signed")
	}
	for _, n := range p.Missing {
		if p.Reached {
			out = append(out, m.sty.dim.Render("– "+n+" not needed"))
		} else {
			out = append(out, "· "+n+" missing")
		}
	}
	return out
}

func (m *Model) publishBody(w int) []string {
	s := m.snap
	var lines []string
	switch {
	case s.Published:
		lines = append(lines, m.sty.good.Render("✓ Published")+" into "+s.PublishDir)
		return lines
	case s.Publishing:
		lines = append(lines, "Publishing was cut short: press enter to finish writing the files.")
	case s.Done:
		lines = append(lines, m.sty.good.Render("✓ Every threshold holds:")+" ready to publish.")
	default:
		lines = append(lines, "Not ready: publishing waits for")
		for _, x := range m.missing() {
			lines = append(lines, "  · "+x)
		}
	}
	uri := m.opt.OnlineURI
	if uri == "" {
		uri = s.OnlineURI
	}
	lines = append(lines, "")
	if uri != "" && !s.Publishing {
		lines = append(lines, "The online key signs the online roles (snapshot, timestamp, …) first:")
		lines = append(lines, wrap(uri, w-2)...)
	} else if !s.Publishing {
		lines = append(lines, "No online key: the offline roles are published for the online service to sign.")
	}
	lines = append(lines, "Into: "+s.PublishDir, "", "Press enter to publish.")
	return lines
}

func (m *Model) closeBody(w int) []string {
	s := m.snap
	lines := []string{"Transcript head, sha256:", "  " + s.Head, "In words, for the witnesses to write down:"}
	for _, l := range wrap(s.HeadWords, w-2) {
		lines = append(lines, "  "+l)
	}
	lines = append(lines, "")
	if s.Closed {
		lines = append(lines, m.sty.good.Render("✓ Closed:")+" nothing can be added to this ceremony.")
	} else {
		lines = append(lines, "Press enter to close the ceremony: nothing can be added afterwards.")
	}
	return lines
}

// wrap breaks s into lines of at most w columns at spaces, and a word
// longer than w wherever it must.
func wrap(s string, w int) []string {
	w = max(w, 8)
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		for len(word) > w {
			if line != "" {
				out = append(out, line)
				line = ""
			}
			out = append(out, word[:w])
			word = word[w:]
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
