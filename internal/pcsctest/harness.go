package pcsctest

import (
	"fmt"
	"os"
	"testing"

	"github.com/ceremony-tuf/ceremony/internal/vpiv"
)

// Main is the TestMain of a package whose tests share one daemon: it
// starts the daemon (with pcscd's log and every APDU on stderr when
// PCSCD_DEBUG is set), points this process's libpcsclite at it, stores it
// in *d, runs the tests, stops the daemon and exits with the tests' code.
//
//	var daemon *pcsctest.Daemon
//
//	func TestMain(m *testing.M) { pcsctest.Main(m, &daemon) }
func Main(m *testing.M, d **Daemon) {
	opts := Options{}
	if os.Getenv("PCSCD_DEBUG") != "" {
		opts.Log, opts.Debug = os.Stderr, true
	}
	daemon, err := Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// libpcsclite reads this once per process, at its first call.
	os.Setenv("PCSCLITE_CSOCK_NAME", daemon.Socket)
	*d = daemon
	code := m.Run()
	daemon.Stop()
	os.Exit(code)
}

// Insert makes a card from cfg, puts it in reader i and waits until pcscd
// reports it there, so that clients can connect at once. When the test
// ends, Insert pulls the card out and waits until pcscd reports the reader
// empty, so that the next test's card is news to pcscd. Tests that share a
// reader must not run in parallel.
func (d *Daemon) Insert(t testing.TB, i int, cfg vpiv.Config) *vpiv.Card {
	t.Helper()
	card, err := vpiv.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := card.Insert(d.Dialer(i)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		card.Close()
		if err := d.WaitEmpty(i); err != nil {
			t.Error(err)
		}
	})
	if err := d.waitInserted(card, i); err != nil {
		t.Fatal(err)
	}
	return card
}

// PutBack puts card, pulled out, back in reader i, where Insert put it, and
// waits until pcscd reports it there, whether or not pcscd saw it leave.
func (d *Daemon) PutBack(t testing.TB, i int, card *vpiv.Card) {
	t.Helper()
	if err := card.PutBack(); err != nil {
		t.Fatal(err)
	}
	if err := d.waitInserted(card, i); err != nil {
		t.Fatal(err)
	}
}

// waitInserted waits until vpcd has taken card and pcscd then reports a
// card in reader i. The order matters when the card comes back before
// pcscd saw it leave: the reader shows a card all along, and only the
// card knows when vpcd holds its new connection.
func (d *Daemon) waitInserted(card *vpiv.Card, i int) error {
	if err := card.WaitSeen(stateTimeout); err != nil {
		return err
	}
	return d.WaitPresent(i)
}
