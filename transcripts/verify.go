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
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
)

// ErrIntegrity is wrapped by every error that reports a transcript or an
// artifact that is not intact: changed, cut short, reordered or missing.
var ErrIntegrity = errors.New("transcript integrity check failed")

// ErrTorn is wrapped, with ErrIntegrity, by the Problem that reports a torn
// tail (bytes after the last newline), and so by the error Open returns
// for such a transcript: OpenRepair is the one way to mend it.
var ErrTorn = errors.New("transcript has a torn tail")

// Problem is one failed check, located in the file.
//
// Check is one of: "line" (the line grammar), "data" (data is not a
// strict, compact JSON object), "artifact" (a malformed reference, or a
// named artifact missing or altered), "secret" (data or an artifact holds
// something that looks like a secret), "seq", "prev" (the previous line's
// hash), "time" (time goes backwards), "header", "reserved" (a
// "transcript." type this format does not define), "repair" (a
// transcript.torn event breaks the rules for recording a repair), "torn"
// (bytes after the last newline) or "head".
type Problem struct {
	Line     int    `json:"line"`               // 1-based line number; the torn tail is the line after the last; 0 for an artifact no line names
	Seq      int64  `json:"seq,omitempty"`      // the line's seq, when it could be read
	Offset   int64  `json:"offset"`             // byte offset of the line's start in the file
	Column   int    `json:"column,omitempty"`   // 1-based byte within the line, when known
	Check    string `json:"check"`              // which check failed
	Artifact string `json:"artifact,omitempty"` // for a problem with an artifact's bytes: its name
	Detail   string `json:"detail"`             // what is wrong, in words
}

// Error describes the problem and where it is.
func (p *Problem) Error() string {
	s := fmt.Sprintf("line %d", p.Line)
	if p.Line == 0 {
		s = "artifact store"
	}
	if p.Seq > 0 {
		s += fmt.Sprintf(" (seq %d)", p.Seq)
	}
	if p.Line > 0 {
		s += fmt.Sprintf(", file offset %d", p.Offset)
	}
	if p.Column > 0 {
		s += fmt.Sprintf(", byte %d of the line", p.Column)
	}
	return s + ": " + p.Check + ": " + p.Detail
}

// Unwrap returns ErrIntegrity, since every problem is an integrity
// failure, and ErrTorn too for a torn tail.
func (p *Problem) Unwrap() []error {
	if p.Check == checkTorn {
		return []error{ErrIntegrity, ErrTorn}
	}
	return []error{ErrIntegrity}
}

// Report is the result of Verify, for people and (as JSON) for scripts.
type Report struct {
	Path      string    `json:"path"`
	OK        bool      `json:"ok"`
	Format    int       `json:"format,omitempty"`   // from the header
	Ceremony  string    `json:"ceremony,omitempty"` // from the header
	Tool      string    `json:"tool,omitempty"`     // from the header
	Events    int       `json:"events"`             // complete lines
	Artifacts int       `json:"artifacts"`          // distinct artifacts named, each checked
	Unnamed   int       `json:"unnamed,omitempty"`  // artifacts in the store that no event names, each checked
	Head      Digest    `json:"head"`               // SHA-256 of the last complete line
	HeadWords string    `json:"head_words"`         // Head in PGP words
	Problems  []Problem `json:"problems"`           // empty when OK
	Omitted   int       `json:"omitted,omitempty"`  // problems beyond maxProblems, not listed

	// Witnessed is the line the head given to VerifyWith hashes to, when
	// one was given and some line does.
	Witnessed *HeadLine `json:"witnessed_head,omitempty"`
}

// HeadLine is a line a head witnesses wrote down is the hash of, and how
// many lines follow it (each of a type VerifyOptions.After allows, when
// the check passed).
type HeadLine struct {
	Line      int    `json:"line"`
	Seq       int64  `json:"seq"`
	Type      string `json:"type"`
	Following int    `json:"following"` // lines after it; 0 when it is the last
}

// maxProblems bounds a report on a file that is garbage from end to end.
const maxProblems = 1000

// header is the data of the first event.
type header struct {
	Format   int
	Ceremony string
	Tool     string
}

// tornRecord is what a transcript.torn event says was cut.
type tornRecord struct {
	length   int64
	artifact string
	at       Problem // the line that records it
}

// lineResult is what checking one line found.
type lineResult struct {
	at    Problem // where the line is
	ev    Event
	refs  []string    // the well-formed artifact names in data, in order
	torn  *tornRecord // for a transcript.torn event whose fields are valid
	probs []Problem
}

// chain checks lines one after another: grammar, data, seq, prev, time and
// the format's own events. Each line is compared with the line before it
// as that line is, so that one change is reported where it is and not
// again on every later line.
type chain struct {
	n        int
	offset   int64 // where the next line starts
	start    int64 // where the last line started
	prev     Digest
	seq      int64 // the last line's seq, or the seq expected of it when it could not be read
	lastTime time.Time
	haveTime bool // lastTime is the last line's: it could be read
	hdr      *header
}

// next checks one complete line (newline included) whose SHA-256 is sum;
// raw may be cut short when the line is longer than MaxLine. The checks
// run in docs/TRANSCRIPT.md's order: "line" and "data" stop the others.
func (c *chain) next(raw []byte, sum Digest, size int64) lineResult {
	c.n++
	at := Problem{Line: c.n, Offset: c.offset}
	c.start = c.offset
	c.offset += size
	wantSeq, prevTime, havePrevTime := c.seq+1, c.lastTime, c.haveTime
	c.seq, c.haveTime = wantSeq, false // for a line that cannot be read
	defer func() { c.prev = sum }()
	var r lineResult
	add := func(check string, col int, format string, args ...any) {
		p := at
		p.Check, p.Column, p.Detail = check, col, fmt.Sprintf(format, args...)
		r.probs = append(r.probs, p)
	}
	if size > MaxLine {
		add(checkLine, MaxLine+1, "line is %d bytes, longer than %d", size, MaxLine)
		return r
	}
	ev, refs, errs := parseLine(raw)
	at.Seq = ev.Seq
	r.at, r.ev = at, ev
	if len(errs) > 0 && (errs[0].check == checkLine || errs[0].check == checkData) {
		add(errs[0].check, errs[0].col, "%s", errs[0].msg)
		if errs[0].check == checkData { // the envelope, and so seq and time, could be read
			c.seq, c.lastTime, c.haveTime = ev.Seq, ev.Time, true
		}
		return r
	}
	r.refs = refs
	for _, e := range errs {
		add(e.check, e.col, "%s", e.msg)
	}
	if ev.Seq != wantSeq {
		add(checkSeq, 8, "seq is %d, expected %d (one more than the previous line's): a line was removed, inserted or moved here", ev.Seq, wantSeq)
	}
	c.seq = ev.Seq
	if ev.Prev != c.prev {
		what := fmt.Sprintf("line %d", c.n-1)
		if c.n == 1 {
			what = "the genesis value (64 zeros)"
		}
		add(checkPrev, 0, "prev is %s but %s hashes to %s: that line, or this prev, was changed, or a line was removed, inserted or moved", ev.Prev, what, c.prev)
	}
	if havePrevTime && ev.Time.Before(prevTime) {
		add(checkTime, 0, "time %s is before the previous line's %s", ev.Time.Format(timeLayout), prevTime.Format(timeLayout))
	}
	c.lastTime, c.haveTime = ev.Time, true
	switch {
	case c.n == 1 && ev.Type != HeaderType:
		add(checkHeader, 0, "the first event must be of type %q, not %q", HeaderType, ev.Type)
	case c.n == 1:
		h, err := readHeader(ev.Data)
		if err != nil {
			add(checkHeader, 0, "%v", err)
		} else {
			c.hdr = &h
		}
	case ev.Type == HeaderType:
		add(checkHeader, 0, "a %q event may only be the first line", HeaderType)
	case ev.Type == tornType:
		rec, err := readTornRecord(ev.Data, c.start)
		if err != nil {
			add(checkRepair, 0, "%v", err)
		} else {
			rec.at = at
			r.torn = rec
		}
	case strings.HasPrefix(ev.Type, reservedPrefix):
		add(checkReserved, 0, "type %q begins %q, but format %d defines only %q and %q: a newer format, or a forged event", ev.Type, reservedPrefix, Format, HeaderType, tornType)
	}
	return r
}

// readHeader reads the header's data: exactly the members format (the
// number 1, written "1"), ceremony (a non-empty string) and tool (a
// string), their names compared exactly.
func readHeader(data []byte) (header, error) {
	var h header
	m, err := members(data, "format", "ceremony", "tool")
	if err != nil {
		return h, fmt.Errorf("header data: %w", err)
	}
	switch f := string(m["format"]); {
	case f == strconv.Itoa(Format):
		h.Format = Format
	case isUint(f):
		return h, fmt.Errorf("transcript format %s is not %d, the one this tool reads: use a tool that knows it", f, Format)
	default:
		return h, fmt.Errorf(`header "format" is %s, not the number %d`, clip(f), Format)
	}
	if h.Ceremony, err = jsonString(m["ceremony"]); err != nil {
		return h, fmt.Errorf(`header "ceremony": %w`, err)
	}
	if h.Ceremony == "" {
		return h, fmt.Errorf("header names no ceremony")
	}
	if h.Tool, err = jsonString(m["tool"]); err != nil {
		return h, fmt.Errorf(`header "tool": %w`, err)
	}
	return h, nil
}

// readTornRecord reads a transcript.torn event's data, whose line starts at
// byte start: exactly the members offset (start itself: the repair cut the
// file there and appended this record), length (1 to MaxLine-1: a torn
// tail is part of a line without its newline) and bytes (an object with the
// one member "artifact").
func readTornRecord(data []byte, start int64) (*tornRecord, error) {
	m, err := members(data, "offset", "length", "bytes")
	if err != nil {
		return nil, err
	}
	off, ok := uintValue(m["offset"])
	if !ok {
		return nil, fmt.Errorf(`"offset" is %s, not an integer written without sign, fraction or exponent`, clip(string(m["offset"])))
	}
	if off != start {
		return nil, fmt.Errorf(`"offset" is %d, but this line starts at byte %d: a repair cuts the torn tail and appends its record where the tail began`, off, start)
	}
	n, ok := uintValue(m["length"])
	if !ok || n < 1 || n >= MaxLine {
		return nil, fmt.Errorf(`"length" is %s, not an integer from 1 to %d (a torn tail is part of a line, without its newline)`, clip(string(m["length"])), MaxLine-1)
	}
	b, err := members(m["bytes"], "artifact")
	if err != nil {
		return nil, fmt.Errorf(`"bytes": %w`, err)
	}
	name, err := jsonString(b["artifact"])
	if err != nil || !validArtifactName(name) {
		return nil, fmt.Errorf(`"bytes" must name an artifact: {"artifact":"sha256:<64 lowercase hex>"}`)
	}
	return &tornRecord{length: n, artifact: name}, nil
}

// members decodes a JSON object that scanData accepted (so no name is
// there twice) and checks that its member names are exactly names,
// compared code point by code point after unescaping.
func members(obj []byte, names ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil || m == nil {
		return nil, fmt.Errorf("must be an object with the members %s", strings.Join(names, ", "))
	}
	var extra []string
	for k := range m {
		if !slices.Contains(names, k) {
			extra = append(extra, strconv.Quote(clip(k)))
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return nil, fmt.Errorf("unknown member %s (names are compared exactly, case included; the members are %s)", strings.Join(extra, ", "), strings.Join(names, ", "))
	}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return nil, fmt.Errorf("missing member %q (the members are %s)", n, strings.Join(names, ", "))
		}
	}
	return m, nil
}

// jsonString decodes a JSON string token; anything else is an error.
func jsonString(raw json.RawMessage) (string, error) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%s is not a string", clip(string(raw)))
	}
	return s, nil
}

// isUint reports whether s is 0 or a positive integer without leading zeros.
func isUint(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// uintValue decodes a JSON number token that isUint and fits in an int64.
func uintValue(raw json.RawMessage) (int64, bool) {
	if !isUint(string(raw)) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
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
// checked for its grammar and against the previous line (seq, prev, time,
// the format's own events); artifacts are not checked (Verify does that).
// It stops after the first error, which is a *Problem for a failed check.
// A torn tail (bytes after the last newline) ends it with a Problem that
// wraps ErrTorn, after every complete event. Events only reads.
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
				yield(Event{}, tornProblem(c.n+1, c.offset, size, "a write cut short by a crash, or a line whose newline was removed"))
				return
			}
			r := c.next(raw, sum, size)
			if len(r.probs) > 0 {
				yield(Event{}, &r.probs[0])
				return
			}
			if !yield(r.ev, nil) {
				return
			}
		}
	}
}

func tornProblem(line int, offset, size int64, what string) *Problem {
	return &Problem{Line: line, Offset: offset, Check: checkTorn,
		Detail: fmt.Sprintf("%d bytes after the last newline: %s", size, what)}
}

// scan is what Verify learns, and what Open and OpenRepair need to go on
// appending.
type scan struct {
	report   *Report
	last     Event  // the last complete line, when it passed every check of its own
	size     int64  // bytes up to and including the last newline
	torn     int64  // bytes after it
	complete *Event // the torn tail with a newline added, when that makes it a valid last event
}

// Verify checks the transcript at path and its artifacts, as
// docs/TRANSCRIPT.md specifies: every line parses strictly, each seq is
// one more than the one before (1 first), no time is before the one
// before, every prev is the SHA-256 of the line before (the first's is 64
// zeros), the first line is a valid header and no other is, the format's
// other events follow its rules, no data holds a secret, nothing follows
// the last newline, and every artifact in the store, named by an event or
// not, is a regular file that hashes to its name and holds nothing that
// looks like a secret. If head is not empty, it is the head digest
// witnesses wrote down (64 hex digits or 32 PGP words) and the transcript
// must end there.
//
// The report lists every problem found, located by line, seq, offset and
// check; the error is nil when there are none, and otherwise wraps
// ErrIntegrity and the first problem. A file that cannot be read at all is
// an error without a report. Verify only reads.
func Verify(path, head string) (*Report, error) {
	return VerifyWith(path, VerifyOptions{Head: head})
}

// VerifyShowing is Verify, telling progress, when set, how many of the
// artifacts the lines name it has checked.
func VerifyShowing(path, head string, progress func(done, total int)) (*Report, error) {
	return VerifyWith(path, VerifyOptions{Head: head, Progress: progress})
}

// VerifyOptions are what VerifyWith checks beyond what Verify always does.
type VerifyOptions struct {
	// Head, if not empty, is a head digest witnesses wrote down: 64 hex
	// digits or 32 PGP words. Some line must hash to it, and be the last
	// line or be followed only by events of the types After names.
	Head string
	// After are the event types that may follow the line Head is the
	// hash of: the caller's, since what a format's user records after the
	// moment its witnesses wrote the head down is its own business (a
	// ceremony's checkpoint signatures, after its close). With none, the
	// transcript must end at Head.
	After []string
	// Progress, when set, is told how many of the artifacts the lines
	// name have been checked.
	Progress func(done, total int)
}

// VerifyWith is Verify with the head check o describes: it reports, in
// Report.Witnessed, the line that hashes to o.Head.
func VerifyWith(path string, o VerifyOptions) (*Report, error) {
	var want *witnessed
	if o.Head != "" {
		d, err := parseDigest(o.Head)
		if err != nil {
			return nil, err
		}
		want = &witnessed{head: d, after: o.After}
	}
	f, err := boundedfile.Open(path, boundedfile.Transcript)
	if err != nil {
		return nil, fmt.Errorf("open transcript: %w", err)
	}
	defer f.Close()
	s, err := verify(f, path, want, o.Progress, false)
	if err != nil {
		return nil, err
	}
	return s.report, reportError(s.report)
}

// witnessed checks a head witnesses wrote down, line by line: some line
// hashes to it, and every line after it is of a type in after.
type witnessed struct {
	head  Digest
	after []string
	found *HeadLine
	extra *Problem // the first line after it of another type
}

// next takes each complete line in turn, with its hash.
func (w *witnessed) next(r lineResult, sum Digest) {
	switch {
	case w.found == nil && sum == w.head:
		w.found = &HeadLine{Line: r.at.Line, Seq: r.ev.Seq, Type: r.ev.Type}
	case w.found != nil:
		w.found.Following++
		if w.extra == nil && !slices.Contains(w.after, r.ev.Type) {
			p := r.at
			p.Column, p.Check = 0, checkHead
			allowed := "nothing may follow it"
			if len(w.after) > 0 {
				allowed = "only events of type " + strings.Join(w.after, ", ") + " may follow it"
			}
			p.Detail = fmt.Sprintf("an event of type %q follows line %d, which hashes to the expected head %s, and %s: the transcript was extended after the head was taken", r.ev.Type, w.found.Line, w.head, allowed)
			w.extra = &p
		}
	}
}

// problem is what the check found wrong, if anything, once every line
// is read; last is the last line's place.
func (w *witnessed) problem(last Problem, lastHead Digest) *Problem {
	if w.found != nil {
		return w.extra
	}
	p := last
	p.Column, p.Check = 0, checkHead
	p.Detail = fmt.Sprintf("no line hashes to the expected head %s (the last line hashes to %s): the transcript was changed or cut short after the head was taken, or the head was written down wrong", w.head, lastHead)
	return &p
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

// verify checks the transcript open as f, whose name is path, reading it
// from its start whatever f's offset. When shallow is set, as for a
// writer, each named artifact must be in the store as a regular file of
// at most boundedfile.Artifact's limit, but its bytes are read only for a
// transcript.torn record (a line's worth), and artifacts no line names
// are left alone: what an artifact holds is checked by every reader of it
// (ReadArtifact hashes it) and by Verify, and reading every one on each
// append would make a command cost as much as the largest repository it
// ever recorded.
func verify(f io.ReaderAt, path string, want *witnessed, progress func(done, total int), shallow bool) (*scan, error) {
	rep := &Report{Path: path, Problems: []Problem{}}
	s := &scan{report: rep}
	addProblem := func(ps ...Problem) {
		for _, p := range ps {
			if len(rep.Problems) < maxProblems {
				rep.Problems = append(rep.Problems, p)
			} else {
				rep.Omitted++
			}
		}
	}
	lr := lineReader{br: bufio.NewReaderSize(io.NewSectionReader(f, 0, math.MaxInt64), 64<<10)}
	var c chain
	var arts artifactChecks
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
			s.complete = completeTail(c, path, raw, size)
			addProblem(*tornProblem(c.n+1, c.offset, size, tornWhat(c.n, size, s.complete)))
			break
		}
		r := c.next(raw, sum, size)
		addProblem(r.probs...)
		if want != nil {
			want.next(r, sum)
		}
		if len(r.probs) == 0 {
			s.last = r.ev
		} else {
			s.last = Event{}
		}
		arts.add(r)
		s.size = c.offset
		rep.Head = sum
	}
	rep.Events = c.n
	if c.n == 0 {
		addProblem(Problem{Line: 1, Check: checkHeader, Detail: "the transcript has no complete line, so no header"})
	}
	if c.hdr != nil {
		rep.Format, rep.Ceremony, rep.Tool = c.hdr.Format, c.hdr.Ceremony, c.hdr.Tool
	}
	rep.Artifacts = len(arts.names)
	arts.progress, arts.shallow = progress, shallow
	addProblem(arts.check(path)...)
	if !shallow {
		unnamed, probs, err := checkUnnamed(path, arts.at)
		if err != nil {
			return nil, err
		}
		rep.Unnamed = unnamed
		addProblem(probs...)
	}
	rep.HeadWords = rep.Head.Words()
	if want != nil {
		if p := want.problem(Problem{Line: c.n, Seq: s.last.Seq, Offset: c.start}, rep.Head); p != nil {
			addProblem(*p)
		}
		rep.Witnessed = want.found
	}
	rep.OK = len(rep.Problems) == 0
	return s, nil
}

// tornWhat says what a torn tail of size bytes after n complete lines is,
// and what repairing it would do.
func tornWhat(n int, size int64, complete *Event) string {
	switch {
	case n == 0:
		return "the header line is incomplete, and a transcript without a complete header is never repaired"
	case size >= MaxLine:
		return "more than a line's worth, so not what a crash leaves; it is never repaired"
	case complete != nil:
		return fmt.Sprintf("a complete event (seq %d, %s) missing only its newline; resuming the ceremony completes it", complete.Seq, complete.Type)
	}
	return "not a complete event: a write cut short by a crash; resuming the ceremony moves them to an artifact and records that with a transcript.torn event"
}

// completeTail returns the event a torn tail is when a newline is added,
// if it then passes every check a last line gets (c is the chain before
// it), its artifacts included; else nil.
func completeTail(c chain, path string, raw []byte, size int64) *Event {
	if c.n == 0 || size >= MaxLine {
		return nil
	}
	line := append(bytes.Clone(raw), '\n')
	r := c.next(line, sha256.Sum256(line), size+1)
	var arts artifactChecks
	arts.add(r)
	if len(r.probs) > 0 || len(arts.check(path)) > 0 {
		return nil
	}
	return &r.ev
}

// artifactChecks collects what the lines say about artifacts, to check
// once the lines are read.
type artifactChecks struct {
	names []string           // in order of first reference
	at    map[string]Problem // where each is first named
	torn  []*tornRecord
	// progress, when set, is told how many artifacts check has read.
	progress func(done, total int)
	// shallow checks that an artifact is in the store, not its bytes,
	// but for a transcript.torn record's (see verify).
	shallow bool
}

func (a *artifactChecks) add(r lineResult) {
	for _, name := range r.refs {
		if _, ok := a.at[name]; ok {
			continue
		}
		if a.at == nil {
			a.at = map[string]Problem{}
		}
		a.at[name] = r.at
		a.names = append(a.names, name)
	}
	if r.torn != nil {
		a.torn = append(a.torn, r.torn)
	}
}

// check reads every named artifact: it must be a regular file that hashes
// to its name and passes the secret screen. A transcript.torn event's
// artifact must then hold exactly the bytes of a torn tail: as many as it
// says, and no newline.
func (a *artifactChecks) check(path string) []Problem {
	var out []Problem
	type seen struct {
		size    int64
		newline bool
	}
	intact := map[string]seen{}
	for i, name := range a.names {
		if a.progress != nil {
			a.progress(i, len(a.names))
		}
		p := a.at[name]
		p.Column, p.Artifact = 0, name
		if a.shallow && !slices.ContainsFunc(a.torn, func(t *tornRecord) bool { return t.artifact == name }) {
			if err := artifactStored(path, name); err != nil {
				p.Check, p.Detail = checkArtifact, err.Error()
				out = append(out, p)
			}
			continue
		}
		b, err := loadArtifact(path, name)
		if err != nil {
			p.Check, p.Detail = checkArtifact, err.Error()
			out = append(out, p)
			continue
		}
		intact[name] = seen{int64(len(b)), bytes.IndexByte(b, '\n') >= 0}
		if e := screenArtifact(b); e != nil {
			p.Check, p.Detail = checkSecret, fmt.Sprintf("artifact %s, byte %d: %s", name, e.col, e.msg)
			out = append(out, p)
		}
	}
	for _, t := range a.torn {
		got, ok := intact[t.artifact]
		if !ok {
			continue // reported above
		}
		p := t.at
		p.Check, p.Artifact = checkRepair, t.artifact
		switch {
		case got.size != t.length:
			p.Detail = fmt.Sprintf(`"length" is %d, but artifact %s holds %d bytes`, t.length, t.artifact, got.size)
		case got.newline:
			p.Detail = fmt.Sprintf("artifact %s holds a newline, so it is not a torn tail (the bytes after the last newline)", t.artifact)
		default:
			continue
		}
		out = append(out, p)
	}
	return out
}

// checkUnnamed checks the artifacts in the store that no line names, in
// name order, as named ones are checked: a crash between storing and
// appending leaves one, and what it holds is on disk all the same. Files
// whose names are not 64 lowercase hex digits are not artifacts, and are
// left alone.
func checkUnnamed(path string, named map[string]Problem) (int, []Problem, error) {
	ents, err := os.ReadDir(filepath.Join(ArtifactDir(path), "sha256"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read the artifact store: %w", err)
	}
	n := 0
	var out []Problem
	for _, e := range ents {
		name := artifactPrefix + e.Name()
		if _, ok := named[name]; ok || !validArtifactName(name) {
			continue
		}
		n++
		p := Problem{Artifact: name}
		b, err := loadArtifact(path, name)
		if err != nil {
			p.Check, p.Detail = checkArtifact, err.Error()+" (no line names it)"
			out = append(out, p)
		} else if e := screenArtifact(b); e != nil {
			p.Check, p.Detail = checkSecret, fmt.Sprintf("artifact %s (no line names it), byte %d: %s", name, e.col, e.msg)
			out = append(out, p)
		}
	}
	return n, out, nil
}
