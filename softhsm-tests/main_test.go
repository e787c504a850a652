package softhsmtests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/scripttest"
	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// binDir holds the ceremony binary that TestMain built with the Makefile.
var binDir string

// TestMain builds the binary once for the whole run, exactly as `make
// build` builds it for an admin (the same flags, the same reproducible
// output), so that every scenario runs what a person would run.
func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ceremony-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	build := exec.Command("make", "-s", "-C", root, "build", "BIN="+filepath.Join(dir, "ceremony"))
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "softhsm-tests: make build: %v\n", err)
		return 1
	}
	return m.Run()
}

// TestScenarios runs each scenario in testdata/ against the built binary:
// the admin's flows as docs/RUNBOOK.md tells them, step by step. Besides
// internal/scripttest's commands (exits, fill-keyids, fill-now,
// tree-digest, no-controls), a script has
//
//	tuf-clients METADATA_DIR TRUSTED_ROOT SCENARIO   go-tuf and tuf-js refresh and resolve every target
//	virtual-yubikey SERIAL                           plug in a factory-fresh YubiKey
func TestScenarios(t *testing.T) {
	t.Parallel()
	cmds := scripttest.Commands()
	cmds["tuf-clients"] = cmdTUFClients
	cmds["virtual-yubikey"] = cmdVirtualYubiKey
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		Setup:               setupScenario,
		Cmds:                cmds,
		RequireExplicitExec: true,
	})
}

// setupScenario gives a scenario the built binary on PATH (and its path
// in $BIN), a SoftHSM of its own with no token yet (the scenario makes
// its tokens with softhsm2-util, as RUNBOOK step 4 tells a key holder),
// the PINs the scenario's tokens take ($SOPIN, $PIN), a file holding the
// user PIN ($WORK/pin) for key URIs' pin-source and one holding a wrong
// PIN ($WORK/badpin).
func setupScenario(e *testscript.Env) error {
	e.Setenv("PATH", binDir+string(os.PathListSeparator)+e.Getenv("PATH"))
	e.Setenv("BIN", filepath.Join(binDir, "ceremony"))
	s, err := softhsmtest.New(filepath.Join(e.WorkDir, ".softhsm"))
	if err != nil {
		return err
	}
	for _, kv := range s.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		e.Setenv(k, v)
	}
	e.Values[softhsmKey] = s
	e.Values[yubiKeysKey] = &yubiKeys{}
	e.Setenv("SOPIN", softhsmtest.SOPIN)
	e.Setenv("PIN", softhsmtest.UserPIN)
	// No pcscd unless the scenario plugs in a virtual YubiKey: PC/SC
	// clients find nothing, quickly.
	e.Setenv("PCSCLITE_CSOCK_NAME", filepath.Join(e.WorkDir, ".no-pcscd.comm"))
	e.Setenv("CEREMONY_E2E_KEEP", os.Getenv("CEREMONY_E2E_KEEP"))
	// The scenario's reference time: its clock to the minute, as the
	// room's witnesses would confirm it, so that what is published is
	// fresh for the clients that refresh it today.
	e.Setenv("NOW", time.Now().UTC().Truncate(time.Minute).Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(e.WorkDir, "badpin"), []byte("999999\n"), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.WorkDir, "pin"), []byte(softhsmtest.UserPIN+"\n"), 0o600)
}
