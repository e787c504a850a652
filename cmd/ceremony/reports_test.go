package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/scripttest"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// hostile holds what a crafted repository or transcript can put in a name:
// an escape that clears the screen, an OSC that sets the title and swallows
// text to its BEL, a C1 CSI, DEL, and a bidi override.
const hostile = "x\x1b[2J\x1b]0;owned\x07\u009b31m\x7f\u202eevil"

// TestAuditorReportsShowNoRawControls: the reports of verify and
// transcript verify, whose role names, file names, check messages and
// problems come from files, print no raw control byte (issue 11 §1).
func TestAuditorReportsShowNoRawControls(t *testing.T) {
	var b strings.Builder
	rep := &repoverify.Report{
		Dir: hostile, At: time.Unix(0, 0).UTC(),
		RootSteps: []repoverify.RootStep{{Version: 2, File: hostile}},
		Roles:     []repoverify.Role{{Name: hostile, File: hostile}},
		Checks:    []repoverify.Check{{Name: "delegation." + hostile, Severity: roles.Error, Reason: hostile, File: hostile, Message: hostile}},
	}
	if err := printRepoReport(&b, rep); err != nil {
		t.Fatal(err)
	}
	printReport(&b, &transcripts.Report{Path: hostile, Ceremony: hostile, Events: 1,
		Problems: []transcripts.Problem{{Line: 1, Check: "chain", Artifact: hostile, Detail: hostile}}})
	if i := scripttest.ControlAt(b.String()); i >= 0 {
		t.Errorf("a raw control byte at %d of:\n%q", i, b.String())
	}
	if !strings.Contains(b.String(), `\x1b`) {
		t.Errorf("the escape is not shown escaped:\n%s", b.String())
	}
}
