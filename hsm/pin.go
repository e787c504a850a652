package hsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"unsafe"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
)

// PINRequest is what a backend tells a PINSource when it needs a PIN.
type PINRequest struct {
	Device Device
	// TriesLeft is the number of tries the device has left, or -1 when the
	// device does not say.
	TriesLeft int
	// Retry is true when the previous PIN was wrong.
	Retry bool
}

// PINSource supplies PINs. The returned slice is the caller's to wipe with
// Wipe as soon as the login is done; a PINSource must not keep a copy longer
// than it needs.
type PINSource interface {
	PIN(req PINRequest) ([]byte, error)
}

// Auth is how a backend logs in: where PINs come from and the rule that
// guards the last try. The zero Auth has no PIN source; a backend that needs
// a PIN then fails with ErrNotLoggedIn.
type Auth struct {
	PINs   PINSource
	Policy PINPolicy
}

// PINPolicy is the rule every backend applies before it spends a PIN try.
type PINPolicy struct {
	// AllowLastTry lets a login spend the device's last PIN try. Without it,
	// a device with one try left is refused with ErrLastTry, so that a typo
	// cannot lock the key during a ceremony.
	AllowLastTry bool
}

// Check returns an error when a login should not be tried with triesLeft
// tries left (-1: unknown).
func (p PINPolicy) Check(dev Device, triesLeft int) error {
	switch {
	case triesLeft == 0:
		return PINError{Device: dev, Err: ErrPINLocked, TriesLeft: 0}
	case triesLeft == 1 && !p.AllowLastTry:
		return PINError{Device: dev, Err: ErrLastTry, TriesLeft: 1}
	}
	return nil
}

// PINError reports a failed or refused login with the tries left.
type PINError struct {
	Device    Device
	Err       error // ErrWrongPIN, ErrPINLocked or ErrLastTry
	TriesLeft int   // -1 when the device does not say
}

func (e PINError) Error() string {
	dev := e.Device.String()
	switch {
	case errors.Is(e.Err, ErrPINLocked):
		return fmt.Sprintf("%s: the PIN is locked (no tries left); unblock it with the PUK or SO PIN before signing", dev)
	case errors.Is(e.Err, ErrLastTry):
		return fmt.Sprintf("%s: only one PIN try is left; refusing to spend it. Make sure of the PIN and run again with --allow-last-pin-try", dev)
	case e.TriesLeft >= 0:
		return fmt.Sprintf("%s: wrong PIN, %d tries left", dev, e.TriesLeft)
	}
	return fmt.Sprintf("%s: wrong PIN", dev)
}

func (e PINError) Unwrap() error { return e.Err }

// PIN asks a.PINs for a PIN, after making the process keep no core dump
// and refuse to be dumped or traced by others (see protect). Backends ask
// for every PIN through it, whatever the source: the terminal, a file,
// the TUI's prompt.
func (a Auth) PIN(req PINRequest) ([]byte, error) {
	if err := protect(); err != nil {
		return nil, err
	}
	return a.PINs.PIN(req)
}

// Wipe overwrites a PIN in memory.
func Wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// protect disables core dumps (RLIMIT_CORE 0) and makes the process
// undumpable (prctl PR_SET_DUMPABLE 0, which also keeps other processes of
// the same user from reading its memory through ptrace or /proc), once,
// before the first PIN is read. It stays so for the rest of the process:
// the PKCS#11 module and go-piv keep copies of a PIN this package cannot
// wipe (docs/SECURITY.md), so there is no moment after which none is left.
func protect() error {
	protected.Do(func() { protected.err = protectProcess() })
	return protected.err
}

var protected struct {
	sync.Once
	err error
}

// PINBuffer returns an empty buffer to read one PIN into, of capacity
// 256, in memory outside Go's heap that is locked into RAM where the
// system allows (mlock: never written to swap) and left out of core
// dumps. Whoever fills it must stop at its capacity, since append beyond
// it would move the PIN to the heap. Buffers are never freed: a process
// reads a handful of PINs.
func PINBuffer() []byte {
	pinPages.Lock()
	defer pinPages.Unlock()
	if len(pinPages.free) < pinBufferSize {
		pinPages.free = lockedPage()
	}
	b := pinPages.free[:0:pinBufferSize]
	pinPages.free = pinPages.free[pinBufferSize:]
	return b
}

const pinBufferSize = 256

// pinPages is the rest of the last locked page PINBuffer carved buffers
// from.
var pinPages struct {
	sync.Mutex
	free []byte
}

// PINString returns the PIN as a string that shares pin's memory, for the
// drivers (miekg/pkcs11, go-piv) that take a PIN as a string and keep
// nothing of it once the call returns: string(pin) would leave a copy on
// the heap that nothing can wipe, whereas Wipe(pin) wipes this one. The
// string must not be used after the Wipe.
func PINString(pin []byte) string {
	return unsafe.String(unsafe.SliceData(pin), len(pin))
}

// TerminalPIN asks for the PIN on the controlling terminal without echo. It
// writes the prompt to Prompt (os.Stderr when nil).
type TerminalPIN struct {
	Prompt io.Writer

	tty string // the terminal's device file; /dev/tty when empty
}

// PIN implements PINSource. The PIN is read into a PINBuffer.
func (t TerminalPIN) PIN(req PINRequest) ([]byte, error) {
	if err := protect(); err != nil {
		return nil, err
	}
	w := t.Prompt
	if w == nil {
		w = os.Stderr
	}
	path := t.tty
	if path == "" {
		path = "/dev/tty"
	}
	tty, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("no terminal to ask the PIN on (%v): give a pin-source file in the key URI instead: %w", err, ErrNotLoggedIn)
	}
	defer tty.Close()
	if req.Retry {
		fmt.Fprintln(w, "Wrong PIN.")
	}
	// A device's own words (its label, its model) are escaped: the
	// prompt is on the terminal the PIN is typed into.
	fmt.Fprintf(w, "PIN for %s", untrusted.Line(req.Device.String()))
	if req.TriesLeft >= 0 {
		fmt.Fprintf(w, " (%d tries left)", req.TriesLeft)
	}
	fmt.Fprint(w, ": ")
	pin, err := readNoEcho(tty, PINBuffer())
	fmt.Fprintln(w)
	if err != nil {
		return nil, fmt.Errorf("read PIN: %w", err)
	}
	return pin, nil
}

// FilePIN reads the PIN from a file, as RFC 7512's pin-source attribute
// names it. A trailing newline is removed. The file is read anew for every
// request, into a PINBuffer, and nothing is kept.
type FilePIN struct {
	Path string
}

// PIN implements PINSource.
func (f FilePIN) PIN(req PINRequest) ([]byte, error) {
	if req.Retry {
		// The file will not change between tries; trying it again would
		// only burn another try.
		return nil, PINError{Device: req.Device, Err: ErrWrongPIN, TriesLeft: req.TriesLeft}
	}
	if err := protect(); err != nil {
		return nil, err
	}
	// Bounded, regular files only: a FIFO or /dev/zero named as the
	// pin-source must not hang or exhaust the process.
	file, err := boundedfile.Open(f.Path, boundedfile.PINSource)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	// Straight into the buffer, which no PIN outgrows.
	b := PINBuffer()
	n, err := io.ReadFull(file, b[:cap(b)])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		Wipe(b[:n])
		return nil, err
	}
	if n == cap(b) {
		Wipe(b[:n])
		return nil, fmt.Errorf("the pin-source file holds %d bytes or more: it must hold only the PIN", cap(b))
	}
	b = bytes.TrimRight(b[:n], "\r\n")
	if len(b) == 0 {
		return nil, fmt.Errorf("pin-source %s is empty: put the PIN in it", f.Path)
	}
	return b, nil
}

// StaticPIN is a PINSource with a fixed PIN, for tests. (Key URIs cannot
// carry a PIN: RFC 7512's pin-value is refused.)
type StaticPIN []byte

// PIN implements PINSource.
func (s StaticPIN) PIN(req PINRequest) ([]byte, error) {
	if req.Retry {
		return nil, PINError{Device: req.Device, Err: ErrWrongPIN, TriesLeft: req.TriesLeft}
	}
	if err := protect(); err != nil {
		return nil, err
	}
	return append(PINBuffer(), s[:min(len(s), pinBufferSize)]...), nil
}
