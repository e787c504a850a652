//go:build unix

package hsm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
)

// A pin-source that is a FIFO, a device or a large file is refused at
// once: it neither hangs the login nor is read into where a PIN goes.
func TestFilePINRefusesHostileFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	secret := bytes.Repeat([]byte("s3cr3t "), 1000)
	if err := os.WriteFile(big, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	// /dev/zero last: read without a bound, it eats memory until the
	// timeout.
	for _, c := range []struct {
		path string
		want error
	}{
		{fifo, boundedfile.ErrNotRegular},
		{dir, boundedfile.ErrNotRegular},
		{big, boundedfile.ErrTooLarge},
		{zero, boundedfile.ErrNotRegular},
	} {
		path, want := c.path, c.want
		done := make(chan error, 1)
		go func() {
			_, err := FilePIN{Path: path}.PIN(PINRequest{TriesLeft: -1})
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, want) {
				t.Errorf("pin-source %s: %v, want %v", path, err, want)
			} else if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("pin-source %s: the error shows the file: %v", path, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("pin-source %s: still reading after 5s", path)
		}
	}
}
