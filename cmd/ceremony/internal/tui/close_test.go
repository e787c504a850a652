package tui

import (
	"strings"
	"testing"
)

// TestCloseShowsWitnessHead: once checkpoint signatures follow the close,
// the Close screen and the status line still give the witnesses the head
// of the close, which the checkpoint signs; the last head is labelled as
// not theirs.
func TestCloseShowsWitnessHead(t *testing.T) {
	closeHead, last := strings.Repeat("c1", 32), strings.Repeat("1a", 32)
	m := &Model{sty: newStyles(asciiRenderer()), snap: &snapshot{Ceremony: "c", Roles: []roleView{{Name: "root"}}, Done: true, Published: true, Closed: true,
		Head: last, HeadWords: digestWords(last),
		Checkpoint: &checkpointView{Seq: 29, Head: closeHead, HeadWords: digestWords(closeHead)}}}
	body := strings.Join(m.closeBody(200), "\n")
	for _, want := range []string{"Head of the close (event 29), which the checkpoint signs, sha256:\n  " + closeHead,
		"In words, for the witnesses to write down:\n  " + digestWords(closeHead)[:40],
		"The transcript's last head, after the checkpoint's signatures (not the witnesses'): " + last} {
		if !strings.Contains(body, want) {
			t.Errorf("the Close screen lacks %q:\n%s", want, body)
		}
	}
	m.review.done = true
	if s := m.status(); !strings.Contains(s, "Head of the close "+closeHead[:8]+"…") {
		t.Errorf("status line %q does not name the close's head", s)
	}
}
