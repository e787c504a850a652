package tui

import (
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/internal/progress"
)

// progressMsg is how far a step of the engine's work has gone: the header
// shows it, with the rate and an estimate, while the TUI is busy.
type progressMsg struct {
	step        string
	done, total int
	since       time.Time // when the step began
	at          time.Time // when this was reported
}

// progressEvery is how often the engine's progress reaches the model: a
// walk reports every role, and a redraw for each would cost more than
// the walk.
const progressEvery = 100 * time.Millisecond

// progressSender turns the engine's reports into messages for the
// program, at most one every progressEvery for a step (its first and
// last always), from whichever goroutine the engine reports on.
func progressSender(send func(tea.Msg), now func() time.Time) ceremony.ProgressFunc {
	var mu sync.Mutex
	var last progressMsg
	return func(step string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		t := now()
		if step != last.step {
			last = progressMsg{step: step, since: t}
		} else if done < total && t.Sub(last.at) < progressEvery {
			return
		}
		last.done, last.total, last.at = done, total, t
		send(last)
	}
}

// progressed takes a report in, while the work it belongs to runs.
func (m *Model) progressed(msg progressMsg) {
	if m.busy.what != "" {
		m.busy.step = &msg
	}
}

// progressLine says how far the running step has gone, or "" when the
// engine has not said.
func (m *Model) progressLine() string {
	p := m.busy.step
	if p == nil {
		return ""
	}
	return progress.Line(p.step, "", p.done, p.total, p.at.Sub(p.since))
}
