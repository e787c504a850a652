package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// ErrPINCancelled is returned to the device when the person at the
// keyboard leaves the PIN field with esc.
var ErrPINCancelled = errors.New("PIN entry cancelled at the keyboard")

// PINPrompt is an hsm.PINSource that asks the TUI for each PIN through a
// channel: a backend's goroutine blocks in PIN while the TUI shows a
// masked field, and gets the typed bytes (which it wipes) or an error.
type PINPrompt struct {
	ctx  context.Context
	asks chan pinAsk
}

type pinAsk struct {
	req   hsm.PINRequest
	reply chan pinReply
}

type pinReply struct {
	pin []byte
	err error
}

// pinAskMsg tells the model that a device waits for a PIN.
type pinAskMsg pinAsk

// NewPINPrompt returns a PINPrompt whose requests end when ctx does.
func NewPINPrompt(ctx context.Context) *PINPrompt {
	return &PINPrompt{ctx: ctx, asks: make(chan pinAsk)}
}

// PIN implements hsm.PINSource: it blocks until the TUI answers.
func (p *PINPrompt) PIN(req hsm.PINRequest) ([]byte, error) {
	ask := pinAsk{req: req, reply: make(chan pinReply, 1)}
	select {
	case p.asks <- ask:
	case <-p.ctx.Done():
		return nil, ErrPINCancelled
	}
	select {
	case r := <-ask.reply:
		return r.pin, r.err
	case <-p.ctx.Done():
		return nil, ErrPINCancelled
	}
}

// next waits for the next PIN request.
func (p *PINPrompt) next() tea.Cmd {
	return func() tea.Msg {
		select {
		case a := <-p.asks:
			return pinAskMsg(a)
		case <-p.ctx.Done():
			return nil
		}
	}
}

// pinField is the masked PIN field, drawn over any screen while a device
// waits for its PIN.
type pinField struct {
	ask        *pinAsk // the device's request; nil while none waits
	buf        *pinBuf
	forPublish bool // the PIN asked is the online key's, for publishing
}

func (f *pinField) asked(a pinAsk) {
	f.ask = &a
	f.buf.wipe()
}

// send hands the PIN typed to the device that waits for it.
func (f *pinField) send() {
	f.ask.reply <- pinReply{pin: f.buf.take()}
	f.ask = nil
}

// cancel wipes the field and tells the device that waits, if any, that
// no PIN comes.
func (f *pinField) cancel() {
	f.buf.wipe()
	if f.ask != nil {
		f.ask.reply <- pinReply{err: ErrPINCancelled}
		f.ask = nil
	}
}

// pinKey types into the PIN field.
func (m *Model) pinKey(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Send):
		m.pin.send()
		return m.pins.next()
	case key.Matches(k, m.keys.Cancel):
		m.pin.cancel()
		return m.pins.next()
	case key.Matches(k, m.keys.Erase):
		m.pin.buf.backspace()
	case k.Type == tea.KeyRunes:
		m.pin.buf.add(k.Runes)
	}
	return nil
}

func (m *Model) pinBody(w int) []string {
	a := m.pin.ask.req
	var lines []string
	what := "to sign"
	if m.pin.forPublish {
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
	lines = append(lines, "", "  PIN: "+m.sty.field.Render(strings.Repeat("•", len(m.pin.buf.b))+"_"), "")
	if pin, ok := m.opt.DemoPINs[a.Device.Label]; ok {
		lines = append(lines, m.sty.key.Render("  Demo token "+a.Device.Label+": PIN "+pin+" (shown only in the demo)"), "")
	}
	lines = append(lines, "The PIN goes to the device only: it is not shown, logged or recorded.")
	return box(lines, w)
}

// pinBuf holds the PIN being typed. It lives behind a pointer so that
// wiping it wipes the only copy.
type pinBuf struct{ b []byte }

// add appends typed characters; past the buffer's capacity they are
// dropped, so that the buffer is never copied (and an old copy left
// unwiped) by a reallocation.
func (p *pinBuf) add(r []rune) {
	for _, c := range r {
		var enc [4]byte
		n := copy(enc[:], string(c))
		if len(p.b)+n > cap(p.b) {
			return
		}
		p.b = append(p.b, enc[:n]...)
	}
}

func (p *pinBuf) backspace() {
	if len(p.b) > 0 {
		p.b[len(p.b)-1] = 0
		p.b = p.b[:len(p.b)-1]
	}
}

// take hands the PIN over and wipes the buffer.
func (p *pinBuf) take() []byte {
	out := make([]byte, len(p.b))
	copy(out, p.b)
	p.wipe()
	return out
}

func (p *pinBuf) wipe() {
	hsm.Wipe(p.b[:cap(p.b)])
	p.b = p.b[:0]
}
