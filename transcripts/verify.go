package transcripts

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"time"
)

// ErrIntegrity is wrapped by every error that reports a transcript or an
// artifact that is not intact: changed, cut short, reordered or missing.
var ErrIntegrity = errors.New("transcript integrity check failed")

// Problem is one failed check, located in the file.
//
// Check is one of: "line" (the line grammar), "data" (data is not a
// strict, compact JSON object), "secret" (data holds a member named like a
// secret, or a PEM private key), "seq", "time" (time goes backwards),
// "prev" (the previous line's hash), "header", "torn" (bytes after the last
// newline), "artifact" or "head".
type Problem struct {
	Line     int    `json:"line"`               // 1-based line number; the torn tail is the line after the last
	Seq      int64  `json:"seq,omitempty"`      // the line's seq, when it could be read
	Offset   int64  `json:"offset"`             // byte offset of the line's start in the file
	Column   int    `json:"column,omitempty"`   // 1-based byte within the line, when known
	Check    string `json:"check"`              // which check failed
	Artifact string `json:"artifact,omitempty"` // for check "artifact": its name
	Detail   string `json:"detail"`             // what is wrong, in words
}

// Error describes the problem and where it is.
func (p *Problem) Error() string {
	s := fmt.Sprintf("line %d", p.Line)
	if p.Seq > 0 {
		s += fmt.Sprintf(" (seq %d)", p.Seq)
	}
	s += fmt.Sprintf(", file offset %d", p.Offset)
	if p.Column > 0 {
		s += fmt.Sprintf(", byte %d of the line", p.Column)
	}
	return s + ": " + p.Check + ": " + p.Detail
}

// Unwrap returns ErrIntegrity: every problem is an integrity failure.
func (p *Problem) Unwrap() error { return ErrIntegrity }

// Report is the result of Verify, for people and (as JSON) for scripts.
type Report struct {
	Path      string    `json:"path"`
	OK        bool      `json:"ok"`
	Format    int       `json:"format,omitempty"`   // from the header
	Ceremony  string    `json:"ceremony,omitempty"` // from the header
	Tool      string    `json:"tool,omitempty"`     // from the header
	Events    int       `json:"events"`             // complete lines
	Artifacts int       `json:"artifacts"`          // distinct artifacts named, each checked
	Head      Digest    `json:"head"`               // SHA-256 of the last complete line
	HeadWords string    `json:"head_words"`         // Head in PGP words
	Problems  []Problem `json:"problems"`           // empty when OK
	Omitted   int       `json:"omitted,omitempty"`  // problems beyond maxProblems, not listed
}

// maxProblems bounds a report on a file that is garbage from end to end.
const maxProblems = 1000

// header is the data of the first event.
type header struct {
	Format   *int    `json:"format"`
	Ceremony *string `json:"ceremony"`
	Tool     *string `json:"tool"`
}

// chain checks lines one after another: grammar, seq, time, prev and the
// header. After a problem it goes on from the line as it is, so that one
// change is reported where it is and not again on every later line.
type chain struct {
	n        int
	offset   int64 // where the next line starts
	start    int64 // where the last line started
	prev     Digest
	lastTime time.Time
	hdr      header
	refs     []string
	refAt    map[string]Problem // where each artifact is first named
}

// next checks one complete line (newline included) whose SHA-256 is sum;
// raw may be cut short when the line is longer than MaxLine.
func (c *chain) next(raw []byte, sum Digest, size int64) (Event, []Problem) {
	c.n++
	at := Problem{Line: c.n, Offset: c.offset}
	c.start = c.offset
	c.offset += size
	defer func() { c.prev = sum }()
	var probs []Problem
	add := func(check string, col int, format string, args ...any) {
		p := at
		p.Check, p.Column, p.Detail = check, col, fmt.Sprintf(format, args...)
		probs = append(probs, p)
	}
	ev, refs, err := parseLine(raw)
	at.Seq = ev.Seq
	if size > MaxLine {
		add(checkLine, MaxLine+1, "line is %d bytes, longer than %d", size, MaxLine)
		return ev, probs
	}
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			add(le.check, le.col, "%s", le.msg)
		} else {
			add(checkLine, 0, "%v", err)
		}
		return ev, probs
	}
	if ev.Seq != int64(c.n) {
		add(checkSeq, 8, "seq is %d, expected %d: a line was removed, inserted or moved here", ev.Seq, c.n)
	}
	if ev.Prev != c.prev {
		what := fmt.Sprintf("line %d", c.n-1)
		if c.n == 1 {
			what = "the genesis value (64 zeros)"
		}
		add(checkPrev, 0, "prev is %s but %s hashes to %s: that line, or this prev, was changed, or a line was removed, inserted or moved", ev.Prev, what, c.prev)
	}
	if ev.Time.Before(c.lastTime) {
		add(checkTime, 0, "time %s is before the previous event's %s", ev.Time.Format(timeLayout), c.lastTime.Format(timeLayout))
	} else {
		c.lastTime = ev.Time
	}
	switch {
	case c.n == 1 && ev.Type != HeaderType:
		add(checkHeader, 0, "the first event must be of type %q, not %q", HeaderType, ev.Type)
	case c.n == 1:
		if err := c.readHeader(ev.Data); err != nil {
			add(checkHeader, 0, "%v", err)
		}
	case ev.Type == HeaderType:
		add(checkHeader, 0, "a %q event may only be the first line", HeaderType)
	}
	for _, r := range refs {
		if _, ok := c.refAt[r]; !ok {
			if c.refAt == nil {
				c.refAt = map[string]Problem{}
			}
			c.refAt[r] = at
			c.refs = append(c.refs, r)
		}
	}
	return ev, probs
}

func (c *chain) readHeader(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var h header
	if err := dec.Decode(&h); err != nil {
		return fmt.Errorf("header data: %v", err)
	}
	switch {
	case h.Format == nil || h.Ceremony == nil || h.Tool == nil:
		return fmt.Errorf(`header data must have "format", "ceremony" and "tool"`)
	case *h.Format != Format:
		return fmt.Errorf("transcript format %d is not %d, the one this tool reads: use a tool that knows it", *h.Format, Format)
	case *h.Ceremony == "":
		return fmt.Errorf("header names no ceremony")
	}
	c.hdr = h
	return nil
}

// lineReader reads lines of any length, keeping at most MaxLine+1 bytes of
// each but hashing all of it.
type lineReader struct {
	br *bufio.Reader
}

// next returns the next line (newline included, unless the file ends
// without one), its SHA-256, its full length and whether it ends in a
// newline; io.EOF at the end.
func (lr *lineReader) next() (raw []byte, sum Digest, size int64, nl bool, err error) {
	h := sha256.New()
	for {
		chunk, err := lr.br.ReadSlice('\n')
		h.Write(chunk)
		size += int64(len(chunk))
		if room := MaxLine + 1 - len(raw); room > 0 {
			raw = append(raw, chunk[:min(room, len(chunk))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		copy(sum[:], h.Sum(nil))
		if err == io.EOF && size > 0 {
			err = nil
		}
		return raw, sum, size, len(chunk) > 0 && chunk[len(chunk)-1] == '\n', err
	}
}

// Events returns the events of the transcript read from r, in order, each
// checked for its grammar and against the previous line (seq, time, prev,
// header); artifacts are not checked (Verify does that). It stops after the
// first error, which is a *Problem for a failed check. A torn tail (bytes
// after the last newline) is reported as a problem with Check "torn".
//
// The engine's fold ranges over Events to replay a transcript. Events whose
// type begins "transcript." (the header, and the record of a repaired torn
// tail) are the format's own, and a fold skips them.
func Events(r io.Reader) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		lr := lineReader{br: bufio.NewReaderSize(r, 64<<10)}
		var c chain
		for {
			raw, sum, size, nl, err := lr.next()
			if err == io.EOF {
				if c.n == 0 {
					yield(Event{}, &Problem{Line: 1, Check: checkHeader, Detail: "the transcript is empty: it has no header line"})
				}
				return
			}
			if err != nil {
				yield(Event{}, fmt.Errorf("read line %d: %w", c.n+1, err))
				return
			}
			if !nl {
				yield(Event{}, tornProblem(c.n+1, c.offset, size))
				return
			}
			ev, probs := c.next(raw, sum, size)
			if len(probs) > 0 {
				yield(Event{}, &probs[0])
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

func tornProblem(line int, offset, size int64) *Problem {
	return &Problem{Line: line, Offset: offset, Check: checkTorn,
		Detail: fmt.Sprintf("%d bytes after the last newline: a write cut short by a crash (opening the transcript to resume moves them to an artifact and records that), or a line whose newline was removed", size)}
}

// scan is what Verify learns, and what Open needs to go on appending.
type scan struct {
	report *Report
	last   Event // the last line, when it parsed
	size   int64 // bytes up to and including the last newline
	torn   int64 // bytes after it
}

// Verify checks the transcript at path and its artifacts: every line parses
// strictly, seq counts from 1 by one, times never go backwards, every prev
// is the SHA-256 of the line before (the first's is 64 zeros), the first
// line is a valid header and no other is, no data holds a secret, nothing
// follows the last newline, and every artifact named in any event's data
// exists and hashes to its name. If head is not empty, it is the head digest
// witnesses wrote down (64 hex digits or 32 PGP words) and the transcript
// must end there.
//
// The report lists every problem found, located by line, seq, offset and
// check; the error is nil when there are none, and otherwise wraps
// ErrIntegrity and the first problem. A file that cannot be read at all is
// an error without a report.
func Verify(path, head string) (*Report, error) {
	var want *Digest
	if head != "" {
		d, err := parseDigest(head)
		if err != nil {
			return nil, err
		}
		want = &d
	}
	s, err := verify(path, want)
	if err != nil {
		return nil, err
	}
	return s.report, reportError(s.report)
}

func reportError(r *Report) error {
	if len(r.Problems) == 0 {
		return nil
	}
	n := len(r.Problems) + r.Omitted
	if n == 1 {
		return fmt.Errorf("transcript %s: %w", r.Path, &r.Problems[0])
	}
	return fmt.Errorf("transcript %s: %d problems, the first: %w", r.Path, n, &r.Problems[0])
}

func verify(path string, want *Digest) (*scan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open transcript: %w", err)
	}
	defer f.Close()
	rep := &Report{Path: path, Problems: []Problem{}}
	s := &scan{report: rep}
	addProblem := func(p Problem) {
		if len(rep.Problems) < maxProblems {
			rep.Problems = append(rep.Problems, p)
		} else {
			rep.Omitted++
		}
	}
	lr := lineReader{br: bufio.NewReaderSize(f, 64<<10)}
	var c chain
	for {
		raw, sum, size, nl, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read transcript %s, line %d: %w", path, c.n+1, err)
		}
		if !nl {
			s.torn = size
			addProblem(*tornProblem(c.n+1, c.offset, size))
			break
		}
		ev, probs := c.next(raw, sum, size)
		for _, p := range probs {
			addProblem(p)
		}
		if len(probs) == 0 {
			s.last = ev
		} else {
			s.last = Event{}
		}
		s.size = c.offset
		rep.Head = sum
	}
	rep.Events = c.n
	if c.n == 0 {
		addProblem(Problem{Line: 1, Check: checkHeader, Detail: "the transcript has no complete line, so no header"})
	}
	if c.hdr.Format != nil {
		rep.Format, rep.Ceremony, rep.Tool = *c.hdr.Format, *c.hdr.Ceremony, *c.hdr.Tool
	}
	rep.Artifacts = len(c.refs)
	for _, name := range c.refs {
		if err := artifactIntact(path, name); err != nil {
			p := c.refAt[name]
			p.Check, p.Artifact, p.Detail = checkArtifact, name, err.Error()
			addProblem(p)
		}
	}
	rep.HeadWords = rep.Head.Words()
	if want != nil && *want != rep.Head {
		addProblem(Problem{Line: c.n, Seq: s.last.Seq, Offset: c.start, Check: checkHead,
			Detail: fmt.Sprintf("the last line hashes to %s, not to the expected head %s: the transcript was changed, cut short or extended after the head was taken", rep.Head, *want)})
	}
	rep.OK = len(rep.Problems) == 0
	return s, nil
}
