package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// TestVerifyJSONStreamed: verify --json, written as the walk goes, is the
// document writeJSON writes of the whole report, each member's value byte
// for byte, the members in the order verify's help gives: for a
// repository that fails (a revoked key trusted, later expired too) and
// warns (an RSA-PSS salt go-tuf refuses), with and without --strict. A
// repository that cannot be walked prints nothing.
func TestVerifyJSONStreamed(t *testing.T) {
	dir := t.TempDir()
	if err := mkrepo(dir, mkrepoOptions{revokeTrusted: true, pssSalt20: true}); err != nil {
		t.Fatal(err)
	}
	meta, rootFile := filepath.Join(dir, "metadata"), filepath.Join(dir, "trusted-root.json")
	trusted, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"dir", "at", "checks", "ok", "root_steps", "roles", "passed", "failures", "warnings", "strict"}
	for _, at := range []time.Time{verifyRef.Add(time.Hour), verifyRef.Add(48 * time.Hour)} {
		for _, strict := range []bool{false, true} {
			args := []string{"verify", meta, "--root", rootFile, "--at", at.Format(time.RFC3339), "--json"}
			if strict {
				args = append(args, "--strict")
			}
			var out, errOut strings.Builder
			e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
			if code := run(context.Background(), e, args); code != 4 {
				t.Fatalf("%v: exit %d, want 4: %s", args, code, errOut.String())
			}
			rep, _ := repoverify.VerifyWith(meta, trusted, repoverify.Options{At: at, Scope: roles.ScopeVerify, Strict: strict})
			if len(rep.Failures) == 0 || len(rep.Warnings) == 0 || rep.Passed == 0 {
				t.Fatalf("the repository should pass, fail and warn: %d passed, %d failures, %d warnings", rep.Passed, len(rep.Failures), len(rep.Warnings))
			}
			var whole bytes.Buffer
			if err := writeJSON(&whole, rep); err != nil {
				t.Fatal(err)
			}
			gotKeys, got := members(t, out.String())
			wantKeys, want := members(t, whole.String())
			if !slices.Equal(gotKeys, slices.DeleteFunc(slices.Clone(order), func(k string) bool { return !slices.Contains(wantKeys, k) })) {
				t.Errorf("at %s, strict %v: members %v, want in the order %v", at, strict, gotKeys, order)
			}
			for _, k := range wantKeys {
				if !bytes.Equal(got[k], want[k]) {
					t.Errorf("at %s, strict %v: %q is\n%s\nwant\n%s", at, strict, k, got[k], want[k])
				}
			}
			if !strings.HasSuffix(out.String(), "\n}\n") || strings.Count(out.String(), "\n}\n") != 1 {
				t.Errorf("at %s, strict %v: the document does not end as writeJSON's does: %q", at, strict, out.String()[max(0, out.Len()-40):])
			}
		}
	}

	var out, errOut strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	if code := run(context.Background(), e, []string{"verify", filepath.Join(dir, "nowhere"), "--root", rootFile, "--json"}); code != 3 || out.Len() > 0 {
		t.Errorf("a folder that is not there: exit %d, stdout %q", code, out.String())
	}
}

// members returns the members of the JSON object doc in order, and the
// bytes of each one's value as they stand in doc.
func members(t *testing.T, doc string) ([]string, map[string][]byte) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %v %v", tok, err)
	}
	var keys []string
	values := map[string][]byte{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		k := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		keys, values[k] = append(keys, k), v
	}
	if _, err := dec.Token(); err != nil || dec.More() {
		t.Fatalf("not one JSON object: %v", err)
	}
	return keys, values
}
