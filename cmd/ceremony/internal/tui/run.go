package tui

import (
	"context"
	"io"
	"strings"

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
	p := tea.NewProgram(New(opt), tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(out))
	if opt.PromptOut != nil {
		opt.PromptOut(promptWriter{p.Send})
		defer opt.PromptOut(nil)
	}
	_, err := p.Run()
	return err
}

// Steps renders the step rail and what the current step asks for, in
// plain text, for the line-by-line mode. reviewed says whether the
// review was shown.
func Steps(opt Options, reviewed bool) string {
	opt.Renderer = lipgloss.NewRenderer(io.Discard)
	opt.Renderer.SetColorProfile(termenv.Ascii)
	m := New(opt)
	m.snap = takeSnapshot(opt.Engine)
	m.reviewed = reviewed
	return m.rail() + "\n" + m.status()
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
