package tui

import (
	"context"
	"io"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Run runs the TUI on a terminal until the person at the keyboard quits.
// in and out are the terminal; the frame follows its size and its colors
// (none when NO_COLOR is set or the terminal has none).
func Run(opt Options, in io.Reader, out io.Writer) error {
	parent := opt.Context
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	opt.Context = ctx
	if opt.Renderer == nil {
		opt.Renderer = lipgloss.NewRenderer(out)
	}
	m := New(opt)
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(out))
	if opt.Engine != nil {
		opt.Engine.SetProgress(progressSender(p.Send, time.Now))
		defer opt.Engine.SetProgress(nil)
	}
	if opt.PromptOut != nil {
		opt.PromptOut(promptWriter{p.Send})
		defer opt.PromptOut(nil)
	}
	_, err := p.Run()
	// Left with ctrl+c in the middle of signing: end the PIN prompts and
	// let the engine finish the event it is writing before it is closed.
	cancel()
	done := make(chan struct{})
	go func() { m.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	return err
}

// Steps renders the step rail in plain text, for the line-by-line mode,
// which says what comes next in its own words. reviewed says whether the
// review was shown.
func Steps(opt Options, reviewed bool) string {
	opt.Renderer = lipgloss.NewRenderer(io.Discard)
	opt.Renderer.SetColorProfile(termenv.Ascii)
	m := New(opt)
	m.snap = takeSnapshot(opt.Engine)
	m.review.done = reviewed
	return m.rail()
}

// promptWriter turns what a device writes for the person at the keyboard
// into messages for the model, a line at a time.
type promptWriter struct{ send func(tea.Msg) }

func (w promptWriter) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			w.send(promptMsg(l))
		}
	}
	return len(b), nil
}
