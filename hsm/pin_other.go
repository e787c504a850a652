//go:build !linux

package hsm

import (
	"os"

	"golang.org/x/term"
)

// Off Linux (a ceremony machine runs Linux) the process is not protected
// and PINs are not locked in memory.
func protectProcess() error { return nil }

func lockedPage() []byte { return make([]byte, os.Getpagesize()) }

func readNoEcho(tty *os.File, buf []byte) ([]byte, error) {
	pin, err := term.ReadPassword(int(tty.Fd()))
	defer Wipe(pin)
	if err != nil {
		return nil, err
	}
	return append(buf, pin[:min(len(pin), cap(buf))]...), nil
}
