package demo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The two ceremonies' ids, which are also their transcript folders' names.
const (
	bootstrapID = "demo-bootstrap"
	quarterlyID = "demo-quarterly"
)

// planHeader is the comment every demo plan starts with.
func planHeader(what string, ref time.Time) string {
	return fmt.Sprintf(`# %s
#
# Written by 'ceremony demo'; it doubles as an example (docs/PLANS.md
# explains every field). The key files it names are in ../keys, as
# 'ceremony keys show --json URI' writes them.
#
# reference_time is the time every expiry is counted from, never the wall
# clock, so that a replay of the transcript reaches the same bytes. A real
# ceremony picks a date; the demo uses the time it ran, truncated to the
# hour (%s), so that a TUF client, which checks expiry against its own
# clock, accepts the repository today. Both demo ceremonies share it.
`, what, ref.Format(time.RFC3339))
}

// networkComment explains allow_network in the demo's plans.
const networkComment = `# The demo runs on whatever machine it is given, networked or not. A real
# ceremony leaves allow_network out: the tool then refuses to run while any
# network interface other than loopback is up.
allow_network: true
`

// participants writes the plan's participants: every key by name, with its
// key file and keyid, and the device it lives on.
func (d *run) participants(names ...string) string {
	var b strings.Builder
	b.WriteString("# Everyone whose key this ceremony names, with the keyid they must bring.\nparticipants:\n")
	for _, n := range names {
		h := d.holders[n]
		fmt.Fprintf(&b, "  - name: %s\n    key_file: ../keys/%s.json\n    keyid: %s\n    device: \"SoftHSM token %s, key %s (%s)\"\n",
			n, n, h.key.ID(), h.token, h.object, h.kt)
	}
	return b.String()
}

func (d *run) onlineBlock(bins int) string {
	s := fmt.Sprintf(`# The online key signs snapshot and timestamp when the ceremony publishes
# (and, at bootstrap, recently-claimed and the unclaimed hash bins). The
# demo passes it the PIN from the token's PIN file.
online:
  participant: online
  key_uri: %q
`, d.holders["online"].uri)
	if bins > 0 {
		s += fmt.Sprintf("  unclaimed_bin_bits: %d # 2^%d unclaimed hash bins (PEP 458)\n", bins, bins)
	}
	return s
}

// writeBootstrapPlan writes plans/bootstrap.yaml and its projects file.
func (d *run) writeBootstrapPlan() (string, error) {
	if err := d.writeProjects("bootstrap-projects.json", []string{"sampleproject"}, map[string]string{"sampleproject": "sampleproject-2026"}); err != nil {
		return "", err
	}
	plan := planHeader("Bootstrap: a new PEP 458/480 repository (root v1, targets v1, claimed v1, revocations v1).", d.ref) + `
ceremony: ` + bootstrapID + `
reference_time: ` + d.ref.Format(time.RFC3339) + `
` + networkComment + `
# Root: the five admins' keys; any three of them sign.
root:
  add: [alice, bob, carol, dave, erin]
  threshold: 3
# Targets: three of the admins' keys, two of them sign. Targets delegates
# to claimed (offline keys on the two claimed-key tokens), recently-claimed
# and the unclaimed bins (the online key).
targets:
  add: [alice, bob, carol]
  threshold: 2
  claimed:
    add: [claims-1-2026, claims-2-2026]
    threshold: 1
# Claimed starts with one project and its maintainer's key.
claimed:
  projects_file: bootstrap-projects.json
` + d.onlineBlock(3) + d.participants("alice", "bob", "carol", "dave", "erin", "claims-1-2026", "claims-2-2026", "online")
	return d.writePlan("bootstrap.yaml", plan)
}

// writeQuarterlyPlan writes plans/quarterly.yaml and its projects file.
func (d *run) writeQuarterlyPlan() (string, error) {
	projects := []string{"sampleproject", "requests", "attrs", "urllib3"}
	keys := map[string]string{"sampleproject": "sampleproject-2027", "requests": "requests-2027", "attrs": "attrs-2027", "urllib3": "urllib3-2027"}
	if err := d.writeProjects("quarterly-projects.json", projects, keys); err != nil {
		return "", err
	}
	revoked := d.holders["sampleproject-2026"].key.ID()
	plan := planHeader("Quarterly ceremony: rotate a root key and the threshold, rotate claimed's keys, move projects into claimed, revoke a maintainer key.", d.ref) + `
ceremony: ` + quarterlyID + `
reference_time: ` + d.ref.Format(time.RFC3339) + `
` + networkComment + `
# The ceremony starts from the published repository, verified from the
# pinned root v1.
start:
  trusted_root: ../trusted-root.json
  metadata: ../metadata

# The bootstrap's transcript, closed and its checkpoint signed: root v2
# and targets v2 carry its head (x-ceremony-previous-head), binding that
# record into the metadata this ceremony signs.
previous_transcript: ../transcripts/` + bootstrapID + `/transcript.jsonl

# Root v2: erin's key is replaced by her new one, and four of five must sign
# from now on. Root v2 needs three signatures under root v1's keys and four
# under its own.
root:
  add: [erin-2027]
  remove: [erin]
  threshold: 4

# Claimed-key rotation: targets v2 delegates claimed to two new keys, both
# of which must sign; claimed and the revocation list are re-signed under
# them.
targets:
  claimed:
    add: [claims-1-2027, claims-2-2027]
    remove: [claims-1-2026, claims-2-2026]
    threshold: 2

# Three projects move into claimed (requests, attrs, urllib3), and
# sampleproject's maintainer key is replaced by a new one.
claimed:
  projects_file: quarterly-projects.json

# sampleproject's old maintainer key is revoked. The projects file above
# replaces it, so that no staged role trusts it any more (policy check
# revocation.no-revoked-key-trusted).
revocations:
  add:
    - keyid: ` + revoked + `
      role: sampleproject
      reason: "the maintainer's laptop holding this key was lost; replaced by a new key in claimed"
` + d.onlineBlock(0) + d.participants("alice", "bob", "carol", "dave", "erin", "erin-2027",
		"claims-1-2026", "claims-2-2026", "claims-1-2027", "claims-2-2027", "online")
	return d.writePlan("quarterly.yaml", plan)
}

func (d *run) writePlan(name, body string) (string, error) {
	path := filepath.Join(d.dirs.plans, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		return "", fmt.Errorf("write plan: %w", err)
	}
	return path, nil
}

// writeProjects writes a claimed projects file: each project with its
// maintainer's key (keys maps a project to the holder of its key).
func (d *run) writeProjects(name string, projects []string, keys map[string]string) error {
	type project struct {
		Name      string            `json:"name"`
		Threshold int64             `json:"threshold"`
		Keys      []json.RawMessage `json:"keys"`
	}
	var pf struct {
		Projects []project `json:"projects"`
	}
	for _, p := range projects {
		kb, err := d.holders[keys[p]].key.MarshalJSON()
		if err != nil {
			return err
		}
		pf.Projects = append(pf.Projects, project{Name: p, Threshold: 1, Keys: []json.RawMessage{kb}})
	}
	b, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d.dirs.plans, name), append(b, '\n'), 0o644)
}
