package transcripts

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The checks a Problem names. They are part of the --json form. Within a
// line they are made in this order; docs/TRANSCRIPT.md, section 8, says
// which stop the line's other checks.
const (
	checkLine     = "line"     // a line breaks the line grammar
	checkData     = "data"     // data is not a strict, compact JSON object
	checkArtifact = "artifact" // a reference is malformed, or the artifact it names is missing or altered
	checkSecret   = "secret"   // data, or an artifact, holds something that looks like a secret
	checkSeq      = "seq"      // seq is not one more than the previous line's
	checkPrev     = "prev"     // prev is not the hash of the previous line
	checkTime     = "time"     // time is before the previous line's
	checkHeader   = "header"   // the first line is not a valid header, or a later one is
	checkReserved = "reserved" // a "transcript." type this format does not define
	checkRepair   = "repair"   // a transcript.torn event breaks the rules for recording a repair
	checkTorn     = "torn"     // bytes after the last newline: a write cut short
	checkHead     = "head"     // the head is not the one the caller expected
)

// maxDepth bounds nesting in data: the engine's events are shallow, and a
// bound keeps the parser's recursion safe on hostile input. The data
// object itself is at depth 0; an array or object directly inside it is at
// depth 1, and none may be deeper than maxDepth.
const maxDepth = 64

// artifactPrefix starts every artifact name.
const artifactPrefix = "sha256:"

// scanMode says which JSON a dataScanner accepts.
type scanMode int

const (
	// eventData is an event's data: one object in compact form, no two
	// members of an object with the same name, and "artifact" members
	// that are references.
	eventData scanMode = iota
	// artifactJSON is an artifact screened for secrets: any JSON text,
	// white space allowed between tokens, duplicate names allowed, and
	// "artifact" an ordinary name.
	artifactJSON
)

// scanData checks that b is one JSON object (RFC 8259) in compact form, with
// valid UTF-8, no duplicate member names at any depth, no array or object
// deeper than maxDepth, no member named like a secret and no string that
// holds a secret marker, and that every member named "artifact" is a string
// "sha256:<64 lowercase hex>". It returns the artifact names that are well
// formed, in order of appearance, and what failed: one "data" error, which
// stops the scan, or else at most the first "artifact" error and then the
// first "secret" error, since those leave the rest of the data readable.
func scanData(b []byte) ([]string, []*lineError) {
	s := dataScanner{b: b}
	if len(b) == 0 || b[0] != '{' {
		return nil, []*lineError{s.errf(checkData, "data must be a JSON object")}
	}
	if err := s.value(0); err != nil {
		return nil, []*lineError{err}
	}
	if s.i != len(b) {
		return nil, []*lineError{s.errf(checkData, "unexpected bytes after the data object")}
	}
	var errs []*lineError
	for _, e := range []*lineError{s.badRef, s.secret} {
		if e != nil {
			errs = append(errs, e)
		}
	}
	return s.refs, errs
}

// screenArtifact reports where an artifact's bytes look as if they hold a
// secret, or nil: anywhere in the bytes, a secret marker (see
// secretMarker); and, when the bytes are one JSON text nested no deeper
// than maxDepth, a member named like a secret or a string holding a marker
// once unescaped, as in an event's data.
func screenArtifact(b []byte) *lineError {
	if i := secretMarker(b); i >= 0 {
		return &lineError{checkSecret, i + 1, "the bytes hold " + markerWords + ": secrets never go in a transcript"}
	}
	s := dataScanner{b: b, mode: artifactJSON}
	s.ws()
	if s.value(0) != nil {
		return nil // not JSON: the marker scan above is the whole screen
	}
	if s.ws(); s.i != len(b) {
		return nil
	}
	return s.secret
}

type dataScanner struct {
	b      []byte
	i      int
	mode   scanMode
	refs   []string
	badRef *lineError // the first malformed artifact reference
	secret *lineError // the first thing named like, or holding, a secret
}

func (s *dataScanner) errf(check, format string, args ...any) *lineError {
	return &lineError{check: check, col: s.i + 1, msg: fmt.Sprintf(format, args...)}
}

// ws skips white space between tokens where the mode allows it.
func (s *dataScanner) ws() {
	if s.mode != artifactJSON {
		return
	}
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// value reads one value at depth: the depth an array or object there
// would have.
func (s *dataScanner) value(depth int) *lineError {
	if s.i >= len(s.b) {
		return s.errf(checkData, "data ends early")
	}
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		if depth > maxDepth {
			return s.errf(checkData, "data nests arrays and objects deeper than %d levels", maxDepth)
		}
		if c == '{' {
			return s.object(depth)
		}
		return s.array(depth)
	case c == '"':
		_, err := s.str(false)
		return err
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
				s.i += len(lit)
				return nil
			}
		}
		return s.errf(checkData, "unexpected %s (no whitespace is allowed)", strconv.QuoteRune(rune(c)))
	}
}

func (s *dataScanner) array(depth int) *lineError {
	return s.elements(']', func() *lineError { return s.value(depth + 1) })
}

func (s *dataScanner) object(depth int) *lineError {
	var seen memberNames
	return s.elements('}', func() *lineError {
		keyAt := s.i
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.errf(checkData, "expected a member name (no whitespace is allowed)")
		}
		key, err := s.str(true)
		if err != nil {
			return err
		}
		if s.mode == eventData && !seen.add(key) {
			return &lineError{checkData, keyAt + 1, fmt.Sprintf("duplicate member %s", strconv.Quote(clip(key)))}
		}
		if s.secret == nil && secretName(key) {
			s.secret = &lineError{checkSecret, keyAt + 1, fmt.Sprintf("member %s is named like a secret (PIN, PUK, password, management key, private key): secrets never go in a transcript", strconv.Quote(clip(key)))}
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errf(checkData, `expected ":" (no whitespace is allowed)`)
		}
		s.i++
		s.ws()
		if s.mode == eventData && key == "artifact" {
			return s.artifactRef(depth + 1)
		}
		return s.value(depth + 1)
	})
}

// memberNames are the names of an object's members read so far. Most
// objects have a few, compared one by one without a map; a large one
// spills into a map, so that hostile data costs linear time.
type memberNames struct {
	few  [8]string
	n    int
	many map[string]bool
}

// add adds name, reporting false if it was there already.
func (m *memberNames) add(name string) bool {
	if m.many != nil {
		if m.many[name] {
			return false
		}
		m.many[name] = true
		return true
	}
	for _, x := range m.few[:m.n] {
		if x == name {
			return false
		}
	}
	if m.n < len(m.few) {
		m.few[m.n] = name
		m.n++
		return true
	}
	m.many = make(map[string]bool, 2*len(m.few))
	for _, x := range m.few {
		m.many[x] = true
	}
	m.many[name] = true
	return true
}

// elements reads the rest of an array or object, from its opening bracket
// to close, calling elem for each element or member.
func (s *dataScanner) elements(close byte, elem func() *lineError) *lineError {
	s.i++ // the opening bracket
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == close {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.i < len(s.b) && s.b[s.i] == close {
			s.i++
			return nil
		}
		return s.errf(checkData, `expected "," or %q (no whitespace is allowed)`, string(close))
	}
}

// artifactRef reads the value of an "artifact" member, at depth: a
// malformed reference is noted and the value read on as any other, so
// that the rest of the data is still checked.
func (s *dataScanner) artifactRef(depth int) *lineError {
	at := s.i
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		if err := s.value(depth); err != nil {
			return err
		}
		if s.badRef == nil {
			s.badRef = &lineError{checkArtifact, at + 1, `member "artifact" must be a string "sha256:<64 lowercase hex>"`}
		}
		return nil
	}
	v, err := s.str(true)
	if err != nil {
		return err
	}
	if !validArtifactName(v) {
		if s.badRef == nil {
			s.badRef = &lineError{checkArtifact, at + 1, fmt.Sprintf(`member "artifact" is %s, not "sha256:<64 lowercase hex>"`, strconv.Quote(clip(v)))}
		}
		return nil
	}
	s.refs = append(s.refs, v)
	return nil
}

func validArtifactName(v string) bool {
	h, ok := strings.CutPrefix(v, artifactPrefix)
	return ok && len(h) == 64 && isLowerHex(h)
}

// str reads a string and returns its value, refusing control characters,
// invalid UTF-8, unknown escapes and unpaired surrogates, and noting a
// value that holds a secret marker. Unless keep is set, the value of a
// string without escapes is not copied: most are only checked.
func (s *dataScanner) str(keep bool) (string, *lineError) {
	at := s.i
	s.i++ // '"'
	// Most strings (names, digests, hex) hold no escape and only
	// printable ASCII: take them in one piece.
	for j := s.i; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			var v string
			if keep {
				v = string(s.b[s.i:j])
			}
			s.i = j + 1
			if s.secret == nil && secretMarker(s.b[at+1:j]) >= 0 {
				s.secret = &lineError{checkSecret, at + 1, "a string holds " + markerWords + ": secrets never go in a transcript"}
			}
			return v, nil
		}
		if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			break
		}
	}
	var out strings.Builder
	for {
		if s.i >= len(s.b) {
			return "", s.errf(checkData, "unterminated string")
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			v := out.String()
			if s.secret == nil && secretMarker([]byte(v)) >= 0 {
				s.secret = &lineError{checkSecret, at + 1, "a string holds " + markerWords + ": secrets never go in a transcript"}
			}
			return v, nil
		case c < 0x20:
			return "", s.errf(checkData, "control character 0x%02x in a string must be escaped", c)
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return "", s.errf(checkData, "unterminated escape")
			}
			e := s.b[s.i+1]
			switch e {
			case '"', '\\', '/':
				out.WriteByte(e)
			case 'b':
				out.WriteByte('\b')
			case 'f':
				out.WriteByte('\f')
			case 'n':
				out.WriteByte('\n')
			case 'r':
				out.WriteByte('\r')
			case 't':
				out.WriteByte('\t')
			case 'u':
				r, ok := s.hex4(s.i + 2)
				if !ok {
					return "", s.errf(checkData, `\u must be followed by 4 hex digits`)
				}
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(0), false
					if r < 0xdc00 && s.i+7 < len(s.b) && s.b[s.i+6] == '\\' && s.b[s.i+7] == 'u' {
						r2, ok2 = s.hex4(s.i + 8)
					}
					dec := utf16.DecodeRune(r, r2)
					if !ok2 || dec == unicode.ReplacementChar {
						return "", s.errf(checkData, "unpaired UTF-16 surrogate in a string")
					}
					out.WriteRune(dec)
					s.i += 6
				} else {
					out.WriteRune(r)
				}
				s.i += 4
			default:
				return "", s.errf(checkData, "unknown escape \\%c", e)
			}
			s.i += 2
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return "", s.errf(checkData, "invalid UTF-8 in a string")
			}
			out.WriteString(string(s.b[s.i : s.i+n]))
			s.i += n
		}
	}
}

func (s *dataScanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.b) {
		return 0, false
	}
	var v rune
	for _, c := range s.b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// number reads a number in RFC 8259's grammar.
func (s *dataScanner) number() *lineError {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return s.errf(checkData, "malformed number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.errf(checkData, "malformed number: digits must follow \".\"")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.errf(checkData, "malformed number: digits must follow the exponent")
		}
	}
	if s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i = start
		return s.errf(checkData, "malformed number: leading zero")
	}
	return nil
}

// secretWords are the last word(s) of member names that a transcript
// refuses: a name like "pin", "so_pin", "newPIN", "user-puk", "password",
// "management_key", "mgmKey", "private_key", "privateKey" or "pin_value".
// Names that only start with such a word ("pin_retries", "pin_policy") are
// allowed: they describe a secret without holding it.
var secretWords = map[string]bool{
	"pin": true, "puk": true, "password": true, "passwd": true, "passphrase": true,
	"managementkey": true, "mgmkey": true, "privatekey": true, "privkey": true, "pinvalue": true,
}

// secretName reports whether a member name is named like a secret: split
// into words at '_', '-', '.', ASCII white space and each ASCII lowercase
// letter followed by an ASCII uppercase one, with ASCII letters lowercased,
// its last word, or its last two words joined, is one of secretWords. Only
// ASCII counts, so that any verifier, in any language, splits and folds a
// name exactly as this one does.
func secretName(name string) bool {
	// Only the last two words matter: find where they are, then fold
	// them into a small buffer, so that the names of every event's
	// members are judged without allocating.
	var words [2]string // the second-to-last and the last word
	n, start := 0, 0
	word := func(end int) {
		if end > start {
			words[0], words[1] = words[1], name[start:end]
			n++
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || c == '-' || c == '.' || isASCIISpace(c):
			word(i)
			start = i + 1
		case 'A' <= c && c <= 'Z' && i > 0 && 'a' <= name[i-1] && name[i-1] <= 'z':
			word(i)
			start = i
		}
	}
	word(len(name))
	if n == 0 {
		return false
	}
	var buf [32]byte
	if secretWords[string(appendLower(buf[:0], words[1]))] {
		return true
	}
	return n >= 2 && secretWords[string(appendLower(appendLower(buf[:0], words[0]), words[1]))]
}

// appendLower appends s to b with its ASCII letters lowercased.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// isASCIISpace reports whether c is ASCII white space: tab, line feed,
// vertical tab, form feed, carriage return or space.
func isASCIISpace(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' }

// asciiLower lowercases the ASCII letters of s and leaves every other byte.
func asciiLower(s string) string { return string(appendLower(nil, s)) }

// hasPrefixFold reports whether b begins with the lowercase ASCII string
// prefix, ASCII letters in b compared in any case.
func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// markerWords names the secret markers in messages.
const markerWords = `a PEM private key ("PRIVATE KEY-----") or a PIN in a key URI ("pin-value=")`

// secretMarker returns the index of the first secret marker in b, or -1:
// "PRIVATE KEY-----" (the end of a PEM private key's header, exactly), or
// "pin-value=" in any ASCII case (a PIN inside a PKCS#11 or PIV key URI).
func secretMarker(b []byte) int {
	first := bytes.Index(b, []byte("PRIVATE KEY-----"))
	// "pin-value=" is looked for where an "=" is, which few strings hold.
	const pv = "pin-value="
	for j := 0; ; {
		k := bytes.IndexByte(b[j:], '=')
		if k < 0 {
			return first
		}
		j += k + 1
		i := j - len(pv)
		if first >= 0 && i > first {
			return first
		}
		if i >= 0 && hasPrefixFold(b[i:], pv) {
			return i
		}
	}
}
