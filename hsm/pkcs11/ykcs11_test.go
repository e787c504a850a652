package pkcs11

import (
	"crypto"
	"crypto/sha256"
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
	defer b.Close()
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
}
