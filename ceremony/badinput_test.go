package ceremony

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/transcripts"
)

// dirState lists every file under dir with its digest, to show that a
// refused command changed nothing on disk.
func dirState(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = digestOf(b)
		}
		return nil
	})
	return out
}

func sameState(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestPlanErrorsNameTheField(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	parts := ps.participants("alice", "bob", "carol", "dave", "erin", "online")
	cases := []struct{ name, plan, want string }{
		{"unknown participant", strings.Replace(bootstrapPlan, "add: [alice, bob, carol], threshold: 2}", "add: [alice, zed], threshold: 2}", 1) + parts, `root.add[1]: "zed" is not a participant`},
		{"unknown key", bootstrapPlan + parts + "unknown_field: 1\n", "unknown_field (line 17): there is no such field; a plan takes: ceremony, reference_time,"},
		{"misspelt nested key", strings.Replace(bootstrapPlan, "claimed: {add: [dave, erin], threshold: 2}", "claimed: {add: [dave, erin], threshhold: 2}", 1) + parts,
			"targets.claimed.threshhold (line 8): there is no such field (did you mean threshold?); targets.claimed takes: add, remove, threshold, expires_days"},
		{"a word for a number", strings.Replace(bootstrapPlan, "threshold: 2}", "threshold: two}", 1) + parts, `root.threshold (line 4): "two" is not a whole number`},
		{"a word for a list", strings.Replace(bootstrapPlan, "add: [alice, bob, carol], threshold: 2}", "add: alice, threshold: 2}", 1) + parts, `root.add (line 4): give a list, not "alice"`},
		{"a time that is none", strings.Replace(bootstrapPlan, "2026-11-01T00:00:00Z", "next tuesday", 1) + parts, `reference_time (line 2): "next tuesday" is not a time in UTC`},
		{"expires_days 0", bootstrapPlan + parts + "claimed: {expires_days: 0}\n", "claimed.expires_days (line 17): 0 days would expire at once: leave expires_days out for the default"},
		{"threshold 0", strings.Replace(bootstrapPlan, "threshold: 2}", "threshold: 0}", 1) + parts, "root.threshold (line 4): 0 is no threshold"},
		{"projects file of the wrong shape", bootstrapPlan + parts + "claimed: {projects_file: bad-projects.json}\n", `bad-projects.json: projects.threshold: a JSON string where a whole number belongs`},
		{"revoked key file of another key", bootstrapPlan + parts + "revocations: {add: [{keyid: " + ps.id("bob") + ", key_file: alice.json, role: root, reason: lost}]}\n",
			"revocations.add[0].keyid: the key in alice.json has keyid " + ps.id("alice")},
		{"second document", bootstrapPlan + parts + "---\nceremony: other\n", "second YAML document"},
		{"wrong keyid", bootstrapPlan + strings.Replace(parts, ps.id("bob"), ps.id("alice"), 1), "participants[1].keyid"},
		{"bad reference time", strings.Replace(bootstrapPlan, "2026-11-01T00:00:00Z", "2026-11-01T00:00:00+02:00", 1) + parts, "reference_time"},
		{"bad id", strings.Replace(bootstrapPlan, "bootstrap-test", "Bootstrap Test", 1) + parts, "ceremony: \"Bootstrap Test\" is not an id"},
		{"root threshold 1", strings.Replace(bootstrapPlan, "root: {add: [alice, bob, carol], threshold: 2}", "root: {add: [alice, bob, carol], threshold: 1}", 1) + parts, "root.threshold-above-one"},
	}
	os.WriteFile(filepath.Join(dir, "bad-projects.json"), []byte(`{"projects": [{"name": "x", "threshold": "one", "keys": []}]}`), 0o644)
	for _, c := range cases {
		path := filepath.Join(dir, "plan.yaml")
		os.WriteFile(path, []byte(c.plan), 0o644)
		before := dirState(t, dir)
		plan, err := LoadPlan(path)
		if err == nil {
			_, err = Begin(filepath.Join(dir, "ws"), plan, Options{Tool: Tool{Version: "test"}})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
		// The plan's words, never Go's.
		if err != nil && regexp.MustCompile(`ceremony\.[A-Z]|int64|time\.Time|\bstruct\b|!!`).MatchString(err.Error()) {
			t.Errorf("%s: the error speaks Go or YAML: %v", c.name, err)
		}
		if !sameState(before, dirState(t, dir)) {
			t.Errorf("%s: a refused plan changed files on disk", c.name)
		}
	}
}

func TestUntrustedStartIsRefused(t *testing.T) {
	dir := t.TempDir()
	ps := crashPeople(t, dir)
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	if err := runToEnd(filepath.Join(dir, "ws"), plan, ps, nil); err != nil {
		t.Fatal(err)
	}
	// The pinned root is altered: it no longer verifies under its own keys.
	root, _ := os.ReadFile(filepath.Join(dir, "ws", "metadata", "1.root.json"))
	bad := strings.Replace(string(root), `"expires":"2027-11-01T00:00:00Z"`, `"expires":"2099-11-01T00:00:00Z"`, 1)
	if bad == string(root) {
		t.Fatal("test did not alter the root")
	}
	os.WriteFile(filepath.Join(dir, "trusted-root.json"), []byte(bad), 0o644)
	q := writePlan(t, dir, "q.yaml", `ceremony: q
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: trusted-root.json, metadata: ws/metadata}
root: {expires_days: 300}
`+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	before := dirState(t, dir)
	_, err := Begin(filepath.Join(dir, "ws2"), q, Options{Tool: Tool{Version: "test"}})
	if !errors.Is(err, ErrUntrusted) {
		t.Errorf("altered pinned root: %v", err)
	}
	if !sameState(before, dirState(t, dir)) {
		t.Error("a refused start changed files on disk")
	}
}

func TestWorkspaceInUseIsRefused(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	plan := writePlan(t, dir, "b.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	ws := filepath.Join(dir, "ws")
	e, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Release()
	before := dirState(t, dir)
	if _, err := Resume(ws, Options{}); !errors.Is(err, transcripts.ErrInUse) {
		t.Errorf("second engine on a workspace in use: %v", err)
	}
	if !sameState(before, dirState(t, dir)) {
		t.Error("a refused resume changed files on disk")
	}
}
