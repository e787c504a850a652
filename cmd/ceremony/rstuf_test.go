package main

import (
	"encoding/json"
	"os"

	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands for RSTUF's API bodies, which a script cannot cut
// apart with the tools testscript has.
func init() {
	scriptCmds["rstuf-root"] = rstufRoot
	scriptCmds["rstuf-pending"] = rstufPending
}

// rstufRoot PAYLOAD OUT writes the root metadata a bootstrap or update
// payload carries, as RSTUF would publish it.
func rstufRoot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: rstuf-root PAYLOAD OUT")
	}
	var p struct {
		Metadata struct{ Root json.RawMessage } `json:"metadata"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &p))
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), p.Metadata.Root, 0o644))
}

// rstufPending ROOT [TRUSTED] OUT writes the body of RSTUF's GET
// /api/v1/metadata/sign holding ROOT pending, judged against TRUSTED.
func rstufPending(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: rstuf-pending ROOT [TRUSTED] OUT")
	}
	md := map[string]json.RawMessage{"root": json.RawMessage(ts.ReadFile(args[0]))}
	if len(args) == 3 {
		md["trusted_root"] = json.RawMessage(ts.ReadFile(args[1]))
	}
	b, err := json.MarshalIndent(map[string]any{"data": map[string]any{"metadata": md}}, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[len(args)-1]), b, 0o644))
}
