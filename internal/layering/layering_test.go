// Package layering holds one test: the arrows between this module's
// packages that docs/ARCHITECTURE.md says must never exist.
package layering

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ceremony-tuf/ceremony/"

// forbidden lists, for a package (or a folder, ending in "/..."), the
// packages it must never import, directly or through others.
var forbidden = []struct {
	from  string
	never []string
	why   string
}{
	{"roles", []string{"hsm/...", "ceremony/...", "transcripts", "cmd/..."},
		"roles is the TUF model: bytes in, bytes out, no devices, no ceremony"},
	{"hsm/...", []string{"roles", "ceremony/...", "transcripts", "cmd/..."},
		"hsm knows cryptography and devices, not TUF or ceremonies"},
	{"transcripts", []string{"roles", "hsm/...", "ceremony/...", "cmd/..."},
		"transcripts is a format: it never signs and needs no hardware"},
	{"ceremony", []string{"cmd/...", "ceremony/demo"},
		"the engine knows no face; faces call it"},
}

// testOnly are the harnesses no product package may import.
var testOnly = []string{"internal/vpiv", "internal/transcripttest", "internal/pcsctest", "internal/softhsmtest", "internal/scripttest", "internal/layering", "internal/benchrepo/...", "softhsm-tests"}

type pkg struct {
	ImportPath string
	Deps       []string
}

func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Deps", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		deps := map[string]bool{}
		for _, d := range p.Deps {
			if rel, ok := strings.CutPrefix(d, module); ok {
				deps[rel] = true
			}
		}
		for _, rule := range forbidden {
			if !matches(rule.from, p.ImportPath) {
				continue
			}
			for d := range deps {
				for _, never := range rule.never {
					if matches(never, d) {
						t.Errorf("%s imports %s: %s", p.ImportPath, d, rule.why)
					}
				}
			}
		}
		if isTestOnly(p.ImportPath) {
			continue
		}
		for d := range deps {
			if isTestOnly(d) {
				t.Errorf("%s (product code) imports the test harness %s", p.ImportPath, d)
			}
		}
	}
}

func isTestOnly(p string) bool {
	for _, h := range testOnly {
		if matches(h, p) {
			return true
		}
	}
	return false
}

// matches reports whether p is pattern, or under it when pattern ends in /...
func matches(pattern, p string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pattern
}
