package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
)

// Scripts named request*.txtar get SoftHSM tokens alice, bob, carol,
// online and mallory (user PIN 123456, also in $WORK/pin), and these
// commands (with exits, which every script has):
//
//	req-plan TEMPLATE OUT         writes OUT with each @name@ replaced by
//	                              the keyid in name.json
//	req-edit FILE OUT FIELD JSON  writes FILE with FIELD set to the JSON value
//	req-flip FILE OUT             writes a request with one byte of its
//	                              signed bytes flipped
//	req-cut FILE OUT              writes FILE's first half
//	req-add-signer FILE OUT NAME  writes a request that also lists the key
//	                              in NAME.json among its signers (the list
//	                              is not signed: collect must still refuse)
//	req-projects N OUT NAME       writes a plan's projects file of N
//	                              projects, p001 on, each delegated to the
//	                              key in NAME.json
func init() {
	scriptCmds["req-projects"] = reqProjects
	scriptCmds["req-add-signer"] = reqAddSigner
	scriptSetups = append(scriptSetups, setupRequestSoftHSM)
	scriptCmds["req-plan"] = reqPlan
	scriptCmds["req-edit"] = reqEdit
	scriptCmds["req-flip"] = reqFlip
	scriptCmds["req-cut"] = reqCut
}

func setupRequestSoftHSM(e *testscript.Env) error {
	if !strings.HasPrefix(filepath.Base(e.WorkDir), "script-request") {
		return nil
	}
	dir, err := os.MkdirTemp("", "ceremony-softhsm-")
	if err != nil {
		return err
	}
	e.Defer(func() { os.RemoveAll(dir) })
	env, err := softhsmtest.New(dir)
	if err != nil {
		return err
	}
	for _, label := range []string{"alice", "bob", "carol", "online", "mallory"} {
		if _, err := env.InitToken(label, "", ""); err != nil {
			return err
		}
	}
	for _, kv := range env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		e.Setenv(k, v)
	}
	return os.WriteFile(filepath.Join(e.WorkDir, "pin"), []byte(softhsmtest.UserPIN+"\n"), 0o600)
}

var reqPlaceholder = regexp.MustCompile(`@([a-z]+)@`)

func reqPlan(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: req-plan TEMPLATE OUT")
	}
	tmpl := ts.ReadFile(args[0])
	out := reqPlaceholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := strings.Trim(m, "@")
		var kf struct {
			KeyID string `json:"keyid"`
		}
		if err := json.Unmarshal([]byte(ts.ReadFile(name+".json")), &kf); err != nil || kf.KeyID == "" {
			ts.Fatalf("req-plan: %s.json holds no keyid: %v", name, err)
		}
		return kf.KeyID
	})
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644))
}

func reqEdit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: req-edit FILE OUT FIELD JSON")
	}
	var m map[string]json.RawMessage
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
	m[args[2]] = json.RawMessage(args[3])
	reqWrite(ts, args[1], m)
}

func reqFlip(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: req-flip FILE OUT")
	}
	var m map[string]json.RawMessage
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
	var signed []byte
	ts.Check(json.Unmarshal(m["signed"], &signed))
	signed[len(signed)/2] ^= 0x20
	m["signed"], _ = json.Marshal(base64.StdEncoding.EncodeToString(signed))
	reqWrite(ts, args[1], m)
}

func reqCut(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: req-cut FILE OUT")
	}
	b := ts.ReadFile(args[0])
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(b[:len(b)/2]), 0o644))
}

func reqProjects(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: req-projects N OUT NAME")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	var kf struct{ Key json.RawMessage }
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[2]+".json")), &kf))
	projects := make([]any, n)
	for i := range projects {
		projects[i] = map[string]any{"name": fmt.Sprintf("p%03d", i+1), "threshold": 1, "keys": []any{kf.Key}}
	}
	b, err := json.Marshal(map[string]any{"projects": projects})
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
}

func reqAddSigner(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: req-add-signer FILE OUT NAME")
	}
	var m map[string]json.RawMessage
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
	var kf struct {
		KeyID string          `json:"keyid"`
		Key   json.RawMessage `json:"key"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[2]+".json")), &kf))
	var signers []map[string]any
	ts.Check(json.Unmarshal(m["signers"], &signers))
	signers = append(signers, map[string]any{"keyid": kf.KeyID, "name": args[2], "device": "", "key": kf.Key})
	m["signers"], _ = json.Marshal(signers)
	reqWrite(ts, args[1], m)
}

// reqWrite writes v into the script's file path as indented JSON.
func reqWrite(ts *testscript.TestScript, path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(path), b, 0o644))
}
