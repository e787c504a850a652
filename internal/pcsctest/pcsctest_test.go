package pcsctest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/internal/vpiv"
)

// shared is the daemon Main starts, as in the packages that use pcsctest;
// TestStartStop starts one of its own beside it.
var shared *Daemon

func TestMain(m *testing.M) { Main(m, &shared) }

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

// TestReaderStates: the waits follow the reader's state as pcscd publishes
// it to clients, through a card's coming and going.
func TestReaderStates(t *testing.T) {
	card := shared.Insert(t, 0, vpiv.Config{})
	if err := shared.WaitEmpty(1); err != nil {
		t.Fatalf("reader 1, never used: %v", err)
	}
	card.PullOut()
	if err := shared.WaitEmpty(0); err != nil {
		t.Fatal(err)
	}
	shared.PutBack(t, 0, card)
	// Out and straight back in: pcscd may or may not see the card leave,
	// and PutBack returns once it shows the card again either way.
	card.PullOut()
	shared.PutBack(t, 0, card)

	if err := shared.WaitEmpty(2); err == nil || !strings.Contains(err.Error(), "no reader 2") {
		t.Fatalf("reader 2 of 2: %v", err)
	}
	// libpcsclite talks to one daemon per process: another is refused at
	// once, not waited on for ten seconds.
	other := &Daemon{Socket: filepath.Join(t.TempDir(), "pcscd.comm"), Readers: shared.Readers}
	if err := other.WaitEmpty(1); err == nil || !strings.Contains(err.Error(), "PCSCLITE_CSOCK_NAME") {
		t.Fatalf("a daemon libpcsclite does not talk to: %v", err)
	}
}
