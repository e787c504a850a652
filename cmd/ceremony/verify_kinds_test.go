package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
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
		{"duplicate member name", "timestamp.json", `"_type":"timestamp"`, `"_type":"timestamp","_type":"timestamp"`, int(exitcode.Input)},
		{"spec version 9", "timestamp.json", `"spec_version":"1.0.31"`, `"spec_version":"9.0.31"`, int(exitcode.Input)},
		{"no timestamp.json", "timestamp.json", "", "", int(exitcode.Input)},
		{"claimed changed after snapshot listed it", "1.claimed.json", `"sampleproject/*"`, `"sampleprojecx/*"`, int(exitcode.Verify)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := mkrepo(dir, mkrepoOptions{}); err != nil {
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
			start, verify := int(exitcode.Of(lerr)), int(exitcode.Of(verr))
			if start != c.want || verify != c.want {
				t.Errorf("start exits %d (%v), verify %d (%v); want %d", start, lerr, verify, verr, c.want)
			}
		})
	}
}

// TestVerifyHostileFiles: `ceremony verify` with a 3 GB sparse
// timestamp.json (once 3.1 GB of memory), a link to /dev/zero (once all
// of it) or a FIFO (once a hang) where a metadata file or the trusted
// root should be exits 3 at once, in little memory, naming the file.
func TestVerifyHostileFiles(t *testing.T) {
	cases := []struct {
		name, file string
		make       func(p string) error
		says       string
	}{
		{"3 GB sparse timestamp", "metadata/timestamp.json", func(p string) error { return os.Truncate(p, 3<<30) },
			"is 3 GiB, more than the 256 MiB a metadata file may be; if it is genuine, raise the limit with --max-metadata-size"},
		{"timestamp a link to /dev/zero", "metadata/timestamp.json", func(p string) error { os.Remove(p); return os.Symlink("/dev/zero", p) },
			"is a character device, not a regular file"},
		{"timestamp a FIFO", "metadata/timestamp.json", func(p string) error { os.Remove(p); return syscall.Mkfifo(p, 0o644) },
			"is a named pipe (FIFO), not a regular file"},
		{"trusted root a FIFO", "trusted-root.json", func(p string) error { os.Remove(p); return syscall.Mkfifo(p, 0o644) },
			"cannot read the trusted root"},
		{"trusted root 3 GB", "trusted-root.json", func(p string) error { return os.Truncate(p, 3<<30) },
			"cannot read the trusted root"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := mkrepo(dir, mkrepoOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := c.make(filepath.Join(dir, c.file)); err != nil {
				t.Fatal(err)
			}
			var out, errOut strings.Builder
			e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			code := run(context.Background(), e, []string{"verify", filepath.Join(dir, "metadata"), "--root", filepath.Join(dir, "trusted-root.json"), "--at", "2026-11-01T13:00:00Z"})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if code != int(exitcode.Input) || !strings.Contains(errOut.String(), c.says) {
				t.Errorf("exit %d: %s", code, errOut.String())
			}
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
		})
	}
}
