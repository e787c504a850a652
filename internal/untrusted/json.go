package untrusted

import (
	"unicode/utf16"
	"unicode/utf8"
)

// JSON returns the JSON text b (as encoding/json writes it) with every
// character outside printable ASCII written as a JSON \u escape: a
// character above U+FFFF as its UTF-16 surrogate pair, a byte that is not
// valid UTF-8 as \ufffd (which encoding/json would have written for it),
// DEL and the controls other than tab, newline and carriage return as
// \u00XX. Tab, newline and carriage return are kept, as the white space
// between tokens of indented JSON.
//
// encoding/json escapes the C0 controls and U+2028 and U+2029, but writes
// DEL, the C1 controls (U+009B is CSI to many terminals), bidi controls and
// zero-width characters as they are. After JSON, --json output is printable
// ASCII, safe on a terminal, and means exactly what it meant: outside
// strings valid JSON holds only ASCII, and inside them a \u escape decodes
// to the character it replaces. Python's json.dumps writes the same by
// default (ensure_ascii).
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) && jsonKeeps(b[i]) {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, i, len(b)+16)
	copy(out, b[:i])
	for i < len(b) {
		if c := b[i]; jsonKeeps(c) {
			out = append(out, c)
			i++
			continue
		} else if c < utf8.RuneSelf {
			out = appendJSONEscape(out, rune(c))
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			out = appendJSONEscape(appendJSONEscape(out, r1), r2)
		} else {
			out = appendJSONEscape(out, r)
		}
		i += size
	}
	return out
}

// jsonKeeps reports whether JSON keeps the byte c as it is.
func jsonKeeps(c byte) bool {
	return (c >= ' ' && c < 0x7f) || c == '\t' || c == '\n' || c == '\r'
}

func appendJSONEscape(out []byte, r rune) []byte {
	return append(out, '\\', 'u',
		hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
