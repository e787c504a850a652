package roles

import (
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 64

// decoder is a strict JSON scanner over a byte slice. It rejects what
// RFC 8259 rejects and, beyond that, duplicate object names, invalid UTF-8,
// lone surrogates, and numbers that are not integers: TUF's canonical JSON
// has no floats, and a duplicate name would let two readers see two
// documents under one signature.
//
// Strings without escapes are returned without copying: they point into
// data, which the caller must not modify afterwards.
//
// While it scans, the decoder tracks whether the bytes it has consumed are
// already in canonical form (no white space, names sorted, no escapes but
// \" and \\, integers as canonical JSON writes them). When a document's
// "signed" value is canonical as it stands, its bytes are the signed message
// and need not be written again.
type decoder struct {
	data      []byte
	pos       int
	depth     int
	canonical bool
}

// SyntaxError reports malformed JSON or a value outside what TUF allows.
// Path names the field ("signed.delegations.roles[3].threshold").
type SyntaxError struct {
	Offset int
	Path   string
	Msg    string
}

func (e *SyntaxError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s: %s (at byte %d)", e.Path, e.Msg, e.Offset)
	}
	return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset)
}

// at prefixes a SyntaxError's path with the name of the field or element
// it arose in, so that the message names the whole path.
func at(elem string, err error) error {
	if se, ok := err.(*SyntaxError); ok {
		switch {
		case se.Path == "":
			se.Path = elem
		case se.Path[0] == '[':
			se.Path = elem + se.Path
		default:
			se.Path = elem + "." + se.Path
		}
	}
	return err
}

// index names an array element for at.
func index(i int) string { return "[" + strconv.Itoa(i) + "]" }

func (d *decoder) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

// ws skips white space; any white space makes the input non-canonical.
func (d *decoder) ws() {
	start := d.pos
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
			continue
		}
		break
	}
	if d.pos != start {
		d.canonical = false
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

func (d *decoder) expect(c byte) error {
	if d.peek() != c {
		return d.unexpected(fmt.Sprintf("%q", c))
	}
	d.pos++
	return nil
}

func (d *decoder) unexpected(want string) error {
	if d.pos >= len(d.data) {
		return d.errorf("unexpected end of input, want %s", want)
	}
	return d.errorf("unexpected %q, want %s", d.data[d.pos], want)
}

// end checks that nothing but white space follows the document.
func (d *decoder) end() error {
	d.ws()
	if d.pos != len(d.data) {
		return d.errorf("unexpected data after the top-level value")
	}
	return nil
}

// object reads an object, calling member for each name with the decoder
// positioned at the value; member must consume the value. It rejects
// duplicate names and notes names out of canonical order.
func (d *decoder) object(member func(name string) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	if d.depth++; d.depth > maxDepth {
		return d.errorf("nested deeper than %d levels", maxDepth)
	}
	defer func() { d.depth-- }()
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	// Names usually arrive sorted (canonical JSON, python-tuf's sort_keys),
	// and then a duplicate would have to equal its predecessor. Only when
	// the order breaks is a set of every name needed.
	var prev string
	var seen map[string]struct{}
	var names []string
	for n := 0; ; n++ {
		if d.peek() != '"' {
			return d.unexpected("a member name")
		}
		name, err := d.str()
		if err != nil {
			return err
		}
		if seen == nil && n > 0 && name <= prev {
			d.canonical = false
			seen = make(map[string]struct{}, len(names)+8)
			for _, s := range names {
				seen[s] = struct{}{}
			}
		}
		if seen != nil {
			if _, dup := seen[name]; dup {
				return d.errorf("duplicate member name %q", name)
			}
			seen[name] = struct{}{}
		} else {
			names = append(names, name)
		}
		prev = name
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.unexpected(`"," or "}"`)
		}
	}
}

// array reads an array, calling elem for each element with the decoder
// positioned at it; elem must consume it.
func (d *decoder) array(elem func(i int) error) error {
	if err := d.expect('['); err != nil {
		return err
	}
	if d.depth++; d.depth > maxDepth {
		return d.errorf("nested deeper than %d levels", maxDepth)
	}
	defer func() { d.depth-- }()
	if d.peek() == ']' {
		d.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return nil
		default:
			return d.unexpected(`"," or "]"`)
		}
	}
}

// strings reads an array of strings.
func (d *decoder) strings() ([]string, error) {
	var out []string
	err := d.array(func(int) error {
		s, err := d.str()
		out = append(out, s)
		return err
	})
	if out == nil && err == nil {
		out = []string{}
	}
	return out, err
}

// str reads a string. Without escapes the result aliases d.data.
func (d *decoder) str() (string, error) {
	if d.peek() != '"' {
		return "", d.unexpected("a string")
	}
	d.pos++
	start := d.pos
	ascii := true
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			if !ascii && !utf8.Valid(s) {
				d.pos = start
				return "", d.errorf("string is not valid UTF-8")
			}
			if len(s) == 0 {
				return "", nil
			}
			return unsafe.String(&s[0], len(s)), nil
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			return "", d.errorf("control character %#02x in string: escape it", c)
		case c >= 0x80:
			ascii = false
		}
		d.pos++
	}
	return "", d.errorf("unterminated string")
}

// escapedStr finishes a string that has escapes, from its start, into a
// new buffer.
func (d *decoder) escapedStr(start int) (string, error) {
	buf := slices.Clone(d.data[start:d.pos])
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !utf8.Valid(buf) {
				return "", d.errorf("string is not valid UTF-8")
			}
			return string(buf), nil
		case c < 0x20:
			return "", d.errorf("control character %#02x in string: escape it", c)
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		if d.pos+1 >= len(d.data) {
			return "", d.errorf("unterminated escape")
		}
		e := d.data[d.pos+1]
		d.pos += 2
		switch e {
		case '"', '\\':
			buf = append(buf, e)
			continue // the only escapes canonical JSON writes
		case '/':
			buf = append(buf, '/')
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := d.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xDC00 || d.pos+1 >= len(d.data) || d.data[d.pos] != '\\' || d.data[d.pos+1] != 'u' {
					return "", d.errorf("lone UTF-16 surrogate in \\u escape")
				}
				d.pos += 2
				r2, err := d.hex4()
				if err != nil {
					return "", err
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", d.errorf("invalid UTF-16 surrogate pair in \\u escape")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", d.errorf("invalid escape \\%c", e)
		}
		d.canonical = false
	}
	return "", d.errorf("unterminated string")
}

func (d *decoder) hex4() (rune, error) {
	if d.pos+4 > len(d.data) {
		return 0, d.errorf("short \\u escape")
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, d.errorf("invalid \\u escape")
		}
	}
	d.pos += 4
	return r, nil
}

// int reads an integer. Fractions and exponents are refused: canonical
// JSON has no floats, and a TUF field that holds 1.0 is malformed.
func (d *decoder) int() (int64, error) {
	d.ws()
	start := d.pos
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	digits := d.pos
	for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
		d.pos++
	}
	if d.pos == digits {
		d.pos = start
		return 0, d.unexpected("an integer")
	}
	if d.pos < len(d.data) {
		switch d.data[d.pos] {
		case '.', 'e', 'E':
			d.pos = start
			return 0, d.errorf("number is not an integer: canonical JSON allows integers only")
		}
	}
	lit := d.data[start:d.pos]
	if d.data[digits] == '0' && d.pos-digits > 1 {
		d.pos = start
		return 0, d.errorf("number has a leading zero")
	}
	n, err := strconv.ParseInt(unsafe.String(&lit[0], len(lit)), 10, 64)
	if err != nil {
		d.pos = start
		return 0, d.errorf("integer out of range")
	}
	if n == 0 && lit[0] == '-' {
		d.canonical = false // -0 is written 0
	}
	return n, nil
}

// uint reads a non-negative integer.
func (d *decoder) uint() (int64, error) {
	start := d.pos
	n, err := d.int()
	if err == nil && n < 0 {
		d.pos = start
		return 0, d.errorf("must not be negative")
	}
	return n, err
}

// bool reads true or false.
func (d *decoder) bool() (bool, error) {
	switch d.peek() {
	case 't':
		if d.lit("true") {
			return true, nil
		}
	case 'f':
		if d.lit("false") {
			return false, nil
		}
	}
	return false, d.unexpected("true or false")
}

func (d *decoder) lit(s string) bool {
	if len(d.data)-d.pos >= len(s) && string(d.data[d.pos:d.pos+len(s)]) == s {
		d.pos += len(s)
		return true
	}
	return false
}

// skip reads any value, checking it strictly, and returns its bytes.
func (d *decoder) skip() ([]byte, error) {
	c := d.peek()
	start := d.pos
	var err error
	switch {
	case c == '{':
		err = d.object(func(string) error { _, err := d.skip(); return err })
	case c == '[':
		err = d.array(func(int) error { _, err := d.skip(); return err })
	case c == '"':
		_, err = d.str()
	case c == '-' || ('0' <= c && c <= '9'):
		_, err = d.int()
	case c == 't' || c == 'f':
		_, err = d.bool()
	case c == 'n':
		if !d.lit("null") {
			err = d.unexpected("null")
		}
	default:
		err = d.unexpected("a value")
	}
	return d.data[start:d.pos], err
}
