package hsm

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func protectProcess() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("disable core dumps before asking for a PIN: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the process undumpable before asking for a PIN: %w", err)
	}
	return nil
}

// lockedPage returns a page of memory outside Go's heap, locked into RAM
// where RLIMIT_MEMLOCK allows and left out of core dumps; a heap page when
// mmap fails.
func lockedPage() []byte {
	n := os.Getpagesize()
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]byte, n)
	}
	// Both are best effort: an unprivileged process may lock only up to
	// RLIMIT_MEMLOCK, and core dumps are off anyway.
	_ = unix.Mlock(b)
	_ = unix.Madvise(b, unix.MADV_DONTDUMP)
	return b
}

// readNoEcho reads one line from the terminal with echo off (and line
// editing and Ctrl-C left on), into buf.
func readNoEcho(tty *os.File, buf []byte) ([]byte, error) {
	fd := int(tty.Fd()) // Fd puts the file in blocking mode, as unix.Read needs
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	return readLine(fd, buf)
}

// readLine reads up to a newline into buf, a byte at a time so that
// nothing after the newline is taken from the terminal. A line longer than
// buf is read to its end and refused, so that its rest cannot answer the
// next prompt.
func readLine(fd int, buf []byte) ([]byte, error) {
	var c [1]byte
	defer func() { c[0] = 0 }()
	long := false
	for {
		n, err := unix.Read(fd, c[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			Wipe(buf)
			return nil, err
		}
		if n == 0 || c[0] == '\n' {
			break
		}
		if len(buf) == cap(buf) {
			long = true
			continue
		}
		buf = append(buf, c[0])
	}
	if long {
		Wipe(buf)
		return nil, fmt.Errorf("the PIN typed is longer than %d characters", cap(buf))
	}
	return buf, nil
}
