//go:build unix

package boundedfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

var small = Limit{What: "a test file", Max: 100, Flag: "--max-test-size"}

func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadRegular(t *testing.T) {
	want := []byte("{\"signed\": {}}\n")
	p := write(t, "root.json", want)
	got, err := Read(p, small)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if cap(got) != len(want) {
		t.Errorf("Read allocated %d bytes for a %d-byte file", cap(got), len(want))
	}
	// A symbolic link to a regular file is a regular file.
	link := filepath.Join(t.TempDir(), "link.json")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(link, small); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Read(link) = %q, %v", got, err)
	}
	if got, err := Read(write(t, "empty", nil), small); err != nil || len(got) != 0 {
		t.Fatalf("Read(empty) = %q, %v", got, err)
	}
}

func TestReadAtTheLimit(t *testing.T) {
	at := write(t, "at", bytes.Repeat([]byte("a"), 100))
	if b, err := Read(at, small); err != nil || len(b) != 100 {
		t.Fatalf("a file of exactly the limit: %d bytes, %v", len(b), err)
	}
	over := write(t, "over", bytes.Repeat([]byte("a"), 101))
	b, err := Read(over, small)
	var e *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &e) || e.Size != 101 || b != nil {
		t.Fatalf("a file one byte over the limit: %d bytes, %v", len(b), err)
	}
	want := over + " is 101 bytes, more than the 100 bytes a test file may be; if it is genuine, raise the limit with --max-test-size"
	if err.Error() != want {
		t.Errorf("message:\n%s\nwant\n%s", err, want)
	}
	pin := PINSource
	pin.Max = 3
	if _, err := Read(write(t, "pin", []byte("1234")), pin); !strings.HasSuffix(err.Error(), "may be; it cannot be one: check that the path names the right file") {
		t.Errorf("with no flag to raise it: %v", err)
	}
}

// A FIFO at a request's name hung `request export` (issue 11 §6): Read
// must refuse it at once, without a writer.
func TestReadFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "request.json")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func() error{
		"Read": func() error { _, err := Read(p, Request); return err },
		"Open": func() error { _, err := Open(p, Request); return err },
		// The check of the open file, for a FIFO that replaced a
		// regular file after the Stat: the open must not block either.
		"check after open": func() error { _, err := openRegular(p, Request); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- open() }()
		select {
		case err := <-done:
			var e *Error
			if !errors.Is(err, ErrNotRegular) || !errors.As(err, &e) || e.Type != fs.ModeNamedPipe {
				t.Errorf("%s: %v, want ErrNotRegular for a named pipe", name, err)
			} else if !strings.Contains(err.Error(), "is a named pipe (FIFO), not a regular file: a signing request is read only from a regular file") {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s of a FIFO still blocks after 5s", name)
		}
	}
}

func TestReadDevices(t *testing.T) {
	link := filepath.Join(t.TempDir(), "timestamp.json")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/zero", link, "/dev/null"} {
		var e *Error
		_, err := Read(p, Metadata)
		if !errors.Is(err, ErrNotRegular) || !errors.As(err, &e) || e.Type&fs.ModeCharDevice == 0 {
			t.Errorf("Read(%s) = %v, want ErrNotRegular for a character device", p, err)
		}
		if _, err := openRegular(p, Metadata); !errors.Is(err, ErrNotRegular) {
			t.Errorf("open and check %s: %v", p, err)
		}
	}
}

func TestReadDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(dir, Plan)
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "is a directory, not a regular file") {
		t.Errorf("Read(dir) = %v", err)
	}
}

func TestReadMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plan.yaml")
	_, err := Read(p, Plan)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read(missing) = %v", err)
	}
	if want := "read a plan from " + p + ": no such file or directory"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	dangling := filepath.Join(t.TempDir(), "dangling")
	if err := os.Symlink(p, dangling); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dangling, Plan); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(dangling link) = %v", err)
	}
}

// A 3 GB sparse timestamp.json took 3.1 GB of memory (issue 11 §6): its
// size refuses it before a byte is read or allocated.
func TestReadSparseHugeFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "timestamp.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err = Read(p, Metadata)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	var e *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &e) || e.Size != 3<<30 {
		t.Fatalf("Read = %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "is 3 GiB, more than the 256 MiB a metadata file may be; if it is genuine, raise the limit with --max-metadata-size") {
		t.Errorf("message: %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<10 {
		t.Errorf("refusing a 3 GiB file allocated %d bytes", alloc)
	}
	if took > 2*time.Second {
		t.Errorf("refusing a 3 GiB file took %v", took)
	}
}

// Memory stays the size of the file: no doubling buffer.
func TestReadMemoryProportional(t *testing.T) {
	const size = 16 << 20
	p := write(t, "claimed.json", bytes.Repeat([]byte("x"), size))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := Read(p, Metadata)
	runtime.ReadMemStats(&after)
	if err != nil || len(b) != size {
		t.Fatalf("Read = %d bytes, %v", len(b), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size+64<<10 {
		t.Errorf("reading %d bytes allocated %d", size, alloc)
	}
}

// A file that grows past the limit after it was opened is refused too.
func TestFileGrowsPastLimit(t *testing.T) {
	p := write(t, "response.json", bytes.Repeat([]byte("a"), 50))
	f, err := Open(p, small)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != 50 {
		t.Errorf("Size = %d", f.Size())
	}
	w, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte("b"), 60))
	w.Close()
	b, err := io.ReadAll(f)
	var e *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &e) || e.Size != -1 || len(b) != 100 {
		t.Fatalf("ReadAll = %d bytes, %v", len(b), err)
	}
	if !strings.Contains(err.Error(), "grew while it was read, past the 100 bytes a test file may be") {
		t.Errorf("message: %v", err)
	}
	if n, err2 := f.Read(make([]byte, 10)); n != 0 || err2 != err {
		t.Errorf("Read after the limit = %d, %v", n, err2)
	}
}

// Growing within the limit is fine: so do files in /proc, which say they
// are empty and are not.
func TestReadFileThatUnderstatesItsSize(t *testing.T) {
	fi, err := os.Stat("/proc/self/status")
	if err != nil || fi.Size() != 0 || !fi.Mode().IsRegular() {
		t.Fatalf("this test needs Linux's /proc: %v, %v", fi, err)
	}
	b, err := Read("/proc/self/status", small)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("/proc/self/status within %d bytes: %d bytes, %v", small.Max, len(b), err)
	}
	b, err = Read("/proc/self/status", Plan)
	if err != nil || !bytes.Contains(b, []byte("Pid:")) {
		t.Errorf("Read(/proc/self/status) = %q, %v", b, err)
	}
}

// A file name is as hostile as a file: the message escapes it.
func TestErrorEscapesPath(t *testing.T) {
	p := write(t, "req\x1b]0;pwned\a.json", bytes.Repeat([]byte("a"), 101))
	_, err := Read(p, small)
	msg := err.Error()
	if strings.ContainsAny(msg, "\x1b\a") || !strings.Contains(msg, `req\x1b]0;pwned\x07.json is 101 bytes`) {
		t.Errorf("message: %q", msg)
	}
	_, err = Read(p+"\u202e", small)
	if msg := err.Error(); strings.Contains(msg, "\u202e") || !strings.Contains(msg, `\u202e: no such file`) {
		t.Errorf("message: %q", msg)
	}
}

// TestReadAtWithinLimit: ReadAt returns bytes below the limit, and a read
// that reaches past it, in a file that grew there, is ErrTooLarge.
func TestReadAtWithinLimit(t *testing.T) {
	p := write(t, "at", []byte("0123456789"))
	f, err := Open(p, small)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 4)
	if n, err := f.ReadAt(b, 6); n != 4 || err != nil || string(b) != "6789" {
		t.Errorf("ReadAt(6) = %d %q, %v", n, b[:n], err)
	}
	if n, err := f.ReadAt(b, 8); n != 2 || err != io.EOF {
		t.Errorf("ReadAt past the end = %d, %v", n, err)
	}
	if _, err := f.ReadAt(b, -1); err == nil {
		t.Error("a negative offset read")
	}
	// The file grows past the limit after it was opened.
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 200), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := f.ReadAt(b, 98); n != 2 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadAt across the limit = %d, %v", n, err)
	}
	if n, err := f.ReadAt(b, 150); n != 0 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadAt beyond the limit = %d, %v", n, err)
	}
}
