package softhsmtests

import (
	"os"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/internal/pcsctest"
	"github.com/ceremony-tuf/ceremony/internal/vpiv"
)

// maxYubiKeys is how many virtual YubiKeys one scenario may plug in: the
// readers of its pcscd.
const maxYubiKeys = 2

// yubiKeys is a scenario's pcscd and the cards plugged into it, kept in
// testscript's Env.Values under yubiKeysKey.
type yubiKeys struct {
	daemon *pcsctest.Daemon
	ca     *vpiv.CA // one for every card, as Yubico's is for every YubiKey
	cards  int
}

type yubiKeysKeyType struct{}

var yubiKeysKey yubiKeysKeyType

// cmdVirtualYubiKey is the script command
//
//	virtual-yubikey SERIAL
//
// It plugs a YubiKey 5 (firmware 5.7.1) as it leaves the factory into
// the scenario: no keys, PIN 123456, PUK 12345678, the factory management
// key, touched at once whenever a key's touch policy asks. The cards sit
// in the readers of a private pcscd of the scenario's own (started with
// the first), and the rest of the script reaches them as it would real
// YubiKeys: 'exec ceremony' through libpcsclite ($PCSCLITE_CSOCK_NAME).
// $WORK/testca.pem holds the test CA their attestations chain to, which
// stands in for Yubico's roots.
func cmdVirtualYubiKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: virtual-yubikey SERIAL")
	}
	serial, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		ts.Fatalf("virtual-yubikey: serial %q: %v", args[0], err)
	}
	yk := ts.Value(yubiKeysKey).(*yubiKeys)
	if yk.cards == maxYubiKeys {
		ts.Fatalf("virtual-yubikey: a scenario has %d readers, all taken", maxYubiKeys)
	}
	if yk.daemon == nil {
		d, err := pcsctest.Start(pcsctest.Options{Readers: maxYubiKeys, ReaderName: "Yubico YubiKey OTP+FIDO+CCID"})
		ts.Check(err)
		ts.Defer(func() { d.Stop() })
		yk.daemon = d
		ts.Setenv("PCSCLITE_CSOCK_NAME", d.Socket)
		yk.ca, err = vpiv.NewCA()
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs("testca.pem"), yk.ca.PEM(), 0o644))
	}
	card, err := vpiv.New(vpiv.Config{Serial: uint32(serial), CA: yk.ca})
	ts.Check(err)
	ts.Defer(func() { card.Close() })
	ts.Check(card.Insert(yk.daemon.Dialer(yk.cards)))
	ts.Check(card.WaitReady(10 * time.Second))
	yk.cards++
}
