package transcripts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
)

// Format is the transcript format version this package writes and reads. It
// is recorded in every transcript's header event.
const Format = 1

// MaxLine is the largest line, newline included, that a transcript may hold.
// Anything bigger belongs in an artifact; the bound also keeps a reader's
// memory use bounded on hostile input.
const MaxLine = 1 << 20

// timeLayout is RFC 3339 in UTC with exactly nine fractional digits: fixed
// width, so that a verifier can check the form with a pattern and so that
// times sort as strings.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// HeaderType is the type of the first event of every transcript.
const HeaderType = "transcript.header"

// tornType is the type of the event Open appends after cutting a torn tail.
const tornType = "transcript.torn"

// reservedPrefix starts the event types this package writes itself.
const reservedPrefix = "transcript."

// maxType bounds an event type's length.
const maxType = 64

// Digest is a SHA-256 digest: of a line, or the head of a transcript.
type Digest [sha256.Size]byte

// genesis is the prev of the first line: 32 zero bytes.
var genesis Digest

// String returns the digest in lowercase hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Words returns the digest in the PGP word list, for reading aloud.
func (d Digest) Words() string { return pgpwords.String(d[:]) }

// MarshalText encodes the digest as lowercase hex.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes 64 lowercase hex digits.
func (d *Digest) UnmarshalText(b []byte) error {
	x, err := parseHex(string(b))
	if err != nil {
		return err
	}
	*d = x
	return nil
}

// parseHex decodes exactly 64 lowercase hex digits.
func parseHex(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) || !isLowerHex(s) {
		return d, fmt.Errorf("digest %q is not 64 lowercase hex digits", clip(s))
	}
	hex.Decode(d[:], []byte(s))
	return d, nil
}

// wordIndex maps a PGP word, its ASCII letters lowercased, to its byte
// value, for even and odd positions separately.
var wordIndex = func() [2]map[string]byte {
	m := [2]map[string]byte{{}, {}}
	for b := 0; b < 256; b++ {
		w := pgpwords.Encode([]byte{byte(b), byte(b)})
		m[0][asciiLower(w[0])] = byte(b)
		m[1][asciiLower(w[1])] = byte(b)
	}
	return m
}()

// parseDigest reads a digest written as 64 hex digits or as 32 PGP words,
// as a witness may have copied it down: letters in any ASCII case, words
// separated by ASCII white space, which may also surround either form.
func parseDigest(s string) (Digest, error) {
	words := asciiFields(s)
	if len(words) == 1 {
		if d, err := parseHex(asciiLower(words[0])); err == nil {
			return d, nil
		}
	}
	var d Digest
	if len(words) != len(d) {
		return d, fmt.Errorf("head %q is neither 64 hex digits nor 32 PGP words", clip(s))
	}
	for i, w := range words {
		b, ok := wordIndex[i%2][asciiLower(w)]
		if !ok {
			return d, fmt.Errorf("head: word %d %q is not a PGP word for an %s position", i+1, clip(w), [2]string{"even", "odd"}[i%2])
		}
		d[i] = b
	}
	return d, nil
}

// asciiFields splits s at runs of ASCII white space (0x09-0x0D, 0x20).
func asciiFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isASCIISpace(byte(r)) })
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Event is one line of a transcript.
type Event struct {
	Seq  int64     // 1 for the header, then one more per line
	Time time.Time // UTC, never before the previous event's
	Type string    // e.g. "ceremony.opened"; "transcript." types are this package's
	Prev Digest    // SHA-256 of the previous line's bytes; zero for the first line
	Data []byte    // the data object's JSON bytes, exactly as in the line
	Raw  []byte    // the whole line, newline included: what Hash hashes
}

// Hash returns the SHA-256 of the event's line, which the next line names as
// its prev and which, for the last line, is the transcript's head.
func (e Event) Hash() Digest { return sha256.Sum256(e.Raw) }

// validType reports why t cannot be an event type, or nil.
func validType(t string) error {
	if t == "" || len(t) > maxType {
		return fmt.Errorf("event type %q must be 1 to %d characters", clip(t), maxType)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		ok := 'a' <= c && c <= 'z' || i > 0 && ('0' <= c && c <= '9' || c == '.' || c == '_' || c == '-')
		if !ok {
			return fmt.Errorf("event type %q: byte %d: use a lowercase letter first, then [a-z0-9._-]", clip(t), i+1)
		}
	}
	return nil
}

// encodeLine returns the line for an event: the fields in fixed order, no
// whitespace, and a final newline. data must already be checked.
func encodeLine(seq int64, t time.Time, typ string, prev Digest, data []byte) []byte {
	b := make([]byte, 0, 160+len(data))
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"time":"`...)
	b = t.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","type":"`...)
	b = append(b, typ...)
	b = append(b, `","prev":"`...)
	b = hex.AppendEncode(b, prev[:])
	b = append(b, `","data":`...)
	b = append(b, data...)
	b = append(b, "}\n"...)
	return b
}

// lineError is a grammar or data error inside one line, with the check that
// failed and the byte offset within the line.
type lineError struct {
	check string
	col   int // 1-based byte within the line
	msg   string
}

func (e *lineError) Error() string { return fmt.Sprintf("byte %d: %s", e.col, e.msg) }

// parseLine parses one complete line (newline included) strictly: the
// fields in their fixed order, nothing else, and data a strict JSON object.
// It returns what failed: a "line" error alone when the envelope breaks the
// grammar (then nothing in the line can be trusted), else scanData's
// errors. It does not check the chain; see chain.
func parseLine(raw []byte) (Event, []string, []*lineError) {
	ev, err := parseEnvelope(raw)
	if err != nil {
		return ev, nil, []*lineError{err}
	}
	refs, errs := scanData(ev.Data)
	start := len(raw) - 2 - len(ev.Data) // where data starts in the line
	for _, e := range errs {
		e.col += start
	}
	return ev, refs, errs
}

// parseEnvelope checks section 2's grammar and splits the line into its
// fields; data is left to scanData.
func parseEnvelope(raw []byte) (Event, *lineError) {
	ev := Event{Raw: raw}
	if len(raw) > MaxLine {
		return ev, &lineError{checkLine, MaxLine + 1, fmt.Sprintf("line is longer than %d bytes", MaxLine)}
	}
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		return ev, &lineError{checkLine, len(raw) + 1, "line does not end in a newline"}
	}
	body := raw[:len(raw)-1]
	p := lineParser{b: body}

	if err := p.lit(`{"seq":`); err != nil {
		return ev, err
	}
	start := p.i
	for p.i < len(body) && '0' <= body[p.i] && body[p.i] <= '9' {
		p.i++
	}
	digits := string(body[start:p.i])
	if digits == "" || digits[0] == '0' {
		return ev, &lineError{checkLine, start + 1, "seq must be a positive integer without leading zeros"}
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return ev, &lineError{checkLine, start + 1, "seq is too large"}
	}
	ev.Seq = seq

	if err := p.lit(`,"time":"`); err != nil {
		return ev, err
	}
	start = p.i
	if p.i+len(timeLayout) > len(body) {
		return ev, &lineError{checkLine, start + 1, "time must be YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ"}
	}
	ts := string(body[p.i : p.i+len(timeLayout)])
	tm, err := time.Parse(timeLayout, ts)
	if err != nil || tm.Format(timeLayout) != ts {
		return ev, &lineError{checkLine, start + 1, fmt.Sprintf("time %q is not YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ in UTC", ts)}
	}
	if tm.Year() < 1 {
		return ev, &lineError{checkLine, start + 1, fmt.Sprintf("time %q is in year 0000: years run from 0001 to 9999", ts)}
	}
	ev.Time = tm
	p.i += len(timeLayout)

	if err := p.lit(`","type":"`); err != nil {
		return ev, err
	}
	start = p.i
	for p.i < len(body) && body[p.i] != '"' {
		p.i++
	}
	ev.Type = string(body[start:p.i])
	if err := validType(ev.Type); err != nil {
		return ev, &lineError{checkLine, start + 1, err.Error()}
	}

	if err := p.lit(`","prev":"`); err != nil {
		return ev, err
	}
	start = p.i
	if p.i+64 > len(body) {
		return ev, &lineError{checkLine, start + 1, "prev must be 64 lowercase hex digits"}
	}
	prev, err := parseHex(string(body[p.i : p.i+64]))
	if err != nil {
		return ev, &lineError{checkLine, start + 1, "prev must be 64 lowercase hex digits"}
	}
	ev.Prev = prev
	p.i += 64

	if err := p.lit(`","data":{`); err != nil {
		return ev, err
	}
	p.i-- // data starts at its "{"
	// As section 2's expression has it: data is "{" ... "}", then "}".
	if len(body)-1-p.i < 2 || body[len(body)-2] != '}' || body[len(body)-1] != '}' {
		return ev, &lineError{checkLine, len(body) + 1, `data must be an object, and the line must end with "}}" and a newline`}
	}
	ev.Data = body[p.i : len(body)-1]
	return ev, nil
}

type lineParser struct {
	b []byte
	i int
}

// lit consumes the literal s or says what was expected where.
func (p *lineParser) lit(s string) *lineError {
	if !bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		return &lineError{checkLine, p.i + 1, fmt.Sprintf("expected %s", strconv.Quote(s))}
	}
	p.i += len(s)
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
