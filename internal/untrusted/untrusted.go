// Package untrusted is the one place where strings that came from outside
// the tool (a file, a device, a plan, a signing request or response) are
// made fit to show and checked before they are accepted.
//
// Such a string may hold an escape sequence that redraws the terminal, a
// bidi control that reorders what the reader sees, or an invisible
// character that makes two names look alike. Every face (CLI text, plain
// mode, the TUI) shows it through Line or Lines; --json output goes
// through JSON; input formats that carry names refuse the worst of it with
// Check; review flags names that are not plain with CheckName.
//
// # Notation
//
// Line shows printable characters as they are and writes every other one
// as a backslash escape, in the notation of Go and Python string literals:
//
//	\\          a backslash (so that no input can forge an escape)
//	\xHH        an ASCII control character or DEL (\x1b, \x0a, \x7f), or a
//	            byte that is not part of valid UTF-8 (\xff)
//	\uHHHH      a character up to U+FFFF that is not shown as is (\u202e)
//	\UHHHHHHHH  a character above U+FFFF that is not shown as is (\U000e0041)
//
// Hex digits are lower case. Decoding the escapes gives back the input
// byte for byte, so two different inputs never look the same.
//
// Shown as they are: the ASCII space and the characters Unicode calls
// letters, marks, numbers, punctuation and symbols, except those it calls
// default-ignorable (Hangul fillers, the combining grapheme joiner) and the
// variation selectors, which are invisible. Escaped: all controls (C0, DEL,
// C1), format characters (bidi controls, zero-width characters, the BOM,
// tags), line and paragraph separators, spaces other than U+0020,
// private-use and unassigned code points, invalid UTF-8. A combining mark
// is shown as is only right after a letter, number or symbol shown as is,
// and only up to maxMarks in a row, so that it can neither change how the
// tool's own text or an escape looks nor pile up over neighbouring lines.
//
// Right-to-left letters (Hebrew, Arabic) are shown as they are, so that
// such names stay readable. A terminal that applies the bidi algorithm
// may then show the digits and punctuation after them on the same line in
// another order; so a face puts untrusted text last on its line, never
// before a number of its own.
package untrusted

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMarks is how many combining marks in a row Line shows on one base
// character; more are escaped. Real scripts need two or three (Vietnamese,
// Devanagari); stacks of dozens are an attack on the layout ("Zalgo").
const maxMarks = 4

// hidden holds characters that are letters, marks or symbols by category
// but render as nothing, plus every category Line escapes outright. Order
// matters only for speed: the common hits first.
var hidden = []*unicode.RangeTable{
	unicode.Cc, // C0, DEL, C1
	unicode.Cf, // bidi controls, zero-width, BOM, tags, soft hyphen
	unicode.Zl, // U+2028
	unicode.Zp, // U+2029
	unicode.Zs, // every space but U+0020, which shown() admits first
	unicode.Co, // private use: a font may draw anything there
	unicode.Cs, // surrogates (never valid UTF-8, listed for completeness)
	unicode.Other_Default_Ignorable_Code_Point, // Hangul fillers, CGJ, …
	unicode.Variation_Selector,                 // invisible; can smuggle data
}

// printable holds the categories Line shows as they are, unless hidden.
// Anything in none of them is unassigned (Cn) and escaped.
var printable = []*unicode.RangeTable{unicode.L, unicode.M, unicode.N, unicode.P, unicode.S}

// shown reports whether r may be shown as it is (marks aside: see Line).
func shown(r rune) bool {
	if r == ' ' {
		return true
	}
	if r < utf8.RuneSelf {
		return r > ' ' && r < 0x7f
	}
	return !unicode.IsOneOf(hidden, r) && unicode.IsOneOf(printable, r)
}

// carriesMarks reports whether a combining mark may follow r as shown:
// letters, numbers and symbols, never punctuation or space, so a mark
// cannot alter a quote, a colon or a backslash.
func carriesMarks(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.S)
}

// Line returns s as it may be shown on one line of a terminal: every
// control, format, invisible or non-printing character and every byte of
// invalid UTF-8 written as an escape (see the package documentation),
// newlines and tabs included, and a backslash doubled.
func Line(s string) string { return line(s, true) }

// Text returns s, a message the tool composed that may quote strings from
// outside (an error's text, what a device asks), fit to show on a
// terminal: every character Line escapes is escaped, except a newline,
// which stays the break between lines, and a backslash, which stays as it
// is, since the parts of s that came from outside may already be escaped
// by Line (a *CharError's message is). So, unlike Line, Text is not
// injective: it keeps a message from acting on the terminal, and Line is
// still what tells two names apart.
func Text(s string) string {
	if !strings.Contains(s, "\n") {
		return line(s, false)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = line(l, false)
	}
	return strings.Join(lines, "\n")
}

// line is Line, with a backslash doubled or, for Text, kept.
func line(s string, backslash bool) string {
	// The common case, plain ASCII with nothing to escape, costs no
	// allocation.
	i := 0
	for i < len(s) && s[i] >= ' ' && s[i] < 0x7f && (s[i] != '\\' || !backslash) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	// base: the last character was shown as is and may carry marks;
	// marks: how many it carries so far.
	base, marks := i > 0 && carriesMarks(rune(s[i-1])), 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeByteEscape(&b, s[i])
			base = false
		case r == '\\' && backslash:
			b.WriteString(`\\`)
			base = false
		case !shown(r):
			writeRuneEscape(&b, r)
			base = false
		case unicode.Is(unicode.M, r):
			if base && marks < maxMarks {
				b.WriteString(s[i : i+size])
				marks++
			} else {
				writeRuneEscape(&b, r)
				base = false
			}
		default:
			b.WriteString(s[i : i+size])
			base, marks = carriesMarks(r), 0
		}
		i += size
	}
	return b.String()
}

// Lines returns s split at each newline, each line rendered by Line. It is
// for multi-line text (a summary a requester wrote): the newline is the
// only control kept, as the break between lines, and a carriage return is
// escaped so it cannot overwrite a line's start. The caller must still set
// the lines apart from its own (indent or prefix each one, "the requester
// says:"), so that no line of the text can pass for the tool's.
// strings.Join(Lines(s), "\n") is injective in s, like Line.
func Lines(s string) []string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Line(l)
	}
	return lines
}

const hexDigits = "0123456789abcdef"

func writeByteEscape(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

func writeRuneEscape(b *strings.Builder, r rune) {
	switch {
	case r < 0x80:
		writeByteEscape(b, byte(r))
		return
	case r <= 0xffff:
		b.WriteString(`\u`)
		writeHex(b, uint32(r), 4)
	default:
		b.WriteString(`\U`)
		writeHex(b, uint32(r), 8)
	}
}

func writeHex(b *strings.Builder, v uint32, digits int) {
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(v>>shift)&0xf])
	}
}
