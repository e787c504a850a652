package pcsctest

// #cgo pkg-config: libpcsclite
// #include <stdlib.h>
// #include <PCSC/winscard.h>
import "C"

import (
	"fmt"
	"os"
	"time"
	"unsafe"
)

// stateTimeout bounds a wait for pcscd to see a card come or go. pcscd
// polls vpcd's readers every 400 ms; the margin is for a loaded machine.
const stateTimeout = 10 * time.Second

// WaitPresent waits until pcscd reports a card in reader i (0-based, in
// the order of Readers), that is, until clients can connect to it.
func (d *Daemon) WaitPresent(i int) error { return d.waitState(i, true) }

// WaitEmpty waits until pcscd reports reader i empty, that is, until
// clients are told there is no card.
func (d *Daemon) WaitEmpty(i int) error { return d.waitState(i, false) }

// waitState waits, through PC/SC's own SCardGetStatusChange, until reader
// i holds a card (present) or none. It asks this process's libpcsclite,
// which reads PCSCLITE_CSOCK_NAME once, at its first call: Main sets it.
func (d *Daemon) waitState(i int, present bool) error {
	if i < 0 || i >= len(d.Readers) {
		return fmt.Errorf("pcsctest: no reader %d: the daemon has %d", i, len(d.Readers))
	}
	reader := d.Readers[i]
	if s := os.Getenv("PCSCLITE_CSOCK_NAME"); s != d.Socket {
		return fmt.Errorf("pcsctest: PCSCLITE_CSOCK_NAME is %q, not this daemon's socket: start the daemon with Main to wait on its readers", s)
	}
	var ctx C.SCARDCONTEXT
	if rc := C.SCardEstablishContext(C.SCARD_SCOPE_SYSTEM, nil, nil, &ctx); rc != C.SCARD_S_SUCCESS {
		return fmt.Errorf("pcsctest: SCardEstablishContext: %s", C.GoString(C.pcsc_stringify_error(rc)))
	}
	defer C.SCardReleaseContext(ctx)
	name := C.CString(reader)
	defer C.free(unsafe.Pointer(name))
	rs := C.SCARD_READERSTATE{szReader: name, dwCurrentState: C.SCARD_STATE_UNAWARE}
	deadline := time.Now().Add(stateTimeout)
	for {
		ms := max(time.Until(deadline).Milliseconds(), 0)
		switch rc := C.SCardGetStatusChange(ctx, C.DWORD(ms), &rs, 1); rc {
		case C.SCARD_S_SUCCESS:
		case C.SCARD_E_TIMEOUT:
			return fmt.Errorf("pcsctest: reader %q still shows %s after %v; want %s", reader, describe(rs.dwCurrentState), stateTimeout, describe(wantState(present)))
		default:
			return fmt.Errorf("pcsctest: SCardGetStatusChange on %q: %s", reader, C.GoString(C.pcsc_stringify_error(rc)))
		}
		if got := rs.dwEventState; got&wantState(present) != 0 && got&C.SCARD_STATE_MUTE == 0 {
			return nil
		}
		// Wait for the next change from the state just seen.
		rs.dwCurrentState = rs.dwEventState &^ C.SCARD_STATE_CHANGED
	}
}

func wantState(present bool) C.DWORD {
	if present {
		return C.SCARD_STATE_PRESENT
	}
	return C.SCARD_STATE_EMPTY
}

// describe names a reader state for an error message.
func describe(state C.DWORD) string {
	switch {
	case state&C.SCARD_STATE_MUTE != 0:
		return "a mute card"
	case state&C.SCARD_STATE_PRESENT != 0:
		return "a card"
	case state&C.SCARD_STATE_EMPTY != 0:
		return "no card"
	}
	return fmt.Sprintf("state %#x", uint64(state))
}
