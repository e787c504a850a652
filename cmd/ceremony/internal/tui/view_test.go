package tui

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/ceremony"
)

// TestViewOnlyReads: the scroll that keeps the chosen key in view is set
// by Update, and drawing a frame changes nothing.
func TestViewOnlyReads(t *testing.T) {
	w := newWorld(t)
	m := w.model(asciiRenderer())
	m.Update(snapMsg{takeSnapshot(w.eng)})
	devs, probs := w.devices(context.Background())
	m.Update(devsMsg{devs, probs})
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s")})
	for range people {
		m.Update(tea.KeyMsg{Type: tea.KeyDown})
	}
	if m.scroll == 0 {
		t.Fatalf("the cursor went down to the last key and the body did not scroll:\n%s", m.View())
	}
	scroll, followed := m.scroll, m.followed
	f := m.View()
	if !strings.Contains(f, "▸ SoftHSM v2 #0006 (online)") {
		t.Errorf("the chosen key is not in view:\n%s", f)
	}
	if again := m.View(); again != f || m.scroll != scroll || m.followed != followed {
		t.Errorf("drawing changed the model: scroll %d→%d, followed %d→%d", scroll, m.scroll, followed, m.followed)
	}
}

// TestKeyTableListsEveryKey: every binding of the key map is in a row of
// the key table, once.
func TestKeyTableListsEveryKey(t *testing.T) {
	km := newKeyMap(false)
	var listed []key.Binding
	for _, r := range km.rows() {
		listed = append(listed, r.keys...)
	}
	v := reflect.ValueOf(*km)
	for i := range v.NumField() {
		var bs []key.Binding
		switch f := v.Field(i).Interface().(type) {
		case key.Binding:
			bs = []key.Binding{f}
		case [numScreens]key.Binding:
			bs = f[:]
		default:
			t.Fatalf("keyMap.%s is a %T, not a binding", v.Type().Field(i).Name, f)
		}
		for _, b := range bs {
			j := -1
			for k := range listed {
				if reflect.DeepEqual(listed[k], b) {
					j = k
					break
				}
			}
			if j < 0 {
				t.Errorf("keyMap.%s (%v) is in no row of the key table", v.Type().Field(i).Name, b.Keys())
				continue
			}
			listed = append(listed[:j], listed[j+1:]...)
		}
	}
	for _, b := range listed {
		t.Errorf("the key table lists %v, which is not in the key map, or twice", b.Keys())
	}
}

// TestRequestKeys: the one-signer view has Review and Sign only; tab
// goes between them and the keys of the other screens do nothing.
func TestRequestKeys(t *testing.T) {
	m := New(Options{Request: &ceremony.Request{}, Renderer: asciiRenderer()})
	m.snap = &snapshot{Roles: []roleView{{Name: "root"}}}
	if bar := m.help(); !strings.HasSuffix(bar, " · r s/tab screens · q quit") {
		t.Errorf("help bar: %q", bar)
	}
	for _, k := range []tea.KeyMsg{{Type: tea.KeyTab}, {Type: tea.KeyRunes, Runes: []rune("t")}, {Type: tea.KeyRunes, Runes: []rune("p")}, {Type: tea.KeyShiftTab}} {
		m.Update(k)
		if m.screen != screenSign && m.screen != screenReview {
			t.Fatalf("after %s the one-signer view is on %s", k, screenNames[m.screen])
		}
	}
	if m.screen != screenReview {
		t.Errorf("tab then shift+tab ends on %s, not Review", screenNames[m.screen])
	}
}

// docPath is the signer's guide to the TUI.
const docPath = "../../../../docs/TUI.md"

const (
	keysBegin = "<!-- keys: generated from the key map (keys.go); TestKeyTable checks it -->\n"
	keysEnd   = "<!-- end of keys -->\n"
)

// TestKeyTable: the key table in docs/TUI.md is the key map's. With
// -update it is rewritten.
func TestKeyTable(t *testing.T) {
	doc := readDoc(t)
	i, j := strings.Index(doc, keysBegin), strings.Index(doc, keysEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no key table between %q and %q", docPath, keysBegin, keysEnd)
	}
	i += len(keysBegin)
	want := newKeyMap(false).keyTable()
	if doc[i:j] == want {
		return
	}
	if updating() {
		writeDoc(t, doc[:i]+want+doc[j:])
		return
	}
	t.Errorf("the key table in %s is not the key map's; run 'go test ./cmd/ceremony/internal/tui -update', or make it:\n%s", docPath, want)
}

// frameMark names the golden file the frame below it shows.
var frameMark = regexp.MustCompile(`^<!-- frame: (\S+) -->$`)

// TestDocFrames: each frame in docs/TUI.md (a text block) is the golden
// file its mark names, trailing blanks trimmed. With -update they are
// rewritten from the golden files, which the tests in model_test.go, run
// before this file's, have rewritten first.
func TestDocFrames(t *testing.T) {
	doc := readDoc(t)
	lines := strings.SplitAfter(doc, "\n")
	var out []string
	frames := 0
	for i := 0; i < len(lines); i++ {
		out = append(out, lines[i])
		if lines[i] == "```text\n" {
			t.Errorf("%s line %d: a text block with no frame mark above it: frames are checked against golden files", docPath, i+1)
		}
		m := frameMark.FindStringSubmatch(strings.TrimSuffix(lines[i], "\n"))
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || lines[i+1] != "```text\n" {
			t.Fatalf("%s line %d: the frame mark is not followed by a text block", docPath, i+1)
		}
		end := i + 2
		for end < len(lines) && lines[end] != "```\n" {
			end++
		}
		if end == len(lines) {
			t.Fatalf("%s line %d: the frame's text block does not end", docPath, i+2)
		}
		shown := trimFrame(strings.Join(lines[i+2:end], ""))
		b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(m[1])))
		if err != nil {
			t.Fatal(err)
		}
		golden := trimFrame(string(b))
		if shown != golden && !updating() {
			t.Errorf("%s line %d: the frame differs from testdata/%s; run 'go test ./cmd/ceremony/internal/tui -update'. The golden frame:\n%s", docPath, i+1, m[1], golden)
		}
		out = append(out, "```text\n", golden, "```\n")
		i = end
		frames++
	}
	if frames == 0 {
		t.Errorf("%s shows no frame", docPath)
	}
	if want := strings.Join(out, ""); updating() && want != doc {
		writeDoc(t, want)
	}
}

// trimFrame drops the blanks at the ends of a frame's lines, and its
// trailing empty lines, which Markdown does not keep.
func trimFrame(f string) string {
	lines := strings.Split(f, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}

// updating reports whether the tests run with -update, the flag the
// golden package registers.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeDoc(t *testing.T, doc string) {
	t.Helper()
	if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "rewrote %s\n", docPath)
}
