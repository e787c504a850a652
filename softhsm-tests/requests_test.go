package softhsmtests

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/roles"
)

// requestCmds write the files an air-gapped signer or an attacker hands
// the room, and RSTUF's API bodies, which a script cannot cut apart or
// forge with the tools testscript has:
//
//	req-edit FILE OUT FIELD JSON  writes FILE with FIELD set to the JSON value
//	req-set FILE OUT PATH VALUE   sets the string at PATH (a.b[0].c) of the
//	                              JSON in FILE to the Go-quoted VALUE
//	req-flip FILE OUT             writes a request with one byte of its
//	                              signed bytes flipped
//	req-cut FILE OUT              writes FILE's first half
//	req-add-signer FILE OUT NAME  writes a request that also lists the key
//	                              in NAME.json among its signers (the list
//	                              is not signed: collect must still refuse)
//	req-swap-previous FILE PREV OUT
//	                              writes the request FILE with its previous
//	                              version replaced by the file PREV
//	req-forge-root FILE OUT NAME [FIELD=VALUE...]
//	                              writes the root request FILE with its
//	                              signed bytes replaced by a root that trusts
//	                              only the key in NAME.json, threshold 1, for
//	                              every role (digest made to match), and each
//	                              FIELD (summary, checks_passed, a list of
//	                              Go-quoted lines separated by |) set;
//	                              $FORGED_KEY is the first 16 hex digits of
//	                              the key's keyid
//	req-projects N OUT NAME       writes a plan's projects file of N
//	                              projects, p001 on, each delegated to the
//	                              key in NAME.json
//	rstuf-root PAYLOAD OUT        writes the root metadata a bootstrap or
//	                              update payload carries, as RSTUF would
//	                              publish it
//	rstuf-pending ROOT [TRUSTED] OUT
//	                              writes the body of RSTUF's GET
//	                              /api/v1/metadata/sign holding ROOT
//	                              pending, judged against TRUSTED
var requestCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"req-edit":          reqEdit,
	"req-set":           reqSet,
	"req-flip":          reqFlip,
	"req-cut":           reqCut,
	"req-add-signer":    reqAddSigner,
	"req-swap-previous": reqSwapPrevious,
	"req-forge-root":    reqForgeRoot,
	"req-projects":      reqProjects,
	"rstuf-root":        rstufRoot,
	"rstuf-pending":     rstufPending,
}

// keyFile is what 'ceremony keys generate --json' writes of a key.
type keyFile struct {
	KeyID string          `json:"keyid"`
	Key   json.RawMessage `json:"key"`
}

func readKeyFile(ts *testscript.TestScript, name string) keyFile {
	var kf keyFile
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(name+".json")), &kf))
	return kf
}

// readObject reads the JSON object in a script's file, its fields raw.
func readObject(ts *testscript.TestScript, path string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(path)), &m))
	return m
}

// writeJSON writes v into the script's file path as indented JSON.
func writeJSON(ts *testscript.TestScript, path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(path), b, 0o644))
}

func reqEdit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: req-edit FILE OUT FIELD JSON")
	}
	m := readObject(ts, args[0])
	m[args[2]] = json.RawMessage(args[3])
	writeJSON(ts, args[1], m)
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
	writeJSON(ts, args[1], doc)
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

func reqFlip(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: req-flip FILE OUT")
	}
	m := readObject(ts, args[0])
	var signed []byte
	ts.Check(json.Unmarshal(m["signed"], &signed))
	signed[len(signed)/2] ^= 0x20
	m["signed"], _ = json.Marshal(base64.StdEncoding.EncodeToString(signed))
	writeJSON(ts, args[1], m)
}

func reqCut(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: req-cut FILE OUT")
	}
	b := ts.ReadFile(args[0])
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(b[:len(b)/2]), 0o644))
}

func reqAddSigner(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: req-add-signer FILE OUT NAME")
	}
	m := readObject(ts, args[0])
	kf := readKeyFile(ts, args[2])
	var signers []map[string]any
	ts.Check(json.Unmarshal(m["signers"], &signers))
	signers = append(signers, map[string]any{"keyid": kf.KeyID, "name": args[2], "device": "", "key": kf.Key})
	m["signers"], _ = json.Marshal(signers)
	writeJSON(ts, args[1], m)
}

func reqSwapPrevious(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: req-swap-previous FILE PREV OUT")
	}
	m := readObject(ts, args[0])
	m["previous"], _ = json.Marshal([]byte(ts.ReadFile(args[1])))
	writeJSON(ts, args[2], m)
}

func reqForgeRoot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: req-forge-root FILE OUT NAME [FIELD=VALUE...]")
	}
	m := readObject(ts, args[0])
	k, err := roles.ParseKey(readKeyFile(ts, args[2]).Key)
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
	writeJSON(ts, args[1], m)
}

func reqProjects(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: req-projects N OUT NAME")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	key := readKeyFile(ts, args[2]).Key
	projects := make([]any, n)
	for i := range projects {
		projects[i] = map[string]any{"name": fmt.Sprintf("p%03d", i+1), "threshold": 1, "keys": []any{key}}
	}
	b, err := json.Marshal(map[string]any{"projects": projects})
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
}

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

func rstufPending(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: rstuf-pending ROOT [TRUSTED] OUT")
	}
	md := map[string]json.RawMessage{"root": json.RawMessage(ts.ReadFile(args[0]))}
	if len(args) == 3 {
		md["trusted_root"] = json.RawMessage(ts.ReadFile(args[1]))
	}
	writeJSON(ts, args[len(args)-1], map[string]any{"data": map[string]any{"metadata": md}})
}
