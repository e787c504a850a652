//go:build !unix

package transcripts

import (
	"errors"
	"os"
)

// lock is not implemented off Unix: a ceremony machine runs Linux, and a
// writer without a lock could corrupt a transcript.
func lock(f *os.File) error {
	return errors.New("transcripts: writing a transcript needs flock, which this system lacks")
}

const openFlags = 0

// renamed is never reached off Unix, where lock fails.
func renamed(f *os.File, name string) (*os.File, error) { return f, nil }
