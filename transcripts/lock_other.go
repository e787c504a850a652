//go:build !unix

package transcripts

import (
	"errors"
	"fmt"
	"os"
)

// lock is not implemented off Unix: a ceremony machine runs Linux, and a
// writer without a lock could corrupt a transcript.
func lock(f *os.File) error {
	return errors.New("transcripts: writing a transcript needs flock, which this system lacks")
}

// openRegular opens path with flag and refuses anything but a regular
// file; with noFollow, a symbolic link too.
func openRegular(path string, flag int, noFollow bool) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && noFollow && fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link, not a regular file", path)
	}
	return regularOnly(os.OpenFile(path, flag, 0))
}

// renamed is never reached off Unix, where lock fails.
func renamed(f *os.File, name string) (*os.File, error) { return f, nil }
