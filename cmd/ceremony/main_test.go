package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/scripttest"
)

// scriptSetups and scriptCmds let each command's tests add set-up steps
// (SoftHSM tokens) and custom script commands from their
// own _test.go files, registered in init. Every script has the commands of
// internal/scripttest (exits N PROGRAM ARGS..., fill-keyids FILE,
// fill-now FILE, tree-digest DIR FILE), and this condition:
//
//	[network]                 a network interface other than loopback is up
var (
	scriptSetups []func(*testscript.Env) error
	scriptCmds   = scripttest.Commands()
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ceremony": func() {
			installKillHook()
			os.Exit(run(context.Background(), &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
		},
	})
}

// TestScripts runs the CLI behaviour scripts in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			for _, s := range scriptSetups {
				if err := s(e); err != nil {
					return err
				}
			}
			return nil
		},
		Cmds:                scriptCmds,
		Condition:           scriptCondition,
		RequireExplicitExec: true,
	})
}

// scriptCondition answers [network]: is a network interface other than
// loopback up, so that 'start' refuses a plan without allow_network?
func scriptCondition(cond string) (bool, error) {
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

// TestEveryCommandHasHelpWithAnExample: a command's help says what it does
// and shows it used, as every command owes its user.
func TestEveryCommandHasHelpWithAnExample(t *testing.T) {
	for _, c := range commands {
		name := c.name
		if c.summary == "" || c.usage == "" && name != "exit-codes" {
			t.Errorf("%s: no summary or usage", name)
		}
		if !regexp.MustCompile(`(?m)^Examples?:\n  ceremony ` + regexp.QuoteMeta(strings.Fields(name)[0])).MatchString(c.help) {
			t.Errorf("%s: the help has no example of the command in use", name)
		}
	}
}

// TestCommandTable: each command is listed once, runs, and 'ceremony
// exit-codes' prints the table's classes.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands {
		if seen[c.name] || c.setup == nil {
			t.Errorf("%s: listed twice, or with nothing to run", c.name)
		}
		seen[c.name] = true
		if lookup(strings.Fields(c.name)) != c {
			t.Errorf("%s: lookup does not find it", c.name)
		}
	}
	var out, errOut strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	if code := run(context.Background(), e, []string{"exit-codes"}); code != 0 || out.String() != exitcode.Doc() {
		t.Errorf("exit-codes: exit %d, printed:\n%s", code, out.String())
	}
}
