package ceremony

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExpiryRefreshOnly: a ceremony that only refreshes expiries re-signs
// the roles it names at version+1 with new expiries and nothing else
// changed, starting from a repository whose online roles have expired.
func TestExpiryRefreshOnly(t *testing.T) {
	dir := t.TempDir()
	ps := crashPeople(t, dir)
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	if err := runToEnd(filepath.Join(dir, "ws"), plan, ps, nil); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, "ws", "metadata")
	trusted := mustRead(t, filepath.Join(meta, "1.root.json"))
	writeFile(t, filepath.Join(dir, "trusted.json"), trusted)
	// Eight months on: timestamp, snapshot and the online roles expired
	// long ago; root and targets are still valid.
	q := writePlan(t, dir, "refresh.yaml", `ceremony: refresh
reference_time: 2027-07-01T00:00:00Z
allow_network: true
start: {trusted_root: trusted.json, metadata: ws/metadata}
root: {expires_days: 365}
targets: {expires_days: 365}
claimed: {expires_days: 90}
max_expiry_days: 400
online: {participant: online}
`+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e, err := Begin(filepath.Join(dir, "ws2"), q, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Release()
	var staged []string
	for _, r := range e.State().Roles {
		staged = append(staged, r.Role)
		if r.Version != 2 {
			t.Errorf("%s staged at v%d, want v2", r.Role, r.Version)
		}
	}
	if want := []string{RoleRoot, RoleTargets, RoleClaimed}; !slices.Equal(staged, want) {
		t.Fatalf("staged %v, want %v", staged, want)
	}
	root := e.State().Role(RoleRoot)
	if got := root.Summary[0]; got != "root v1 → v2; expires 2028-06-30" {
		t.Errorf("root summary %q", got)
	}
	for _, l := range root.Summary[1:] {
		if strings.Contains(l, "→") || strings.Contains(l, "adds") || strings.Contains(l, "removes") {
			t.Errorf("an expiry refresh changed more than the expiry: %q", l)
		}
	}
	for _, n := range []string{"alice", "bob", "dave", "erin"} {
		if _, err := e.Sign(ps[n], nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	repo, err := LoadRepo(meta, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if repo.Root.Signed.Version != 2 || repo.Targets.Signed.Version != 2 || repo.Claimed.Signed.Version != 2 || repo.Timestamp.Signed.Version != 2 {
		t.Errorf("after the refresh: root v%d targets v%d claimed v%d timestamp v%d", repo.Root.Signed.Version, repo.Targets.Signed.Version, repo.Claimed.Signed.Version, repo.Timestamp.Signed.Version)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
