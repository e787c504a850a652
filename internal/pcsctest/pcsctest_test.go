package pcsctest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStartStop checks that the daemon comes up hermetically (its socket
// in its own directory, nothing in the host's /run/pcscd) and that Stop
// leaves neither a process nor a directory behind.
func TestStartStop(t *testing.T) {
	_, hostRunBefore := os.Stat("/run/pcscd/pcscd.comm")
	d, err := Start(Options{Readers: 4, ReaderName: "Yubico Test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Readers) != 4 || d.Readers[0] != "Yubico Test 00 00" || d.Readers[2] != "Yubico Test 1 00 00" {
		t.Fatalf("Readers = %q", d.Readers)
	}
	if filepath.Dir(filepath.Dir(d.Socket)) != filepath.Join(d.Dir, "run") {
		t.Fatalf("socket %s outside %s", d.Socket, d.Dir)
	}
	if _, err := os.Stat(d.Socket); err != nil {
		t.Fatal(err)
	}
	_, hostRunAfter := os.Stat("/run/pcscd/pcscd.comm")
	if (hostRunBefore == nil) != (hostRunAfter == nil) {
		t.Fatal("the private pcscd touched the host's /run/pcscd")
	}
	// vpcd listens inside the daemon's namespace, not on the host.
	for i := 0; i < 4; i++ {
		if !d.listening(basePort + i) {
			t.Fatalf("port %d not listening in the namespace", basePort+i)
		}
	}
	pid := d.pid
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("pcscd %d still runs after Stop", pid)
	}
	if _, err := os.Stat(d.Dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists: %v", d.Dir, err)
	}
	d.Stop() // twice is harmless
}
