package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Hostile input, and what the CLI prints of it (issue 11). Scripts get:
//
//	no-controls                 fails if the last command's stdout or
//	                            stderr holds a raw control byte other than
//	                            newline: C0, DEL, a C1 control, a format
//	                            character (bidi, zero width), a line or
//	                            paragraph separator, or invalid UTF-8
//	req-forge-root FILE OUT NAME [FIELD=VALUE...]
//	                            writes the root request FILE with its
//	                            signed bytes replaced by a root that trusts
//	                            only the key in NAME.json, threshold 1, for
//	                            every role (digest made to match), and each
//	                            FIELD (summary, checks_passed, a list of
//	                            Go-quoted lines separated by |) set;
//	                            $FORGED_KEY is the first 16 hex digits of
//	                            the key's keyid
//	req-set FILE OUT PATH VALUE sets the string at PATH (a.b[0].c) of the
//	                            JSON in FILE to the Go-quoted VALUE
//	req-swap-previous FILE PREV OUT
//	                            writes the request FILE with its previous
//	                            version replaced by the file PREV
//	softhsm-label LABEL         initialises a SoftHSM token labelled with
//	                            the Go-quoted LABEL (PIN 123456), in the
//	                            script's SoftHSM
func init() {
	scriptCmds["no-controls"] = cmdNoControls
	scriptCmds["req-forge-root"] = reqForgeRoot
	scriptCmds["req-set"] = reqSet
	scriptCmds["softhsm-label"] = softhsmLabel
	scriptCmds["req-swap-previous"] = reqSwapPrevious
}

func reqSwapPrevious(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: req-swap-previous FILE PREV OUT")
	}
	var m map[string]json.RawMessage
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
	m["previous"], _ = json.Marshal([]byte(ts.ReadFile(args[1])))
	reqWrite(ts, args[2], m)
}

func softhsmLabel(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: softhsm-label LABEL")
	}
	label, err := strconv.Unquote(`"` + args[0] + `"`)
	ts.Check(err)
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", softhsmtest.SOPIN, "--pin", softhsmtest.UserPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+ts.Getenv("SOFTHSM2_CONF"))
	if out, err := cmd.CombinedOutput(); err != nil {
		ts.Fatalf("softhsm2-util: %v\n%s", err, out)
	}
}

// controlAt returns the byte offset of the first raw control byte in s
// (see no-controls), or -1.
func controlAt(s string) int {
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

func cmdNoControls(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: no-controls")
	}
	for _, f := range []string{"stdout", "stderr"} {
		s := ts.ReadFile(f)
		if i := controlAt(s); i >= 0 {
			ts.Fatalf("%s holds a raw control byte at %d: %+q", f, i, s[max(0, i-40):min(len(s), i+40)])
		}
	}
}

func reqForgeRoot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: req-forge-root FILE OUT NAME [FIELD=VALUE...]")
	}
	var m map[string]json.RawMessage
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
	var kf struct {
		Key json.RawMessage `json:"key"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[2]+".json")), &kf))
	k, err := roles.ParseKey(kf.Key)
	ts.Check(err)
	ts.Setenv("FORGED_KEY", k.ID()[:16])
	root := roles.NewRoot(time.Date(2027, 11, 1, 0, 0, 0, 0, time.UTC))
	for _, role := range roles.TopLevelRoles {
		root.AddKey(role, k)
		root.Roles[role].Threshold = 1
	}
	signed := roles.New(root).CanonicalSigned()
	sum := sha256.Sum256(signed)
	m["signed"], _ = json.Marshal(base64.StdEncoding.EncodeToString(signed))
	m["signed_sha256"], _ = json.Marshal(hex.EncodeToString(sum[:]))
	for _, fv := range args[3:] {
		field, value, ok := strings.Cut(fv, "=")
		if !ok {
			ts.Fatalf("req-forge-root: %q is not FIELD=VALUE", fv)
		}
		var lines []string
		for _, q := range strings.Split(value, "|") {
			l, err := strconv.Unquote(`"` + q + `"`)
			ts.Check(err)
			lines = append(lines, l)
		}
		m[field], _ = json.Marshal(lines)
	}
	reqWrite(ts, args[1], m)
}

func reqSet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: req-set FILE OUT PATH VALUE")
	}
	var doc any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &doc))
	value, err := strconv.Unquote(`"` + args[3] + `"`)
	ts.Check(err)
	ts.Check(setPath(doc, args[2], value))
	reqWrite(ts, args[1], doc)
}

// setPath sets the string at path ("signers[0].name", "device.label")
// in a document json.Unmarshal made.
func setPath(doc any, path, value string) error {
	parts := strings.Split(strings.ReplaceAll(path, "[", ".["), ".")
	for i, p := range parts {
		last := i == len(parts)-1
		switch {
		case strings.HasPrefix(p, "["):
			n, err := strconv.Atoi(strings.Trim(p, "[]"))
			a, ok := doc.([]any)
			if err != nil || !ok || n >= len(a) {
				return fmt.Errorf("%s: no element %s", path, p)
			}
			if last {
				a[n] = value
				return nil
			}
			doc = a[n]
		default:
			o, ok := doc.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: %s is not in an object", path, p)
			}
			if last {
				o[p] = value
				return nil
			}
			if o[p] == nil {
				o[p] = map[string]any{}
			}
			doc = o[p]
		}
	}
	return nil
}
