package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/scripttest"
)

// scriptSetups and scriptCmds let each command's tests add set-up steps
// (SoftHSM tokens, a virtual PIV card) and custom script commands from their
// own _test.go files, registered in init. Every script has the commands of
// internal/scripttest (exits N PROGRAM ARGS..., fill-keyids FILE), and
// this command and condition:
//
//	tree-digest DIR FILE      write into FILE every file under DIR with its
//	                          mode and SHA-256, to compare with cmp: a
//	                          refused command changes no file
//	[network]                 a network interface other than loopback is up
var (
	scriptSetups []func(*testscript.Env) error
	scriptCmds   = scripttest.Commands()
)

func init() { scriptCmds["tree-digest"] = cmdTreeDigest }

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

func cmdTreeDigest(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: tree-digest DIR FILE")
	}
	var out strings.Builder
	root := ts.MkAbs(args[0])
	ts.Check(filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		sum := ""
		if d.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		fmt.Fprintf(&out, "%s %v %s\n", rel, info.Mode(), sum)
		return nil
	}))
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out.String()), 0o644))
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
