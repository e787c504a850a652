package roles

import (
	"bytes"
	"errors"
	"fmt"
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
	scratch   []byte // reused by strRaw to check escapes
}

// SyntaxError reports malformed JSON or a value outside what TUF allows.
// Path names the field ("signed.delegations.roles[3].threshold"). Kind,
// when set, is the refusal's class (ErrDuplicateName, …), so that callers
// tell refusals apart with errors.Is, not by their wording.
type SyntaxError struct {
	Offset int
	Path   string
	Msg    string
	Kind   error
}

func (e *SyntaxError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s: %s (at byte %d)", e.Path, e.Msg, e.Offset)
	}
	return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset)
}

// Unwrap returns the refusal's Kind, if any.
func (e *SyntaxError) Unwrap() error { return e.Kind }

// Refusals of well-formed JSON that a SyntaxError names by Kind: what two
// readers could read two ways, or what TUF does not allow.
var (
	ErrDuplicateName      = errors.New("duplicate member name")
	ErrVersionBelowOne    = errors.New("version below 1")
	ErrSpecVersion        = errors.New("spec version not 1.x")
	ErrRoleDelegatedTwice = errors.New("role name delegated twice")
	ErrTopLevelDelegated  = errors.New("top-level role name delegated")
	ErrKeyIDMismatch      = errors.New("keyid is not the key's")
	// ErrTimeNotUTC: a time with an offset or fractional seconds, as
	// metadata written before TUF 1.0 has.
	ErrTimeNotUTC = errors.New("time not in UTC to the second")
)

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

// refuse is errorf for a refusal of the class kind.
func (d *decoder) refuse(kind error, format string, args ...any) error {
	return &SyntaxError{Offset: d.pos, Msg: fmt.Sprintf(format, args...), Kind: kind}
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

// countAhead counts marker in the rest of the input: a capacity hint for
// a large object or array about to be read. A slice grown step by step
// leaves about four times its size behind as garbage; the hint may count
// too many (markers after the value), never matters for correctness, and
// costs a memchr-speed scan.
func (d *decoder) countAhead(marker string) int {
	n := bytes.Count(d.data[d.pos:], []byte(marker))
	return min(n, 1<<24)
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
// positioned at the value; member must consume the value. Hot paths use
// members instead, which allocates nothing.
func (d *decoder) object(member func(name string) error) error {
	it := d.members()
	for it.next() {
		if err := member(it.name); err != nil {
			return err
		}
	}
	return it.err
}

// memberIter walks an object's members without allocating:
//
//	it := d.members()
//	for it.next() { read the value of it.name }
//	if it.err != nil { … }
//
// It rejects duplicate names and notes names out of canonical order.
type memberIter struct {
	d     *decoder
	start int // offset of the object's '{'
	n     int
	name  string
	seen  map[string]struct{} // only once names arrive out of order
	err   error
	done  bool
}

func (d *decoder) members() memberIter {
	d.ws()
	it := memberIter{d: d, start: d.pos}
	if err := d.expect('{'); err != nil {
		it.err, it.done = err, true
		return it
	}
	if d.depth++; d.depth > maxDepth {
		it.err, it.done = d.errorf("nested deeper than %d levels", maxDepth), true
	}
	return it
}

// next moves to the next member, leaving the decoder at its value.
func (it *memberIter) next() bool {
	if it.done {
		return false
	}
	d := it.d
	if it.n == 0 {
		if d.peek() == '}' {
			d.pos++
			return it.finish(nil)
		}
	} else {
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return it.finish(nil)
		default:
			return it.finish(d.unexpected(`"," or "}"`))
		}
	}
	if d.peek() != '"' {
		return it.finish(d.unexpected("a member name"))
	}
	namePos := d.pos
	name, err := d.str()
	if err != nil {
		return it.finish(err)
	}
	// Names usually arrive sorted (canonical JSON, python-tuf's
	// sort_keys), and then a duplicate would have to equal its
	// predecessor. Only when the order breaks is a set of every name
	// needed, and it is built by reading the names so far again.
	if it.seen == nil && it.n > 0 && name <= it.name {
		d.canonical = false
		if it.seen, err = namesBefore(d.data[it.start:namePos]); err != nil {
			return it.finish(err)
		}
	}
	if it.seen != nil {
		if _, dup := it.seen[name]; dup {
			d.pos = namePos
			return it.finish(d.refuse(ErrDuplicateName, "duplicate member name %q", name))
		}
		it.seen[name] = struct{}{}
	}
	it.name = name
	it.n++
	if err := d.expect(':'); err != nil {
		return it.finish(err)
	}
	return true
}

func (it *memberIter) finish(err error) bool {
	if !it.done {
		it.d.depth--
	}
	it.err, it.done = err, true
	return false
}

// namesBefore reads again the names of an object whose members, well
// formed, stand in b (from its '{' up to a name).
func namesBefore(b []byte) (map[string]struct{}, error) {
	d := &decoder{data: b}
	seen := map[string]struct{}{}
	d.pos = 1
	for {
		if d.peek() == ',' {
			d.pos++
		}
		if d.peek() != '"' {
			return seen, nil
		}
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		seen[name] = struct{}{}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		if _, err := d.skip(); err != nil {
			return nil, err
		}
	}
}

// elemIter walks an array's elements without allocating, like memberIter.
type elemIter struct {
	d    *decoder
	i    int // index of the current element
	err  error
	done bool
}

func (d *decoder) elems() elemIter {
	it := elemIter{d: d, i: -1}
	if err := d.expect('['); err != nil {
		it.err, it.done = err, true
		return it
	}
	if d.depth++; d.depth > maxDepth {
		it.err, it.done = d.errorf("nested deeper than %d levels", maxDepth), true
	}
	return it
}

func (it *elemIter) next() bool {
	if it.done {
		return false
	}
	d := it.d
	if it.i < 0 {
		if d.peek() == ']' {
			d.pos++
			return it.finish(nil)
		}
	} else {
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return it.finish(nil)
		default:
			return it.finish(d.unexpected(`"," or "]"`))
		}
	}
	it.i++
	return true
}

func (it *elemIter) finish(err error) bool {
	if !it.done {
		it.d.depth--
	}
	it.err, it.done = err, true
	return false
}

// array reads an array, calling elem for each element with the decoder
// positioned at it; elem must consume it.
func (d *decoder) array(elem func(i int) error) error {
	it := d.elems()
	for it.next() {
		if err := elem(it.i); err != nil {
			return err
		}
	}
	return it.err
}

// strings reads an array of strings.
func (d *decoder) strings() ([]string, error) {
	out := []string{}
	it := d.elems()
	for it.next() {
		s, err := d.str()
		if err != nil {
			return nil, at(index(it.i), err)
		}
		out = append(out, s)
	}
	return out, it.err
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
			buf, err := d.escapedStr(start, nil)
			if err != nil {
				return "", err
			}
			return unsafe.String(&buf[0], len(buf)), nil // buf is never written again
		case c < 0x20:
			return "", d.errorf("control character %#02x in string: escape it", c)
		case c >= 0x80:
			ascii = false
		}
		d.pos++
	}
	return "", d.errorf("unterminated string")
}

// strRaw reads and checks a string like str but returns it as it stands
// between its quotes, escapes and all, without copying; escaped says
// whether it has escapes (unescape them with unescapeJSON). Large values
// that are rarely needed decoded (PEM keys) are kept this way.
func (d *decoder) strRaw() (raw string, escaped bool, err error) {
	if d.peek() != '"' {
		return "", false, d.unexpected("a string")
	}
	start := d.pos + 1
	if i := bytes.IndexAny(d.data[start:], "\"\\"); i < 0 || d.data[start+i] == '"' {
		s, err := d.str()
		return s, false, err
	}
	d.pos = start
	for d.pos < len(d.data) && d.data[d.pos] != '\\' {
		if d.data[d.pos] < 0x20 {
			return "", false, d.errorf("control character %#02x in string: escape it", d.data[d.pos])
		}
		d.pos++
	}
	// Decode into scratch only to check the escapes and the UTF-8.
	if d.scratch, err = d.escapedStr(start, d.scratch[:0]); err != nil {
		return "", false, err
	}
	b := d.data[start : d.pos-1]
	return unsafe.String(&b[0], len(b)), true, nil
}

// unescapeJSON decodes the escapes of a string that strRaw returned as
// escaped; it was checked when read, so it cannot fail.
func unescapeJSON(raw string) string {
	d := &decoder{data: append(append([]byte{'"'}, raw...), '"')}
	s, _ := d.str()
	return s
}

// escapedStr finishes a string that has escapes, from its start, decoding
// it into dst, or into a new buffer when dst is nil. The decoder is at the
// first backslash.
func (d *decoder) escapedStr(start int, dst []byte) ([]byte, error) {
	buf := append(dst, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !utf8.Valid(buf) {
				return buf, d.errorf("string is not valid UTF-8")
			}
			return buf, nil
		case c < 0x20:
			return buf, d.errorf("control character %#02x in string: escape it", c)
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		if d.pos+1 >= len(d.data) {
			return buf, d.errorf("unterminated escape")
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
				return buf, err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xDC00 || d.pos+1 >= len(d.data) || d.data[d.pos] != '\\' || d.data[d.pos+1] != 'u' {
					return buf, d.errorf("lone UTF-16 surrogate in \\u escape")
				}
				d.pos += 2
				r2, err := d.hex4()
				if err != nil {
					return buf, err
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return buf, d.errorf("invalid UTF-16 surrogate pair in \\u escape")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return buf, d.errorf("invalid escape \\%c", e)
		}
		d.canonical = false
	}
	return buf, d.errorf("unterminated string")
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
