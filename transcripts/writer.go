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
)

// now is the clock; tests set it to make transcripts reproducible.
var now = time.Now

// ErrInUse is wrapped by the error Create and Open return when another
// process (or another Writer in this one) has the transcript open.
var ErrInUse = errors.New("transcript is in use by another process")

// Header is what the first event of a transcript records.
type Header struct {
	Ceremony string // the ceremony's id, from its plan
	Tool     string // the version of the tool that writes it
}

// Writer appends events to a transcript. Only one Writer at a time may have
// a transcript open, across processes: Create and Open hold an exclusive
// flock on the file named by the transcript's path plus ".lock" until
// Close. A Writer is safe for use by several goroutines.
type Writer struct {
	mu        sync.Mutex
	path      string
	f         *os.File
	lockf     *os.File
	last      Event
	intact    map[string]bool // artifacts hashed by this Writer
	recovered *Problem
	err       error // set once a write or fsync fails: the file's tail is unknown
}

// Create creates the transcript at path, which must end in ".jsonl" and
// must not exist, and writes its header event. The header line is written
// to a temporary file, fsynced and then linked into place, so that a
// transcript either exists with its header or does not exist.
func Create(path string, h Header) (*Writer, error) {
	if !strings.HasSuffix(path, ".jsonl") {
		return nil, fmt.Errorf("create transcript %s: the name must end in .jsonl", path)
	}
	if h.Ceremony == "" {
		return nil, fmt.Errorf("create transcript %s: the header names no ceremony", path)
	}
	lk, err := lock(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("create transcript: %w", err)
	}
	w := &Writer{path: path, lockf: lk, intact: map[string]bool{}}
	if err := w.create(h); err != nil {
		lk.Close()
		return nil, fmt.Errorf("create transcript %s: %w", path, err)
	}
	return w, nil
}

func (w *Writer) create(h Header) error {
	if _, err := os.Lstat(w.path); err == nil {
		return fmt.Errorf("it already exists (open it to resume, or choose another name): %w", fs.ErrExist)
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
	if _, err := tmp.Write(ev.Raw); err != nil {
		tmp.Close()
		return err
	}
	if err := syncFile(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("fsync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// A hard link never replaces an existing file: this is the exclusive
	// step. File systems without hard links (FAT) get an O_EXCL create
	// instead, where a crash can leave a torn header.
	if err := os.Link(tmp.Name(), w.path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("it already exists (open it to resume, or choose another name): %w", fs.ErrExist)
		}
		if err := writeExclusive(w.path, ev.Raw); err != nil {
			return err
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	w.f, w.last = f, ev
	return nil
}

func writeExclusive(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := syncFile(f); err != nil {
		f.Close()
		return fmt.Errorf("fsync: %w", err)
	}
	return f.Close()
}

// Open opens an existing transcript to append to it, after verifying it as
// Verify does. A torn tail (bytes after the last newline, which is what a
// crash in the middle of Append leaves, since Append returns only once the
// whole line and its newline are on disk) is the one problem Open repairs:
// it stores the torn bytes as an artifact, truncates the file after the last
// newline, and appends a "transcript.torn" event naming the artifact, its
// offset and its length, so that the repair is itself on the record and no
// byte is lost. Recovered then describes what was cut. Any other problem
// is an error wrapping ErrIntegrity, and the file is left as it is.
func Open(path string) (*Writer, error) {
	lk, err := lock(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("open transcript: %w", err)
	}
	w, err := open(path, lk)
	if err != nil {
		lk.Close()
		return nil, err
	}
	return w, nil
}

func open(path string, lk *os.File) (*Writer, error) {
	s, err := verify(path, nil)
	if err != nil {
		return nil, err
	}
	rep := s.report
	if len(rep.Problems) > 1 || len(rep.Problems) == 1 && (s.torn == 0 || rep.Events == 0) {
		return nil, fmt.Errorf("open transcript to append: %w", reportError(rep))
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("open transcript: %w", err)
	}
	w := &Writer{path: path, f: f, lockf: lk, last: s.last, intact: map[string]bool{}}
	if s.torn > 0 {
		if err := w.repair(s.size, s.torn, rep.Problems[0]); err != nil {
			f.Close()
			return nil, fmt.Errorf("open transcript %s: repair torn tail: %w", path, err)
		}
	}
	return w, nil
}

// repair moves the torn tail at offset into an artifact and records it.
func (w *Writer) repair(offset, length int64, p Problem) error {
	a, err := putArtifact(w.path, io.NewSectionReader(w.f, offset, length))
	if err != nil {
		return err
	}
	w.intact[a.Digest] = true
	if err := w.f.Truncate(offset); err != nil {
		return err
	}
	if err := syncFile(w.f); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	data, err := json.Marshal(struct {
		Offset int64    `json:"offset"`
		Length int64    `json:"length"`
		Bytes  Artifact `json:"bytes"`
	}{offset, length, a})
	if err != nil {
		return err
	}
	if _, err := w.append(tornType, data); err != nil {
		return err
	}
	p.Artifact = a.Digest
	w.recovered = &p
	return nil
}

// Recovered returns the torn tail that Open cut and recorded, with the
// artifact now holding its bytes, or nil if there was none.
func (w *Writer) Recovered() *Problem {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.recovered
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
	// One write of the whole line: a crash leaves either nothing, the
	// line, or a prefix of it without its newline (a torn tail).
	if _, err := w.f.Write(ev.Raw); err != nil {
		w.err = err
		return Event{}, fmt.Errorf("append %s: write %s: %w", typ, w.path, err)
	}
	if err := syncFile(w.f); err != nil {
		w.err = err
		return Event{}, fmt.Errorf("append %s: fsync %s: %w", typ, w.path, err)
	}
	w.last = ev
	return ev, nil
}

// event builds and checks the line for an event; the time is now, but
// never before notBefore, so that a clock set back does not break the
// chain's order.
func (w *Writer) event(typ string, data []byte, prev Digest, seq int64, notBefore time.Time) (Event, error) {
	refs, err := scanData(data)
	if err != nil {
		return Event{}, fmt.Errorf("append %s: data: %w", typ, err)
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
	ev, _, err := parseLine(raw)
	if err != nil { // a bug here, never bad input: data was checked above
		return Event{}, fmt.Errorf("append %s: %w", typ, err)
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

// Last returns the last event written; its Hash is the transcript's head.
func (w *Writer) Last() Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
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
	if lerr := w.lockf.Close(); err == nil {
		err = lerr
	}
	return err
}
