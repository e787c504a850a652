package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// Scripts named ceremony*.txtar get SoftHSM tokens for five admins and an
// online key, and a pin file.
func init() {
	scriptSetups = append(scriptSetups, setupCeremonyTokens)
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
