package vpiv_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/internal/pcsctest"
	"github.com/ceremony-tuf/ceremony/internal/vpiv"
	"github.com/go-piv/piv-go/v2/piv"
)

// These tests drive the virtual card through the whole real stack: go-piv,
// libpcsclite, a private pcscd, the vpcd driver and the card's socket.

var daemon *pcsctest.Daemon

func TestMain(m *testing.M) { pcsctest.Main(m, &daemon) }

// insert puts a new card in reader 0 and opens it with go-piv. Tests using
// reader 0 must not run in parallel.
func insert(t *testing.T, cfg vpiv.Config) (*vpiv.Card, *piv.YubiKey) {
	t.Helper()
	card := daemon.Insert(t, 0, cfg)
	yk, err := piv.Open(daemon.Readers[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { yk.Close() })
	return card, yk
}

func TestIdentity(t *testing.T) {
	_, yk := insert(t, vpiv.Config{Serial: 424242, Firmware: [3]byte{5, 7, 2}, FormFactor: piv.FormfactorUSBCNano})
	s, err := yk.Serial()
	if err != nil || s != 424242 {
		t.Fatalf("Serial = %d, %v; want 424242", s, err)
	}
	if v := yk.Version(); v != (piv.Version{Major: 5, Minor: 7, Patch: 2}) {
		t.Fatalf("Version = %v", v)
	}
	ff, err := yk.FormFactor()
	if err != nil || ff != piv.FormfactorUSBCNano {
		t.Fatalf("FormFactor = %v, %v", ff, err)
	}
	// The F9 certificate comes back in several GET RESPONSE pieces.
	if _, err := yk.AttestationCertificate(); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateAttestSign(t *testing.T) {
	card, yk := insert(t, vpiv.Config{Serial: 7654321})
	for _, tc := range []struct {
		alg  piv.Algorithm
		slot piv.Slot
		pp   piv.PINPolicy
		tp   piv.TouchPolicy
	}{
		{piv.AlgorithmEC256, piv.SlotSignature, piv.PINPolicyAlways, piv.TouchPolicyAlways},
		{piv.AlgorithmEC384, piv.SlotAuthentication, piv.PINPolicyOnce, piv.TouchPolicyNever},
		{piv.AlgorithmEd25519, piv.SlotCardAuthentication, piv.PINPolicyNever, piv.TouchPolicyCached},
		{piv.AlgorithmRSA2048, mustRetired(t, 0x82), piv.PINPolicyOnce, piv.TouchPolicyNever},
	} {
		t.Run(fmt.Sprint(tc.alg, "/", tc.slot), func(t *testing.T) {
			pub, err := yk.GenerateKey(piv.DefaultManagementKey, tc.slot, piv.Key{Algorithm: tc.alg, PINPolicy: tc.pp, TouchPolicy: tc.tp})
			if err != nil {
				t.Fatal(err)
			}
			slotCert, err := yk.Attest(tc.slot)
			if err != nil {
				t.Fatal(err)
			}
			devCert, err := yk.AttestationCertificate()
			if err != nil {
				t.Fatal(err)
			}
			a, err := (&piv.Verifier{Roots: card.CA().Pool()}).Verify(devCert, slotCert)
			if err != nil {
				t.Fatalf("test CA rejected: %v", err)
			}
			if a.Serial != 7654321 || a.Slot != tc.slot || a.PINPolicy != tc.pp || a.TouchPolicy != tc.tp || a.Version.Major != 5 {
				t.Fatalf("attestation = %+v", a)
			}
			if _, err := piv.Verify(devCert, slotCert); err == nil {
				t.Fatal("Yubico's roots accepted a test CA attestation")
			}
			info, err := yk.KeyInfo(tc.slot)
			if err != nil || info.PINPolicy != tc.pp || info.TouchPolicy != tc.tp {
				t.Fatalf("KeyInfo = %+v, %v", info, err)
			}
			priv, err := yk.PrivateKey(tc.slot, pub, piv.KeyAuth{PIN: piv.DefaultPIN})
			if err != nil {
				t.Fatal(err)
			}
			signer := priv.(crypto.Signer)
			msg := []byte("the signed part of root.json")
			for i := 0; i < 2; i++ { // twice: PIN policies "once" and "always" differ on the second
				verifySig(t, signer, pub, msg)
			}
		})
	}
}

func mustRetired(t *testing.T, key uint32) piv.Slot {
	s, ok := piv.RetiredKeyManagementSlot(key)
	if !ok {
		t.Fatalf("no slot %x", key)
	}
	return s
}

func verifySig(t *testing.T, s crypto.Signer, pub crypto.PublicKey, msg []byte) {
	t.Helper()
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		sig, err := s.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(pub, msg, sig) {
			t.Fatal("ed25519 signature does not verify")
		}
	case *ecdsa.PublicKey:
		var d []byte
		if pub.Curve.Params().BitSize == 384 {
			h := sha512.Sum384(msg)
			d = h[:]
		} else {
			h := sha256.Sum256(msg)
			d = h[:]
		}
		sig, err := s.Sign(rand.Reader, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(pub, d, sig) {
			t.Fatal("ecdsa signature does not verify")
		}
	case *rsa.PublicKey:
		h := sha256.Sum256(msg)
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		sig, err := s.Sign(rand.Reader, h[:], opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := rsa.VerifyPSS(pub, crypto.SHA256, h[:], sig, opts); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unexpected key %T", pub)
	}
}

func TestTripleDESManagementKeyOldFirmware(t *testing.T) {
	// Before 5.3 there is no metadata: go-piv assumes 3DES and reads the
	// PIN policy from the attestation.
	_, yk := insert(t, vpiv.Config{Firmware: [3]byte{5, 2, 7}})
	pub, err := yk.GenerateKey(piv.DefaultManagementKey, piv.SlotSignature, piv.Key{Algorithm: piv.AlgorithmEC256, PINPolicy: piv.PINPolicyOnce, TouchPolicy: piv.TouchPolicyNever})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := yk.PrivateKey(piv.SlotSignature, pub, piv.KeyAuth{PIN: piv.DefaultPIN})
	if err != nil {
		t.Fatal(err)
	}
	verifySig(t, priv.(crypto.Signer), pub, []byte("m"))
	if _, err := yk.GenerateKey(piv.DefaultManagementKey, piv.SlotAuthentication, piv.Key{Algorithm: piv.AlgorithmEd25519, PINPolicy: piv.PINPolicyOnce, TouchPolicy: piv.TouchPolicyNever}); err == nil {
		t.Fatal("firmware 5.2.7 generated an Ed25519 key")
	}
	wrong := make([]byte, 24)
	if _, err := yk.GenerateKey(wrong, piv.SlotAuthentication, piv.Key{Algorithm: piv.AlgorithmEC256, PINPolicy: piv.PINPolicyOnce, TouchPolicy: piv.TouchPolicyNever}); err == nil {
		t.Fatal("a wrong management key was accepted")
	}
}

func TestPINCountdownBlockAndUnblock(t *testing.T) {
	card, yk := insert(t, vpiv.Config{PINRetries: 3})
	for want := 2; want >= 0; want-- {
		err := yk.VerifyPIN("000000")
		var ae piv.AuthErr
		if !errors.As(err, &ae) || ae.Retries != want {
			t.Fatalf("wrong PIN: %v; want %d retries left", err, want)
		}
	}
	if err := yk.VerifyPIN(piv.DefaultPIN); err == nil || !strings.Contains(err.Error(), "blocked") {
		t.Fatalf("blocked PIN: %v", err)
	}
	if n, err := yk.Retries(); err != nil || n != 0 {
		t.Fatalf("Retries = %d, %v", n, err)
	}
	if err := yk.Unblock(piv.DefaultPUK, "654321"); err != nil {
		t.Fatal(err)
	}
	if err := yk.VerifyPIN("654321"); err != nil {
		t.Fatal(err)
	}
	if card.PINRetriesLeft() != 3 {
		t.Fatalf("retries after unblock = %d", card.PINRetriesLeft())
	}
}

func TestCertificatesAndProtectedManagementKey(t *testing.T) {
	card, yk := insert(t, vpiv.Config{})
	if _, err := yk.GenerateKey(piv.DefaultManagementKey, piv.SlotSignature, piv.Key{Algorithm: piv.AlgorithmEC256, PINPolicy: piv.PINPolicyOnce, TouchPolicy: piv.TouchPolicyNever}); err != nil {
		t.Fatal(err)
	}
	cert, err := yk.Attest(piv.SlotSignature)
	if err != nil {
		t.Fatal(err)
	}
	// PUT DATA of a certificate is longer than 255 bytes: chained.
	if err := yk.SetCertificate(piv.DefaultManagementKey, piv.SlotSignature, cert); err != nil {
		t.Fatal(err)
	}
	got, err := yk.Certificate(piv.SlotSignature)
	if err != nil || !got.Equal(cert) {
		t.Fatalf("Certificate = %v, %v", got, err)
	}
	if _, err := yk.Certificate(piv.SlotAuthentication); !errors.Is(err, piv.ErrNotFound) {
		t.Fatalf("empty slot: %v", err)
	}

	// A PIN-protected management key, as ykman sets it up.
	newKey := make([]byte, 24)
	rand.Read(newKey)
	if err := yk.SetManagementKey(piv.DefaultManagementKey, newKey); err != nil {
		t.Fatal(err)
	}
	if err := yk.SetMetadata(newKey, &piv.Metadata{ManagementKey: &newKey}); err != nil {
		t.Fatal(err)
	}
	m, err := yk.Metadata(piv.DefaultPIN)
	if err != nil || m.ManagementKey == nil || string(*m.ManagementKey) != string(newKey) {
		t.Fatalf("Metadata = %+v, %v", m, err)
	}
	if _, err := yk.GenerateKey(*m.ManagementKey, piv.SlotAuthentication, piv.Key{Algorithm: piv.AlgorithmEC256, PINPolicy: piv.PINPolicyOnce, TouchPolicy: piv.TouchPolicyNever}); err != nil {
		t.Fatal(err)
	}
	if card.PublicKey(0x9a) == nil {
		t.Fatal("slot 9a is empty after generate")
	}
}

func TestPulledOutMidSignature(t *testing.T) {
	card, yk := insert(t, vpiv.Config{})
	pub, err := yk.GenerateKey(piv.DefaultManagementKey, piv.SlotSignature, piv.Key{Algorithm: piv.AlgorithmEC256, PINPolicy: piv.PINPolicyNever, TouchPolicy: piv.TouchPolicyNever})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := yk.PrivateKey(piv.SlotSignature, pub, piv.KeyAuth{})
	if err != nil {
		t.Fatal(err)
	}
	card.PullOutOn(0x87)
	d := sha256.Sum256([]byte("m"))
	_, err = priv.(crypto.Signer).Sign(rand.Reader, d[:], crypto.SHA256)
	if err == nil {
		t.Fatal("signing succeeded with the card pulled out")
	}
	t.Logf("pulled out: %v", err)
	yk.Close()
	if card.Inserted() {
		t.Fatal("card still inserted")
	}
	// pcscd notices at its next presence poll (every 400 ms) that the
	// card is gone; wait for the reader state it then publishes. (Not
	// for piv.Open to fail: when Open fails after connecting, go-piv
	// v2.6.0 leaks the exclusive handle.)
	if err := daemon.WaitEmpty(0); err != nil {
		t.Fatal(err)
	}
	if y, err := piv.Open(daemon.Readers[0]); err == nil {
		y.Close()
		t.Fatal("pcscd still sees the card after it was pulled out")
	} else if !strings.Contains(err.Error(), "no Smart Card") {
		t.Fatalf("open with the card out: %v", err)
	}
	daemon.PutBack(t, 0, card)
	yk2, err := piv.Open(daemon.Readers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer yk2.Close()
	priv, err = yk2.PrivateKey(piv.SlotSignature, pub, piv.KeyAuth{})
	if err != nil {
		t.Fatal(err)
	}
	verifySig(t, priv.(crypto.Signer), pub, []byte("m"))
}

func TestTwoReaders(t *testing.T) {
	// Reader 1 holds a second card while reader 0 may hold another: each
	// reader is its own vpcd port.
	daemon.Insert(t, 1, vpiv.Config{Serial: 2})
	yk, err := piv.Open(daemon.Readers[1])
	if err != nil {
		t.Fatal(err)
	}
	defer yk.Close()
	if s, err := yk.Serial(); err != nil || s != 2 {
		t.Fatalf("Serial = %d, %v", s, err)
	}
}
