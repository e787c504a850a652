//go:build unix

package transcripts

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive, non-blocking flock on f, the open transcript
// itself. The lock belongs to the open file and lives until it is closed
// (or the process dies); since it is on the transcript's own inode, no
// other file (a lock file someone could delete) decides who may write.
func lock(f *os.File) error {
	var err error
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("%s is locked by another writer: %w", f.Name(), ErrInUse)
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return nil
}

// openFlags keep a FIFO from blocking an open.
const openFlags = syscall.O_NONBLOCK

// renamed returns f under the name name, for errors to show, and closes f:
// the same open file, and so the same lock.
func renamed(f *os.File, name string) (*os.File, error) {
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	f.Close()
	return os.NewFile(uintptr(fd), name), nil
}
