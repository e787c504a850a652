package roles

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// cwriter writes canonical JSON as securesystemslib defines it (the OLPC
// rules): no white space, object names sorted by their bytes, strings with
// only '"' and '\' escaped and every other byte written as it is, integers
// in decimal. With a destination it streams through a small buffer, so that
// signing or verifying a large document never holds a second copy of it.
//
// With escape set it writes the publishable form instead: the same bytes
// except that control characters in strings are escaped, because canonical
// JSON writes them raw (a PEM key's newlines) and JSON parsers refuse that.
type cwriter struct {
	dst    io.Writer // nil: everything stays in buf
	buf    []byte
	err    error
	escape bool

	scratch []byte // reused by writers that decode before quoting
}

// bytes is what was written, in a slice of its own size where the buffer
// grew much larger: a caller may hold the result for long (a staged
// role), and append leaves up to twice the bytes in a buffer.
func (c *cwriter) bytes() []byte {
	if cap(c.buf)-len(c.buf) > len(c.buf)/8 {
		return bytes.Clone(c.buf)
	}
	return c.buf
}

const cwriterFlush = 64 << 10

func (c *cwriter) flush() {
	if c.dst == nil || len(c.buf) == 0 || c.err != nil {
		return
	}
	_, c.err = c.dst.Write(c.buf)
	c.buf = c.buf[:0]
}

func (c *cwriter) maybeFlush() {
	if c.dst != nil && len(c.buf) >= cwriterFlush {
		c.flush()
	}
}

func (c *cwriter) raw(s string) {
	c.buf = append(c.buf, s...)
	c.maybeFlush()
}

func (c *cwriter) rawBytes(b []byte) {
	if c.dst != nil && len(b) >= cwriterFlush {
		c.flush()
		if c.err == nil {
			_, c.err = c.dst.Write(b)
		}
		return
	}
	c.buf = append(c.buf, b...)
	c.maybeFlush()
}

func (c *cwriter) byte(b byte) { c.buf = append(c.buf, b) }

// quote writes s as a canonical JSON string. A string that is not UTF-8
// (set through the API; parsing refuses them) is an error: no JSON reader
// would see the bytes that were signed.
func (c *cwriter) quote(s string) {
	if c.err == nil && !utf8.ValidString(s) {
		c.err = fmt.Errorf("string %q is not valid UTF-8: metadata holds UTF-8 only", s)
	}
	c.buf = append(c.buf, '"')
	for {
		i := strings.IndexAny(s, `"\`)
		if c.escape {
			i = indexSpecial(s)
		}
		if i < 0 {
			break
		}
		c.buf = append(c.buf, s[:i]...)
		switch ch := s[i]; ch {
		case '"', '\\':
			c.buf = append(c.buf, '\\', ch)
		case '\n':
			c.buf = append(c.buf, '\\', 'n')
		case '\t':
			c.buf = append(c.buf, '\\', 't')
		case '\r':
			c.buf = append(c.buf, '\\', 'r')
		default:
			c.buf = append(c.buf, '\\', 'u', '0', '0', hexDigits[ch>>4], hexDigits[ch&15])
		}
		s = s[i+1:]
	}
	c.buf = append(c.buf, s...)
	c.buf = append(c.buf, '"')
	c.maybeFlush()
}

const hexDigits = "0123456789abcdef"

// indexSpecial finds the first byte that JSON requires escaped.
func indexSpecial(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return -1
}

// name writes a member name and its colon, with a comma before it unless
// it is the object's first member.
func (c *cwriter) name(first *bool, n string) {
	if !*first {
		c.buf = append(c.buf, ',')
	}
	*first = false
	c.quote(n)
	c.buf = append(c.buf, ':')
}

func (c *cwriter) int(n int64) { c.buf = strconv.AppendInt(c.buf, n, 10) }

func (c *cwriter) bool(b bool) { c.buf = strconv.AppendBool(c.buf, b) }

func (c *cwriter) strings(ss []string) {
	c.byte('[')
	for i, s := range ss {
		if i > 0 {
			c.byte(',')
		}
		c.quote(s)
	}
	c.byte(']')
}

// Canonicalize returns the canonical JSON form of a JSON document, after
// parsing it strictly (see Parse for what is refused).
func Canonicalize(data []byte) ([]byte, error) {
	d := &decoder{data: data}
	c := &cwriter{buf: make([]byte, 0, len(data))}
	if err := transcode(d, c); err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return c.buf, nil
}

// transcode reads one value and writes it in canonical form.
func transcode(d *decoder, c *cwriter) error {
	switch ch := d.peek(); {
	case ch == '{':
		type member struct {
			name string
			val  []byte
		}
		var ms []member
		err := d.object(func(name string) error {
			v, err := d.skip()
			ms = append(ms, member{name, v})
			return at(name, err)
		})
		if err != nil {
			return err
		}
		slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.name, b.name) })
		c.byte('{')
		first := true
		for _, m := range ms {
			c.name(&first, m.name)
			sub := &decoder{data: m.val, depth: d.depth + 1}
			if err := transcode(sub, c); err != nil {
				return err
			}
		}
		c.byte('}')
	case ch == '[':
		c.byte('[')
		err := d.array(func(i int) error {
			if i > 0 {
				c.byte(',')
			}
			return at(index(i), transcode(d, c))
		})
		if err != nil {
			return err
		}
		c.byte(']')
	case ch == '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		c.quote(s)
	case ch == '-' || ('0' <= ch && ch <= '9'):
		n, err := d.int()
		if err != nil {
			return err
		}
		c.int(n)
	default:
		v, err := d.skip() // true, false, null, or an error
		if err != nil {
			return err
		}
		c.rawBytes(v)
	}
	c.maybeFlush()
	return c.err
}

// rawValue is a JSON value kept as the bytes it was read from, for fields
// this package does not know. Keeping them lets a re-signed document carry
// them unchanged, so earlier signatures over it stay valid.
type rawValue []byte

// field is an unknown member of an object.
type field struct {
	Name  string
	Value rawValue
}

// fields are the unknown members of one object, in the order read.
type fields []field

// writeMerged writes the members of an object in canonical order: the
// known members, whose names come sorted in names with a writer for each,
// merged with the unknown ones in extra.
func writeMerged(c *cwriter, extra fields, known ...knownMember) error {
	c.byte('{')
	first := true
	var sorted fields
	if len(extra) > 0 {
		sorted = slices.Clone(extra)
		slices.SortFunc(sorted, func(a, b field) int { return strings.Compare(a.Name, b.Name) })
	}
	k, x := 0, 0
	for k < len(known) || x < len(sorted) {
		if k < len(known) && !known[k].present {
			k++
			continue
		}
		if x < len(sorted) && (k == len(known) || sorted[x].Name < known[k].name) {
			c.name(&first, sorted[x].Name)
			sub := &decoder{data: sorted[x].Value}
			if err := transcode(sub, c); err != nil {
				return err
			}
			x++
			continue
		}
		c.name(&first, known[k].name)
		if err := known[k].write(); err != nil {
			return err
		}
		k++
	}
	c.byte('}')
	c.maybeFlush()
	return c.err
}

// knownMember is a member this package models: its name, whether the
// object has it, and how to write its value.
type knownMember struct {
	name    string
	present bool
	write   func() error
}

func member(name string, present bool, write func()) knownMember {
	return knownMember{name: name, present: present, write: func() error { write(); return nil }}
}

func memberErr(name string, present bool, write func() error) knownMember {
	return knownMember{name: name, present: present, write: write}
}

// unknown records an unknown member read by d.
func (fs *fields) unknown(d *decoder, name string) error {
	v, err := d.skip()
	if err != nil {
		return err
	}
	*fs = append(*fs, field{Name: name, Value: rawValue(v)})
	return nil
}

// appendUnescaped appends the decoded form of a JSON string body that was
// checked when it was read.
func appendUnescaped(dst []byte, raw string) []byte {
	if strings.Contains(raw, `\u`) {
		return append(dst, unescapeJSON(raw)...) // rare in keys: the slow way
	}
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		if ch != '\\' || i+1 >= len(raw) {
			dst = append(dst, ch)
			continue
		}
		i++
		switch raw[i] {
		case 'n':
			dst = append(dst, '\n')
		case 't':
			dst = append(dst, '\t')
		case 'r':
			dst = append(dst, '\r')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		default: // '"', '\\', '/'
			dst = append(dst, raw[i])
		}
	}
	return dst
}
