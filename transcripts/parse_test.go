package transcripts

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

// goodLine is a well-formed line; the cases below change one thing in it.
const goodLine = `{"seq":1,"time":"2026-11-25T09:00:00.000000000Z","type":"a.b","prev":"` + zeros + `","data":{"k":[1,-2.5e3,true,null,"s\u00e9\n"]}}` + "\n"

func TestParseLineStrict(t *testing.T) {
	ev, _, err := parseLine([]byte(goodLine))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 1 || ev.Type != "a.b" || string(ev.Data) != `{"k":[1,-2.5e3,true,null,"s\u00e9\n"]}` {
		t.Errorf("parsed %+v", ev)
	}
	bad := map[string]string{
		"no newline":         strings.TrimSuffix(goodLine, "\n"),
		"CRLF":               strings.Replace(goodLine, "}\n", "}\r\n", 1),
		"space after {":      strings.Replace(goodLine, `{"seq"`, `{ "seq"`, 1),
		"field order":        `{"time":"2026-11-25T09:00:00.000000000Z","seq":1,"type":"a.b","prev":"` + zeros + `","data":{}}` + "\n",
		"unknown field":      strings.Replace(goodLine, `"data":`, `"extra":1,"data":`, 1),
		"field after data":   strings.Replace(goodLine, "}}\n", `},"x":1}`+"\n", 1),
		"duplicate seq":      strings.Replace(goodLine, `{"seq":1,`, `{"seq":1,"seq":1,`, 1),
		"seq 0":              strings.Replace(goodLine, `"seq":1`, `"seq":0`, 1),
		"seq leading zero":   strings.Replace(goodLine, `"seq":1`, `"seq":01`, 1),
		"seq string":         strings.Replace(goodLine, `"seq":1`, `"seq":"1"`, 1),
		"seq overflow":       strings.Replace(goodLine, `"seq":1`, `"seq":99999999999999999999`, 1),
		"time offset":        strings.Replace(goodLine, "000000000Z", "000000000+00:00", 1),
		"time short nanos":   strings.Replace(goodLine, ".000000000Z", ".000Z", 1),
		"time lowercase z":   strings.Replace(goodLine, "000000000Z", "000000000z", 1),
		"time month 13":      strings.Replace(goodLine, "2026-11", "2026-13", 1),
		"type upper":         strings.Replace(goodLine, `"a.b"`, `"A.b"`, 1),
		"type escape":        strings.Replace(goodLine, `"a.b"`, `"a\u002eb"`, 1),
		"prev upper":         strings.Replace(goodLine, zeros, strings.Repeat("A", 64), 1),
		"prev short":         strings.Replace(goodLine, zeros, zeros[:63], 1),
		"data array":         strings.Replace(goodLine, `{"k":[1,-2.5e3,true,null,"s\u00e9\n"]}`, `[1]`, 1),
		"data dup key":       strings.Replace(goodLine, `{"k":`, `{"k":1,"k":`, 1),
		"data dup escaped":   strings.Replace(goodLine, `{"k":`, `{"k":1,"\u006b":`, 1),
		"data space":         strings.Replace(goodLine, `[1,`, `[1, `, 1),
		"data trailing ,":    strings.Replace(goodLine, `null,`, `null,]`, 1),
		"data bad number":    strings.Replace(goodLine, `-2.5e3`, `-02.5`, 1),
		"data bad number 2":  strings.Replace(goodLine, `-2.5e3`, `2.`, 1),
		"data bad number 3":  strings.Replace(goodLine, `-2.5e3`, `1e`, 1),
		"data NaN":           strings.Replace(goodLine, `-2.5e3`, `NaN`, 1),
		"data bad escape":    strings.Replace(goodLine, `\n`, `\x`, 1),
		"data lone surr":     strings.Replace(goodLine, `\u00e9`, `\ud800`, 1),
		"data low surr":      strings.Replace(goodLine, `\u00e9`, `\udc00x`, 1),
		"data bad utf8":      strings.Replace(goodLine, `\u00e9`, "\xff", 1),
		"data control":       strings.Replace(goodLine, `\n`, "\t", 1),
		"data unterminated":  strings.Replace(goodLine, `"]}}`, `]}}`, 1),
		"data single quotes": strings.Replace(goodLine, `{"k":`, `{'k':`, 1),
		"data too deep":      strings.Replace(goodLine, `{"k":[1,-2.5e3,true,null,"s\u00e9\n"]}`, `{"k":`+strings.Repeat("[", 70)+strings.Repeat("]", 70)+`}`, 1),
		"artifact number":    strings.Replace(goodLine, `{"k":`, `{"artifact":1,"k":`, 1),
		"artifact upper":     strings.Replace(goodLine, `{"k":`, `{"artifact":"sha256:`+strings.Repeat("A", 64)+`","k":`, 1),
		"artifact sha512":    strings.Replace(goodLine, `{"k":`, `{"artifact":"sha512:`+zeros+`","k":`, 1),
		"secret":             strings.Replace(goodLine, `{"k":`, `{"pin":"1","k":`, 1),
		"too long":           strings.Replace(goodLine, `"s\u00e9\n"`, `"`+strings.Repeat("x", MaxLine)+`"`, 1),
	}
	for name, l := range bad {
		if _, _, err := parseLine([]byte(l)); err == nil {
			t.Errorf("%s: accepted %q", name, clip(l))
		}
	}
	// A line that the surrogate pair rule accepts.
	if _, _, err := parseLine([]byte(strings.Replace(goodLine, `\u00e9`, `\ud83d\ude00`, 1))); err != nil {
		t.Errorf("surrogate pair: %v", err)
	}
}

func TestVerifyHeaderRules(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.jsonl")
	line := func(seq int, typ, prev, data string) string {
		return strings.NewReplacer("SEQ", string(rune('0'+seq)), "TYPE", typ, "PREV", prev, "DATA", data).
			Replace(`{"seq":SEQ,"time":"2026-11-25T09:00:00.000000000Z","type":"TYPE","prev":"PREV","data":DATA}` + "\n")
	}
	hdr := line(1, HeaderType, zeros, `{"format":1,"ceremony":"c","tool":"t"}`)
	if _, err := verifyBytes(t, p, []byte(hdr), ""); err != nil {
		t.Fatalf("hand-written header: %v", err)
	}
	cases := map[string]string{
		"not a header first":   line(1, "a", zeros, `{}`),
		"format 2":             line(1, HeaderType, zeros, `{"format":2,"ceremony":"c","tool":"t"}`),
		"unknown header field": line(1, HeaderType, zeros, `{"format":1,"ceremony":"c","tool":"t","x":1}`),
		"missing tool":         line(1, HeaderType, zeros, `{"format":1,"ceremony":"c"}`),
		"empty ceremony":       line(1, HeaderType, zeros, `{"format":1,"ceremony":"","tool":"t"}`),
		"prev not genesis":     line(1, HeaderType, strings.Repeat("1", 64), `{"format":1,"ceremony":"c","tool":"t"}`),
		"second header":        hdr + line(2, HeaderType, Digest(sha256Of(hdr)).String(), `{"format":1,"ceremony":"c","tool":"t"}`),
		"time backwards":       hdr + strings.Replace(line(2, "a", Digest(sha256Of(hdr)).String(), `{}`), "09:00:00", "08:59:59", 1),
		"empty":                "",
	}
	for name, b := range cases {
		if _, err := verifyBytes(t, p, []byte(b), ""); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func sha256Of(s string) [32]byte {
	var d [32]byte
	copy(d[:], sha256Sum([]byte(s)))
	return d
}

// TestVerifyLongLine: a line longer than MaxLine is reported, and the lines
// after it still checked against its full hash.
func TestVerifyLongLine(t *testing.T) {
	p, orig, _ := fixture(t)
	lines := bytes.SplitAfter(orig, []byte("\n"))
	long := bytes.Replace(lines[1], []byte(`"role":"root"`), []byte(`"role":"`+strings.Repeat("r", 2*MaxLine)+`"`), 1)
	b := bytes.Join([][]byte{lines[0], long, lines[2]}, nil)
	r, err := verifyBytes(t, p, b, "")
	if err == nil || r.Problems[0].Line != 2 || r.Problems[0].Check != checkLine {
		t.Fatalf("long line: %v", err)
	}
	os.WriteFile(p, b, 0o644)
}
