package softhsmtests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// cmdTUFClients is the script command
//
//	tuf-clients METADATA_DIR TRUSTED_ROOT SCENARIO
//
// Two TUF clients we did not write, go-tuf v2 and tuf-js, each start from
// TRUSTED_ROOT alone, refresh from METADATA_DIR, and look up every target
// that any published targets-type metadata lists, through the delegation
// walk; each must find it with the length and SHA-256 the metadata lists.
// Both read the files directly: no network, not even loopback. With
// CEREMONY_E2E_KEEP=DIR set, the repository is also left at
// DIR/SCENARIO/metadata/ and the pinned root at DIR/SCENARIO/trusted-root.json
// for anyone to check with a client of their choice.
func cmdTUFClients(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: tuf-clients METADATA_DIR TRUSTED_ROOT SCENARIO")
	}
	dir, rootPath, scenario := ts.MkAbs(args[0]), ts.MkAbs(args[1]), args[2]
	root, err := os.ReadFile(rootPath)
	ts.Check(err)
	want, err := listedTargets(dir)
	if err != nil {
		ts.Fatalf("list the published targets: %v", err)
	}
	gv, err := goTUFResolves(dir, root, want)
	if err != nil {
		ts.Fatalf("go-tuf: %v", err)
	}
	jv, err := tufJSResolves(ts, dir, rootPath, want)
	if err != nil {
		ts.Fatalf("tuf-js: %v", err)
	}
	fmt.Fprintf(ts.Stdout(), "go-tuf: %s, %d targets resolved\ntuf-js: %s, %d targets resolved\n", gv, len(want), jv, len(want))
	if keep := ts.Getenv("CEREMONY_E2E_KEEP"); keep != "" {
		out := filepath.Join(keep, scenario)
		ts.Check(os.RemoveAll(out))
		ts.Check(os.MkdirAll(filepath.Join(out, "metadata"), 0o755))
		ents, err := os.ReadDir(dir)
		ts.Check(err)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			ts.Check(err)
			ts.Check(os.WriteFile(filepath.Join(out, "metadata", e.Name()), b, 0o644))
		}
		ts.Check(os.WriteFile(filepath.Join(out, "trusted-root.json"), root, 0o644))
	}
}

// target is what metadata lists of one target file.
type target struct {
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"`
}

// listedTargets reads the repository as published (timestamp, then the
// snapshot it names, then every targets-type file that snapshot lists) and
// returns every target path with its length and SHA-256.
func listedTargets(dir string) (map[string]target, error) {
	var ts struct {
		Signed struct {
			Meta map[string]struct{ Version int64 } `json:"meta"`
		} `json:"signed"`
	}
	if err := readJSON(filepath.Join(dir, "timestamp.json"), &ts); err != nil {
		return nil, err
	}
	snapV := ts.Signed.Meta["snapshot.json"].Version
	var snap struct {
		Signed struct {
			Meta map[string]struct{ Version int64 } `json:"meta"`
		} `json:"signed"`
	}
	if err := readJSON(filepath.Join(dir, fmt.Sprintf("%d.snapshot.json", snapV)), &snap); err != nil {
		return nil, err
	}
	out := map[string]target{}
	for name, mf := range snap.Signed.Meta {
		var tm struct {
			Signed struct {
				Targets map[string]struct {
					Length int64             `json:"length"`
					Hashes map[string]string `json:"hashes"`
				} `json:"targets"`
			} `json:"signed"`
		}
		if err := readJSON(filepath.Join(dir, fmt.Sprintf("%d.%s", mf.Version, name)), &tm); err != nil {
			return nil, err
		}
		for p, t := range tm.Signed.Targets {
			out[p] = target{Length: t.Length, SHA256: t.Hashes["sha256"]}
		}
	}
	return out, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// dirFetcher serves go-tuf the files of a metadata folder, with a 404 for
// any file that is not there, which is how the root walk ends.
type dirFetcher struct{ dir string }

const fetchBase = "http://repository.invalid/metadata/"

func (f dirFetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	name, ok := strings.CutPrefix(u, fetchBase)
	if ok {
		name, _ = url.PathUnescape(name)
	}
	if !ok || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: 404, URL: u}
	}
	b, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: 404, URL: u}
	}
	if int64(len(b)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is %d bytes, more than the %d allowed", name, len(b), maxLength)}
	}
	return b, nil
}

// versions says which versions of the top-level roles a client trusts.
type versions struct{ Root, Timestamp, Snapshot, Targets int64 }

func (v versions) String() string {
	return fmt.Sprintf("root v%d, timestamp v%d, snapshot v%d, targets v%d", v.Root, v.Timestamp, v.Snapshot, v.Targets)
}

// goTUFResolves refreshes with go-tuf v2's updater and looks up each target.
func goTUFResolves(dir string, root []byte, want map[string]target) (versions, error) {
	var v versions
	up, done, err := goTUFUpdater(dir, root)
	if err != nil {
		return v, err
	}
	defer done()
	if err := up.Refresh(); err != nil {
		return v, fmt.Errorf("refresh: %w", err)
	}
	for _, p := range sortedKeys(want) {
		ti, err := up.GetTargetInfo(p)
		if err != nil {
			return v, fmt.Errorf("look up %s: %w", p, err)
		}
		if ti.Length != want[p].Length || ti.Hashes["sha256"].String() != want[p].SHA256 {
			return v, fmt.Errorf("%s resolved to length %d sha256 %s; the metadata lists %d %s", p, ti.Length, ti.Hashes["sha256"], want[p].Length, want[p].SHA256)
		}
	}
	tm := up.GetTrustedMetadataSet()
	v = versions{tm.Root.Signed.Version, tm.Timestamp.Signed.Version, tm.Snapshot.Signed.Version, tm.Targets["targets"].Signed.Version}
	return v, nil
}

// goTUFUpdater returns go-tuf v2's updater pinned to root, reading the
// metadata folder dir, with a cache of its own that done removes.
func goTUFUpdater(dir string, root []byte) (up *updater.Updater, done func(), err error) {
	cfg, err := config.New(fetchBase, root)
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp("", "gotuf-")
	if err != nil {
		return nil, nil, err
	}
	cfg.LocalMetadataDir = tmp
	cfg.LocalTargetsDir = tmp
	cfg.Fetcher = dirFetcher{dir}
	if up, err = updater.New(cfg); err != nil {
		os.RemoveAll(tmp)
		return nil, nil, err
	}
	return up, func() { os.RemoveAll(tmp) }, nil
}

// tufJSResolves runs tufjs/refresh.js under node with the same question.
func tufJSResolves(ts *testscript.TestScript, dir, rootPath string, want map[string]target) (versions, error) {
	var v versions
	paths := sortedKeys(want)
	pb, err := json.Marshal(paths)
	if err != nil {
		return v, err
	}
	listFile := filepath.Join(ts.Getenv("WORK"), ".tufjs-targets.json")
	if err := os.WriteFile(listFile, pb, 0o644); err != nil {
		return v, err
	}
	script, err := filepath.Abs(filepath.Join("tufjs", "refresh.js"))
	if err != nil {
		return v, err
	}
	cmd := exec.Command("node", script, dir, rootPath, listFile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return v, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var got struct {
		RootVersion      int64              `json:"root_version"`
		TimestampVersion int64              `json:"timestamp_version"`
		SnapshotVersion  int64              `json:"snapshot_version"`
		TargetsVersion   int64              `json:"targets_version"`
		Targets          map[string]*target `json:"targets"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		return v, fmt.Errorf("its output %q: %w", out, err)
	}
	for _, p := range paths {
		g := got.Targets[p]
		if g == nil {
			return v, fmt.Errorf("did not find %s", p)
		}
		if *g != want[p] {
			return v, fmt.Errorf("%s resolved to length %d sha256 %s; the metadata lists %d %s", p, g.Length, g.SHA256, want[p].Length, want[p].SHA256)
		}
	}
	return versions{got.RootVersion, got.TimestampVersion, got.SnapshotVersion, got.TargetsVersion}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
