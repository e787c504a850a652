package transcripts

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
)

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/TRANSCRIPT.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

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
	doc := readDoc(t)
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
	if !strings.Contains(doc, "LINE = re.compile(rb'"+re.String()+"')") {
		t.Error("the Python verifier's expression differs from section 2's")
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

// TestDocPGPWords: Appendix A is the word list the tool spells heads with,
// so that a head in words can be checked from the document alone.
func TestDocPGPWords(t *testing.T) {
	_, table, ok := strings.Cut(readDoc(t), "<!-- pgp-words -->")
	if !ok {
		t.Fatal("docs/TRANSCRIPT.md has no <!-- pgp-words --> table")
	}
	var want strings.Builder
	want.WriteString("\n| byte | even position | odd position |\n|---|---|---|\n")
	for b := range 256 {
		w := pgpwords.Encode([]byte{byte(b), byte(b)})
		fmt.Fprintf(&want, "| %02x | %s | %s |\n", b, w[0], w[1])
	}
	if table != want.String() {
		t.Errorf("Appendix A differs from internal/pgpwords; it should read:%s", want.String())
	}
}

// verifierCase is a transcript for TestDocVerifier.
type verifierCase struct {
	name  string
	lines []byte
	store map[string]string // artifacts to put in the case's own store, by file name; nil shares the fixture's
}

// TestDocVerifier runs section 12's Python verifier over the worked
// example, every small change to it, and the cases the other tests build by
// hand, and checks that its first problem is always the reference
// verifier's first: the program follows the document's rules, and the
// document says enough to write it.
func TestDocVerifier(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("section 12's verifier needs python3: run scripts/install-deps.sh")
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "verify.py")
	if err := os.WriteFile(prog, []byte(docBlock(t, readDoc(t), "<!-- python-verifier -->")), 0o644); err != nil {
		t.Fatal(err)
	}
	p, orig, _ := fixture(t)
	var cases []verifierCase
	add := func(name string, b []byte) { cases = append(cases, verifierCase{name: name, lines: b}) }
	add("example", orig)
	for i := range orig {
		for _, flip := range []byte{0x01, 0x20, 0x80} {
			b := bytes.Clone(orig)
			b[i] ^= flip
			add(fmt.Sprintf("byte %d ^ %#x", i, flip), b)
		}
		add(fmt.Sprintf("delete byte %d", i), append(bytes.Clone(orig[:i]), orig[i+1:]...))
		for _, c := range []byte{' ', '\n', '"', '0'} {
			add(fmt.Sprintf("insert %q at %d", c, i), append(append(bytes.Clone(orig[:i]), c), orig[i:]...))
		}
		add(fmt.Sprintf("cut at %d", i), orig[:i])
	}
	lines := bytes.SplitAfter(orig, []byte("\n"))[:3]
	for i := range lines {
		for j := range lines {
			add(fmt.Sprintf("line %d then %d", i+1, j+1), slicesConcat(lines[:i], lines[j:j+1], lines[i+1:]))
		}
	}
	cases = append(cases, handCases()...)

	var args []string
	want := map[string]string{}
	for i, c := range cases {
		cp := filepath.Join(dir, fmt.Sprintf("c%d.jsonl", i))
		if err := os.WriteFile(cp, c.lines, 0o644); err != nil {
			t.Fatal(err)
		}
		if c.store == nil {
			os.Symlink(ArtifactDir(p), ArtifactDir(cp))
		} else {
			sd := filepath.Join(ArtifactDir(cp), "sha256")
			os.MkdirAll(sd, 0o755)
			for name, b := range c.store {
				if target, ok := strings.CutPrefix(b, "symlink:"); ok {
					os.Symlink(target, filepath.Join(sd, name))
				} else {
					os.WriteFile(filepath.Join(sd, name), []byte(b), 0o644)
				}
			}
		}
		r, err := Verify(cp, "")
		if r == nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want[cp] = "OK, head " + r.Head.String()
		if len(r.Problems) > 0 {
			want[cp] = fmt.Sprintf("line %d: %s", r.Problems[0].Line, r.Problems[0].Check)
		}
		args = append(args, cp)
	}
	out, err := exec.Command(python, append([]string{prog}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 verify.py: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, res, _ := strings.Cut(l, " ")
		got[path] = res
	}
	bad := 0
	for i, c := range cases {
		cp := args[i]
		if got[cp] != want[cp] {
			if bad++; bad <= 20 {
				t.Errorf("%s: the document's verifier says %q, the reference %q", c.name, got[cp], want[cp])
			}
		}
	}
	t.Logf("%d transcripts, %d disagreements", len(cases), bad)
}

func slicesConcat(parts ...[][]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, bytes.Join(p, nil)...)
	}
	return out
}

// handCases are transcripts written by hand for the rules a change of one
// byte rarely reaches: the header, depth, times, seqs, reserved types,
// repair records, secrets and the artifact store.
func handCases() []verifierCase {
	hdr := hand{typ: HeaderType, data: hdrData}
	var cs []verifierCase
	add := func(name string, store map[string]string, ls ...hand) {
		if store == nil {
			store = map[string]string{}
		}
		cs = append(cs, verifierCase{name: name, lines: chained(ls...), store: store})
	}
	for _, d := range []string{
		hdrData, `{"format":2,"FORMAT":1,"ceremony":"c","tool":"t"}`, `{"format":1,"ceremony":"c","CEREMONY":"x","tool":"t"}`,
		`{"format":1.0,"ceremony":"c","tool":"t"}`, `{"format":true,"ceremony":"c","tool":"t"}`, `{"format":"1","ceremony":"c","tool":"t"}`,
		`{"format":2,"ceremony":"c","tool":"t"}`, `{"format":1,"ceremony":"","tool":"t"}`, `{"format":1,"ceremony":"c","tool":""}`,
		`{"format":1,"ceremony":"c","tool":null}`, `{"format":1,"ceremony":"c"}`, `{"\u0066ormat":1,"ceremony":"c","tool":"t"}`,
		`{"format":1,"ceremony":"c","tool":"t","pin":"1"}`,
	} {
		add("header "+d, nil, hand{typ: HeaderType, data: d})
	}
	for _, tm := range []string{"0000-01-01T00:00:00.000000000Z", "0001-01-01T00:00:00.000000000Z", "2025-02-29T00:00:00.000000000Z",
		"2024-02-29T23:59:59.999999999Z", "2026-11-25T24:00:00.000000000Z", "2026-12-31T23:59:60.000000000Z", "9999-12-31T23:59:59.999999999Z"} {
		add("time "+tm, nil, hand{typ: HeaderType, data: hdrData, time: tm})
		add("time then "+tm, nil, hdr, hand{typ: "a", data: `{}`, time: tm}, hand{typ: "a", data: `{}`})
	}
	add("seq gap", nil, hdr, hand{typ: "a", data: `{}`, seq: 3}, hand{typ: "a", data: `{}`, seq: 4})
	add("seq repeat", nil, hdr, hand{typ: "a", data: `{}`, seq: 1})
	add("seq overflow", nil, hdr, hand{typ: "a", data: `{}`, seq: 1 << 62}, hand{typ: "a", data: `{}`, seq: 9223372036854775807})
	add("header twice", nil, hdr, hdr)
	add("not a header first", nil, hand{typ: "a", data: `{}`})
	add("torn record first", nil, hand{typ: tornType, data: `{}`})
	add("reserved", nil, hdr, hand{typ: "transcript.note", data: `{}`})
	add("bad type then reserved", nil, hdr, hand{typ: "A", data: `{}`}, hand{typ: "transcript.x", data: `{}`})
	nest := func(n int, inner string) string {
		return `{"k":` + strings.Repeat("[", n) + inner + strings.Repeat("]", n) + `}`
	}
	for _, d := range []string{
		nest(64, "1"), nest(64, ""), nest(65, "1"), nest(63, `{"a":{}}`), nest(63, `{"a":{"b":1}}`),
		`{"artifact":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, `{"artifact":[1],"pin":1}`, `{"pin":1,"artifact":[1]}`,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":"\ud800"}`, `{"a":"\udc00\ud800"}`, `{"a":"\ud83d\ude00"}`, `{"a":"` + "\xff" + `"}`,
		`{"a":"` + "\t" + `"}`, `{"a":NaN}`, `{"a":-0}`, `{"a":1E+2}`, `{"a":01}`, `{"a":.5}`, `{"a":"\x"}`, `{"a": 1}`, `{"a":1}{"b":2}`,
		`{"uri":"pkcs11:token=a?pin-value=1234"}`, `{"u":"PIN-VALUE="}`, `{"u":"pin-value\u003d1"}`, `{"k":"-----BEGIN PRIVATE KEY-----"}`,
		`{"k":"private key-----"}`, `{"pin_value":1}`, `{"management\tkey":1}`, `{"management\u000bkey":1}`, `{"management\u00a0key":1}`,
		`{"ｐｉｎ":1}`, `{"newPIN":1}`, `{"newÅPIN":1}`, `{"NEWPin":1}`, `{"a.b.Pin":1}`, `{"pin_retries":1}`, `{"x-private-key":1}`, `{"privateKEY":1}`,
		`{"spin":1}`, `{"":1}`, `{"_":1}`, `{"artifact":"sha256:` + strings.Repeat("A", 64) + `"}`, `{"\u0061rtifact":5}`, `{"Artifact":5}`,
	} {
		add("data "+d, nil, hdr, hand{typ: "a", data: d})
	}

	// Artifacts, each case with a store of its own.
	art := func(b string) (string, string) {
		h := fmt.Sprintf("%x", sha256Sum([]byte(b)))
		return h, `{"artifact":"sha256:` + h + `"}`
	}
	torn, tornRef := art(`{"seq":2,"ti`)
	nl, nlRef := art("{\"seq\":2}\n{")
	off := len(chained(hdr))
	store := map[string]string{torn: `{"seq":2,"ti`, nl: "{\"seq\":2}\n{"}
	rec := func(f string, args ...any) hand { return hand{typ: tornType, data: fmt.Sprintf(f, args...)} }
	for _, r := range []hand{
		rec(`{"offset":%d,"length":12,"bytes":%s}`, off, tornRef), rec(`{"length":12,"bytes":%s,"offset":%d}`, tornRef, off),
		rec(`{"offset":%d,"length":12,"bytes":%s}`, off+1, tornRef), rec(`{"offset":"%d","length":12,"bytes":%s}`, off, tornRef),
		rec(`{"offset":-%d,"length":12,"bytes":%s}`, off, tornRef), rec(`{"offset":%de0,"length":12,"bytes":%s}`, off, tornRef),
		rec(`{"offset":%d.0,"length":12,"bytes":%s}`, off, tornRef), rec(`{"offset":%d,"length":0,"bytes":%s}`, off, tornRef),
		rec(`{"offset":%d,"length":-0,"bytes":%s}`, off, tornRef), rec(`{"offset":%d,"length":%d,"bytes":%s}`, off, MaxLine, tornRef),
		rec(`{"offset":%d,"length":12,"bytes":%s,"x":1}`, off, tornRef), rec(`{"OFFSET":%d,"length":12,"bytes":%s}`, off, tornRef),
		rec(`{"offset":%d,"length":12,"bytes":"x"}`, off), rec(`{"offset":%d,"length":12,"bytes":{"artifact":"x"}}`, off),
		rec(`{"offset":%d,"length":12,"bytes":{"artifact":"sha256:%s","n":1}}`, off, torn),
		rec(`{"offset":%d,"length":11,"bytes":%s}`, off, tornRef), rec(`{"offset":%d,"length":11,"bytes":%s}`, off, nlRef),
		rec(`{"offset":%d,"length":12,"bytes":%s}`, off, `{"artifact":"sha256:`+zeros+`"}`),
	} {
		add("torn record "+r.data, store, hdr, r)
	}
	for _, b := range []string{
		`{"key":"pkcs11:object=k?pin-value=1"}`, "{\n \"a\": {\"Pin\": 1}\n}\n", `{"a":1,"a":{"so_pin":1}}`, `["x","-----BEGIN PRIVATE KEY-----"]`,
		"no JSON here PIN-VALUE=1", `{"pin":` + strings.Repeat("[", 70), `{"pin":1` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`,
		`{"ok":"\ud800","pin":1}`, "{\"pin\":\"\xff\"}", `"pin"`, `{"pin_policy":"once"}`, "\x00binary", "",
	} {
		h, ref := art(b)
		add("named artifact "+b, map[string]string{h: b}, hdr, hand{typ: "a", data: `{"m":` + ref + `}`})
		add("unnamed artifact "+b, map[string]string{h: b}, hdr)
	}
	okH, okRef := art("fine")
	add("artifact missing", map[string]string{}, hdr, hand{typ: "a", data: `{"m":` + okRef + `}`})
	add("artifact altered", map[string]string{okH: "fin"}, hdr, hand{typ: "a", data: `{"m":` + okRef + `}`})
	add("artifact a link", map[string]string{okH: "symlink:/dev/null"}, hdr, hand{typ: "a", data: `{"m":` + okRef + `}`})
	add("stray files", map[string]string{".tmp-1": `{"pin":1}`, strings.Repeat("A", 64): "x", "notes": "pin-value=1", okH: "fine"}, hdr)
	add("unnamed in name order", map[string]string{strings.Repeat("f", 64): "x", zeros: "y"}, hdr)
	return cs
}
