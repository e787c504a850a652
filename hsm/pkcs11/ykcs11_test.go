package pkcs11

import (
	"crypto"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/pcsctest"
	"github.com/ceremony-tuf/ceremony/internal/vpiv"
)

// ykcs11Module finds Yubico's PKCS#11 module for YubiKeys' PIV
// application among the usual places.
func ykcs11Module(t *testing.T) string {
	for _, c := range ModuleCandidates() {
		if strings.Contains(filepath.Base(c), "ykcs11") {
			if _, err := os.Stat(c); err == nil {
				return c
			}
		}
	}
	t.Fatal("ykcs11 is not installed: run scripts/install-deps.sh (Debian package ykcs11)")
	return ""
}

// TestYkcs11VirtualYubiKey reaches a YubiKey through ykcs11, the way an
// admin without the piv backend would: a virtual PIV card behind a private
// pcscd stands in for the YubiKey. It lists the key, signs with it through
// the PIN policy, and verifies the signature with the key read from the
// card.
func TestYkcs11VirtualYubiKey(t *testing.T) {
	d, err := pcsctest.Start(pcsctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	card, err := vpiv.New(vpiv.Config{Serial: 12345678})
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	if _, err := card.GenerateKey(0x9c, vpiv.AlgP256, vpiv.PINPolicyOnce, vpiv.TouchPolicyNever); err != nil {
		t.Fatal(err)
	}
	if err := card.Insert(d.Dialer(0)); err != nil {
		t.Fatal(err)
	}
	if err := card.WaitReady(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	// libpcsclite reads this when ykcs11 first talks to pcscd, which
	// happens when this test loads the module.
	t.Setenv("PCSCLITE_CSOCK_NAME", d.Socket)
	b := &Backend{}
	mod := "?module-path=" + ykcs11Module(t)
	keys, err := b.Keys(ctx, "pkcs11:"+mod, hsm.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	var key *hsm.Key
	for i := range keys {
		// ykcs11 names slot 9c's key "Digital Signature", CKA_ID 2.
		if keys[i].Label == "Public key for Digital Signature" {
			key = &keys[i]
		}
	}
	if key == nil || key.Type != hsm.ECDSAP256 || key.ID != "02" {
		t.Fatalf("ykcs11 does not show slot 9c's P-256 key: %+v", keys)
	}
	if key.Device.Serial == "" || key.Device.Manufacturer != "Yubico (www.yubico.com)" {
		t.Errorf("device %+v", key.Device)
	}
	pins := &countingPINs{pins: []string{"123456", "123456", "123456"}}
	s, err := b.Signer(ctx, key.URI+mod, hsm.Auth{PINs: pins})
	if err != nil {
		t.Fatal(err)
	}
	// ykcs11 marks the signature slot's key CKA_ALWAYS_AUTHENTICATE, as
	// PIV's signature slot asks for the PIN before each signature.
	if !s.(*signer).alwaysAuth || pins.count() != 1 {
		t.Errorf("always-authenticate %v, %d PIN requests after login", s.(*signer).alwaysAuth, pins.count())
	}
	d256 := sha256.Sum256(message)
	for i := 0; i < 2; i++ {
		sig, err := s.Sign(nil, d256[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if err := hsm.Verify(key.Public, d256[:], sig, crypto.SHA256); err != nil {
			t.Fatal(err)
		}
	}
	if pins.count() != 3 {
		t.Errorf("PIN asked %d times for a login and two signatures, want 3", pins.count())
	}

	// Pulled out: the error says so, and the session is dropped. ykcs11
	// 2.2.0 does not reconnect to a card put back within one C_Initialize
	// (every call then fails with CKR_DEVICE_ERROR), which is why the
	// message says to run again: a new process, here a new module
	// instance, reaches the card again.
	card.PullOut()
	pins.pins = []string{"123456"}
	if _, err := s.Sign(nil, d256[:], crypto.SHA256); !errors.Is(err, hsm.ErrRemoved) || !strings.Contains(err.Error(), "pulled out") {
		t.Errorf("signing with the card pulled out: got %v, want ErrRemoved", err)
	}
	if err := card.PutBack(); err != nil {
		t.Fatal(err)
	}
	if err := card.WaitReady(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = &Backend{}
	s2, err := b.Signer(ctx, key.URI+mod, hsm.Auth{PINs: hsm.StaticPIN("123456")})
	if err != nil {
		t.Fatalf("after putting the card back: %v", err)
	}
	if sig, err := s2.Sign(nil, d256[:], crypto.SHA256); err != nil {
		t.Errorf("signing after putting the card back: %v", err)
	} else if err := hsm.Verify(key.Public, d256[:], sig, crypto.SHA256); err != nil {
		t.Error(err)
	}

	// A wrong PIN, in a fresh module instance so no login is left over:
	// ykcs11 sets no PIN count flags, so the tries left are unknown (-1),
	// and the card's counter went down by one.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	before := card.PINRetriesLeft()
	b2 := &Backend{}
	defer b2.Close()
	_, err = b2.Signer(ctx, key.URI+mod, hsm.Auth{PINs: hsm.StaticPIN("000000")})
	var pe hsm.PINError
	if !errors.As(err, &pe) || !errors.Is(err, hsm.ErrWrongPIN) || pe.TriesLeft != -1 {
		t.Errorf("wrong PIN: got %v", err)
	}
	if card.PINRetriesLeft() != before-1 {
		t.Errorf("card has %d tries left, was %d", card.PINRetriesLeft(), before)
	}
}
