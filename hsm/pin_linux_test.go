package hsm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// checkProtected fails unless the process keeps no core dump and cannot
// be dumped, and, when locked is set and RLIMIT_MEMLOCK allows a page, has
// memory locked.
func checkProtected(t *testing.T, locked bool) {
	t.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur != 0 || lim.Max != 0 {
		t.Errorf("RLIMIT_CORE is %d (max %d) after a PIN was read, want 0", lim.Cur, lim.Max)
	}
	if d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err != nil || d != 0 {
		t.Errorf("the process is dumpable (%d, %v) after a PIN was read", d, err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim); err != nil {
		t.Fatal(err)
	}
	if locked && lim.Cur >= uint64(os.Getpagesize()) {
		if kb := statusKB(t, "VmLck"); kb == 0 {
			t.Errorf("no memory is locked after a PIN was read (RLIMIT_MEMLOCK %d)", lim.Cur)
		}
	}
}

// statusKB reads a "kB" line of /proc/self/status.
func statusKB(t *testing.T, field string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// typed is a PINSource outside this package's own, as the TUI's prompt is.
type typed string

func (p typed) PIN(PINRequest) ([]byte, error) { return []byte(p), nil }

// TestPINReadProtectsProcess: once a backend has asked for a PIN, from
// any source, the process keeps no core dump and cannot be dumped.
func TestPINReadProtectsProcess(t *testing.T) {
	pin, err := Auth{PINs: typed("123456")}.PIN(PINRequest{TriesLeft: -1})
	if err != nil || string(pin) != "123456" {
		t.Fatalf("got %q, %v", pin, err)
	}
	checkProtected(t, false)
}

// TestFilePINLockedAndBounded: a pin-source is read into locked memory,
// never more than a PIN buffer holds.
func TestFilePINLockedAndBounded(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(p, []byte("654321\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pin, err := FilePIN{Path: p}.PIN(PINRequest{TriesLeft: -1})
	if err != nil || string(pin) != "654321" || cap(pin) != pinBufferSize {
		t.Fatalf("got %q (capacity %d), %v", pin, cap(pin), err)
	}
	checkProtected(t, true)
	if err := os.WriteFile(p, bytes.Repeat([]byte("1"), pinBufferSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (FilePIN{Path: p}).PIN(PINRequest{}); err == nil || !strings.Contains(err.Error(), "only the PIN") {
		t.Errorf("a %d-byte pin-source: got %v", pinBufferSize, err)
	}
	// /dev/zero would never end: the read stops at the buffer's size.
	if _, err := (FilePIN{Path: "/dev/zero"}).PIN(PINRequest{}); err == nil {
		t.Error("/dev/zero accepted as a pin-source")
	}
}

// TestReadLineLeavesTheRest: the PIN reader takes one line and nothing
// after it, and refuses a line longer than its buffer after reading all
// of it, so that none of it answers the next prompt.
func TestReadLineLeavesTheRest(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fmt.Fprintf(w, "1234\n%s\nyes\n", strings.Repeat("9", pinBufferSize+5))
	w.Close()
	fd := int(r.Fd())
	if pin, err := readLine(fd, PINBuffer()); err != nil || string(pin) != "1234" {
		t.Fatalf("first line: %q, %v", pin, err)
	}
	if _, err := readLine(fd, PINBuffer()); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("long line: %v", err)
	}
	if rest, err := readLine(fd, make([]byte, 0, 8)); err != nil || string(rest) != "yes" {
		t.Fatalf("after the long line: %q, %v", rest, err)
	}
}

// TestTerminalPINNoEcho types a PIN into a pseudo-terminal: TerminalPIN
// reads it with echo off, restores the terminal, and protects the process.
func TestTerminalPINNoEcho(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var n int
	conn, err := ptmx.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ierr error
	conn.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr == nil {
			n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	})
	if ierr != nil {
		t.Fatal(ierr)
	}
	ttyPath := fmt.Sprintf("/dev/pts/%d", n)
	tty, err := os.OpenFile(ttyPath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	ttyFd := int(tty.Fd())
	echo := func() bool {
		st, err := unix.IoctlGetTermios(ttyFd, unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return st.Lflag&unix.ECHO != 0
	}
	if !echo() {
		t.Fatal("a new pseudo-terminal has echo off")
	}

	type result struct {
		pin []byte
		err error
	}
	done := make(chan result, 1)
	var prompt bytes.Buffer
	go func() {
		pin, err := TerminalPIN{Prompt: &prompt, tty: ttyPath}.PIN(PINRequest{Device: Device{Model: "SoftHSM v2", Serial: "ab"}, TriesLeft: 2})
		done <- result{pin, err}
	}()
	for deadline := time.Now().Add(5 * time.Second); echo(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("TerminalPIN never turned echo off")
		}
	}
	if _, err := ptmx.Write([]byte("246813\n")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || string(r.pin) != "246813" {
		t.Fatalf("got %q, %v", r.pin, r.err)
	}
	if !strings.Contains(prompt.String(), "PIN for SoftHSM v2 #ab (2 tries left)") {
		t.Errorf("prompt %q", prompt.String())
	}
	if !echo() {
		t.Error("echo was not turned back on")
	}
	// What the terminal shows: nothing of the PIN.
	ptmx.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	shown := make([]byte, 256)
	k, err := ptmx.Read(shown)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
	if bytes.Contains(shown[:k], []byte("2468")) {
		t.Errorf("the terminal echoed the PIN: %q", shown[:k])
	}
	checkProtected(t, true)
}
