package transcripts

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docBlock returns the first fenced block after marker in docs/TRANSCRIPT.md.
func docBlock(t *testing.T, doc, marker string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, marker)
	if !ok {
		t.Fatalf("docs/TRANSCRIPT.md has no %s", marker)
	}
	_, rest, _ = strings.Cut(rest, "```")
	_, rest, _ = strings.Cut(rest, "\n") // the fence's info string
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("unterminated block after %s", marker)
	}
	return block
}

// TestDocExample regenerates the worked example in docs/TRANSCRIPT.md and
// checks every byte and hash the document shows.
func TestDocExample(t *testing.T) {
	b, err := os.ReadFile("../docs/TRANSCRIPT.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	p, orig, head := fixture(t)
	if got := docBlock(t, doc, "<!-- example-transcript -->"); got != string(orig) {
		t.Errorf("the document's example differs from what the writer produces; it should read:\n%s", orig)
	}
	r, err := Verify(p, "")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(p)
	defer f.Close()
	for ev, err := range Events(f) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(doc, "| `"+ev.Hash().String()+"` |") {
			t.Errorf("the document does not show line %d's hash %s", ev.Seq, ev.Hash())
		}
	}
	for _, s := range []string{head, r.HeadWords, "sha256/3726b5464ebd0bd4ef2c9f48c99e0b20bf3bd6f6ca590ea932b3c97b7acfc2b5",
		"`{\"signed\":{\"_type\":\"root\",\"version\":8}}`"} {
		if !strings.Contains(doc, s) {
			t.Errorf("the document does not show %s", s)
		}
	}

	// The document's regular expression matches exactly the lines the
	// parser accepts, here for the example and for broken envelopes.
	re := regexp.MustCompile(strings.TrimSpace(docBlock(t, doc, "<!-- line-regexp -->")))
	if !strings.Contains(doc, "LINE = re.compile(r'"+re.String()+"')") {
		t.Error("the Python sketch's expression differs from section 2's")
	}
	for _, l := range bytes.SplitAfter(orig, []byte("\n"))[:3] {
		m := re.FindSubmatch(bytes.TrimSuffix(l, []byte("\n")))
		ev, _, err := parseLine(l)
		if m == nil || err != nil || string(m[3]) != ev.Type || string(m[5]) != string(ev.Data) {
			t.Errorf("expression and parser disagree on %s", l)
		}
	}
	for _, l := range []string{
		strings.Replace(goodLine, `"seq":1`, `"seq":01`, 1),
		strings.Replace(goodLine, `{"seq"`, `{ "seq"`, 1),
		strings.Replace(goodLine, `"data":`, `"extra":1,"data":`, 1),
		strings.Replace(goodLine, ".000000000Z", ".000Z", 1),
		strings.Replace(goodLine, `"a.b"`, `"A.b"`, 1),
		strings.Replace(goodLine, zeros, strings.Repeat("A", 64), 1),
	} {
		if re.MatchString(strings.TrimSuffix(l, "\n")) {
			t.Errorf("the expression accepts %s", l)
		}
	}
}
