package tui

import (
	"context"
	"errors"

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
