package main

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/transcripts"
)

// Commands for ceremony_transcript.txtar:
//
//	sign-at-prompt WS URI   start 'ceremony sign --workspace WS --key URI' and
//	                        wait until it asks for "yes": a writer that holds
//	                        the transcript's lock, as a signer at a prompt does
//	answer-prompt TEXT      type TEXT at that prompt, and wait for the command
//	                        to exit 0
//	head-of VAR FILE        set VAR to the head of the transcript FILE, in hex
func init() {
	scriptCmds["sign-at-prompt"] = cmdSignAtPrompt
	scriptCmds["answer-prompt"] = cmdAnswerPrompt
}

// atPrompt is a 'ceremony sign' waiting at its prompt, by script.
var atPrompt sync.Map // *testscript.TestScript → *promptProcess

type promptProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	output *lockedBuffer
}

// lockedBuffer is a buffer a process writes to while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func cmdSignAtPrompt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sign-at-prompt WS URI")
	}
	path, err := exec.LookPath("ceremony")
	ts.Check(err)
	cmd := exec.Command(path, "sign", "--workspace", ts.MkAbs(args[0]), "--key", args[1])
	cmd.Dir = ts.Getenv("WORK")
	for _, k := range []string{"SOFTHSM2_CONF", "PCSCLITE_CSOCK_NAME", "HOME", "TMPDIR"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	ts.Check(err)
	ts.Check(cmd.Start())
	p := &promptProcess{cmd: cmd, stdin: stdin, output: out}
	atPrompt.Store(ts, p)
	ts.Defer(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), `Type "yes"`); {
		if time.Now().After(deadline) {
			ts.Fatalf("sign never asked for \"yes\":\n%s", out.String())
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
	ts.Logf("%s", p.output.String())
	if err != nil {
		ts.Fatalf("sign, answered %q: %v", args[0], err)
	}
}

func init() { scriptCmds["head-of"] = cmdHeadOf }

// cmdHeadOf is 'head-of VAR FILE': set VAR to the head of the transcript
// FILE in hex, read as a witness would check it.
func cmdHeadOf(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: head-of VAR FILE")
	}
	ev, err := transcripts.ReadHead(ts.MkAbs(args[1]))
	ts.Check(err)
	ts.Setenv(args[0], ev.Hash().String())
}
