package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// Scripts named ceremony*.txtar get SoftHSM tokens for five admins and an
// online key, a pin file, and the command fill-keyids.
func init() {
	scriptSetups = append(scriptSetups, setupCeremonyTokens)
	scriptCmds["fill-keyids"] = cmdFillKeyIDs
}

func setupCeremonyTokens(e *testscript.Env) error {
	if !strings.HasPrefix(filepath.Base(e.WorkDir), "script-ceremony") {
		return nil
	}
	s, err := softhsmtest.New(filepath.Join(e.WorkDir, "softhsm"))
	if err != nil {
		return err
	}
	for _, l := range []string{"alice", "bob", "carol", "dave", "erin", "online"} {
		if _, err := s.InitToken(l, "", ""); err != nil {
			return err
		}
	}
	for _, kv := range s.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		e.Setenv(k, v)
	}
	e.Setenv("PCSCLITE_CSOCK_NAME", filepath.Join(e.WorkDir, "no-pcscd.comm"))
	return os.WriteFile(filepath.Join(e.WorkDir, "pin"), []byte(softhsmtest.UserPIN+"\n"), 0o600)
}

// cmdFillKeyIDs replaces KEYID(name) in a file with the keyid in name.json
// (a file `ceremony keys show --json` wrote), so that scripts can write
// plans for keys they have just generated.
func cmdFillKeyIDs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fill-keyids FILE")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	out := regexp.MustCompile(`KEYID\(([a-z0-9-]+)\)`).ReplaceAllStringFunc(string(b), func(m string) string {
		name := m[len("KEYID(") : len(m)-1]
		var kf struct{ KeyID string }
		kb, err := os.ReadFile(ts.MkAbs(name + ".json"))
		ts.Check(err)
		ts.Check(json.Unmarshal(kb, &kf))
		return kf.KeyID
	})
	ts.Check(os.WriteFile(path, []byte(out), 0o644))
}
