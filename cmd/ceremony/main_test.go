package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/scripttest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ceremony": func() {
			installKillHook()
			os.Exit(run(context.Background(), &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
		},
	})
}

// TestScripts runs the CLI's device-free behaviour scripts in
// testdata/script, in process. (Scripts that need a token run against the
// built binary in softhsm-tests/testdata/cli.) Every script has the
// commands of internal/scripttest (exits N PROGRAM ARGS..., fill-keyids
// FILE, fill-now FILE, tree-digest DIR FILE, no-controls) and those of
// verify_test.go (mkrepo, tamper).
func TestScripts(t *testing.T) {
	cmds := scripttest.Commands()
	cmds["mkrepo"] = cmdMkrepo
	cmds["tamper"] = cmdTamper
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		Cmds:                cmds,
		RequireExplicitExec: true,
	})
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
