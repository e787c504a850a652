//go:build !unix

package transcripts

import (
	"errors"
	"os"
)

// lock is not implemented off Unix: a ceremony machine runs Linux, and a
// writer without a lock could corrupt a transcript.
func lock(path string) (*os.File, error) {
	return nil, errors.New("transcripts: writing a transcript needs flock, which this system lacks")
}
