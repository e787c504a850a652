package ceremony

import "fmt"

// RulesVersion numbers the rule set this tool judges a ceremony by: the
// review's summary lines and the policy checks' verdicts that staging
// computes for a role from the same plan and trusted state. A ceremony
// records it when it opens (ceremony.opened's "rules"); transcripts from
// before it was recorded are rules 1.
//
// Bump it whenever a change makes staging say or judge anything
// differently for the same input, so that transcripts made before still
// replay: the golden transcripts in testdata/golden fail otherwise.
//
// A replay under the current rules recomputes the review and the
// verdicts and requires them to be those recorded. This tool keeps no
// earlier rule set, so under an earlier one it takes the review and the
// verdicts as recorded (they are what the signers saw) and recomputes the
// rest as always: the staged bytes, their digest, every signature and
// threshold, every published file. docs/TRANSCRIPT.md, "Rule sets".
const RulesVersion = 2

// rulesOf is the rule set a ceremony.opened event names: 1 when it names
// none; a later one than this tool knows is refused.
func rulesOf(recorded int) (int, error) {
	switch {
	case recorded == 0:
		return 1, nil
	case recorded < 0 || recorded > RulesVersion:
		return 0, fmt.Errorf("the ceremony was judged by rules %d, and this tool knows rules 1 to %d: replay it with the release that ran it, or a later one", recorded, RulesVersion)
	}
	return recorded, nil
}
