package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/repoverify"
)

// TestStartAndVerifyExitAlike: a trusted repository that start refuses
// (through ceremony.LoadRepo) gets the exit code verify gives it: 3 when
// it is malformed or no repository, 4 when a check fails.
func TestStartAndVerifyExitAlike(t *testing.T) {
	cases := []struct {
		name, file, old, new string
		want                 int
	}{
		{"duplicate member name", "timestamp.json", `"_type":"timestamp"`, `"_type":"timestamp","_type":"timestamp"`, exitInput},
		{"spec version 9", "timestamp.json", `"spec_version":"1.0.31"`, `"spec_version":"9.0.31"`, exitInput},
		{"no timestamp.json", "timestamp.json", "", "", exitInput},
		{"claimed changed after snapshot listed it", "1.claimed.json", `"sampleproject/*"`, `"sampleprojecx/*"`, exitVerify},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := mkrepo(dir, false); err != nil {
				t.Fatal(err)
			}
			md := filepath.Join(dir, "metadata")
			p := filepath.Join(md, c.file)
			if c.old == "" {
				os.Remove(p)
			} else {
				b, err := os.ReadFile(p)
				if err != nil || !bytes.Contains(b, []byte(c.old)) {
					t.Fatalf("%s has no %q (%v)", c.file, c.old, err)
				}
				if err := os.WriteFile(p, bytes.Replace(b, []byte(c.old), []byte(c.new), 1), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			trusted, err := os.ReadFile(filepath.Join(dir, "trusted-root.json"))
			if err != nil {
				t.Fatal(err)
			}
			_, lerr := ceremony.LoadRepo(md, trusted)
			_, verr := repoverify.Verify(md, trusted, verifyRef)
			start, verify := exitCode(ceremonyError(lerr)), exitCode(verifyError(verr))
			if start != c.want || verify != c.want {
				t.Errorf("start exits %d (%v), verify %d (%v); want %d", start, lerr, verify, verr, c.want)
			}
		})
	}
}
