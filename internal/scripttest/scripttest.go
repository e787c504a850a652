// Package scripttest holds the testscript commands that the CLI's scripts
// (cmd/ceremony) and the end-to-end suite of the built binary
// (softhsm-tests) both use, so that each is written once.
package scripttest

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// Commands returns the shared script commands by name, for
// testscript.Params.Cmds.
func Commands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"exits":       Exits,
		"fill-keyids": FillKeyIDs,
	}
}

// Exits runs a program and fails unless it exits with the given status:
// `exits 4 ceremony publish`. testscript's `! exec` accepts any failure,
// and the exit codes are part of the CLI's interface.
func Exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not an exit status", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

var keyidPlaceholder = regexp.MustCompile(`KEYID\(([a-z0-9-]+)\)`)

// FillKeyIDs replaces KEYID(name) in a file with the keyid in name.json (a
// file `ceremony keys generate --json` or `keys show --json` wrote), so that
// scripts can write plans for keys they have just generated.
func FillKeyIDs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fill-keyids FILE")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	out := keyidPlaceholder.ReplaceAllStringFunc(string(b), func(m string) string {
		name := m[len("KEYID(") : len(m)-1]
		var kf struct{ KeyID string }
		kb, err := os.ReadFile(ts.MkAbs(name + ".json"))
		ts.Check(err)
		ts.Check(json.Unmarshal(kb, &kf))
		return kf.KeyID
	})
	ts.Check(os.WriteFile(path, []byte(out), 0o644))
}
