package ceremony

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/repoverify"
)

// TestExpiryRefreshOnly: a ceremony that only refreshes expiries re-signs
// the roles it names at version+1 with new expiries and nothing else
// changed, starting from a repository whose timestamp and snapshot have
// expired. A refresh so late that the online roles it does not re-sign
// have expired too is refused at start: it would publish a repository
// that does not verify.
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
	refresh := `ceremony: refresh
allow_network: true
start: {trusted_root: trusted.json, metadata: ws/metadata}
root: {expires_days: 365}
targets: {expires_days: 365}
claimed: {expires_days: 90}
max_expiry_days: 400
online: {participant: online}
` + ps.participants("alice", "bob", "carol", "dave", "erin", "online")
	// Eight months on, recently-claimed and the unclaimed bins, which
	// the online service re-signs and this ceremony does not, expired
	// long ago (no online service ran).
	late := writePlan(t, dir, "late.yaml", "reference_time: 2027-07-01T00:00:00Z\n"+refresh)
	_, err := Begin(filepath.Join(dir, "ws-late"), late, Options{Tool: Tool{Version: "test"}})
	if !errors.Is(err, repoverify.ErrFailed) || !strings.Contains(err.Error(), "delegation.recently-claimed.expiry") {
		t.Fatalf("a refresh that leaves recently-claimed expired: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ws-late")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start left a workspace: %v", err)
	}
	// Five days on: timestamp and snapshot have expired; root, targets
	// and the online roles are still valid.
	q := writePlan(t, dir, "refresh.yaml", "reference_time: 2026-11-06T00:00:00Z\n"+refresh)
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
	if got := root.Summary[0]; got != "root v1 → v2; expires 2027-11-06" {
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
