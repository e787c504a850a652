package tui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/internal/untrusted"
)

// publish has the engine publish, with the online key if it signs the
// online roles.
func (m *Model) publish() tea.Cmd {
	eng := m.opt.Engine
	uri := m.onlineURI()
	if m.snap.Publishing || !m.snap.Done {
		// Finishing a publish cut short needs no key; and no PIN is asked
		// before the engine has said whether it will publish at all.
		uri = ""
	}
	tick := m.setBusy("publishing")
	m.notice = ""
	m.pin.forPublish = uri != ""
	open, ctx, auth := m.opt.Open, m.ctx, m.auth()
	return tea.Batch(tick, m.work(func() tea.Msg {
		if uri == "" {
			res, err := eng.Publish(nil, nil)
			return publishedMsg{res: res, err: err, snap: takeSnapshot(eng)}
		}
		s, err := open(ctx, uri, auth)
		if err != nil {
			return publishedMsg{err: fmt.Errorf("online key %s: %w", untrusted.Line(uri), err)}
		}
		defer s.Close()
		dev := s.Key().Device
		res, err := eng.Publish(s, &dev)
		return publishedMsg{res: res, err: err, snap: takeSnapshot(eng)}
	}))
}

// onlineURI is the online key's: the one given to the TUI, else the plan's.
func (m *Model) onlineURI() string {
	if m.opt.OnlineURI != "" {
		return m.opt.OnlineURI
	}
	return m.snap.OnlineURI
}

func (m *Model) published(msg publishedMsg) {
	m.busy = busy{}
	m.prompt = ""
	m.pin.forPublish = false
	if msg.snap != nil {
		m.setSnap(msg.snap)
	}
	if msg.err != nil {
		m.fail(msg.err)
		return
	}
	m.notice = fmt.Sprintf("Published %d files into %s.", len(msg.res.Files), untrusted.Line(msg.res.Dir))
	m.screen = screenClose
}

func (m *Model) closeCeremony() tea.Cmd {
	tick := m.setBusy("closing the ceremony")
	eng := m.opt.Engine
	return tea.Batch(tick, m.work(func() tea.Msg {
		err := eng.End()
		return closedMsg{err: err, snap: takeSnapshot(eng)}
	}))
}

func (m *Model) closed(msg closedMsg) {
	m.busy = busy{}
	if msg.snap != nil {
		m.setSnap(msg.snap)
	}
	if msg.err != nil {
		m.fail(msg.err)
		return
	}
	m.notice = "Closed. Witnesses: write down the head; then sign the checkpoint (s)."
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
		for _, x := range s.missing() {
			lines = append(lines, "  · "+x)
		}
	}
	uri := m.onlineURI()
	lines = append(lines, "")
	if uri != "" && !s.Publishing {
		lines = append(lines, "The online key signs the online roles (snapshot, timestamp, …) first:")
		lines = append(lines, wrap(untrusted.Line(uri), w-2)...)
	} else if !s.Publishing {
		lines = append(lines, "No online key: the offline roles are published for the online service to sign.")
	}
	lines = append(lines, "Into: "+s.PublishDir, "", "Press enter to publish.")
	return lines
}

func (m *Model) closeBody(w int) []string {
	s := m.snap
	if !s.Closed && s.Aborted == "" {
		// Closing appends an event, so the head now is not the one the
		// witnesses must write down: that one is shown once it exists.
		return append([]string{"Press enter to close the ceremony: nothing can be added afterwards.", ""},
			wrap("The transcript's final head, for the witnesses to write down, is shown here once it is closed.", w-2)...)
	}
	head, words := s.witnessHead()
	lines := []string{"Transcript head, sha256:", "  " + head, "In words, for the witnesses to write down:"}
	if cp := s.Checkpoint; cp != nil {
		lines[0] = fmt.Sprintf("Head of the close (event %d), which the checkpoint signs, sha256:", cp.Seq)
	}
	for _, l := range wrap(words, w-2) {
		lines = append(lines, "  "+l)
	}
	if head != s.Head {
		lines = append(lines, wrap("The transcript's last head, after the checkpoint's signatures (not the witnesses'): "+s.Head, w-2)...)
	}
	lines = append(lines, "")
	switch {
	case s.Aborted != "":
		lines = append(lines, wrap("✗ Aborted: "+s.Aborted, w-2)...)
		lines = append(lines, "Nothing is published, and nothing can be added to this ceremony.")
	default:
		lines = append(lines, m.sty.good.Render("✓ Closed:")+" only the checkpoint's signatures can be added.")
		lines = append(lines, m.checkpointBody(w)...)
	}
	return lines
}
