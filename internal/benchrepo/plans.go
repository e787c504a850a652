package benchrepo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The plans of a quarterly ceremony on a generated repository, by file
// name under Dir/plans.
const (
	RootRotationPlan  = "root-rotation.yaml"
	ClaimedUpdatePlan = "claimed-update.yaml"
)

// Plans writes the two plans for a ceremony on the repository m describes
// into dir/plans, with reference time ref (the plans, unlike the
// repository, are written afresh for every run, so that ref is today):
//
//   - root-rotation.yaml replaces erin's root key with her 2027 key and
//     touches nothing else: root v2 needs three signatures under root v1
//     and three under itself (alice, bob and carol are in both);
//   - claimed-update.yaml gives 10 projects a second maintainer key and
//     takes 10 others out of claimed: claimed and the bins holding them
//     are re-signed under claimed's keys (two of three).
//
// Both name the online key, so that publish signs snapshot and timestamp
// and the result is a complete repository.
func Plans(dir string, m *Manifest, a *Admins, ref time.Time) error {
	pd := filepath.Join(dir, "plans")
	if err := os.MkdirAll(pd, 0o755); err != nil {
		return err
	}
	ref = ref.UTC().Truncate(time.Second)
	head := func(id, what string) string {
		return fmt.Sprintf(`# %s
# Written by internal/benchrepo for the whole-command benchmark (scripts/bench.sh).
ceremony: %s
reference_time: %s
allow_network: true
start:
  trusted_root: %q
  metadata: %q
online:
  participant: online
  key_uri: %q
`, what, id, ref.Format(time.RFC3339), m.TrustedRoot, m.Metadata, a.Keys["online"].URI)
	}
	rr := head("bench-root-rotation", fmt.Sprintf("Root rotation on %d projects: erin's root key replaced, claimed untouched.", m.Projects)) + `root:
  add: [erin-2027]
  remove: [erin]
` + a.participants("alice", "bob", "carol", "dave", "erin", "erin-2027", "online")
	if err := os.WriteFile(filepath.Join(pd, RootRotationPlan), []byte(rr), 0o644); err != nil {
		return err
	}

	pf, err := json.MarshalIndent(struct {
		Projects []PlanProject `json:"projects"`
	}{m.Update}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pd, "claimed-update-projects.json"), append(pf, '\n'), 0o644); err != nil {
		return err
	}
	quoted := make([]string, len(m.Remove))
	for i, r := range m.Remove {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	cu := head("bench-claimed-update", fmt.Sprintf("Claimed update on %d projects: %d projects get a second key, %d leave claimed.", m.Projects, len(m.Update), len(m.Remove))) +
		"claimed:\n  projects_file: claimed-update-projects.json\n  remove_projects: [" + strings.Join(quoted, ", ") + "]\n" +
		a.participants("claims-1", "claims-2", "claims-3", "online")
	return os.WriteFile(filepath.Join(pd, ClaimedUpdatePlan), []byte(cu), 0o644)
}

// participants is a plan's participants list for the named admins.
func (a *Admins) participants(names ...string) string {
	var b strings.Builder
	b.WriteString("participants:\n")
	for _, n := range names {
		k := a.Keys[n]
		fmt.Fprintf(&b, "  - name: %s\n    key_file: %q\n    keyid: %s\n    device: \"SoftHSM token %s, key %s (ed25519)\"\n", n, k.KeyFile, k.Key.ID(), k.Token, k.Object)
	}
	return b.String()
}
