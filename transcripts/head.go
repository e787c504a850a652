package transcripts

import (
	"bytes"
	"fmt"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
)

// ReadHead returns the last line of the transcript at path, whose Hash is
// the transcript's head, reading the file's tail alone and taking no lock:
// for a command that appended to print the head for witnesses, however
// long the transcript and whoever holds its writer's lock. It checks that
// line's grammar, not the chain (Verify does). A transcript whose last
// line is torn is an error wrapping ErrTorn. ReadHead only reads.
func ReadHead(path string) (Event, error) {
	f, err := boundedfile.Open(path, boundedfile.Transcript)
	if err != nil {
		return Event{}, fmt.Errorf("read the transcript's head: %w", err)
	}
	defer f.Close()
	// The last line is at most MaxLine bytes, so the newline before it
	// is within MaxLine+1 bytes of the end.
	size := f.Size()
	start := max(size-(MaxLine+1), 0)
	tail := make([]byte, size-start)
	if n, err := f.ReadAt(tail, start); n < len(tail) {
		return Event{}, fmt.Errorf("read the transcript's head: %w", err)
	}
	switch {
	case size == 0:
		return Event{}, fmt.Errorf("transcript %s is empty: it has no header line: %w", path, ErrIntegrity)
	case tail[len(tail)-1] != '\n':
		torn := len(tail) - bytes.LastIndexByte(tail, '\n') - 1
		return Event{}, fmt.Errorf("transcript %s ends with %d bytes after its last newline, a write cut short: %w: %w", path, torn, ErrTorn, ErrIntegrity)
	}
	i := bytes.LastIndexByte(tail[:len(tail)-1], '\n')
	if i < 0 && start > 0 {
		return Event{}, fmt.Errorf("transcript %s: its last line is longer than %d bytes: %w", path, MaxLine, ErrIntegrity)
	}
	ev, _, errs := parseLine(tail[i+1:])
	if len(errs) > 0 {
		return Event{}, fmt.Errorf("transcript %s: its last line: %w: %w", path, errs[0], ErrIntegrity)
	}
	return ev, nil
}
