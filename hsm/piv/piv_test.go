package piv_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gopiv "github.com/go-piv/piv-go/v2/piv"
	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	tuf "github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/piv"
	"github.com/ceremony-tuf/ceremony/internal/pcsctest"
	"github.com/ceremony-tuf/ceremony/internal/vpiv"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Every test here goes through the whole real stack: hsm/piv, go-piv,
// libpcsclite, a private pcscd, vpcd and a virtual card (internal/vpiv).
// Tests share reader 0 and so do not run in parallel.

var daemon *pcsctest.Daemon

func TestMain(m *testing.M) { pcsctest.Main(m, &daemon) }

// insert puts a new card in reader 0.
func insert(t *testing.T, cfg vpiv.Config) *vpiv.Card {
	t.Helper()
	return daemon.Insert(t, 0, cfg)
}

// syncBuffer collects the backend's prompts.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var ctx = context.Background()

func pinAuth(pin string) hsm.Auth { return hsm.Auth{PINs: hsm.StaticPIN(pin)} }

func TestGenerateAttestSignVerify(t *testing.T) {
	touches := 0
	var mu sync.Mutex
	card := insert(t, vpiv.Config{Serial: 31337, Touch: func(byte) bool { mu.Lock(); touches++; mu.Unlock(); return true }})
	out := &syncBuffer{}
	b := &piv.Backend{Out: out}
	for _, tc := range []struct {
		kt          hsm.KeyType
		slot        string
		pin, touch  string
		wantTouched bool
	}{
		{hsm.Ed25519, "9c", "once", "always", true},
		{hsm.ECDSAP256, "9a", "always", "never", false},
		{hsm.ECDSAP384, "82", "never", "cached", true},
		{hsm.RSA2048, "95", "once", "never", false},
	} {
		t.Run(string(tc.kt), func(t *testing.T) {
			uri := "piv:serial=31337;slot=" + tc.slot
			start := time.Now()
			k, err := b.Generate(ctx, uri, tc.kt, hsm.GenerateOptions{PINPolicy: tc.pin, TouchPolicy: tc.touch}, hsm.Auth{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("generate %s: %v", tc.kt, time.Since(start))
			if k.URI != uri || k.Type != tc.kt || k.ID != tc.slot || k.Device.Serial != "31337" {
				t.Fatalf("key = %+v", k)
			}
			if !strings.Contains(out.String(), "factory default management key") {
				t.Fatalf("no warning about the default management key: %q", out.String())
			}
			if _, err := b.Generate(ctx, uri, tc.kt, hsm.GenerateOptions{}, hsm.Auth{}); !errors.Is(err, hsm.ErrExists) {
				t.Fatalf("generating over a key: %v", err)
			}

			// Attestation: the test CA is accepted, Yubico's roots are not.
			a, err := piv.Attest(ctx, uri, piv.AttestOptions{Roots: card.CA().Pool()})
			if err != nil {
				t.Fatal(err)
			}
			if a.Serial != 31337 || a.Slot != tc.slot || a.PINPolicy != tc.pin || a.TouchPolicy != tc.touch ||
				!a.KeyMatches || a.KeyType != tc.kt || a.Firmware != "5.7.1" || a.Roots != "custom" {
				t.Fatalf("attestation = %+v", a)
			}
			if _, err := piv.Attest(ctx, uri, piv.AttestOptions{}); !errors.Is(err, piv.ErrAttestation) {
				t.Fatalf("Yubico's roots accepted the test CA: %v", err)
			}

			// Sign, verify with roles/ and go-tuf v2.
			mu.Lock()
			before := touches
			mu.Unlock()
			s, err := b.Signer(ctx, uri, pinAuth("123456"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rk, err := roles.KeyFromPublic(s.Public())
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte(`{"_type":"root","version":1}`)
			for i := 0; i < 2; i++ {
				sig, err := roles.Sign(s, rk, msg)
				if err != nil {
					t.Fatal(err)
				}
				if err := rk.Verify(msg, sig.Sig); err != nil {
					t.Fatal(err)
				}
			}
			verifyWithGoTUF(t, s, rk)
			mu.Lock()
			touched := touches > before
			mu.Unlock()
			if touched != tc.wantTouched {
				t.Fatalf("touched = %v, want %v", touched, tc.wantTouched)
			}
			if tc.wantTouched && !strings.Contains(out.String(), "Touch YubiKey #31337") {
				t.Fatalf("no touch prompt: %q", out.String())
			}
		})
	}

	// Devices lists the card with its four keys, without a PIN.
	dks, err := b.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dks) != 1 || dks[0].Device.Serial != "31337" || len(dks[0].Keys) != 4 || dks[0].Device.Firmware != "5.7.1" ||
		!strings.Contains(dks[0].Device.Model, "YubiKey 5") {
		t.Fatalf("Devices = %+v", dks)
	}
	ks, err := b.Keys(ctx, "piv:slot=82", hsm.Auth{})
	if err != nil || len(ks) != 1 || ks[0].Type != hsm.ECDSAP384 {
		t.Fatalf("Keys = %+v, %v", ks, err)
	}
}

// verifyWithGoTUF signs a root with s and checks it with go-tuf v2, an
// independent TUF implementation.
func verifyWithGoTUF(t *testing.T, s crypto.Signer, rk *roles.Key) {
	t.Helper()
	tk := tuf.Key{Type: rk.Type, Scheme: rk.Scheme, Value: tuf.KeyVal{PublicKey: rk.Public()}}
	root := tuf.Root(time.Now().Add(time.Hour))
	root.Signed.Keys[rk.ID()] = &tk
	root.Signed.Roles["root"].KeyIDs = []string{rk.ID()}
	payload, err := cjson.EncodeCanonical(root.Signed)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := roles.Sign(s, rk, payload)
	if err != nil {
		t.Fatal(err)
	}
	root.Signatures = []tuf.Signature{{KeyID: rk.ID(), Signature: sig.Sig}}
	if err := root.VerifyDelegate("root", root); err != nil {
		t.Fatalf("go-tuf rejects the signature (%s, %s): %v", rk.Type, rk.Scheme, err)
	}
	root.Signatures[0].Signature = append([]byte(nil), sig.Sig...)
	root.Signatures[0].Signature[len(sig.Sig)/2] ^= 1
	if err := root.VerifyDelegate("root", root); err == nil {
		t.Fatal("go-tuf accepts a corrupted signature")
	}
}

func generate(t *testing.T, uri string, pinPolicy string) hsm.Key {
	t.Helper()
	k, err := (&piv.Backend{Out: &syncBuffer{}}).Generate(ctx, uri, hsm.ECDSAP256, hsm.GenerateOptions{PINPolicy: pinPolicy}, hsm.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signOnce(uri string, auth hsm.Auth) error {
	s, err := hsm.Open(ctx, uri, auth)
	if err != nil {
		return err
	}
	defer s.Close()
	d := make([]byte, 32)
	_, err = s.Sign(rand.Reader, d, crypto.SHA256)
	return err
}

func TestWrongPINCountsDownAndLastTryIsKept(t *testing.T) {
	card := insert(t, vpiv.Config{Serial: 5, PINRetries: 3})
	uri := "piv:serial=5;slot=9c"
	generate(t, uri, "always")

	err := signOnce(uri, pinAuth("999999"))
	var pe hsm.PINError
	if !errors.As(err, &pe) || !errors.Is(err, hsm.ErrWrongPIN) || pe.TriesLeft != 2 || !strings.Contains(err.Error(), "2 tries left") {
		t.Fatalf("first wrong PIN: %v", err)
	}
	err = signOnce(uri, pinAuth("999999"))
	if !errors.As(err, &pe) || pe.TriesLeft != 1 || !strings.Contains(err.Error(), "1 tries left") {
		t.Fatalf("second wrong PIN: %v", err)
	}
	// One try left: refused without spending it, even with the right PIN.
	for _, pin := range []string{"999999", "123456"} {
		err = signOnce(uri, pinAuth(pin))
		if !errors.Is(err, hsm.ErrLastTry) || !strings.Contains(err.Error(), "--allow-last-pin-try") {
			t.Fatalf("last try: %v", err)
		}
		if n := card.PINRetriesLeft(); n != 1 {
			t.Fatalf("the last try was spent: %d left", n)
		}
	}
	// With the flag, the right PIN goes through and resets the counter.
	if err := signOnce(uri, hsm.Auth{PINs: hsm.StaticPIN("123456"), Policy: hsm.PINPolicy{AllowLastTry: true}}); err != nil {
		t.Fatal(err)
	}
	if n := card.PINRetriesLeft(); n != 3 {
		t.Fatalf("tries after a good PIN: %d", n)
	}
}

func TestBlockedPINSaysUsePUK(t *testing.T) {
	card := insert(t, vpiv.Config{Serial: 6, PINRetries: 1})
	uri := "piv:serial=6"
	generate(t, uri, "once")
	allow := hsm.PINPolicy{AllowLastTry: true}
	err := signOnce(uri, hsm.Auth{PINs: hsm.StaticPIN("000000"), Policy: allow})
	if !errors.Is(err, hsm.ErrPINLocked) || !strings.Contains(err.Error(), "PUK") || !strings.Contains(err.Error(), "unblock-pin") {
		t.Fatalf("blocked PIN: %v", err)
	}
	err = signOnce(uri, hsm.Auth{PINs: hsm.StaticPIN("123456"), Policy: allow})
	if !errors.Is(err, hsm.ErrPINLocked) || card.PINRetriesLeft() != 0 {
		t.Fatalf("signing with a blocked PIN: %v", err)
	}
}

// typoThenRight is a person who mistypes once.
type typoThenRight struct{ reqs []hsm.PINRequest }

func (p *typoThenRight) PIN(req hsm.PINRequest) ([]byte, error) {
	p.reqs = append(p.reqs, req)
	if len(p.reqs) == 1 {
		return []byte("12345"), nil
	}
	return []byte("123456"), nil
}

func TestPINRetryAsksAgain(t *testing.T) {
	insert(t, vpiv.Config{Serial: 7})
	uri := "piv:slot=9c"
	generate(t, uri, "once")
	p := &typoThenRight{}
	if err := signOnce(uri, hsm.Auth{PINs: p}); err != nil {
		t.Fatal(err)
	}
	if len(p.reqs) != 2 || p.reqs[0].TriesLeft != 3 || p.reqs[0].Retry || !p.reqs[1].Retry || p.reqs[1].TriesLeft != 2 {
		t.Fatalf("requests = %+v", p.reqs)
	}
	// No PIN source at all: a clear error, no try spent.
	if err := signOnce(uri, hsm.Auth{}); !errors.Is(err, hsm.ErrNotLoggedIn) {
		t.Fatalf("no PIN source: %v", err)
	}
}

func TestPulledOutMidSigningThenBack(t *testing.T) {
	card := insert(t, vpiv.Config{Serial: 8})
	uri := "piv:serial=8;slot=9c"
	generate(t, uri, "once")
	s, err := hsm.Open(ctx, uri, pinAuth("123456"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := make([]byte, 32)
	if _, err := s.Sign(rand.Reader, d, crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	card.PullOutOn(0x87) // the next GENERAL AUTHENTICATE, that is, the signature
	_, err = s.Sign(rand.Reader, d, crypto.SHA256)
	if !errors.Is(err, hsm.ErrRemoved) || !strings.Contains(err.Error(), "plug it back in") {
		t.Fatalf("pulled out: %v", err)
	}
	t.Log(err)
	if err := daemon.WaitEmpty(0); err != nil { // pcscd polls every 400 ms
		t.Fatal(err)
	}
	if _, err := s.Sign(rand.Reader, d, crypto.SHA256); !errors.Is(err, hsm.ErrNotFound) {
		t.Fatalf("signing while out: %v", err)
	}
	daemon.PutBack(t, 0, card)
	sig, err := s.Sign(rand.Reader, d, crypto.SHA256)
	if err != nil {
		t.Fatalf("after putting it back: %v", err)
	}
	if err := hsm.Verify(s.Public(), d, sig, crypto.SHA256); err != nil {
		t.Fatal(err)
	}
}

func TestPINProtectedManagementKey(t *testing.T) {
	insert(t, vpiv.Config{Serial: 9})
	// Set the card up as 'ykman piv access change-management-key --protect' does.
	yk, err := gopiv.Open(daemon.Readers[0])
	if err != nil {
		t.Fatal(err)
	}
	mk := make([]byte, 24)
	rand.Read(mk)
	if err := yk.SetManagementKey(gopiv.DefaultManagementKey, mk); err != nil {
		t.Fatal(err)
	}
	if err := yk.SetMetadata(mk, &gopiv.Metadata{ManagementKey: &mk}); err != nil {
		t.Fatal(err)
	}
	yk.Close()

	out := &syncBuffer{}
	b := &piv.Backend{Out: out}
	if _, err := b.Generate(ctx, "piv:slot=9c", hsm.ECDSAP256, hsm.GenerateOptions{}, hsm.Auth{}); !errors.Is(err, hsm.ErrNotLoggedIn) {
		t.Fatalf("generate without a PIN: %v", err)
	}
	if _, err := b.Generate(ctx, "piv:slot=9c", hsm.ECDSAP256, hsm.GenerateOptions{}, pinAuth("123456")); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "default") {
		t.Fatalf("warned about a default key: %q", out.String())
	}
	for _, forbidden := range []string{hex.EncodeToString(mk), "123456"} {
		if strings.Contains(out.String(), forbidden) {
			t.Fatal("a secret reached the output")
		}
	}
}

func TestOldFirmware(t *testing.T) {
	// Firmware 5.2 has no key metadata and a 3DES management key; the
	// slot's policies come from its attestation.
	card := insert(t, vpiv.Config{Serial: 10, Firmware: [3]byte{5, 2, 7}})
	b := &piv.Backend{Out: &syncBuffer{}}
	if _, err := b.Generate(ctx, "piv:slot=9c", hsm.Ed25519, hsm.GenerateOptions{}, hsm.Auth{}); !errors.Is(err, hsm.ErrUnsupported) || !strings.Contains(err.Error(), "5.7") {
		t.Fatalf("Ed25519 on 5.2.7: %v", err)
	}
	if _, err := b.Generate(ctx, "piv:slot=9c", hsm.ECDSAP384, hsm.GenerateOptions{PINPolicy: "always"}, hsm.Auth{}); err != nil {
		t.Fatal(err)
	}
	a, err := piv.Attest(ctx, "piv:slot=9c", piv.AttestOptions{Roots: card.CA().Pool()})
	if err != nil || a.PINPolicy != "always" || !a.KeyMatches {
		t.Fatalf("attest = %+v, %v", a, err)
	}
	if err := signOnce("piv:slot=9c", pinAuth("123456")); err != nil {
		t.Fatal(err)
	}
}

func TestNoCard(t *testing.T) {
	_, err := hsm.Open(ctx, "piv:serial=1", pinAuth("123456"))
	if !errors.Is(err, hsm.ErrNotFound) || !strings.Contains(err.Error(), "serial 1") {
		t.Fatalf("no card: %v", err)
	}
	if _, err := hsm.Open(ctx, "piv:slot=9b", hsm.Auth{}); !errors.Is(err, hsm.ErrBadURI) {
		t.Fatalf("bad slot: %v", err)
	}
}

func TestSignerHoldsTheCardUntilClose(t *testing.T) {
	insert(t, vpiv.Config{Serial: 12})
	generate(t, "piv:", "once")
	s, err := hsm.Open(ctx, "piv:", pinAuth("123456"))
	if err != nil {
		t.Fatal(err)
	}
	// go-piv holds the card exclusively: a second program is told who to
	// close.
	if _, err := (&piv.Backend{}).Keys(ctx, "piv:", hsm.Auth{}); err == nil || !strings.Contains(err.Error(), "another program holds the YubiKey") {
		t.Fatalf("second open while a signer holds the card: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ks, err := (&piv.Backend{}).Keys(ctx, "piv:", hsm.Auth{})
	if err != nil || len(ks) != 1 {
		t.Fatalf("after Close: %v, %v", ks, err)
	}
	// The signer logged in; the next program must not inherit that.
	yk, err := gopiv.Open(daemon.Readers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer yk.Close()
	if n, err := yk.Retries(); err != nil || n != 3 {
		t.Fatalf("after Close the card is still logged in: %d, %v", n, err)
	}
}

func TestNoSecretInErrors(t *testing.T) {
	insert(t, vpiv.Config{Serial: 13})
	generate(t, "piv:", "always")
	err := signOnce("piv:", pinAuth("87654321"))
	if err == nil || strings.Contains(err.Error(), "87654321") {
		t.Fatalf("wrong PIN error: %v", err)
	}
	err = signOnce("piv:", pinAuth("123456789"))
	if !errors.Is(err, hsm.ErrWrongPIN) || strings.Contains(err.Error(), "123456789") || !strings.Contains(err.Error(), "no try was spent") {
		t.Fatalf("too long a PIN: %v", err)
	}
}

func TestTouchPromptBeforeTheCardWaits(t *testing.T) {
	out := &syncBuffer{}
	var touch, promptedFirst atomic.Bool
	touch.Store(true)
	insert(t, vpiv.Config{Serial: 14, Touch: func(byte) bool {
		// The card is waiting now: the user must already have been told.
		promptedFirst.Store(strings.Contains(out.String(), "Touch YubiKey #14 now"))
		return touch.Load()
	}})
	b := &piv.Backend{Out: out}
	if _, err := b.Generate(ctx, "piv:slot=9e", hsm.ECDSAP256, hsm.GenerateOptions{PINPolicy: "never", TouchPolicy: "always"}, hsm.Auth{}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(ctx, "piv:slot=9e", hsm.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := make([]byte, 32)
	if _, err := s.Sign(rand.Reader, d, crypto.SHA256); err != nil || !promptedFirst.Load() {
		t.Fatalf("sign: %v; prompted before the card waited: %v", err, promptedFirst.Load())
	}
	touch.Store(false) // the user never touches it: the card times out
	if _, err := s.Sign(rand.Reader, d, crypto.SHA256); !errors.Is(err, hsm.ErrNotLoggedIn) || !strings.Contains(err.Error(), "not touched in time") {
		t.Fatalf("no touch: %v", err)
	}
}

func TestQuickReinsertAndOfflineAttestation(t *testing.T) {
	card := insert(t, vpiv.Config{Serial: 15})
	generate(t, "piv:", "once")
	s, err := hsm.Open(ctx, "piv:", pinAuth("123456"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := make([]byte, 32)
	// Out and back in before pcscd's next poll: pcscd never sees the card
	// leave, yet the signer must recover.
	card.PullOutOn(0x87)
	if _, err := s.Sign(rand.Reader, d, crypto.SHA256); !errors.Is(err, hsm.ErrRemoved) {
		t.Fatalf("pulled out: %v", err)
	}
	daemon.PutBack(t, 0, card)
	if _, err := s.Sign(rand.Reader, d, crypto.SHA256); err != nil {
		t.Fatalf("after a quick reinsert: %v", err)
	}
	s.Close()

	// An auditor re-verifies the recorded certificates without the card.
	a, err := piv.Attest(ctx, "piv:", piv.AttestOptions{Roots: card.CA().Pool()})
	if err != nil {
		t.Fatal(err)
	}
	dev, slot := parsePEM(t, a.DeviceCertificate), parsePEM(t, a.SlotCertificate)
	b, err := piv.VerifyAttestation(dev, slot, piv.AttestOptions{Roots: card.CA().Pool()})
	if err != nil || b.Serial != 15 || b.Slot != "9c" || b.PINPolicy != "once" {
		t.Fatalf("offline: %+v, %v", b, err)
	}
	if !samePub(slot.PublicKey, card.PublicKey(0x9c)) {
		t.Fatal("the recorded slot certificate is not for the slot's key")
	}
	other, err := vpiv.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := piv.VerifyAttestation(dev, slot, piv.AttestOptions{Roots: other.Pool()}); !errors.Is(err, piv.ErrAttestation) {
		t.Fatalf("another CA: %v", err)
	}
}

func parsePEM(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("no PEM in %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func samePub(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// BenchmarkSignP256 measures one signature through the whole stack
// (go-piv, libpcsclite, pcscd, vpcd, the virtual card), PIN once.
func BenchmarkSignP256(b *testing.B) {
	card := daemon.Insert(b, 1, vpiv.Config{Serial: 16})
	if _, err := card.GenerateKey(0x9c, vpiv.AlgP256, vpiv.PINPolicyOnce, vpiv.TouchPolicyNever); err != nil {
		b.Fatal(err)
	}
	s, err := hsm.Open(ctx, "piv:serial=16", pinAuth("123456"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	d := make([]byte, 32)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Sign(rand.Reader, d, crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

func TestImportedKeyIsNotAttested(t *testing.T) {
	card := insert(t, vpiv.Config{Serial: 17})
	yk, err := gopiv.Open(daemon.Readers[0])
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	err = yk.SetPrivateKeyInsecure(gopiv.DefaultManagementKey, gopiv.SlotSignature, priv, gopiv.Key{PINPolicy: gopiv.PINPolicyNever, TouchPolicy: gopiv.TouchPolicyNever})
	yk.Close()
	if err != nil {
		t.Fatal(err)
	}
	// It is listed and signs, but attestation refuses it: a key made
	// outside the YubiKey may have been copied.
	ks, err := (&piv.Backend{}).Keys(ctx, "piv:slot=9c", hsm.Auth{})
	if err != nil || len(ks) != 1 || !samePub(ks[0].Public, &priv.PublicKey) {
		t.Fatalf("Keys = %+v, %v", ks, err)
	}
	if err := signOnce("piv:", hsm.Auth{}); err != nil {
		t.Fatal(err)
	}
	if _, err := piv.Attest(ctx, "piv:", piv.AttestOptions{Roots: card.CA().Pool()}); !errors.Is(err, hsm.ErrNotFound) || !strings.Contains(err.Error(), "imported keys cannot be attested") {
		t.Fatalf("attesting an imported key: %v", err)
	}
}

func TestTwoYubiKeys(t *testing.T) {
	insert(t, vpiv.Config{Serial: 21})
	second := daemon.Insert(t, 1, vpiv.Config{Serial: 22, Firmware: [3]byte{5, 4, 3}})
	b := &piv.Backend{Out: &syncBuffer{}}
	dks, err := b.Devices(ctx)
	if err != nil || len(dks) != 2 || dks[0].Device.Serial != "21" || dks[1].Device.Serial != "22" || dks[1].Device.Firmware != "5.4.3" {
		t.Fatalf("Devices = %+v, %v", dks, err)
	}
	// Without a serial the URI is ambiguous, and the error lists both.
	_, err = b.Generate(ctx, "piv:slot=9c", hsm.ECDSAP256, hsm.GenerateOptions{}, hsm.Auth{})
	if !errors.Is(err, hsm.ErrAmbiguous) || !strings.Contains(err.Error(), "21, 22") {
		t.Fatalf("ambiguous: %v", err)
	}
	if _, err := b.Generate(ctx, "piv:serial=22;slot=9c", hsm.ECDSAP256, hsm.GenerateOptions{}, hsm.Auth{}); err != nil {
		t.Fatal(err)
	}
	if second.PublicKey(0x9c) == nil {
		t.Fatal("the key went to the wrong YubiKey")
	}
}
