package tui

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// evil is what a hostile device says of itself: an OSC that sets the
// window title and swallows what follows up to its BEL, a CSI that
// paints the background red, a C1 CSI, DEL, and a bidi override.
const evil = "\x1b]0;pwned\a\x1b[41m\u009b2J\x7f\u202e"

// controlAt returns the offset of the first byte in s a terminal could
// act on (a control other than newline, DEL, C1, a format character, a
// line or paragraph separator, invalid UTF-8), or -1. Frames here are
// drawn without colour, so the TUI's own styling adds none.
func controlAt(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return i
		}
		i += size
	}
	return -1
}

func assertDrawable(t *testing.T, what, f string) {
	t.Helper()
	if i := controlAt(f); i >= 0 {
		t.Errorf("%s: the frame holds a raw control byte at %d: %+q", what, i, f[max(0, i-40):min(len(f), i+40)])
	}
}

// TestHostileDevicesNotDrawnRaw: whatever a device says of itself (model,
// serial, label, the key's label, a note, a backend's problem, what it
// asks while it waits) and the errors that quote it reach the screen
// escaped: no frame holds a raw control byte (issue 11, 1).
func TestHostileDevicesNotDrawnRaw(t *testing.T) {
	w := newWorld(t)
	m := w.model(asciiRenderer())
	dev := func(n string) hsm.Device {
		d := w.device(n)
		d.Model, d.Label, d.Serial = "SoftHSM"+evil, n+evil, "0001"+evil
		return d
	}
	m.opt.Devices = func(context.Context) ([]hsm.DeviceKeys, []string) {
		k := w.hsmKey("alice")
		k.Device, k.Label = dev("alice"), "admin"+evil
		return []hsm.DeviceKeys{
			{Device: dev("alice"), Keys: []hsm.Key{k}},
			{Device: dev("spare"), Keys: []hsm.Key{}, Note: "keys not listed: " + evil},
		}, []string{"piv: " + evil}
	}
	m.opt.Open = func(ctx context.Context, uri string, auth hsm.Auth) (hsm.Signer, error) {
		if _, err := auth.PINs.PIN(hsm.PINRequest{Device: dev("alice"), TriesLeft: 3}); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("token %s refused: %w", dev("alice"), hsm.ErrDevice)
	}
	d := start(t, m)
	assertDrawable(t, "review", d.wait("Role 1 of 4"))
	d.typ("s")
	assertDrawable(t, "device panel", d.wait(`▸ SoftHSM\x1b]0;pwned\x07`))
	d.tm.Send(promptMsg("Touch the key " + evil))
	assertDrawable(t, "device prompt", d.wait("Touch the key"))
	d.key(tea.KeyEnter)
	d.wait("Type yes")
	d.typ("yes")
	d.key(tea.KeyEnter)
	assertDrawable(t, "PIN field", d.wait("The device asks for its PIN"))
	d.typ(testPIN)
	d.key(tea.KeyEnter)
	f := d.wait("What to do")
	assertDrawable(t, "error panel", f)
	if !strings.Contains(f, `\x1b]0;pwned\x07`) {
		t.Errorf("the error panel does not show the device's words escaped:\n%s", f)
	}
}

// TestSignRefusesFirst: a key with nothing to sign, or no participant's,
// is refused when it is chosen, before "yes" or any PIN is asked (issue
// 12, 8).
func TestSignRefusesFirst(t *testing.T) {
	w := newWorld(t)
	m := w.model(asciiRenderer())
	var opened atomic.Int32
	stranger := ed25519.NewKeyFromSeed(make([]byte, 32))
	m.opt.Devices = func(ctx context.Context) ([]hsm.DeviceKeys, []string) {
		devs, _ := w.devices(ctx)
		sd := hsm.Device{Backend: "pkcs11", URI: "fake:stranger", Model: "SoftHSM v2", Serial: "0099", Label: "stranger"}
		return append(devs, hsm.DeviceKeys{Device: sd, Keys: []hsm.Key{{URI: "fake:stranger", Label: "admin", Type: hsm.Ed25519, Public: stranger.Public(), Device: sd}}}), nil
	}
	m.opt.Open = func(ctx context.Context, uri string, auth hsm.Auth) (hsm.Signer, error) {
		opened.Add(1)
		return w.open(ctx, uri, auth)
	}
	d := start(t, m)
	d.typ("s")
	for _, c := range []struct{ who, says string }{
		{"online", "signs none of the roles staged here"},
		{"stranger", "none of the participants' keys"},
	} {
		for range 2 * len(people) {
			d.key(tea.KeyUp)
		}
		for i := 0; !strings.Contains(d.frame(), "▸ SoftHSM v2 #"+serials[c.who]+" ("+c.who+")"); i++ {
			if i > len(people)+1 {
				t.Fatalf("cannot choose %s's token:\n%s", c.who, d.frame())
			}
			d.key(tea.KeyDown)
		}
		d.key(tea.KeyEnter)
		f := d.wait("What to do")
		if !strings.Contains(strings.Join(strings.Fields(strings.ReplaceAll(f, "│", "")), " "), c.says) {
			t.Errorf("%s's key: the panel does not say %q:\n%s", c.who, c.says, f)
		}
		d.key(tea.KeyEnter)
	}
	if n := opened.Load(); n != 0 {
		t.Errorf("a device was opened %d times for keys that sign nothing", n)
	}
}

// serials are the tokens' serials as the fake devices give them.
var serials = map[string]string{"online": "0006", "stranger": "0099"}
