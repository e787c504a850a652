package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// scriptSetups and scriptCmds let each command's tests add set-up steps
// (SoftHSM tokens, a virtual PIV card) and custom script commands from their
// own _test.go files, registered in init.
var (
	scriptSetups []func(*testscript.Env) error
	scriptCmds   = map[string]func(ts *testscript.TestScript, neg bool, args []string){}
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
		RequireExplicitExec: true,
	})
}

// TestEveryCommandHasHelpWithAnExample: a command's help says what it does
// and shows it used, as every command owes its user.
func TestEveryCommandHasHelpWithAnExample(t *testing.T) {
	for name, c := range commands {
		if c.summary == "" || c.usage == "" && name != "exit-codes" {
			t.Errorf("%s: no summary or usage", name)
		}
		if !regexp.MustCompile(`(?m)^Examples?:\n  ceremony ` + regexp.QuoteMeta(strings.Fields(name)[0])).MatchString(c.help) {
			t.Errorf("%s: the help has no example of the command in use", name)
		}
	}
}
