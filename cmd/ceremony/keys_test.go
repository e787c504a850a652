package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
)

// Scripts named devices*.txtar and keys*.txtar get SoftHSM tokens "alice"
// and "bob" in $WORK/softhsm (SO PIN 12345678, user PIN 123456), with
// SOFTHSM2_CONF and CEREMONY_PKCS11_MODULE pointing at them so that no
// system token is seen, $WORK/pin holding the user PIN and $WORK/badpin a
// wrong one. PCSCLITE_CSOCK_NAME points nowhere, so the piv backend finds
// no readers instead of the machine's.
//
// Commands:
//
//	softhsm-init LABEL            initialise another token
//	softhsm-flags LABEL FLAG      set locked or lasttry in the token's flags
func init() {
	scriptSetups = append(scriptSetups, setupSoftHSM)
	scriptCmds["softhsm-init"] = cmdSoftHSMInit
	scriptCmds["softhsm-flags"] = cmdSoftHSMFlags
}

// softhsmEnvs maps a script's SOFTHSM2_CONF to its tokens.
var softhsmEnvs sync.Map

func setupSoftHSM(e *testscript.Env) error {
	base := filepath.Base(e.WorkDir)
	if !strings.HasPrefix(base, "script-devices") && !strings.HasPrefix(base, "script-keys") {
		return nil
	}
	s, err := softhsmtest.New(filepath.Join(e.WorkDir, "softhsm"))
	if err != nil {
		return err
	}
	for _, l := range []string{"alice", "bob"} {
		if _, err := s.InitToken(l, "", ""); err != nil {
			return err
		}
	}
	softhsmEnvs.Store(s.Conf, s)
	e.Defer(func() { softhsmEnvs.Delete(s.Conf) })
	for _, kv := range s.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		e.Setenv(k, v)
	}
	e.Setenv("PCSCLITE_CSOCK_NAME", filepath.Join(e.WorkDir, "no-pcscd.comm"))
	if err := os.WriteFile(filepath.Join(e.WorkDir, "pin"), []byte(softhsmtest.UserPIN+"\n"), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.WorkDir, "badpin"), []byte("999999\n"), 0o600)
}

func scriptSoftHSM(ts *testscript.TestScript) *softhsmtest.Env {
	v, ok := softhsmEnvs.Load(ts.Getenv("SOFTHSM2_CONF"))
	if !ok {
		ts.Fatalf("no SoftHSM set up for this script: name it devices*.txtar or keys*.txtar")
	}
	return v.(*softhsmtest.Env)
}

func cmdSoftHSMInit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: softhsm-init LABEL")
	}
	if _, err := scriptSoftHSM(ts).InitToken(args[0], "", ""); err != nil {
		ts.Fatalf("%v", err)
	}
}

func cmdSoftHSMFlags(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: softhsm-flags LABEL locked|lasttry")
	}
	var set uint64
	switch args[1] {
	case "locked":
		set = p11.CKF_USER_PIN_LOCKED
	case "lasttry":
		set = p11.CKF_USER_PIN_FINAL_TRY | p11.CKF_USER_PIN_COUNT_LOW
	default:
		ts.Fatalf("softhsm-flags: unknown flag %q: use locked or lasttry", args[1])
	}
	if err := scriptSoftHSM(ts).SetTokenFlags(args[0], set, 0); err != nil {
		ts.Fatalf("%v", err)
	}
}
