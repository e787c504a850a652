// Package scripttest holds the testscript commands that the CLI's scripts
// (cmd/ceremony) and the end-to-end suite of the built binary
// (softhsm-tests) both use, so that each is written once.
package scripttest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/testscript"
)

// Commands returns the shared script commands by name, for
// testscript.Params.Cmds.
func Commands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"exits":       Exits,
		"fill-keyids": FillKeyIDs,
		"fill-now":    FillNow,
		"tree-digest": TreeDigest,
		"no-controls": NoControls,
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

var keyPlaceholder = regexp.MustCompile(`KEY(ID)?\(([a-z0-9-]+)\)`)

// FillKeyIDs replaces KEYID(name) in a file with the keyid in name.json (a
// file `ceremony keys generate --json` or `keys show --json` wrote), and
// KEY(name) with the TUF key object there, so that scripts can write plans
// and projects files for keys they have just generated.
func FillKeyIDs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fill-keyids FILE")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	out := keyPlaceholder.ReplaceAllStringFunc(string(b), func(m string) string {
		sub := keyPlaceholder.FindStringSubmatch(m)
		var kf struct {
			KeyID string
			Key   json.RawMessage
		}
		kb, err := os.ReadFile(ts.MkAbs(sub[2] + ".json"))
		ts.Check(err)
		ts.Check(json.Unmarshal(kb, &kf))
		if sub[1] == "" {
			if len(kf.Key) == 0 {
				ts.Fatalf("fill-keyids: %s.json holds no key", sub[2])
			}
			return string(kf.Key)
		}
		if kf.KeyID == "" {
			ts.Fatalf("fill-keyids: %s.json holds no keyid", sub[2])
		}
		return kf.KeyID
	})
	ts.Check(os.WriteFile(path, []byte(out), 0o644))
}

var nowPlaceholder = regexp.MustCompile(`\bNOW(?:([+-][0-9]+)(d|min))?\b`)

// FillNow replaces NOW in a file with the time the script runs at ($NOW
// when the setup set it, else the clock to the minute), and NOW+Nd or
// NOW-Nd with that time N days on or back, in RFC 3339: plans are files,
// and testscript does not expand variables in files; NOW+Nmin is N
// minutes on. A reference time near the clock is what the room's
// witnesses confirm; one days away is what 'start --allow-reference-time'
// is for.
func FillNow(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fill-now FILE")
	}
	now := time.Now().UTC().Truncate(time.Minute)
	if v := ts.Getenv("NOW"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		ts.Check(err)
		now = t
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	out := nowPlaceholder.ReplaceAllStringFunc(string(b), func(m string) string {
		sub := nowPlaceholder.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sub[1])
		if sub[2] == "min" {
			return now.Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
		}
		return now.AddDate(0, 0, n).Format(time.RFC3339)
	})
	ts.Check(os.WriteFile(path, []byte(out), 0o644))
}

// TreeDigest writes into a file every file under a folder with its mode
// and SHA-256 (`tree-digest DIR FILE`), to compare with cmp: a refused
// command changes no file.
func TreeDigest(ts *testscript.TestScript, neg bool, args []string) {
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

// NoControls fails if the last command's stdout or stderr holds a raw
// control byte other than newline (see ControlAt): what the CLI prints of
// hostile input is escaped.
func NoControls(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: no-controls")
	}
	for _, f := range []string{"stdout", "stderr"} {
		s := ts.ReadFile(f)
		if i := ControlAt(s); i >= 0 {
			ts.Fatalf("%s holds a raw control byte at %d: %+q", f, i, s[max(0, i-40):min(len(s), i+40)])
		}
	}
}

// ControlAt returns the byte offset of the first raw control byte in s
// other than newline: C0, DEL, a C1 control, a format character (bidi,
// zero width), a line or paragraph separator, or invalid UTF-8; or -1.
func ControlAt(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1,
			r < 0x20 && r != '\n',
			r >= 0x7f && r <= 0x9f,
			unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			return i
		}
		i += size
	}
	return -1
}
