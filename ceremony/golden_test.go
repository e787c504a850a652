package ceremony_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/internal/transcripttest"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// TestGoldenTranscriptsReplay verifies and replays the transcripts earlier
// releases wrote (testdata/golden), one folder per rule set: each is
// intact, replays to the files it recorded, and is judged by the rule set
// its folder names, earlier ones as recorded. A rule set without its
// golden transcripts fails too, so that bumping RulesVersion brings them.
func TestGoldenTranscriptsReplay(t *testing.T) {
	for rules := 1; rules <= ceremony.RulesVersion; rules++ {
		dir := filepath.Join("testdata", "golden", fmt.Sprintf("rules%d", rules))
		for _, c := range []string{"demo-bootstrap", "demo-quarterly"} {
			t.Run(fmt.Sprintf("rules%d/%s", rules, c), func(t *testing.T) {
				tpath := filepath.Join(dir, c, ceremony.TranscriptName)
				if _, err := os.Stat(tpath); err != nil {
					t.Fatalf("no golden transcript for rules %d: %v (testdata/golden/README.md says how to make one)", rules, err)
				}
				if r, err := transcripts.Verify(tpath, ""); err != nil {
					t.Fatalf("verify: %v %+v", err, r.Problems)
				}
				rep, err := ceremony.Replay(tpath, "")
				if err != nil {
					t.Fatalf("replay: %v", err)
				}
				if rep.Ceremony != c || !rep.Published || rep.Signatures == 0 || len(rep.Files) == 0 {
					t.Errorf("replay report: %+v", rep)
				}
				if rep.Rules != rules || rep.Recorded != (rules != ceremony.RulesVersion) {
					t.Errorf("judged by rules %d (as recorded: %v), want rules %d", rep.Rules, rep.Recorded, rules)
				}
			})
		}
	}
}

// TestRulesJudgeStagedReviews edits a golden transcript of the current
// rules and chains it again: a review line the tool does not compute
// fails the replay under the current rules and stands, as recorded, under
// rules 1; a rule set later than this tool's is refused.
func TestRulesJudgeStagedReviews(t *testing.T) {
	src := filepath.Join("testdata", "golden", fmt.Sprintf("rules%d", ceremony.RulesVersion), "demo-quarterly")
	edit := func(t *testing.T, replace ...string) string {
		tpath := filepath.Join(transcripttest.Copy(t, src), ceremony.TranscriptName)
		transcripttest.DropCheckpoints(t, tpath)
		transcripttest.Rechain(t, tpath, replace...)
		if _, err := transcripts.Verify(tpath, ""); err != nil {
			t.Fatalf("the edited transcript does not verify: %v", err)
		}
		return tpath
	}
	current := fmt.Sprintf(`"rules":%d`, ceremony.RulesVersion)
	review := `"summary":["root v1 → v2; expires`
	forged := `"summary":["root v1 → v2, nothing else changes; expires`

	if _, err := ceremony.Replay(edit(t, review, forged), ""); err == nil || !strings.Contains(err.Error(), "recorded summary or policy checks differ") {
		t.Errorf("a review the current rules do not give replays: %v", err)
	}
	rep, err := ceremony.Replay(edit(t, review, forged, ","+current, ""), "")
	if err != nil || rep.Rules != 1 || !rep.Recorded {
		t.Errorf("under rules 1 the recorded review stands: %+v, %v", rep, err)
	}
	st, err := ceremony.Fold(edit(t, review, forged, ","+current, ""))
	if err != nil || !strings.Contains(st.Role(ceremony.RoleRoot).Summary[0], "nothing else changes") {
		t.Errorf("the fold under rules 1 does not keep the recorded review: %v", err)
	}
	later := fmt.Sprintf(`"rules":%d`, ceremony.RulesVersion+1)
	if _, err := ceremony.Replay(edit(t, current, later), ""); err == nil || !strings.Contains(err.Error(), "this tool knows rules 1 to") {
		t.Errorf("a later rule set is not refused: %v", err)
	}
}
