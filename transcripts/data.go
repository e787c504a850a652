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

// The checks a Problem names. They are part of the --json form.
const (
	checkLine     = "line"     // a line breaks the line grammar
	checkData     = "data"     // data is not a strict, compact JSON object
	checkSecret   = "secret"   // data holds a member named like a secret
	checkSeq      = "seq"      // seq is not the line number
	checkTime     = "time"     // time goes backwards
	checkPrev     = "prev"     // prev is not the hash of the previous line
	checkHeader   = "header"   // the first line is not a valid header, or a later one is
	checkTorn     = "torn"     // bytes after the last newline: a write cut short
	checkArtifact = "artifact" // a named artifact is malformed, missing or altered
	checkHead     = "head"     // the head is not the one the caller expected
)

// maxDepth bounds nesting in data: the engine's events are shallow, and a
// bound keeps the parser's recursion safe on hostile input.
const maxDepth = 64

// artifactPrefix starts every artifact name.
const artifactPrefix = "sha256:"

// scanData checks that b is one JSON object (RFC 8259) in compact form, with
// valid UTF-8, no duplicate member names at any depth, no member named like
// a secret and no string that holds a PEM private key, and that every member
// named "artifact" is a string "sha256:<64 lowercase hex>". It returns those
// artifact names in order of appearance.
func scanData(b []byte) ([]string, error) {
	s := dataScanner{b: b}
	if len(b) == 0 || b[0] != '{' {
		return nil, s.errf(checkData, "data must be a JSON object")
	}
	if err := s.value(0); err != nil {
		return nil, err
	}
	if s.i != len(b) {
		return nil, s.errf(checkData, "unexpected bytes after the data object")
	}
	return s.refs, nil
}

type dataScanner struct {
	b    []byte
	i    int
	refs []string
}

func (s *dataScanner) errf(check, format string, args ...any) error {
	return &lineError{check: check, col: s.i + 1, msg: fmt.Sprintf(format, args...)}
}

func (s *dataScanner) value(depth int) error {
	if depth > maxDepth {
		return s.errf(checkData, "data is nested deeper than %d levels", maxDepth)
	}
	if s.i >= len(s.b) {
		return s.errf(checkData, "data ends early")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		s.i++
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(depth + 1); err != nil {
				return err
			}
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.i < len(s.b) && s.b[s.i] == ']' {
				s.i++
				return nil
			}
			return s.errf(checkData, `expected "," or "]" (no whitespace is allowed)`)
		}
	case c == '"':
		_, err := s.str()
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

func (s *dataScanner) object(depth int) error {
	s.i++ // '{'
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	seen := map[string]bool{}
	for {
		keyAt := s.i
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.errf(checkData, "expected a member name (no whitespace is allowed)")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		if seen[key] {
			return &lineError{checkData, keyAt + 1, fmt.Sprintf("duplicate member %s", strconv.Quote(clip(key)))}
		}
		seen[key] = true
		if secretName(key) {
			return &lineError{checkSecret, keyAt + 1, fmt.Sprintf("member %s is named like a secret (PIN, PUK, password, management key, private key): secrets never go in a transcript", strconv.Quote(clip(key)))}
		}
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errf(checkData, `expected ":" (no whitespace is allowed)`)
		}
		s.i++
		if key == "artifact" {
			ref, err := s.artifactRef()
			if err != nil {
				return err
			}
			s.refs = append(s.refs, ref)
		} else if err := s.value(depth + 1); err != nil {
			return err
		}
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			continue
		}
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return nil
		}
		return s.errf(checkData, `expected "," or "}" (no whitespace is allowed)`)
	}
}

// artifactRef reads the value of an "artifact" member.
func (s *dataScanner) artifactRef() (string, error) {
	at := s.i
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", s.errf(checkArtifact, `member "artifact" must be a string "sha256:<64 lowercase hex>"`)
	}
	v, err := s.str()
	if err != nil {
		return "", err
	}
	if !validArtifactName(v) {
		return "", &lineError{checkArtifact, at + 1, fmt.Sprintf(`member "artifact" is %s, not "sha256:<64 lowercase hex>"`, strconv.Quote(clip(v)))}
	}
	return v, nil
}

func validArtifactName(v string) bool {
	h, ok := strings.CutPrefix(v, artifactPrefix)
	return ok && len(h) == 64 && isLowerHex(h)
}

// str reads a string and returns its value, refusing control characters,
// invalid UTF-8, unknown escapes and unpaired surrogates.
func (s *dataScanner) str() (string, error) {
	s.i++ // '"'
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
			if strings.Contains(v, "PRIVATE KEY-----") {
				return "", s.errf(checkSecret, "a string holds a PEM private key: secrets never go in a transcript")
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
func (s *dataScanner) number() error {
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
// "management_key", "mgmKey", "private_key" or "privateKey". Names that only
// start with such a word ("pin_retries", "pin_policy") are allowed: they
// describe a secret without holding it.
var secretWords = map[string]bool{
	"pin": true, "puk": true, "password": true, "passwd": true, "passphrase": true,
	"managementkey": true, "mgmkey": true, "privatekey": true, "privkey": true,
}

// secretName reports whether a member name is named like a secret: split
// into words at '_', '-', '.', spaces and lower-to-upper case changes,
// lowercased, its last word, or its last two words joined, is one of
// secretWords.
func secretName(name string) bool {
	words := splitWords(name)
	if len(words) == 0 {
		return false
	}
	last := words[len(words)-1]
	if secretWords[last] {
		return true
	}
	return len(words) >= 2 && secretWords[words[len(words)-2]+last]
}

func splitWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range name {
		switch {
		case r == '_' || r == '-' || r == '.' || unicode.IsSpace(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return words
}
