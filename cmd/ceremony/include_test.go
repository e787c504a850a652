package main

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// Script commands for ceremony_include.txtar:
//
//	fill-keys FILE                     KEY(name) becomes the TUF key in name.json
//	gotuf-resolve DIR ROOT TARGET      go-tuf's updater refreshes from the
//	                                   folder DIR, pinned to ROOT, and finds TARGET
func init() {
	scriptCmds["fill-keys"] = fillKeys
	scriptCmds["gotuf-resolve"] = gotufResolve
}

var keyPlaceholder = regexp.MustCompile(`KEY\(([a-z0-9-]+)\)`)

func fillKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fill-keys FILE")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	out := keyPlaceholder.ReplaceAllFunc(b, func(m []byte) []byte {
		name := string(m[len("KEY(") : len(m)-1])
		var kf struct{ Key json.RawMessage }
		kb, err := os.ReadFile(ts.MkAbs(name + ".json"))
		ts.Check(err)
		ts.Check(json.Unmarshal(kb, &kf))
		return kf.Key
	})
	ts.Check(os.WriteFile(p, out, 0o644))
}

// gotufResolve is go-tuf v2's updater, an implementation we did not
// write, over a published folder, offline: a refresh from the pinned
// root, then the delegation walk to a target.
func gotufResolve(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: gotuf-resolve DIR ROOT TARGET")
	}
	root, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	cfg, err := config.New("file:///metadata/", root)
	ts.Check(err)
	cfg.Fetcher = dirFetcher(ts.MkAbs(args[0]))
	cfg.LocalMetadataDir = ts.MkAbs("gotuf-cache")
	cfg.LocalTargetsDir = ts.MkAbs("gotuf-targets")
	ts.Check(os.MkdirAll(cfg.LocalMetadataDir, 0o755))
	up, err := updater.New(cfg)
	ts.Check(err)
	if err = up.Refresh(); err == nil {
		_, err = up.GetTargetInfo(args[2])
	}
	switch {
	case err != nil && !neg:
		ts.Fatalf("go-tuf: %v", err)
	case err == nil && neg:
		ts.Fatalf("go-tuf resolved %s", args[2])
	}
	ts.Logf("go-tuf resolved %s: %v", args[2], err)
}

// dirFetcher serves go-tuf's downloads from a folder, with a 404 for a
// file that is not there, which is how the root walk ends.
type dirFetcher string

func (d dirFetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(string(d), path.Base(u)))
	if err != nil {
		return nil, &metadata.ErrDownloadHTTP{StatusCode: 404, URL: u}
	}
	if int64(len(b)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: u + " is too long"}
	}
	return b, nil
}
