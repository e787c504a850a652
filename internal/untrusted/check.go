package untrusted

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// ErrForbiddenChar is what a CharError wraps, for callers that map it to
// the exit code of bad input.
var ErrForbiddenChar = errors.New("forbidden character")

// CharError reports a character that Check refuses: where it is, what it
// is, and what to do.
type CharError struct {
	// Path names the field, as the caller gave it ("signers[2].name").
	Path string
	// Value is the whole value, as it was read.
	Value string
	// Offset is the byte offset of the character in Value.
	Offset int
	// Found is the character as Line escapes it ("\u202e", "\xff").
	Found string
	// Class says what kind of character it is, in words.
	Class string
}

func (e *CharError) Error() string {
	return fmt.Sprintf("%s: \"%s\" holds %s at byte %d: %s. A name or text field may not hold control, format or invisible characters, nor invalid UTF-8: remove it, and if you did not put it there, the file was altered on its way to you",
		Line(e.Path), excerpt(e.Value, e.Offset), e.Found, e.Offset, e.Class)
}

func (e *CharError) Unwrap() error { return ErrForbiddenChar }

// Check returns a *CharError when s holds a character no name or text
// field may hold: invalid UTF-8, a control character (C0 including tab
// and newline, DEL, C1), a format character (bidi controls, zero-width
// characters, the BOM, tags), a line or paragraph separator, or another
// invisible one (variation selectors, Hangul fillers). path names the
// field for the message. Input formats that carry names (plans, requests,
// responses) call it on every string they read, so that what reaches a
// face is at worst unusual, never deceptive; Line still escapes the rest
// (other spaces, private-use and unassigned characters).
func Check(path, s string) error {
	return check(path, s, false)
}

// CheckText is Check for multi-line free text: it also admits a newline
// ("\n"; a carriage return is refused, as Check refuses it).
func CheckText(path, s string) error {
	return check(path, s, true)
}

func check(path, s string, newline bool) error {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if class := forbidden(r, size); class != "" && !(newline && r == '\n') {
			found := s[i : i+size]
			return &CharError{Path: path, Value: s, Offset: i, Found: Line(found), Class: class}
		}
		i += size
	}
	return nil
}

// bidi holds the characters that reorder text: the embeddings and
// overrides, the isolates, and the implicit marks.
var bidi = &unicode.RangeTable{R16: []unicode.Range16{
	{Lo: 0x061c, Hi: 0x061c, Stride: 1}, // ARABIC LETTER MARK
	{Lo: 0x200e, Hi: 0x200f, Stride: 1}, // LRM, RLM
	{Lo: 0x202a, Hi: 0x202e, Stride: 1}, // LRE, RLE, PDF, LRO, RLO
	{Lo: 0x2066, Hi: 0x2069, Stride: 1}, // LRI, RLI, FSI, PDI
}}

// forbidden says in words why Check refuses the rune r of the given
// encoded size, or "" when it does not.
func forbidden(r rune, size int) string {
	switch {
	case r == utf8.RuneError && size == 1:
		return "a byte that is not valid UTF-8"
	case unicode.Is(unicode.Cc, r):
		return "a control character"
	case unicode.Is(bidi, r):
		return "a bidi control, which reorders the text around it"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		return "a line or paragraph separator"
	case unicode.In(r, unicode.Cf, unicode.Cs, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector):
		return "an invisible format character"
	}
	return ""
}

// excerpt returns about 24 bytes of s either side of offset, cut at
// character boundaries, escaped by Line, with an ellipsis where s goes on.
func excerpt(s string, offset int) string {
	const reach = 24
	start, end := max(0, offset-reach), min(len(s), offset+reach)
	// A run of bytes that are not UTF-8 has no boundaries: stop within
	// the length of one character.
	for n := 0; n < utf8.UTFMax-1 && start > 0 && !utf8.RuneStart(s[start]); n++ {
		start--
	}
	for n := 0; n < utf8.UTFMax-1 && end < len(s) && !utf8.RuneStart(s[end]); n++ {
		end++
	}
	out := Line(s[start:end])
	if start > 0 {
		out = "…" + out
	}
	if end < len(s) {
		out += "…"
	}
	return out
}
