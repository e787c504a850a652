package untrusted

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NameReport says why a name (a participant, role or project) is not
// plain, for review to flag it beside the name. The zero NameReport is a
// plain name: printable ASCII, not empty, no space at either end and none
// doubled. A name that is not plain may be genuine ("José"); the flags say
// what a reader cannot see by looking.
type NameReport struct {
	Empty bool `json:"empty,omitempty"`
	// NonASCII: the name holds a character beyond ASCII (or a byte that
	// is not valid UTF-8).
	NonASCII bool `json:"non_ascii,omitempty"`
	// Hidden: the name holds a character Line escapes (a control, format
	// or invisible character, a space other than U+0020).
	Hidden bool `json:"hidden,omitempty"`
	// Spacing: a space at either end, or two in a row.
	Spacing bool `json:"spacing,omitempty"`
	// Scripts are the scripts the name mixes, sorted, when it mixes more
	// than one ("Cyrillic", "Latin").
	Scripts []string `json:"scripts,omitempty"`
	// LooksLike is the plain ASCII name this one could be taken for, when
	// there is one: the name with look-alike letters (Cyrillic "а", Greek
	// "Ο", fullwidth "ａ") replaced by the ASCII they resemble and
	// invisible characters dropped.
	LooksLike string `json:"looks_like,omitempty"`
}

// Plain reports whether the name needs no flag.
func (r NameReport) Plain() bool {
	return !r.Empty && !r.NonASCII && !r.Hidden && !r.Spacing && r.Scripts == nil && r.LooksLike == ""
}

// String says in words why the name is flagged ("not ASCII; mixes
// Cyrillic and Latin; looks like \"alice\""), or "plain".
func (r NameReport) String() string {
	if r.Plain() {
		return "plain"
	}
	var why []string
	if r.Empty {
		why = append(why, "empty")
	}
	if r.NonASCII {
		why = append(why, "not ASCII")
	}
	if r.Hidden {
		why = append(why, "holds invisible or control characters")
	}
	if r.Spacing {
		why = append(why, "spaces at an end or doubled")
	}
	if r.Scripts != nil {
		why = append(why, "mixes "+strings.Join(r.Scripts, " and "))
	}
	if r.LooksLike != "" {
		why = append(why, "looks like "+strconv.Quote(r.LooksLike))
	}
	return strings.Join(why, "; ")
}

// CheckName reports whether name is plain and, if not, why.
func CheckName(name string) NameReport {
	var r NameReport
	r.Empty = name == ""
	r.Spacing = strings.HasPrefix(name, " ") || strings.HasSuffix(name, " ") || strings.Contains(name, "  ")
	scripts := map[string]bool{}
	var skeleton strings.Builder
	for i := 0; i < len(name); {
		c, size := utf8.DecodeRuneInString(name[i:])
		i += size
		if c >= utf8.RuneSelf {
			r.NonASCII = true
		}
		if (c == utf8.RuneError && size == 1) || !shown(c) {
			r.Hidden = true
			continue // dropped from the skeleton: a reader does not see it
		}
		if s := scriptOf(c); s != "" {
			scripts[s] = true
		}
		if a, ok := lookalike(c); ok {
			skeleton.WriteByte(a)
		} else {
			skeleton.WriteRune(c)
		}
	}
	if len(scripts) > 1 {
		r.Scripts = slices.Sorted(maps.Keys(scripts))
	}
	if sk := skeleton.String(); sk != name && sk != "" && isPrintableASCII(sk) {
		r.LooksLike = sk
	}
	return r
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// scriptOf names the script of a letter, or "" for anything else (digits,
// punctuation and marks belong to the Common and Inherited scripts, which
// every script uses).
func scriptOf(r rune) string {
	if !unicode.IsLetter(r) {
		return ""
	}
	if r < utf8.RuneSelf {
		return "Latin"
	}
	for _, s := range likelyScripts {
		if unicode.Is(s.table, r) {
			return s.name
		}
	}
	for name, table := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// likelyScripts are tried before the rest of unicode.Scripts, which
// holds some 170.
var likelyScripts = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek},
	{"Armenian", unicode.Armenian}, {"Han", unicode.Han}, {"Hiragana", unicode.Hiragana},
	{"Katakana", unicode.Katakana}, {"Hangul", unicode.Hangul}, {"Arabic", unicode.Arabic},
	{"Hebrew", unicode.Hebrew},
}

// lookalike returns the ASCII letter r is easily taken for. The table is
// short on purpose: the letters of the scripts next to Latin that look the
// same in common fonts (after Unicode's confusables.txt), and fullwidth
// ASCII. It flags the usual impersonations; NonASCII flags the rest.
func lookalike(r rune) (byte, bool) {
	if r >= 0xff01 && r <= 0xff5e { // FULLWIDTH EXCLAMATION MARK … TILDE
		return byte(r - 0xff01 + '!'), true
	}
	a, ok := lookalikes[r]
	return a, ok
}

var lookalikes = map[rune]byte{
	// Cyrillic
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x',
	'ѕ': 's', 'і': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ӏ': 'l',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O',
	'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X', 'У': 'Y', 'Ѕ': 'S', 'І': 'I',
	'Ј': 'J', 'Ԛ': 'Q', 'Ԝ': 'W', 'Ӏ': 'I',
	// Greek
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K',
	'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	'ο': 'o', 'ν': 'v', 'ι': 'i', 'α': 'a', 'ρ': 'p', 'υ': 'u', 'κ': 'k',
	// Armenian
	'օ': 'o', 'ս': 'u', 'հ': 'h', 'ո': 'n', 'ց': 'g', 'զ': 'q',
	// Latin beyond ASCII
	'ı': 'i', 'ɑ': 'a', 'ɡ': 'g', 'ɩ': 'i',
}
