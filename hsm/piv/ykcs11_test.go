package piv_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/piv"
	hsmpkcs11 "github.com/ceremony-tuf/ceremony/hsm/pkcs11"
	"github.com/ceremony-tuf/ceremony/internal/vpiv"
	"github.com/ceremony-tuf/ceremony/roles"
)

// ykcs11Path is where Debian's ykcs11 package puts Yubico's PKCS#11 module.
const ykcs11Path = "/usr/lib/x86_64-linux-gnu/libykcs11.so"

// TestYKCS11SignsOnTheSameCard drives the virtual card with Yubico's own
// PKCS#11 module: a key generated through hsm/piv (which stores the
// attestation certificate in the slot, where ykcs11 looks for keys) signs
// through PKCS#11 too. This is the proof that a YubiKey also works on the
// pkcs11 path. ykcs11 only talks to readers named "Yubico…", which
// pcsctest's reader name satisfies.
func TestYKCS11SignsOnTheSameCard(t *testing.T) {
	if _, err := os.Stat(ykcs11Path); err != nil {
		t.Fatalf("ykcs11 is missing (%v): run scripts/install-deps.sh", err)
	}
	insert(t, vpiv.Config{Serial: 11})
	k, err := (&piv.Backend{Out: &syncBuffer{}}).Generate(ctx, "piv:slot=9c", hsm.ECDSAP256, hsm.GenerateOptions{}, hsm.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public.(*ecdsa.PublicKey)

	p := pkcs11.New(ykcs11Path)
	if p == nil {
		t.Fatalf("cannot load %s", ykcs11Path)
	}
	defer p.Destroy()
	if err := p.Initialize(); err != nil && err != pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		t.Fatal(err)
	}
	defer p.Finalize()
	slots, err := p.GetSlotList(true)
	if err != nil || len(slots) == 0 {
		t.Fatalf("ykcs11 sees no token: %v, %v", slots, err)
	}
	ti, err := p.GetTokenInfo(slots[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ykcs11 token: %q serial %q model %q", strings.TrimSpace(ti.Label), strings.TrimSpace(ti.SerialNumber), strings.TrimSpace(ti.Model))
	sess, err := p.OpenSession(slots[0], pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer p.CloseSession(sess)
	if err := p.Login(sess, pkcs11.CKU_USER, "123456"); err != nil {
		t.Fatal(err)
	}
	defer p.Logout(sess)
	if err := p.FindObjectsInit(sess, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)}); err != nil {
		t.Fatal(err)
	}
	objs, _, err := p.FindObjects(sess, 32)
	p.FindObjectsFinal(sess)
	if err != nil || len(objs) == 0 {
		t.Fatalf("ykcs11 lists no private key: %v", err)
	}
	digest := sha256.Sum256([]byte("signed through ykcs11"))
	for _, o := range objs {
		if err := p.SignInit(sess, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, o); err != nil {
			continue
		}
		sig, err := p.Sign(sess, digest[:])
		if err != nil || len(sig) != 64 {
			continue
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if ecdsa.Verify(pub, digest[:], r, s) {
			return // signed by the key hsm/piv generated
		}
	}
	t.Fatalf("none of ykcs11's %d private keys made a signature that verifies with the key in slot 9c", len(objs))
}

// TestYKCS11ThroughHSMPKCS11 is the same proof through this project's own
// PKCS#11 backend: a YubiKey's keys found and used by pkcs11: URIs, with
// every signature checked in software.
func TestYKCS11ThroughHSMPKCS11(t *testing.T) {
	insert(t, vpiv.Config{Serial: 18})
	pb := &piv.Backend{Out: &syncBuffer{}}
	want := map[hsm.KeyType]crypto.PublicKey{}
	for slot, kt := range map[string]hsm.KeyType{"9c": hsm.ECDSAP256, "9a": hsm.ECDSAP384, "9e": hsm.RSA2048} {
		k, err := pb.Generate(ctx, "piv:slot="+slot, kt, hsm.GenerateOptions{}, hsm.Auth{})
		if err != nil {
			t.Fatal(err)
		}
		want[kt] = k.Public
	}

	b := &hsmpkcs11.Backend{}
	defer b.Close()
	auth := hsm.Auth{PINs: hsm.StaticPIN("123456")}
	ks, err := b.Keys(ctx, "pkcs11:token=YubiKey%20PIV%20%2318?module-path="+ykcs11Path, auth)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, k := range ks {
		pub, ok := want[k.Type]
		if !ok || !samePub(k.Public, pub) {
			continue
		}
		found++
		s, err := b.Signer(ctx, k.URI, auth)
		if err != nil {
			t.Fatalf("%s: %v", k.URI, err)
		}
		rk, err := roles.KeyFromPublic(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("signed through hsm/pkcs11 and ykcs11")
		sig, err := roles.Sign(s, rk, msg)
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", k.URI, err)
		}
		if err := rk.Verify(msg, sig.Sig); err != nil {
			t.Fatal(err)
		}
		t.Logf("signed with %s (%s)", k.URI, k.Type)
	}
	if found != len(want) {
		t.Fatalf("hsm/pkcs11 found %d of the %d keys through ykcs11: %+v", found, len(want), ks)
	}
}
