package softhsmtests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/internal/scripttest"
	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// TestCLIScripts runs each script in testdata/cli against the built
// binary: the behaviour of one command or one flow that needs a device,
// its refusals and exit codes. (The CLI's device-free scripts are beside
// it, in cmd/ceremony/testdata/script.) A script starts as a scenario does
// (setupScenario: $WORK/pin, $WORK/badpin holding a wrong PIN, an empty
// SoftHSM) and has, besides internal/scripttest's commands and
// TestScenarios' tuf-clients,
//
//	softhsm-init LABEL...        initialise tokens in the script's SoftHSM
//	                             (Go-quoted labels, default PINs)
//	softhsm-flags LABEL FLAG     set locked or lasttry in a token's flags
//	sign-at-prompt WS URI        start 'ceremony sign --workspace WS --key URI'
//	                             and wait until it asks for "yes": a writer
//	                             holding the transcript's lock
//	answer-prompt TEXT           type TEXT at that prompt; the command must exit 0
//	head-of VAR FILE             set VAR to the head of the transcript FILE, in hex
//	rechain SRC DST OLD NEW      write the transcript SRC anew at DST (its
//	                             artifacts beside it) with OLD replaced by NEW
//	                             in every event's data and the hash chain
//	                             computed again, as whoever can write the
//	                             workspace could
//	gotuf-resolve DIR ROOT TARGET
//	                             go-tuf's updater refreshes from the folder
//	                             DIR, pinned to ROOT, and finds TARGET
//
// the request and RSTUF commands of requests_test.go, and the condition
//
//	[network]                    a network interface other than loopback is up
func TestCLIScripts(t *testing.T) {
	t.Parallel()
	cmds := scripttest.Commands()
	cmds["tuf-clients"] = cmdTUFClients
	cmds["softhsm-init"] = cmdSoftHSMInit
	cmds["softhsm-flags"] = cmdSoftHSMFlags
	cmds["sign-at-prompt"] = cmdSignAtPrompt
	cmds["answer-prompt"] = cmdAnswerPrompt
	cmds["head-of"] = cmdHeadOf
	cmds["rechain"] = cmdRechain
	cmds["gotuf-resolve"] = cmdGoTUFResolve
	for name, c := range requestCmds {
		cmds[name] = c
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/cli",
		Setup:               setupScenario,
		Cmds:                cmds,
		Condition:           networkCondition,
		RequireExplicitExec: true,
	})
}

// networkCondition answers [network]: is a network interface other than
// loopback up, so that 'start' refuses a plan without allow_network?
func networkCondition(cond string) (bool, error) {
	if cond != "network" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return false, err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			return true, nil
		}
	}
	return false, nil
}

// softhsmKey is where setupScenario leaves the script's
// *softhsmtest.Env in testscript's Env.Values, for softhsm-init and
// softhsm-flags.
var softhsmKey softhsmKeyType

type softhsmKeyType struct{}

func cmdSoftHSMInit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: softhsm-init LABEL...")
	}
	s := ts.Value(softhsmKey).(*softhsmtest.Env)
	for _, a := range args {
		label, err := strconv.Unquote(`"` + a + `"`)
		ts.Check(err)
		if _, err := s.InitToken(label, "", ""); err != nil {
			ts.Fatalf("%v", err)
		}
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
	if err := ts.Value(softhsmKey).(*softhsmtest.Env).SetTokenFlags(args[0], set, 0); err != nil {
		ts.Fatalf("%v", err)
	}
}

// atPrompt is a 'ceremony sign' waiting at its prompt, by script.
var atPrompt sync.Map // *testscript.TestScript → *promptProcess

type promptProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	output string // the file its stdout and stderr go to
}

func cmdSignAtPrompt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sign-at-prompt WS URI")
	}
	cmd := exec.Command(ts.Getenv("BIN"), "sign", "--workspace", ts.MkAbs(args[0]), "--key", args[1])
	cmd.Dir = ts.Getenv("WORK")
	for _, k := range []string{"SOFTHSM2_CONF", "CEREMONY_PKCS11_MODULE", "PCSCLITE_CSOCK_NAME", "HOME", "TMPDIR"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	// A file, not a buffer: the process writes it while the script reads.
	outPath := ts.MkAbs(".sign-at-prompt.out")
	out, err := os.Create(outPath)
	ts.Check(err)
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	ts.Check(err)
	ts.Check(cmd.Start())
	atPrompt.Store(ts, &promptProcess{cmd: cmd, stdin: stdin, output: outPath})
	ts.Defer(func() {
		atPrompt.Delete(ts)
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(ts.ReadFile(outPath), `Type "yes"`); {
		if time.Now().After(deadline) {
			ts.Fatalf("sign never asked for \"yes\":\n%s", ts.ReadFile(outPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cmdAnswerPrompt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: answer-prompt TEXT")
	}
	v, ok := atPrompt.Load(ts)
	if !ok {
		ts.Fatalf("answer-prompt: no command at a prompt")
	}
	p := v.(*promptProcess)
	io.WriteString(p.stdin, args[0]+"\n")
	p.stdin.Close()
	err := p.cmd.Wait()
	ts.Logf("%s", ts.ReadFile(p.output))
	if err != nil {
		ts.Fatalf("sign, answered %q: %v", args[0], err)
	}
}

// cmdHeadOf sets VAR to the head of the transcript FILE in hex, read as a
// witness would check it.
func cmdHeadOf(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: head-of VAR FILE")
	}
	ev, err := transcripts.ReadHead(ts.MkAbs(args[1]))
	ts.Check(err)
	ts.Setenv(args[0], ev.Hash().String())
}

func cmdRechain(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: rechain SRC DST OLD NEW")
	}
	src, dst := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	ts.Check(os.CopyFS(transcripts.ArtifactDir(dst), os.DirFS(transcripts.ArtifactDir(src))))
	f, err := os.Open(src)
	ts.Check(err)
	defer f.Close()
	var w *transcripts.Writer
	changed := 0
	for ev, err := range transcripts.Events(f) {
		ts.Check(err)
		if ev.Type == transcripts.HeaderType {
			var h transcripts.Header
			ts.Check(json.Unmarshal(ev.Data, &h))
			w, err = transcripts.Create(dst, h)
			ts.Check(err)
			continue
		}
		data := bytes.ReplaceAll(ev.Data, []byte(args[2]), []byte(args[3]))
		if !bytes.Equal(data, ev.Data) {
			changed++
		}
		_, err := w.Append(ev.Type, json.RawMessage(data))
		ts.Check(err)
	}
	ts.Check(w.Close())
	if changed == 0 {
		ts.Fatalf("rechain: no event holds %q", args[2])
	}
	ts.Logf("rechain: %d events changed", changed)
}

// cmdGoTUFResolve is go-tuf v2's updater, an implementation we did not
// write, over a published folder: a refresh from the pinned root, then the
// delegation walk to one target, which must be found (or, negated, not).
func cmdGoTUFResolve(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: gotuf-resolve DIR ROOT TARGET")
	}
	root, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	up, done, err := goTUFUpdater(ts.MkAbs(args[0]), root)
	ts.Check(err)
	defer done()
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
