package transcripts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
)

// now is the clock; tests set it to make transcripts reproducible.
var now = time.Now

// ErrInUse is wrapped by the error Create, Open and OpenRepair return when
// another process (or another Writer in this one) has the transcript open.
var ErrInUse = errors.New("transcript is in use by another process")

// Header is what the first event of a transcript records.
type Header struct {
	Ceremony string // the ceremony's id, from its plan
	Tool     string // the version of the tool that writes it
}

// Writer appends events to a transcript. Only one Writer at a time may have
// a transcript open, across processes: Create, Open and OpenRepair hold an
// exclusive flock on the transcript file itself until Close. Before each
// append a Writer checks that the file is still the one it opened and
// still ends with the line it last wrote or read, so that nothing that
// escaped the lock can fork the chain. A Writer is safe for use by several
// goroutines.
type Writer struct {
	mu     sync.Mutex
	path   string
	f      *os.File // the transcript, open to append, flocked
	size   int64    // where this Writer left the file's end
	last   Event
	intact map[string]bool // artifacts checked or stored by this Writer
	err    error           // set once a write or fsync fails: the file's tail is unknown
}

// Create creates the transcript at path, which must end in ".jsonl" and
// must not exist, and writes its header event. The header line is written
// to a temporary file, locked, fsynced and then linked into place, so that
// a transcript either exists with its header or does not exist, and is
// locked from the moment it exists.
func Create(path string, h Header) (*Writer, error) {
	if !strings.HasSuffix(path, ".jsonl") {
		return nil, fmt.Errorf("create transcript %s: the name must end in .jsonl", path)
	}
	if h.Ceremony == "" {
		return nil, fmt.Errorf("create transcript %s: the header names no ceremony", path)
	}
	w := &Writer{path: path, intact: map[string]bool{}}
	if err := w.create(h); err != nil {
		return nil, fmt.Errorf("create transcript %s: %w", path, err)
	}
	return w, nil
}

func (w *Writer) create(h Header) error {
	exists := fmt.Errorf("it already exists (open it to resume, or choose another name): %w", fs.ErrExist)
	if _, err := os.Lstat(w.path); err == nil {
		return exists
	}
	data, err := json.Marshal(struct {
		Format   int    `json:"format"`
		Ceremony string `json:"ceremony"`
		Tool     string `json:"tool"`
	}{Format, h.Ceremony, h.Tool})
	if err != nil {
		return err
	}
	ev, err := w.event(HeaderType, data, genesis, 1, time.Time{})
	if err != nil {
		return err
	}
	dir := filepath.Dir(w.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(w.path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	tmp.Close()
	// Opened again to append; locked before it has its name.
	f, err := writeLocked(tmp.Name(), os.O_RDWR|os.O_APPEND, ev.Raw)
	if err != nil {
		return err
	}
	// A hard link never replaces an existing file: this is the exclusive
	// step. File systems without hard links (FAT) get an O_EXCL create
	// instead, where a crash can leave a torn header.
	if err := os.Link(tmp.Name(), w.path); err == nil {
		// Named as the transcript, so that errors name the file that stays.
		if f, err = renamed(f, w.path); err != nil {
			return err
		}
	} else {
		f.Close()
		if errors.Is(err, fs.ErrExist) {
			return exists
		}
		if f, err = writeLocked(w.path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, ev.Raw); err != nil {
			return err
		}
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return fmt.Errorf("fsync directory: %w", err)
	}
	w.f, w.size, w.last = f, int64(len(ev.Raw)), ev
	return nil
}

// writeLocked opens path with flag, locks it, writes b and fsyncs it.
func writeLocked(path string, flag int, b []byte) (*os.File, error) {
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, err
	}
	err = lock(f)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		if err = syncFile(f); err != nil {
			err = fmt.Errorf("fsync: %w", err)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Open opens an existing transcript to append to it, after verifying its
// lines as Verify does and that every artifact a line names is in the
// store; the artifacts' bytes are checked by whoever reads them
// (ReadArtifact) and by Verify, not on every append. It never changes the
// file: any problem, a torn tail included (ErrTorn), is an error wrapping
// ErrIntegrity, and the file is left as it is. OpenRepair is the one way
// to mend a torn tail.
func Open(path string) (*Writer, error) {
	w, s, err := openLocked(path)
	if err != nil {
		return nil, err
	}
	if len(s.report.Problems) > 0 {
		w.f.Close()
		return nil, fmt.Errorf("open transcript to append: %w", reportError(s.report))
	}
	return w, nil
}

// Repair is what OpenRepair did to a torn tail, for the caller to say.
type Repair struct {
	Offset int64 // where the torn tail began: the byte after the last newline
	Length int64 // its length in bytes
	// Completed is true when the tail was a complete event missing only its
	// newline: the newline was added and the event kept.
	Completed bool
	// Dropped, when the tail was not a complete event, is the artifact
	// that now holds its bytes, cut from the transcript.
	Dropped Artifact
	// Event is the completed event, or the transcript.torn event that
	// records the drop.
	Event Event
}

// String says what the repair did, in words.
func (r *Repair) String() string {
	if r.Completed {
		return fmt.Sprintf("completed the last event (seq %d, %s), which was missing only its newline", r.Event.Seq, r.Event.Type)
	}
	return fmt.Sprintf("dropped %d bytes at offset %d, the torn tail of a write cut short: they are kept in artifact %s, and event %d (%s) records the drop", r.Length, r.Offset, r.Dropped.Digest, r.Event.Seq, r.Event.Type)
}

// OpenRepair opens an existing transcript to append to it, as Open does,
// after mending a torn tail, the one fault a crash in the middle of Append
// leaves (Append returns only once the whole line and its newline are on
// disk). A tail that is a complete event missing only its newline (it
// passes every check a last line gets, artifacts included) is completed:
// OpenRepair appends the newline. Any other tail is dropped: OpenRepair
// stores its bytes as an artifact, truncates the file after the last
// newline and appends a "transcript.torn" event naming the artifact, the
// tail's offset and its length, so that the repair is on the record and no
// byte is lost. The Repair says which, and is nil when there was nothing
// to mend.
//
// Any other problem is an error wrapping ErrIntegrity, and the file is
// left as it is; so is a tail as long as a line (not what a crash leaves)
// and a transcript without a complete header line.
func OpenRepair(path string) (*Writer, *Repair, error) {
	w, s, err := openLocked(path)
	if err != nil {
		return nil, nil, err
	}
	rep := s.report
	repairable := len(rep.Problems) == 1 && s.torn > 0 && rep.Events > 0 && s.torn < MaxLine
	if len(rep.Problems) > 0 && !repairable {
		w.f.Close()
		return nil, nil, fmt.Errorf("open transcript to repair: %w", reportError(rep))
	}
	if s.torn == 0 {
		return w, nil, nil
	}
	r, err := w.repair(s)
	if err != nil {
		w.f.Close()
		return nil, nil, fmt.Errorf("open transcript %s: repair torn tail: %w", path, err)
	}
	return w, r, nil
}

// openLocked opens and locks the transcript at path, and verifies it
// through the locked file.
func openLocked(path string) (*Writer, *scan, error) {
	f, err := openRegular(path, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return nil, nil, fmt.Errorf("open transcript: %w", err)
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("open transcript: %w", err)
	}
	s, err := verify(f, path, nil, nil, true)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return &Writer{path: path, f: f, size: s.size, last: s.last, intact: map[string]bool{}}, s, nil
}

// repair completes or drops the torn tail that s found.
func (w *Writer) repair(s *scan) (*Repair, error) {
	r := &Repair{Offset: s.size, Length: s.torn}
	if s.complete != nil {
		// The file must still end with the tail, which checkTail compares
		// with the last line.
		w.size = s.size + s.torn
		w.last = Event{Raw: s.complete.Raw[:len(s.complete.Raw)-1]}
		if err := w.write([]byte("\n")); err != nil {
			return nil, err
		}
		w.last = *s.complete
		r.Completed, r.Event = true, w.last
		return r, nil
	}
	a, err := putArtifact(w.path, io.NewSectionReader(w.f, s.size, s.torn))
	if err != nil {
		return nil, err
	}
	w.intact[a.Digest] = true
	if err := w.f.Truncate(s.size); err != nil {
		return nil, err
	}
	if err := syncFile(w.f); err != nil {
		return nil, fmt.Errorf("fsync: %w", err)
	}
	data, err := json.Marshal(struct {
		Offset int64    `json:"offset"`
		Length int64    `json:"length"`
		Bytes  Artifact `json:"bytes"`
	}{s.size, s.torn, a})
	if err != nil {
		return nil, err
	}
	ev, err := w.append(tornType, data)
	if err != nil {
		return nil, err
	}
	r.Dropped, r.Event = a, ev
	return r, nil
}

// Append writes an event of type typ whose data is v encoded as a JSON
// object (a struct, a map, or a json.RawMessage), fsyncs it, and returns
// it. Only then may the event take effect. typ is a lowercase letter then
// [a-z0-9._-], at most 64 bytes; types beginning "transcript." are this
// package's own.
//
// Append refuses data that is not a JSON object, that has a member named
// like a secret (pin, puk, password, passphrase, management key, private
// key, in any case and at any depth; see docs/TRANSCRIPT.md for the exact
// rule) or a string holding a PEM private key, or that names an artifact
// that is not intact in the store. It is a last line of defence: secrets
// should never reach it.
//
// After a failed write or fsync, the state of the file's tail is unknown
// (the event may or may not be there): the Writer refuses every further
// Append, and the caller should Close it and Open the transcript again,
// which repairs a torn tail; what the file then holds is the truth.
func (w *Writer) Append(typ string, v any) (Event, error) {
	if strings.HasPrefix(typ, reservedPrefix) {
		return Event{}, fmt.Errorf("append: event type %q: types beginning %q are reserved for the transcript itself", clip(typ), reservedPrefix)
	}
	if err := validType(typ); err != nil {
		return Event{}, fmt.Errorf("append: %w", err)
	}
	if v == nil {
		v = struct{}{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Event{}, fmt.Errorf("append %s: encode data: %w", typ, err)
	}
	return w.append(typ, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func (w *Writer) append(typ string, data []byte) (Event, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.f == nil:
		return Event{}, fmt.Errorf("append %s: the transcript is closed", typ)
	case w.err != nil:
		return Event{}, fmt.Errorf("append %s: an earlier write failed (%v): close and reopen the transcript", typ, w.err)
	}
	ev, err := w.event(typ, data, w.last.Hash(), w.last.Seq+1, w.last.Time)
	if err != nil {
		return Event{}, err
	}
	if err := w.write(ev.Raw); err != nil {
		return Event{}, fmt.Errorf("append %s: %w", typ, err)
	}
	w.last = ev
	return ev, nil
}

// write appends b, in one write, after checking that the file still ends
// where this Writer left it and stays within the size every reader reads,
// and fsyncs it. A crash leaves either nothing, all of b, or a prefix of
// it (a torn tail).
func (w *Writer) write(b []byte) error {
	if err := w.checkTail(); err != nil {
		return err
	}
	if lim := boundedfile.Transcript; w.size+int64(len(b)) > lim.Max {
		return fmt.Errorf("%s would grow past the %s %s may be, which no reader would read: end this ceremony and begin another", w.path, boundedfile.FormatSize(lim.Max), lim.What)
	}
	if _, err := w.f.Write(b); err != nil {
		w.err = err
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := syncFile(w.f); err != nil {
		w.err = err
		return fmt.Errorf("fsync %s: %w", w.path, err)
	}
	w.size += int64(len(b))
	return nil
}

// checkTail reports, wrapping ErrIntegrity, a transcript that changed
// behind this Writer's back: its path names another file now, or the file
// does not end where this Writer left it, with the line it last wrote or
// read. The flock keeps out every writer that takes it; this catches what
// does not (an editor, a copy, a tool of another version).
func (w *Writer) checkTail() error {
	fi, err := w.f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", w.path, err)
	}
	if pi, err := os.Stat(w.path); err != nil || !os.SameFile(fi, pi) {
		return fmt.Errorf("%s is no longer the file this writer opened (it was removed, renamed or replaced): refusing to append; open the transcript again and verify it: %w", w.path, ErrIntegrity)
	}
	if fi.Size() != w.size {
		return fmt.Errorf("%s is %d bytes, but this writer left it at %d: something else wrote to it; refusing to append, so that the chain does not fork: open it again and verify it: %w", w.path, fi.Size(), w.size, ErrIntegrity)
	}
	n := int64(len(w.last.Raw))
	tail := make([]byte, n)
	if _, err := w.f.ReadAt(tail, w.size-n); err != nil || !bytes.Equal(tail, w.last.Raw) {
		return fmt.Errorf("%s no longer ends with the line this writer last wrote or read: something else rewrote it; refusing to append: open it again and verify it: %w", w.path, ErrIntegrity)
	}
	return nil
}

// event builds and checks the line for an event; the time is now, but
// never before notBefore, so that a clock set back does not break the
// chain's order.
func (w *Writer) event(typ string, data []byte, prev Digest, seq int64, notBefore time.Time) (Event, error) {
	refs, errs := scanData(data)
	if len(errs) > 0 {
		return Event{}, fmt.Errorf("append %s: data: %w", typ, errs[0])
	}
	for _, r := range refs {
		if w.intact[r] {
			continue
		}
		if err := artifactIntact(w.path, r); err != nil {
			return Event{}, fmt.Errorf("append %s: data names %v: store it with PutArtifact first", typ, err)
		}
		w.intact[r] = true
	}
	t := now().UTC()
	if t.Before(notBefore) {
		t = notBefore
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return Event{}, fmt.Errorf("append %s: clock reads %v, outside years 0001-9999", typ, t)
	}
	raw := encodeLine(seq, t, typ, prev, data)
	if len(raw) > MaxLine {
		return Event{}, fmt.Errorf("append %s: the line would be %d bytes, more than %d: store large data with PutArtifact and name it", typ, len(raw), MaxLine)
	}
	ev, _, errs := parseLine(raw)
	if len(errs) > 0 { // a bug here, never bad input: data was checked above
		return Event{}, fmt.Errorf("append %s: %w", typ, errs[0])
	}
	return ev, nil
}

// PutArtifact stores the bytes read from r as an artifact of the
// transcript and returns its name, for an event's data to hold. Writing is
// atomic (temporary file, fsync, rename, directory fsync) and storing the
// same bytes twice is harmless. An artifact nobody names is not an error:
// a crash between PutArtifact and Append leaves one.
func (w *Writer) PutArtifact(r io.Reader) (Artifact, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return Artifact{}, errors.New("put artifact: the transcript is closed")
	}
	a, err := putArtifact(w.path, r)
	if err != nil {
		return Artifact{}, err
	}
	w.intact[a.Digest] = true
	return a, nil
}

// Last returns the last event written or read; its Hash is the
// transcript's head.
func (w *Writer) Last() Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// Head returns the transcript's head, the SHA-256 of its last line, for
// witnesses to write down after every command that appends (Digest.String
// in hex, Digest.Words in PGP words).
func (w *Writer) Head() Digest {
	return w.Last().Hash()
}

// Close closes the transcript and releases its lock. It need not fsync:
// every Append already has.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
