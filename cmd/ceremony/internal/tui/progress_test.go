package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// TestProgressInHeader: while the TUI is busy, the header shows how far
// the engine's step has gone, with its rate and an estimate; the engine's
// reports reach the model at most every progressEvery, the first and the
// last of a step always; and nothing is shown once the work is done.
func TestProgressInHeader(t *testing.T) {
	c := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	var sent []tea.Msg
	report := progressSender(func(m tea.Msg) { sent = append(sent, m) }, func() time.Time { return c })
	report("verifying", 0, 100)
	c = c.Add(10 * time.Millisecond)
	report("verifying", 1, 100) // too soon after the last
	c = c.Add(time.Second)
	report("verifying", 50, 100)
	report("verifying", 100, 100) // the last, however soon
	if len(sent) != 3 {
		t.Fatalf("sent %d messages, want 3: %v", len(sent), sent)
	}

	w := newWorld(t)
	m := w.model(asciiRenderer())
	m.snap = takeSnapshot(w.eng)
	m.setBusy("publishing")
	m.Update(sent[1])
	head := m.header(120)
	if !strings.Contains(head, "verifying: 50 of 100 (50%), 50/s, about 1s left") {
		t.Errorf("header while busy: %q", head)
	}
	m.busy = busy{}
	m.Update(sent[2]) // a report after the work ended
	if head := m.header(120); strings.Contains(head, "verifying") {
		t.Errorf("header after the work: %q", head)
	}
}
