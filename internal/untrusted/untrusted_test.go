package untrusted

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain ASCII", "alice <alice@example.org> #12345678", "alice <alice@example.org> #12345678"},
		{"backslash", `C:\keys`, `C:\\keys`},
		{"forged escape", `\x1b[2J`, `\\x1b[2J`},
		{"ESC and CSI", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"OSC with BEL", "\x1b]0;title\a", `\x1b]0;title\x07`},
		{"newline, tab, CR", "a\nb\tc\rd", `a\x0ab\x09c\x0dd`},
		{"NUL", "a\x00b", `a\x00b`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 CSI", "a\u009b31mb", `a\u009b31mb`},
		{"C1 NEL and U+0080", "\u0085\u0080", `\u0085\u0080`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"bidi embeddings", "\u202a\u202b\u202c\u202d", `\u202a\u202b\u202c\u202d`},
		{"bidi isolates", "\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`},
		{"implicit marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"zero width", "a\u200bb\u200cc\u200dd", `a\u200bb\u200cc\u200dd`},
		{"word joiner and BOM", "\u2060x\ufeff", `\u2060x\ufeff`},
		{"soft hyphen", "pass\u00adword", `pass\u00adword`},
		{"line and paragraph separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"tag characters", "a\U000e0041\U000e007f", `a\U000e0041\U000e007f`},
		{"no-break and other spaces", "a\u00a0b\u2003c\u3000d", `a\u00a0b\u2003c\u3000d`},
		{"Hangul filler", "\u3164", `\u3164`},
		{"combining grapheme joiner", "a\u034fb", `a\u034fb`},
		{"variation selector", "\u2764\ufe0f", "\u2764" + `\ufe0f`},
		{"private use", "\ue000\U000f0000", `\ue000\U000f0000`},
		{"unassigned", "\u0378\U0002fffe", `\u0378\U0002fffe`},
		{"noncharacter", "\uffff", `\uffff`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"encoded surrogate", "\xed\xa0\x80", `\xed\xa0\x80`},
		{"overlong slash", "\xc0\xaf", `\xc0\xaf`},
		{"real U+FFFD", "\ufffd", "\ufffd"},
		{"non-ASCII letters", "José Müller, Ωμέγα, 日本語, Ελλάδα", "José Müller, Ωμέγα, 日本語, Ελλάδα"},
		{"symbols and emoji", "✓ → €5 🔑", "✓ → €5 🔑"},
		{"decomposed accent", "Jose\u0301", "Jose\u0301"},
		{"Devanagari", "क्षि", "क्षि"},
		{"leading mark", "\u0338x", `\u0338x`},
		{"mark after punctuation", ":\u0338", `:\u0338`},
		{"mark after space", "a \u0301", `a \u0301`},
		{"mark after escape", "\x1b\u0301", `\x1b\u0301`},
		{"mark after backslash", "\\\u0301", `\\\u0301`},
		{"marks up to the cap", "a\u0300\u0301\u0302\u0303", "a\u0300\u0301\u0302\u0303"},
		{"marks beyond the cap", "a\u0300\u0301\u0302\u0303\u0304\u0305", "a\u0300\u0301\u0302\u0303" + `\u0304\u0305`},
		{"cap resets on a new base", "a\u0300\u0301\u0302\u0303b\u0304", "a\u0300\u0301\u0302\u0303b\u0304"},
		{"mark after ASCII prefix", "abc\u0301\x01", "abc\u0301" + `\x01`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.in); got != tt.want {
				t.Errorf("Line(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
			if back := unescape(t, Line(tt.in)); back != tt.in {
				t.Errorf("unescape(Line(%+q)) = %+q", tt.in, back)
			}
		})
	}
}

func TestLinePlainDoesNotAllocate(t *testing.T) {
	s := "a plain line, nothing to escape: 0123456789"
	if n := testing.AllocsPerRun(100, func() { _ = Line(s) }); n != 0 {
		t.Errorf("Line of plain ASCII allocates %v times", n)
	}
}

// The attack of issue 11: a request summary that draws a fake digest and
// hides the real one under an OSC until the next BEL.
func TestLineDefusesFakeDigest(t *testing.T) {
	in := "adds project example\x1b[2K\r  sha256 0000…\x1b]2;\a\x1b]8;;\x07"
	got := Line(in)
	assertSafe(t, got)
	if strings.ContainsAny(got, "\x1b\r\a") {
		t.Fatalf("Line left a control in %q", got)
	}
}

func TestLines(t *testing.T) {
	got := Lines("first\nsecond\x1b[A\r\n\n\u202elast")
	want := []string{"first", `second\x1b[A\x0d`, "", `\u202elast`}
	if !slices.Equal(got, want) {
		t.Errorf("Lines = %q, want %q", got, want)
	}
	if got := Lines(""); !slices.Equal(got, []string{""}) {
		t.Errorf(`Lines("") = %q`, got)
	}
	// A mark at the start of a line cannot reach back across the break.
	if got := Lines("a\n\u0301"); !slices.Equal(got, []string{"a", `\u0301`}) {
		t.Errorf("Lines = %q", got)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		in    string
		found string // "" when Check accepts in
		class string
	}{
		{"alice", "", ""},
		{"José Müller", "", ""},
		{"日本語", "", ""},
		{"a\u00a0b", "", ""},   // odd, but shown escaped: not refused
		{"\ue000", "", ""},     // private use: shown escaped
		{`back\slash`, "", ""}, // shown doubled
		{"a\tb", `\x09`, "control"},
		{"a\nb", `\x0a`, "control"},
		{"a\rb", `\x0d`, "control"},
		{"\x1b[31m", `\x1b`, "control"},
		{"a\x7f", `\x7f`, "control"},
		{"a\u009bb", `\u009b`, "control"},
		{"abc\u202ecba", `\u202e`, "bidi"},
		{"\u2066x", `\u2066`, "bidi"},
		{"x\u200f", `\u200f`, "bidi"},
		{"a\u200bb", `\u200b`, "invisible"},
		{"\ufeffa", `\ufeff`, "invisible"},
		{"a\u00adb", `\u00ad`, "invisible"},
		{"a\U000e0041", `\U000e0041`, "invisible"},
		{"\u3164", `\u3164`, "invisible"},
		{"x\ufe0f", `\ufe0f`, "invisible"},
		{"a\u2028b", `\u2028`, "separator"},
		{"a\u2029b", `\u2029`, "separator"},
		{"a\xffb", `\xff`, "UTF-8"},
		{"\xed\xa0\x80", `\xed`, "UTF-8"},
	}
	for _, tt := range tests {
		err := Check("signers[2].name", tt.in)
		if tt.found == "" {
			if err != nil {
				t.Errorf("Check(%+q) = %v, want nil", tt.in, err)
			}
			continue
		}
		var ce *CharError
		if !errors.As(err, &ce) || !errors.Is(err, ErrForbiddenChar) {
			t.Errorf("Check(%+q) = %v, want a *CharError", tt.in, err)
			continue
		}
		msg := err.Error()
		if ce.Found != tt.found || !strings.Contains(ce.Class, tt.class) {
			t.Errorf("Check(%+q) found %s (%s), want %s (%s)", tt.in, ce.Found, ce.Class, tt.found, tt.class)
		}
		for _, want := range []string{"signers[2].name:", tt.found, "remove it"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Check(%+q) = %q, does not say %q", tt.in, msg, want)
			}
		}
		assertSafe(t, msg)
	}
}

func TestCheckText(t *testing.T) {
	if err := CheckText("summary[0]", "two\nlines"); err != nil {
		t.Errorf("CheckText refused a newline: %v", err)
	}
	for _, in := range []string{"crlf\r\n", "tab\t", "\x1b", "\u202e"} {
		if err := CheckText("summary[0]", in); !errors.Is(err, ErrForbiddenChar) {
			t.Errorf("CheckText(%+q) = %v, want ErrForbiddenChar", in, err)
		}
	}
}

func TestCheckErrorExcerpt(t *testing.T) {
	long := strings.Repeat("x", 1000) + "\u202e" + strings.Repeat("y", 1000)
	err := Check("summary", long)
	msg := err.Error()
	if len(msg) > 400 {
		t.Errorf("message is %d bytes; it should show an excerpt:\n%s", len(msg), msg)
	}
	if !strings.Contains(msg, `"…`+strings.Repeat("x", 24)+`\u202e`+strings.Repeat("y", 21)+`…"`) || !strings.Contains(msg, "at byte 1000") {
		t.Errorf("message does not show where:\n%s", msg)
	}
	// The path itself is escaped: a caller may build it from names in
	// the file ("roles[\x1b…]").
	err = Check("roles[\x1b]2;x\a]", "\x00")
	assertSafe(t, err.Error())
	// A long run of bytes that are not UTF-8 does not widen the excerpt.
	bad := strings.Repeat("\x80", 10000)
	if msg := Check("f", bad).Error(); len(msg) > 500 {
		t.Errorf("message is %d bytes", len(msg))
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		in   string
		want NameReport
		says string
	}{
		{"alice", NameReport{}, "plain"},
		{"Alice Smith", NameReport{}, "plain"},
		{"example-project_2.0", NameReport{}, "plain"},
		{"", NameReport{Empty: true}, "empty"},
		{"alice ", NameReport{Spacing: true}, "spaces"},
		{" alice", NameReport{Spacing: true}, "spaces"},
		{"al  ice", NameReport{Spacing: true}, "spaces"},
		{"José", NameReport{NonASCII: true}, "not ASCII"},
		{"Ωμέγα", NameReport{NonASCII: true}, "not ASCII"},
		{"\u0430lice", NameReport{NonASCII: true, Scripts: []string{"Cyrillic", "Latin"}, LooksLike: "alice"}, `mixes Cyrillic and Latin; looks like "alice"`},
		{"\u0440\u0443\u0440\u0456", NameReport{NonASCII: true, LooksLike: "pypi"}, `looks like "pypi"`}, // all Cyrillic
		{"\u039fpen", NameReport{NonASCII: true, Scripts: []string{"Greek", "Latin"}, LooksLike: "Open"}, "Greek"},
		{"\uff41\uff4c\uff49\uff43\uff45", NameReport{NonASCII: true, LooksLike: "alice"}, `looks like "alice"`},
		{"ali\u200bce", NameReport{NonASCII: true, Hidden: true, LooksLike: "alice"}, "invisible"},
		{"alice\x1b[0m", NameReport{Hidden: true, LooksLike: "alice[0m"}, "control"},
		{"alice\u00a0", NameReport{NonASCII: true, Hidden: true, LooksLike: "alice"}, "invisible"},
		{"a\xffb", NameReport{NonASCII: true, Hidden: true, LooksLike: "ab"}, "not ASCII"},
		{"日本語", NameReport{NonASCII: true}, "not ASCII"},
		{"日本のパイ", NameReport{NonASCII: true, Scripts: []string{"Han", "Hiragana", "Katakana"}}, "mixes Han and Hiragana and Katakana"},
	}
	for _, tt := range tests {
		got := CheckName(tt.in)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || !slices.Equal(got.Scripts, tt.want.Scripts) {
			t.Errorf("CheckName(%+q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.Plain() != (tt.says == "plain") {
			t.Errorf("CheckName(%+q).Plain() = %v", tt.in, got.Plain())
		}
		if s := got.String(); !strings.Contains(s, tt.says) {
			t.Errorf("CheckName(%+q).String() = %q, want it to say %q", tt.in, s, tt.says)
		}
	}
}

func TestJSON(t *testing.T) {
	v := map[string]string{
		"signer": "alice\u202e\u009b\x7f\u2028\U0001f511\u200b<é>",
	}
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	got := JSON(b)
	want := "{\n\t\"signer\": \"alice\\u202e\\u009b\\u007f\\u2028\\ud83d\\udd11\\u200b\\u003c\\u00e9\\u003e\"\n}"
	if string(got) != want {
		t.Errorf("JSON = %s\nwant   %s", got, want)
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil || back["signer"] != v["signer"] {
		t.Errorf("JSON changed the meaning: %q, %v", back, err)
	}
	plain := []byte(`{"a": "b"}`)
	if got := JSON(plain); &got[0] != &plain[0] {
		t.Error("JSON copied printable ASCII")
	}
	if got := string(JSON([]byte("\"\xff\x1b\""))); got != `"\ufffd\u001b"` {
		t.Errorf("JSON of invalid input = %s", got)
	}
}

// FuzzLine checks the two promises of Line: the output is safe on a
// terminal, and different inputs never look the same (decoding the
// escapes gives the input back).
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "alice", `\x1b`, `\\`, "\x1b]0;x\a", "a\u202eb", "\xff\xfe", "e\u0301\u0302\u0303\u0304\u0305", "\U000e0041", "x\u00a0y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Line(s)
		assertSafe(t, out)
		if back := unescape(t, out); back != s {
			t.Fatalf("Line(%+q) = %+q decodes to %+q", s, out, back)
		}
		for _, l := range strings.Split(Text(s), "\n") {
			assertSafe(t, l)
		}
		lines := Lines(s)
		for _, l := range lines {
			assertSafe(t, l)
		}
		if back := unescape(t, strings.Join(lines, `\x0a`)); back != s {
			t.Fatalf("Lines(%+q) = %+q decodes to %+q", s, lines, back)
		}
		// What Check accepts holds nothing a terminal acts on; Line may
		// still escape it (odd spaces, private use), never refuse it.
		if Check("f", s) == nil {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
				return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
			}) {
				t.Fatalf("Check accepted %+q", s)
			}
		}
		_ = CheckName(s).String()
	})
}

// FuzzJSON checks that JSON leaves printable ASCII that decodes to what
// encoding/json wrote.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "a\u2028", "\u009b", "\x7f", "\xff", "\U0001f511", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := json.MarshalIndent([]string{s}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got := JSON(b)
		for _, c := range got {
			if !jsonKeeps(c) {
				t.Fatalf("JSON(%s) = %q holds byte %#x", b, got, c)
			}
		}
		var want, back []string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &back); err != nil || !slices.Equal(back, want) {
			t.Fatalf("JSON(%s) = %s decodes to %q, %v; want %q", b, got, back, err, want)
		}
	})
}

// assertSafe fails when s holds anything a terminal could act on or hide:
// a byte below 0x20, DEL, a C1 control, a format character, a line or
// paragraph separator, or invalid UTF-8.
func assertSafe(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%+q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) || (r >= 0x80 && !shown(r)) {
			t.Fatalf("%+q holds %U", s, r)
		}
	}
}

// unescape decodes Line's notation, failing on anything it could not
// have written: a lone backslash, an unknown escape, a bad hex digit.
func unescape(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if i+1 == len(s) {
			t.Fatalf("%+q ends in a lone backslash", s)
		}
		n := map[byte]int{'\\': 0, 'x': 2, 'u': 4, 'U': 8}
		digits, ok := n[s[i+1]]
		if !ok || i+2+digits > len(s) {
			t.Fatalf("%+q has a bad escape at %d", s, i)
		}
		if digits == 0 {
			b.WriteByte('\\')
			i += 2
			continue
		}
		hex := s[i+2 : i+2+digits]
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil || strings.ToLower(hex) != hex {
			t.Fatalf("%+q has a bad escape %q", s, s[i:i+2+digits])
		}
		switch s[i+1] {
		case 'x':
			b.WriteByte(byte(v))
		case 'u':
			if v < 0x80 {
				t.Fatalf("%+q escapes %#x as \\u, not \\x", s, v)
			}
			b.WriteRune(rune(v))
		case 'U':
			if v <= 0xffff {
				t.Fatalf("%+q escapes %#x as \\U", s, v)
			}
			b.WriteRune(rune(v))
		}
		i += 2 + digits
	}
	return b.String()
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"two\nlines", "two\nlines"},
		{`already \x1b escaped`, `already \x1b escaped`},
		{"raw \x1b]0;title\a and \u202e\u009b", `raw \x1b]0;title\x07 and \u202e\u009b`},
		{"cr\r\nlf", `cr\x0d` + "\nlf"},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%+q) = %+q, want %+q", tt.in, got, tt.want)
		}
		for _, l := range strings.Split(Text(tt.in), "\n") {
			assertSafe(t, l)
		}
	}
	// A *CharError's message is composed with Line: Text leaves it as it is.
	msg := Check("signers[0].name", "a\x1b").Error()
	if Text(msg) != msg {
		t.Errorf("Text changed an escaped message:\n%s\n%s", msg, Text(msg))
	}
}
