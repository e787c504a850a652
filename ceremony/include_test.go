package ceremony

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// TestIncludedProjectsVerify: projects moved into claimed are published
// with their maintainers' metadata, included after checks that refuse by
// kind (another key, expired, not delegated, twice) and record nothing;
// the repository verifies as `ceremony verify` does and go-tuf's updater
// resolves a project's target through the delegations. A maintainer then
// publishes v2 of their project between ceremonies: the next ceremony's
// snapshot lists it, found in the trusted folder and recorded, so that a
// replay reaches the same snapshot; including v2 again is refused.
func TestIncludedProjectsVerify(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "maint", "mallory")
	writeProjects(t, filepath.Join(dir, "projects.json"), ps, "sampleproject", "requests")
	// go-tuf's updater judges expiry by the wall clock: start from now.
	now := time.Now().UTC().Truncate(time.Second)
	plan := writePlan(t, dir, "b.yaml", planAt(bootstrapPlan, now)+"claimed: {projects_file: projects.json}\n"+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e, err := Begin(filepath.Join(dir, "ws"), plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	signAllAs(t, e, ps, "alice", "bob", "dave", "erin")
	// Without the projects' metadata the repository would not verify.
	if _, err := e.Publish(ps["online"], nil); !errors.Is(err, repoverify.ErrFailed) {
		t.Fatalf("publish without the projects' metadata: %v", err)
	}
	month := now.AddDate(0, 1, 0)
	for name, c := range map[string]struct {
		in   []Included
		want error
	}{
		"signed by another key": {[]Included{{"sampleproject", projectMetadata(t, ps["mallory"], "sampleproject", month)}}, roles.ErrThreshold},
		"expired":               {[]Included{{"sampleproject", projectMetadata(t, ps["maint"], "sampleproject", now.AddDate(0, 0, -1))}}, roles.ErrExpired},
		"not delegated":         {[]Included{{"flask", projectMetadata(t, ps["maint"], "flask", month)}}, ErrNotDelegated},
		"the ceremony's own":    {[]Included{{"claimed", projectMetadata(t, ps["maint"], "claimed", month)}}, ErrNotDelegated},
		"one good, one twice": {[]Included{{"requests", projectMetadata(t, ps["maint"], "requests", month)},
			{"requests", projectMetadata(t, ps["maint"], "requests", month)}}, ErrConflict},
	} {
		before := mustRead(t, e.TranscriptPath())
		if err := e.IncludeAll(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
		if !bytes.Equal(before, mustRead(t, e.TranscriptPath())) {
			t.Errorf("%s: the refused include changed the transcript", name)
		}
	}
	if err := e.IncludeAll([]Included{
		{"sampleproject", projectMetadata(t, ps["maint"], "sampleproject", month)},
		{"requests", projectMetadata(t, ps["maint"], "requests", month)},
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.State().Role("requests").Summary[0]; got != "requests v1, signed by its maintainers: 1 of threshold 1 of 1: "+ps.id("maint")[:16] {
		t.Errorf("included summary: %q", got)
	}
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	e.Release()
	meta := filepath.Join(dir, "ws", "metadata")
	trusted := mustRead(t, filepath.Join(meta, "1.root.json"))
	if _, err := repoverify.Verify(meta, trusted, now); err != nil {
		t.Fatalf("ceremony verify after the bootstrap: %v", err)
	}
	resolveWithGoTUF(t, meta, trusted, "sampleproject/sampleproject-1.0.tar.gz", "sampleproject", 1)

	// Between ceremonies the maintainer publishes sampleproject v2.
	v2 := bumpProject(t, projectMetadata(t, ps["maint"], "sampleproject", month), ps["maint"], 2)
	if err := os.WriteFile(filepath.Join(meta, "2.sampleproject.json"), v2, 0o644); err != nil {
		t.Fatal(err)
	}
	// And a stranger drops a v3 nobody trusted signed, and a v4 that is
	// not metadata: both passed over, and start says so.
	if err := os.WriteFile(filepath.Join(meta, "3.sampleproject.json"), bumpProject(t, v2, ps["mallory"], 3), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(meta, "4.sampleproject.json"), []byte("\x1b[2J not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "trusted.json"), trusted, 0o644)
	q := writePlan(t, dir, "q.yaml", fmt.Sprintf(`ceremony: refresh
reference_time: %s
allow_network: true
start: {trusted_root: trusted.json, metadata: ws/metadata}
claimed: {expires_days: 60}
online: {participant: online}
`, now.Format(time.RFC3339))+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e2, err := Begin(filepath.Join(dir, "ws2"), q, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Release()
	passed := e2.PassedOver()
	if len(passed) != 2 || passed[0].File != "4.sampleproject.json" || passed[1].File != "3.sampleproject.json" ||
		passed[1].Project != "sampleproject" || passed[1].Version != 3 {
		t.Fatalf("passed over: %+v", passed)
	}
	lines := PassedOverLines(passed, 1)
	for i, want := range []string{
		"project metadata files in the trusted folder passed over, 2 in all: these maintainers' uploads will not be published",
		"passed over 4.sampleproject.json (sampleproject v4): it is not targets metadata: ",
		"and 1 more: 'ceremony start --json' lists every one",
	} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], want) {
			t.Errorf("passed-over line %d: %q, want %q…", i, lines, want)
		}
	}
	if !strings.Contains(passed[1].Reason, "does not verify under the keys claimed delegates sampleproject to") {
		t.Errorf("v3's reason: %q", passed[1].Reason)
	}
	if strings.ContainsRune(strings.Join(PassedOverLines(passed, 10), ""), 0x1b) {
		t.Error("a passed-over file's content reaches the review unescaped")
	}
	if err := e2.Include("sampleproject", v2); !errors.Is(err, roles.ErrRollback) {
		t.Errorf("including v2, which the repository holds already: %v", err)
	}
	signAllAs(t, e2, ps, "dave", "erin")
	if _, err := e2.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	if got := e2.State().Role(RoleSnapshot).Summary[0]; !strings.HasSuffix(got, "with the metadata 1 projects' maintainers published since snapshot v1") {
		t.Errorf("snapshot's summary: %q", got)
	}
	snap, err := roles.Parse[*roles.Snapshot](mustRead(t, filepath.Join(meta, "2.snapshot.json")))
	if err != nil {
		t.Fatal(err)
	}
	if mf := snap.Signed.Meta["sampleproject.json"]; mf == nil || mf.Version != 2 {
		t.Errorf("snapshot v2 lists sampleproject.json %+v, want v2", mf)
	}
	if _, err := repoverify.Verify(meta, trusted, now); err != nil {
		t.Fatalf("ceremony verify after the refresh: %v", err)
	}
	resolveWithGoTUF(t, meta, trusted, "sampleproject/sampleproject-1.0.tar.gz", "sampleproject", 2)
	// The replay finds v2 among the recorded files, never on disk.
	os.Remove(filepath.Join(meta, "2.sampleproject.json"))
	if _, err := Replay(e2.TranscriptPath(), ""); err != nil {
		t.Errorf("replay: %v", err)
	}
}

// planAt is a plan with its reference time set to t.
func planAt(plan string, t time.Time) string {
	return string(bytes.Replace([]byte(plan), []byte("reference_time: 2026-11-01T00:00:00Z"), []byte("reference_time: "+t.Format(time.RFC3339)), 1))
}

// bumpProject is project metadata at another version, signed by maint
// alone.
func bumpProject(t *testing.T, b []byte, maint crypto.Signer, version int64) []byte {
	t.Helper()
	m, err := roles.Parse[*roles.Targets](b)
	if err != nil {
		t.Fatal(err)
	}
	m.Signed.Version, m.Signatures = version, nil
	m.Touched()
	k, _ := roles.KeyFromPublic(maint.Public())
	sig, err := roles.Sign(maint, k, m.CanonicalSigned())
	if err != nil {
		t.Fatal(err)
	}
	m.AddSignature(sig)
	out, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// resolveWithGoTUF refreshes go-tuf v2's updater, an implementation we
// did not write, from the published folder and the pinned root, and
// resolves target through targets → claimed → project; the project's
// metadata it trusts must be at version.
func resolveWithGoTUF(t *testing.T, meta string, pinned []byte, target, project string, version int64) {
	t.Helper()
	cfg, err := config.New("file:///metadata/", pinned)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Fetcher = dirFetcher(meta)
	cfg.LocalMetadataDir = t.TempDir()
	cfg.LocalTargetsDir = t.TempDir()
	up, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Refresh(); err != nil {
		t.Fatalf("go-tuf refresh: %v", err)
	}
	if _, err := up.GetTargetInfo(target); err != nil {
		t.Fatalf("go-tuf GetTargetInfo(%s): %v", target, err)
	}
	if m := up.GetTrustedMetadataSet().Targets[project]; m == nil || m.Signed.Version != version {
		t.Errorf("go-tuf trusts %s %v, want v%d", project, m, version)
	}
}

// dirFetcher serves go-tuf's downloads from a folder, offline, with a
// 404 for a file that is not there, which is how the root walk ends.
type dirFetcher string

func (d dirFetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(string(d), path.Base(u)))
	if err != nil {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: 404, URL: u}
	}
	if int64(len(b)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is longer than %d bytes", u, maxLength)}
	}
	return b, nil
}
