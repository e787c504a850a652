package softhsmtests

import (
	"os"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/internal/pcsctest"
	"github.com/ceremony-tuf/ceremony/internal/vpiv"
)

// cmdVirtualYubiKey is the script command
//
//	virtual-yubikey SERIAL
//
// It plugs a YubiKey 5 (firmware 5.7.1) as it leaves the factory into
// the scenario: no keys, PIN 123456, PUK 12345678, the factory management
// key, touched at once whenever a key's touch policy asks. The card sits
// behind a private pcscd of the scenario's own, and the rest of the
// script reaches it as it would a real YubiKey: 'exec ceremony' through
// libpcsclite ($PCSCLITE_CSOCK_NAME). $WORK/testca.pem holds the test CA
// its attestations chain to, which stands in for Yubico's roots.
func cmdVirtualYubiKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: virtual-yubikey SERIAL")
	}
	serial, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		ts.Fatalf("virtual-yubikey: serial %q: %v", args[0], err)
	}
	d, err := pcsctest.Start(pcsctest.Options{})
	ts.Check(err)
	card, err := vpiv.New(vpiv.Config{Serial: uint32(serial)})
	if err != nil {
		d.Stop()
		ts.Fatalf("virtual-yubikey: %v", err)
	}
	ts.Defer(func() {
		card.Close()
		d.Stop()
	})
	ts.Check(card.Insert(d.Dialer(0)))
	ts.Check(card.WaitReady(10 * time.Second))
	ts.Check(os.WriteFile(ts.MkAbs("testca.pem"), card.CA().PEM(), 0o644))
	ts.Setenv("PCSCLITE_CSOCK_NAME", d.Socket)
}
