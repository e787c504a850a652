package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gotuf "github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm/pkcs11"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// TestDemo runs the whole demo on real SoftHSM tokens (SoftHSM is loaded
// once per process, so this is the package's only Run) and checks what it
// leaves with go-tuf v2's updater, a TUF client we did not write, served
// over loopback HTTP: it refreshes from the pinned root v1 through root
// v2, resolves every project's files through claimed, downloads one, and
// every role any metadata delegates to is listed in snapshot and loads.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	// SoftHSM reads its configuration when it is loaded: unload it after,
	// so that 'go test -count=N' runs the demo afresh with new tokens.
	t.Cleanup(func() { pkcs11.Default().Close() })
	var log bytes.Buffer
	start := time.Now()
	res, err := Run(context.Background(), Options{Dir: dir, HSMDir: t.TempDir(), Out: &log, Tool: ceremony.Tool{Version: "test"}})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, log.String())
	}
	t.Logf("the demo took %s", took)
	report := log.String()

	// The layout the issue promises.
	for _, p := range []string{
		"metadata/root.json", "metadata/timestamp.json", "metadata/1.root.json", "metadata/2.root.json",
		"metadata/2.snapshot.json", "metadata/2.targets.json", "metadata/2.claimed.json", "metadata/2.revocations.json",
		"metadata/1.recently-claimed.json", "metadata/1.unclaimed.json",
		"metadata/2.sampleproject.json", "metadata/1.requests.json", "metadata/1.attrs.json", "metadata/1.urllib3.json",
		"trusted-root.json", "plans/bootstrap.yaml", "plans/quarterly.yaml",
		"transcripts/demo-bootstrap/transcript.jsonl", "transcripts/demo-quarterly/transcript.jsonl",
		"targets/sampleproject/sampleproject-1.1.0.txt",
		"reports/demo-bootstrap/report.html", "reports/demo-bootstrap/report.json",
		"reports/demo-quarterly/report.html", "reports/demo-quarterly/report.json",
	} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("the demo left no %s: %v", p, err)
		}
	}
	// Each report shows its ceremony's checkpoint and the head the
	// witnesses wrote down.
	for _, c := range res.Ceremonies {
		page, err := os.ReadFile(c.Report)
		if err != nil {
			t.Fatalf("report of %s: %v", c.ID, err)
		}
		if !bytes.Contains(page, []byte(c.CheckpointHead.String())) || !bytes.Contains(page, []byte(c.Head.String())) || bytes.Contains(page, []byte("predates checkpoints")) {
			t.Errorf("the report of %s lacks its heads or its checkpoint", c.ID)
		}
		// The demo says which head the witnesses compare: the close's.
		if !strings.Contains(report, "witnesses' head (the close's, which the checkpoint signs; compare this one):\n    "+c.CheckpointHead.String()) {
			t.Errorf("the demo's summary does not name %s's close head as the witnesses' head", c.ID)
		}
	}
	root1, _ := os.ReadFile(filepath.Join(dir, "metadata", "1.root.json"))
	pinned, _ := os.ReadFile(res.TrustedRoot)
	if !bytes.Equal(root1, pinned) {
		t.Errorf("trusted-root.json is not root v1")
	}
	if res.RootVersion != 2 || !slices.Equal(res.Projects, []string{"attrs", "requests", "sampleproject", "urllib3"}) {
		t.Errorf("result: root v%d, projects %v", res.RootVersion, res.Projects)
	}
	// The plans double as examples: they load as they are.
	for _, name := range []string{"bootstrap.yaml", "quarterly.yaml"} {
		if _, err := ceremony.LoadPlan(filepath.Join(dir, "plans", name)); err != nil {
			t.Errorf("plan %s: %v", name, err)
		}
	}
	// The quarterly ceremony did what the issue lists, and dave signed
	// through the response path.
	q, err := ceremony.Fold(res.Ceremonies[1].Transcript)
	if err != nil {
		t.Fatal(err)
	}
	var daveVia string
	for _, s := range q.Role(ceremony.RoleRoot).Signatures {
		if s.Signer == "dave" {
			daveVia = s.Via
		}
	}
	if daveVia != "response" {
		t.Errorf("dave signed root v2 via %q, want the air-gapped response path", daveVia)
	}
	for _, want := range []string{"root: threshold 3 of 5 → 4 of 5", "removes key", "moves 3 projects into claimed", "revokes key"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report does not say %q", want)
		}
	}
	// No PIN anywhere in what the demo prints or leaves in DIR (a PIN is
	// eight digits: only the digits standing alone count, not a run of
	// digits inside a hex digest).
	pins, _ := filepath.Glob(filepath.Join(res.PINDir, "*"))
	if len(pins) == 0 {
		t.Fatal("no PIN files")
	}
	alone := func(b []byte, pin string) bool {
		return regexp.MustCompile(`(^|[^0-9a-f])` + pin + `($|[^0-9a-f])`).Match(b)
	}
	for _, f := range pins {
		b, _ := os.ReadFile(f)
		pin := strings.TrimSpace(string(b))
		if alone([]byte(report), pin) {
			t.Errorf("the report shows the PIN in %s", f)
		}
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				if b, _ := os.ReadFile(p); alone(b, pin) {
					t.Errorf("%s holds the PIN of %s", p, filepath.Base(f))
				}
			}
			return nil
		})
	}
	for _, c := range res.Ceremonies {
		if _, err := transcripts.Verify(c.Transcript, c.Head.String()); err != nil {
			t.Errorf("transcript %s: %v", c.ID, err)
		}
		// The witnesses' head, the close's, verifies with only checkpoint
		// signatures after it; and not as the last head.
		r, err := transcripts.VerifyWith(c.Transcript, transcripts.VerifyOptions{Head: c.CheckpointHead.String(), After: ceremony.AfterClose()})
		if err != nil || r.Witnessed.Type != "ceremony.closed" || r.Witnessed.Following == 0 {
			t.Errorf("transcript %s against the close head: %+v, %v", c.ID, r.Witnessed, err)
		}
		if _, err := transcripts.Verify(c.Transcript, c.CheckpointHead.String()); err == nil {
			t.Errorf("transcript %s: the close head passed for the last", c.ID)
		}
	}

	checkWithGoTUF(t, dir, pinned)

	// While SoftHSM is loaded with this run's tokens, another run in this
	// process is refused by name: SoftHSM would not see its tokens.
	_, err = Run(context.Background(), Options{Dir: filepath.Join(t.TempDir(), "again"), HSMDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "already loaded in this process") {
		t.Errorf("a second run in one process: %v", err)
	}
}

// checkWithGoTUF points go-tuf v2's updater at the demo's metadata/ and
// targets/, served on 127.0.0.1, with trusted-root.json as its root.
func checkWithGoTUF(t *testing.T, dir string, pinned []byte) {
	var mu sync.Mutex
	var fetched []string
	mux := http.NewServeMux()
	mux.Handle("/metadata/", http.StripPrefix("/metadata/", http.FileServer(http.Dir(filepath.Join(dir, "metadata")))))
	mux.Handle("/targets/", http.StripPrefix("/targets/", http.FileServer(http.Dir(filepath.Join(dir, "targets")))))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched = append(fetched, r.URL.Path)
		mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server is not on loopback: %s", srv.URL)
	}

	cfg, err := config.New(srv.URL+"/metadata/", pinned)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LocalMetadataDir = t.TempDir()
	cfg.LocalTargetsDir = t.TempDir()
	cfg.RemoteTargetsURL = srv.URL + "/targets/"
	up, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Refresh(); err != nil {
		t.Fatalf("go-tuf refresh: %v", err)
	}
	tm := up.GetTrustedMetadataSet()
	if v := tm.Root.Signed.Version; v != 2 {
		t.Errorf("go-tuf trusts root v%d after refresh, want v2", v)
	}
	mu.Lock()
	if !slices.Contains(fetched, "/metadata/2.root.json") || !slices.Contains(fetched, "/metadata/3.root.json") {
		t.Errorf("go-tuf did not walk the root chain (2.root.json, then 3.root.json not found): fetched %v", fetched)
	}
	mu.Unlock()

	// Each project's files resolve through claimed.
	for _, path := range []string{"sampleproject/sampleproject-1.0.0.txt", "sampleproject/sampleproject-1.1.0.txt",
		"requests/requests-2.32.0.txt", "attrs/attrs-24.2.0.txt", "urllib3/urllib3-2.2.3.txt"} {
		ti, err := up.GetTargetInfo(path)
		if err != nil {
			t.Errorf("go-tuf GetTargetInfo(%s): %v", path, err)
			continue
		}
		if path == "sampleproject/sampleproject-1.1.0.txt" {
			_, b, err := up.DownloadTarget(ti, "", "")
			want, _ := os.ReadFile(filepath.Join(dir, "targets", path))
			if err != nil || !bytes.Equal(b, want) {
				t.Errorf("go-tuf DownloadTarget(%s): %v", path, err)
			}
		}
	}
	tm = up.GetTrustedMetadataSet()
	for _, role := range []string{"claimed", "sampleproject", "requests", "attrs", "urllib3"} {
		if tm.Targets[role] == nil {
			t.Errorf("go-tuf did not load %s", role)
		}
	}
	if v := tm.Targets["sampleproject"].Signed.Version; v != 2 {
		t.Errorf("go-tuf trusts sampleproject v%d, want v2 (signed by the new maintainer key)", v)
	}
	// A path no project claims walks on to recently-claimed and the
	// unclaimed bins: their metadata loads too, and the target is unknown.
	if _, err := up.GetTargetInfo("nosuchproject/nosuchproject-1.0.txt"); err == nil {
		t.Errorf("go-tuf found a target nobody published")
	}
	tm = up.GetTrustedMetadataSet()
	for _, role := range []string{"recently-claimed", "unclaimed"} {
		if tm.Targets[role] == nil {
			t.Errorf("go-tuf did not load %s", role)
		}
	}

	// Every role that any metadata delegates to is listed in snapshot, and
	// its file verifies under its delegator in go-tuf.
	meta := tm.Snapshot.Signed.Meta
	queue := []string{gotuf.TARGETS}
	seen := map[string]bool{gotuf.TARGETS: true}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		dl := tm.Targets[parent].Signed.Delegations
		if dl == nil {
			continue
		}
		var children []string
		for _, r := range dl.Roles {
			children = append(children, r.Name)
		}
		if dl.SuccinctRoles != nil {
			children = append(children, dl.SuccinctRoles.GetRoles()...)
		}
		for _, child := range children {
			if seen[child] {
				continue
			}
			seen[child] = true
			mf := meta[child+".json"]
			if mf == nil {
				t.Errorf("snapshot v%d does not list %s, which %s delegates to", tm.Snapshot.Signed.Version, child, parent)
				continue
			}
			if tm.Targets[child] == nil {
				b, err := os.ReadFile(filepath.Join(dir, "metadata", fmt.Sprintf("%d.%s.json", mf.Version, child)))
				if err != nil {
					t.Errorf("%s is delegated to and listed but not published: %v", child, err)
					continue
				}
				if _, err := tm.UpdateDelegatedTargets(b, child, parent); err != nil {
					t.Errorf("go-tuf refuses %s (delegated by %s): %v", child, parent, err)
					continue
				}
			}
			queue = append(queue, child)
		}
	}
	if len(seen) < 1+3+8+4 { // targets, its three delegations, 8 bins, 4 projects
		t.Errorf("walked only %d roles: %v", len(seen), seen)
	}
}

// TestRefusesNonEmptyDir: the demo never writes into a folder that holds
// something, and says what to do.
func TestRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "precious.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), Options{Dir: dir, HSMDir: t.TempDir()})
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "empty or new folder") {
		t.Fatalf("non-empty folder: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the folder changed: %d entries", len(ents))
	}
	if _, err := Run(context.Background(), Options{Dir: keep}); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("a file as the output folder: %v", err)
	}
}
