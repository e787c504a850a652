package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/internal/transcripttest"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

var update = flag.Bool("update", false, "rewrite testdata/demo-quarterly.html and docs/report-page1.png from the golden transcript")

// goldenWorkspace is the demo's quarterly ceremony as the current rules
// recorded it (ceremony/testdata/golden).
func goldenWorkspace(rules int) string {
	return filepath.Join("..", "testdata", "golden", fmt.Sprintf("rules%d", rules), "demo-quarterly")
}

func goldenTranscript() string {
	return filepath.Join(goldenWorkspace(ceremony.RulesVersion), ceremony.TranscriptName)
}

// sections are the headings every report has, in order.
var sections = []string{"Transcript head", "Overview", "Who was present", "The plan", "Reviews", "Policy checks",
	"Signatures", "Thresholds", "Published", "Checkpoints", "Timeline"}

// TestGoldenHTML builds the report of the demo's quarterly ceremony twice
// and compares it with testdata/demo-quarterly.html, byte for byte
// (go test -update rewrites it): the same transcript gives the same
// bytes.
func TestGoldenHTML(t *testing.T) {
	page := buildHTML(t, goldenTranscript())
	if again := buildHTML(t, goldenTranscript()); !bytes.Equal(page, again) {
		t.Fatal("two reports of one transcript differ")
	}
	golden := filepath.Join("testdata", "demo-quarterly.html")
	if *update {
		if err := os.WriteFile(golden, page, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(page, want) {
		t.Errorf("the report differs from %s; if the change is meant, run go test ./ceremony/report -update and read the diff", golden)
	}
	// What an auditor looks for is there, and nothing is fetched or run.
	vr, err := transcripts.Verify(goldenTranscript(), "")
	if err != nil {
		t.Fatal(err)
	}
	// The big head is the close's, which the witnesses wrote down and the
	// checkpoint signs; the last head follows it, labelled.
	st, err := ceremony.Fold(goldenTranscript())
	if err != nil {
		t.Fatal(err)
	}
	closeHead := st.Checkpoint.Head
	big := regexp.MustCompile(`(?s)<div class="head">\s*<div class="hex">(.*?)</div>`).FindSubmatch(page)
	if big == nil || strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(string(big[1]), " ")), "") != closeHead.String() {
		t.Errorf("the big head is not the close's %s: %q", closeHead, big)
	}
	if !bytes.Contains(page, []byte("close, which fixes every byte up to it")) || !bytes.Contains(page, []byte("last head, the hash of its last line")) {
		t.Error("the heads are not labelled: the close's, and the last")
	}
	for _, want := range append(slices.Clone(sections),
		vr.Head.String(), strings.Fields(vr.HeadWords)[0], closeHead.Words(),
		"dave", "claimed by the signer, not verified", "root (old)", "2.root.json",
		"checkpoint.signed", "judged by rules 2") {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the report does not say %q", want)
		}
	}
	for _, bad := range []string{"<script", "<img", "<link", "http://", "https://", "src=", "url("} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("the report holds %q: it must load nothing", bad)
		}
	}
}

func buildHTML(t *testing.T, tpath string) []byte {
	t.Helper()
	s, err := Build(tpath, Options{Generator: "ceremony test"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.HTML()
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// TestJSONAndWrite writes the report and its JSON into a folder, and
// refuses to write either again.
func TestJSONAndWrite(t *testing.T) {
	s, err := Build(goldenTranscript(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "binder")
	paths, err := s.Write(dir, true)
	if err != nil || len(paths) != 2 {
		t.Fatalf("write: %v %v", paths, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, JSONName))
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Ceremony != "demo-quarterly" || back.Status != "closed" || len(back.Signatures) != 18 || len(back.Head.Words) != 32 ||
		!back.Witnessed.Closed || back.Witnessed.After != len(back.Checkpoints) || back.Witnessed.Seq+int64(back.Witnessed.After) != int64(back.Events) ||
		back.Published == nil || !back.Published.Finished || len(back.Thresholds) == 0 || back.Rules != ceremony.RulesVersion {
		t.Errorf("summary: %s", b)
	}
	before, _ := os.ReadFile(filepath.Join(dir, HTMLName))
	if _, err := s.Write(dir, false); !errors.Is(err, ceremony.ErrConflict) {
		t.Errorf("a second report into the same folder: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, HTMLName))
	if !bytes.Equal(before, after) {
		t.Error("the refused write changed report.html")
	}
}

// TestEarlierRules: the session-1 transcripts, judged by rules 1, have a
// report that says their reviews are as recorded.
func TestEarlierRules(t *testing.T) {
	page := buildHTML(t, filepath.Join(goldenWorkspace(1), ceremony.TranscriptName))
	for _, want := range []string{"judged by rules 1", "as recorded, not recomputed", "; as recorded)"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the rules 1 report does not say %q", want)
		}
	}
	// Its transcript recorded the publish folder absolute, as then.
	if bytes.Contains(page, []byte("relative to the ceremony's workspace")) {
		t.Error("an absolute publish folder is called relative")
	}
}

// TestHostileTranscript forges strings into a transcript that still
// replays (under rules 1 a review stands as recorded; a signature's
// device and the host are the tool's record, not re-derived): the report
// shows each escaped and bounded, and none acts.
func TestHostileTranscript(t *testing.T) {
	tpath := filepath.Join(transcripttest.Copy(t, goldenWorkspace(ceremony.RulesVersion)), ceremony.TranscriptName)
	long := strings.Repeat("x", 3*maxString)
	transcripttest.DropCheckpoints(t, tpath)
	transcripttest.Rechain(t, tpath,
		fmt.Sprintf(`,"rules":%d`, ceremony.RulesVersion), "",
		`"hostname":"vm"`, `"hostname":"vm</title><script>alert(1)</script>"`,
		`"summary":["root v1 → v2; expires`, `"summary":["`+long+`","<img src=x onerror=alert(1)>\u202e\u001b[31m root v1 → v2; expires`,
		`"model":"SoftHSM v2"`, `"model":"<b onmouseover=alert(1)>SoftHSM</b>\u0000"`,
	)
	s, err := Build(tpath, Options{Generator: "ceremony <test>"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img", "<b ", "\u202e", "\x1b", "\x00", long} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("the report holds %q raw", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "&lt;img src=x", `\u202e\x1b[31m root v1`, `&lt;b onmouseover=alert(1)&gt;SoftHSM&lt;/b&gt;\x00`,
		fmt.Sprintf("… (%d more characters)", 2*maxString), "ceremony &lt;test&gt;"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the report does not show %q", want)
		}
	}
	js, err := s.JSON()
	if err != nil || bytes.Contains(js, []byte("\u202e")) || bytes.Contains(js, []byte(long)) {
		t.Errorf("the JSON summary holds a raw bidi control or an unbounded string: %v", err)
	}
}

// TestRefusesWhatDoesNotReplay: a transcript whose history was changed
// (a signature given to another signer, chain recomputed) has no report.
func TestRefusesWhatDoesNotReplay(t *testing.T) {
	tpath := filepath.Join(transcripttest.Copy(t, goldenWorkspace(ceremony.RulesVersion)), ceremony.TranscriptName)
	transcripttest.Rechain(t, tpath, `"signer":"alice"`, `"signer":"bob"`)
	if _, err := Build(tpath, Options{}); !errors.Is(err, ErrNotReplayed) || !errors.Is(err, ceremony.ErrReplay) {
		t.Errorf("report of a forged transcript: %v", err)
	}
	if _, err := Build(filepath.Join(t.TempDir(), "none.jsonl"), Options{}); err == nil || errors.Is(err, ErrNotReplayed) {
		t.Errorf("report of a missing transcript: %v", err)
	}
}

// TestPrintsToPDF prints the golden report as a person would, with
// headless Chromium from Debian (scripts/install-deps.sh installs it and
// poppler-utils), in a network namespace of its own with no interface up
// but loopback (unshare -rn), on Letter (Chromium's default) and A4: the
// page count falls in a range, every page is numbered "page N of M" (the
// stylesheet's @page counters), and every section's heading, the head
// and its first PGP word are in the PDF's text. With -update it renders
// page 1 for the README (docs/report-page1.png).
func TestPrintsToPDF(t *testing.T) {
	dir := t.TempDir()
	page := buildHTML(t, goldenTranscript())
	vr, err := transcripts.Verify(goldenTranscript(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, paper := range []struct{ name, css, size string }{
		{"letter", "", "612 x 792 pts (letter)"},
		{"a4", "<style>@page { size: A4; }</style>", "(A4)"},
	} {
		t.Run(paper.name, func(t *testing.T) {
			html := filepath.Join(dir, paper.name+".html")
			doc := bytes.Replace(page, []byte("</head>"), []byte(paper.css+"</head>"), 1)
			if err := os.WriteFile(html, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			pdf := filepath.Join(dir, paper.name+".pdf")
			printPDF(t, html, pdf)
			info := run(t, "pdfinfo", pdf)
			m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindStringSubmatch(info)
			if m == nil {
				t.Fatalf("pdfinfo gives no page count:\n%s", info)
			}
			pages, _ := strconv.Atoi(m[1])
			if pages < 10 || pages > 30 {
				t.Errorf("%d pages; a section a page makes 10 to 30 for the demo", pages)
			}
			if !strings.Contains(info, paper.size) {
				t.Errorf("not printed on %s:\n%s", paper.name, info)
			}
			text := run(t, "pdftotext", "-layout", pdf, "-")
			for _, want := range append(slices.Clone(sections), vr.Head.String()[:8], strings.Fields(vr.HeadWords)[0],
				"page 1 of "+m[1], fmt.Sprintf("page %s of %s", m[1], m[1])) {
				if !strings.Contains(text, want) {
					t.Errorf("the PDF's text lacks %q", want)
				}
			}
			if *update && paper.name == "letter" {
				out := filepath.Join("..", "..", "docs", "report-page1")
				run(t, "pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", pdf, out)
			}
		})
	}
}

// printPDF prints html to pdf with headless Chromium in a network
// namespace of its own, so it can reach nothing.
func printPDF(t *testing.T, html, pdf string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, "unshare", "-rn", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
		"--no-pdf-header-footer", "--no-first-run", "--disable-extensions", "--disable-sync",
		"--disable-background-networking", "--disable-component-update",
		"--user-data-dir="+filepath.Join(home, "profile"), "--print-to-pdf="+pdf, "file://"+html)
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium --print-to-pdf in 'unshare -rn' (install it with scripts/install-deps.sh): %v\n%s", err, out)
	}
	if fi, err := os.Stat(pdf); err != nil || fi.Size() == 0 {
		t.Fatalf("chromium wrote no PDF: %v\n%s", err, out)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s (poppler-utils; scripts/install-deps.sh installs it): %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// TestCheckpointsShownGenerically: a checkpoint event, whatever its
// members, shows its signer, keyid, how it came, its device and the head
// it signs, and the rest as details, escaped; the signature's bytes are
// left out.
func TestCheckpointsShownGenerically(t *testing.T) {
	s, err := Build(filepath.Join(goldenWorkspace(1), ceremony.TranscriptName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Checkpoints) != 0 || s.NoCheckpoint == "" {
		t.Fatalf("the rules-1 golden transcript has checkpoints: %+v", s.Checkpoints)
	}
	s.NoCheckpoint = ""
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	head := strings.Repeat("ab", 32)
	for i, signer := range []string{"alice", "dave"} {
		dev := `"device"`
		if signer == "dave" {
			dev = `"device_claimed_by_signer"`
		}
		ev := transcripts.Event{Seq: int64(31 + i), Time: at, Type: "checkpoint.signed", Data: []byte(`{"seq":30,"head":"` + head + `",` +
			`"signer":"` + signer + `","keyid":"55bc905febb6f9a547094f71ff83e481fa04419b8401ba29d196105d347eba66","via":"device",` +
			dev + `:{"backend":"piv","uri":"piv:serial=1","model":"YubiKey 5","manufacturer":"Yubico","serial":"12345678","firmware":"5.7.1"},` +
			`"sig":"5151deadbeef5151","note":"<b>4a\u202e</b>","more":{"n":1}}`)}
		if _, err := s.event(ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	c := s.Checkpoints[0]
	if c.Signer != "alice" || c.KeyID[:8] != "55bc905f" || c.Via != "device" || c.Device != "YubiKey 5 #12345678" || c.Seq != 31 || !c.Time.Equal(at) ||
		c.Covers == nil || c.Covers.Seq != 30 || c.Covers.Head.Hex != head || len(c.Covers.Head.Words) != 32 {
		t.Errorf("checkpoint: %+v", c)
	}
	if !slices.Equal(c.Details, []string{`more: {"n":1}`, `note: <b>4a\u202e</b>`}) {
		t.Errorf("details: %q", c.Details)
	}
	if s.Checkpoints[1].Device != "YubiKey 5 #12345678 (claimed by the signer)" || len(s.Covered) != 1 {
		t.Errorf("the second checkpoint: %+v; heads covered: %+v", s.Checkpoints[1], s.Covered)
	}
	page, err := s.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<td>31<br><small>checkpoint.signed</small></td><td class="when">2027-01-02 03:04:05.000 UTC</td><td>alice</td>`,
		"The head of event 30, which they sign", head, "YubiKey 5 #12345678", `note: &lt;b&gt;4a\u202e&lt;/b&gt;`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the report does not show %q", want)
		}
	}
	if bytes.Contains(page, []byte("predates checkpoints")) || bytes.Contains(page, []byte("deadbeef")) {
		t.Error("the report says there is no checkpoint, or shows the signature's bytes")
	}
}
