package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
)

// shsm is the one SoftHSM configuration of this test binary. SoftHSM reads
// its tokens at C_Initialize, once per process, so TestMain makes every
// token the tests use, each with its own label, before anything loads it.
var shsm *softhsmtest.Env

var tokenLabels = []string{"gen", "alice", "bob", "wrongpin", "retry", "locked", "lasttry", "dup", "conc", "bench", "errs", "list", "replug"}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ceremony-softhsm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	shsm, err = softhsmtest.New(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, l := range tokenLabels {
		if _, err := shsm.InitToken(l, "", ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := shsm.SetTokenFlags("locked", p11.CKF_USER_PIN_LOCKED, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := shsm.SetTokenFlags("lasttry", p11.CKF_USER_PIN_FINAL_TRY|p11.CKF_USER_PIN_COUNT_LOW, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := shsm.Setenv(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if err := Default().Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

var ctx = context.Background()

// resetAfter empties the named tokens and logs them out when the test
// ends, so that every test starts from blank tokens and 'go test -count=N'
// runs them again in the same process (SoftHSM's tokens are made once, in
// TestMain).
func resetAfter(t *testing.T, labels ...string) {
	t.Cleanup(func() {
		for _, l := range labels {
			tok, err := Default().oneToken(&URI{Token: l})
			if err != nil {
				t.Errorf("reset %s: %v", l, err)
				continue
			}
			tok.mu.Lock()
			err = tok.loginLocked(hsm.Auth{PINs: hsm.StaticPIN(softhsmtest.UserPIN), Policy: hsm.PINPolicy{AllowLastTry: true}})
			var hs []p11.ObjectHandle
			if err == nil {
				hs, err = tok.findLocked(nil)
			}
			for _, h := range hs {
				if err == nil {
					err = tok.mod.ctx.DestroyObject(tok.sess, h)
				}
			}
			if tok.loggedIn {
				_ = tok.mod.ctx.Logout(tok.sess)
				tok.loggedIn = false
			}
			tok.mu.Unlock()
			if err != nil {
				t.Errorf("reset %s: %v", l, err)
			}
		}
	})
}

func goodAuth() hsm.Auth { return hsm.Auth{PINs: hsm.StaticPIN(softhsmtest.UserPIN)} }

// countingPINs hands out PINs from a list and counts the requests.
type countingPINs struct {
	mu   sync.Mutex
	pins []string
	reqs []hsm.PINRequest
}

func (c *countingPINs) PIN(req hsm.PINRequest) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, req)
	if len(c.pins) == 0 {
		return nil, errors.New("no more PINs")
	}
	p := c.pins[0]
	c.pins = c.pins[1:]
	return []byte(p), nil
}

func (c *countingPINs) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reqs)
}

// message and digestFor give what Sign takes for each key type.
var message = []byte(`{"_type":"root","version":8}`)

func digestFor(kt hsm.KeyType) ([]byte, crypto.SignerOpts) {
	switch kt {
	case hsm.Ed25519:
		return message, crypto.Hash(0)
	case hsm.ECDSAP384:
		d := sha512.Sum384(message)
		return d[:], crypto.SHA384
	case hsm.RSA2048, hsm.RSA3072, hsm.RSA4096:
		d := sha256.Sum256(message)
		return d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
	}
	d := sha256.Sum256(message)
	return d[:], crypto.SHA256
}

func generate(t *testing.T, uri string, kt hsm.KeyType) hsm.Key {
	t.Helper()
	k, err := Default().Generate(ctx, uri, kt, hsm.GenerateOptions{}, goodAuth())
	if err != nil {
		t.Fatalf("generate %s at %s: %v", kt, uri, err)
	}
	return k
}

func open(t *testing.T, uri string) hsm.Signer {
	t.Helper()
	s, err := Default().Signer(ctx, uri, goodAuth())
	if err != nil {
		t.Fatalf("signer %s: %v", uri, err)
	}
	return s
}

// TestGenerateSignVerify generates every key type on the token, reads the
// public key back, signs through the hsm.Signer and checks the signature in
// software.
func TestGenerateSignVerify(t *testing.T) {
	resetAfter(t, "gen")
	for _, kt := range []hsm.KeyType{hsm.Ed25519, hsm.ECDSAP256, hsm.ECDSAP384, hsm.RSA3072} {
		t.Run(string(kt), func(t *testing.T) {
			k := generate(t, "pkcs11:token=gen;object=sv-"+string(kt), kt)
			if k.Type != kt || k.Label != "sv-"+string(kt) || len(k.ID) != 32 {
				t.Fatalf("generated key: %+v", k)
			}
			if got, err := hsm.KeyTypeOf(k.Public); err != nil || got != kt {
				t.Fatalf("public key read back is %T (%v, %v)", k.Public, got, err)
			}
			if !strings.Contains(k.URI, "token=gen") || !strings.Contains(k.URI, "object=sv-"+string(kt)) {
				t.Errorf("key URI %s does not name token and object", k.URI)
			}
			s := open(t, k.URI)
			defer s.Close()
			if s.Key().URI != k.URI {
				t.Errorf("signer key URI %s, want %s", s.Key().URI, k.URI)
			}
			in, opts := digestFor(kt)
			sig, err := s.Sign(nil, in, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := hsm.Verify(s.Public(), in, sig, opts); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.Public().(*ecdsa.PublicKey); ok {
				// DER, as Go's own ecdsa signer returns, not r‖s.
				if sig[0] != 0x30 {
					t.Errorf("ECDSA signature is not DER: %x", sig)
				}
			}
			verifyWithRolesAndGoTUF(t, s, kt)
		})
	}
}

// TestRSAPSSSaltLengths: whatever salt length rsa.PSSOptions names, a
// signature's salt is as long as the digest, the one length go-tuf
// accepts; another explicit length is refused.
func TestRSAPSSSaltLengths(t *testing.T) {
	resetAfter(t, "gen")
	k := generate(t, "pkcs11:token=gen;object=pss", hsm.RSA2048)
	s := open(t, k.URI)
	d := sha256.Sum256(message)
	for _, salt := range []int{rsa.PSSSaltLengthEqualsHash, rsa.PSSSaltLengthAuto, 32} {
		opts := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: salt}
		sig, err := s.Sign(nil, d[:], opts)
		if err != nil {
			t.Fatalf("salt %d: %v", salt, err)
		}
		if err := rsa.VerifyPSS(k.Public.(*rsa.PublicKey), crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: 32}); err != nil {
			t.Errorf("salt %d: the signature's salt is not 32 bytes: %v", salt, err)
		}
	}
	if _, err := s.Sign(nil, d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}); !errors.Is(err, hsm.ErrUnsupported) {
		t.Errorf("salt 20: got %v, want ErrUnsupported", err)
	}
	if _, err := s.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, hsm.ErrUnsupported) {
		t.Errorf("PKCS #1 v1.5: got %v, want ErrUnsupported", err)
	}
	var nilPSS *rsa.PSSOptions
	if _, err := s.Sign(nil, d[:], nilPSS); err == nil {
		t.Error("nil *rsa.PSSOptions accepted")
	}
	if _, err := s.Sign(nil, d[:10], &rsa.PSSOptions{Hash: crypto.SHA256}); err == nil {
		t.Error("short digest accepted")
	}
}

// TestPrivateKeyStaysOnToken checks the attributes that keep the private
// key on the token, and that the token refuses to hand out its value.
func TestPrivateKeyStaysOnToken(t *testing.T) {
	resetAfter(t, "gen")
	for _, kt := range []hsm.KeyType{hsm.Ed25519, hsm.ECDSAP256, hsm.RSA2048} {
		k := generate(t, "pkcs11:token=gen;object=attrs-"+string(kt), kt)
		u, _ := ParseURI(k.URI)
		tok, err := Default().oneToken(u)
		if err != nil {
			t.Fatal(err)
		}
		tok.mu.Lock()
		if err := tok.loginLocked(goodAuth()); err != nil {
			tok.mu.Unlock()
			t.Fatal(err)
		}
		hs, err := tok.findLocked(objectTemplate(p11.CKO_PRIVATE_KEY, u))
		if err != nil || len(hs) != 1 {
			tok.mu.Unlock()
			t.Fatalf("find private key: %v, %d found", err, len(hs))
		}
		attrs, err := tok.mod.ctx.GetAttributeValue(tok.sess, hs[0], []*p11.Attribute{
			p11.NewAttribute(p11.CKA_TOKEN, nil),
			p11.NewAttribute(p11.CKA_PRIVATE, nil),
			p11.NewAttribute(p11.CKA_SENSITIVE, nil),
			p11.NewAttribute(p11.CKA_EXTRACTABLE, nil),
			p11.NewAttribute(p11.CKA_ALWAYS_SENSITIVE, nil),
			p11.NewAttribute(p11.CKA_NEVER_EXTRACTABLE, nil),
			p11.NewAttribute(p11.CKA_SIGN, nil),
			p11.NewAttribute(p11.CKA_DECRYPT, nil),
			p11.NewAttribute(p11.CKA_UNWRAP, nil),
			p11.NewAttribute(p11.CKA_DERIVE, nil),
		})
		var valueErr error
		if err == nil {
			attr := p11.CKA_VALUE
			if kt == hsm.RSA2048 {
				attr = p11.CKA_PRIVATE_EXPONENT
			}
			_, valueErr = tok.mod.ctx.GetAttributeValue(tok.sess, hs[0], []*p11.Attribute{p11.NewAttribute(uint(attr), nil)})
		}
		tok.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		// Sensitive, never extractable, and for signing only.
		want := []byte{1, 1, 1, 0, 1, 1, 1, 0, 0, 0}
		names := []string{"CKA_TOKEN", "CKA_PRIVATE", "CKA_SENSITIVE", "CKA_EXTRACTABLE", "CKA_ALWAYS_SENSITIVE", "CKA_NEVER_EXTRACTABLE",
			"CKA_SIGN", "CKA_DECRYPT", "CKA_UNWRAP", "CKA_DERIVE"}
		for i, a := range attrs {
			if len(a.Value) != 1 || a.Value[0] != want[i] {
				t.Errorf("%s: %s = %v, want %d", kt, names[i], a.Value, want[i])
			}
		}
		if !isCode(valueErr, p11.CKR_ATTRIBUTE_SENSITIVE) {
			t.Errorf("%s: reading the private value: got %v, want CKR_ATTRIBUTE_SENSITIVE", kt, valueErr)
		}
	}
}

// TestGenerateRefusesExisting: a label or id already on the token is never
// overwritten or duplicated.
func TestGenerateRefusesExisting(t *testing.T) {
	resetAfter(t, "gen")
	k := generate(t, "pkcs11:token=gen;object=taken;id=%01%02", hsm.ECDSAP256)
	if k.ID != "0102" {
		t.Errorf("id %s, want 0102", k.ID)
	}
	_, err := Default().Generate(ctx, "pkcs11:token=gen;object=taken", hsm.Ed25519, hsm.GenerateOptions{}, goodAuth())
	if !errors.Is(err, hsm.ErrExists) || !strings.Contains(err.Error(), `"taken"`) {
		t.Errorf("same label: got %v, want ErrExists naming the label", err)
	}
	_, err = Default().Generate(ctx, "pkcs11:token=gen;object=other;id=%01%02", hsm.Ed25519, hsm.GenerateOptions{}, goodAuth())
	if !errors.Is(err, hsm.ErrExists) || !strings.Contains(err.Error(), "0102") {
		t.Errorf("same id: got %v, want ErrExists naming the id", err)
	}
	_, err = Default().Generate(ctx, "pkcs11:token=gen", hsm.Ed25519, hsm.GenerateOptions{}, goodAuth())
	if !errors.Is(err, hsm.ErrBadURI) {
		t.Errorf("no label: got %v, want ErrBadURI", err)
	}
	_, err = Default().Generate(ctx, "pkcs11:object=x", hsm.Ed25519, hsm.GenerateOptions{}, goodAuth())
	if !errors.Is(err, hsm.ErrAmbiguous) {
		t.Errorf("no token named with several present: got %v, want ErrAmbiguous", err)
	}
}

// TestWrongPIN: a wrong PIN is reported with the tries left as the token
// tells them (SoftHSM keeps no counter: -1, "unknown"), and the right PIN
// still works afterwards.
func TestWrongPIN(t *testing.T) {
	resetAfter(t, "wrongpin")
	k := func() hsm.Key {
		pins := &countingPINs{pins: []string{softhsmtest.UserPIN}}
		k, err := Default().Generate(ctx, "pkcs11:token=wrongpin;object=k", hsm.ECDSAP256, hsm.GenerateOptions{}, hsm.Auth{PINs: pins})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}()
	// Start from a logged-out token: the key was generated in this process.
	logout(t, "wrongpin")
	_, err := Default().Signer(ctx, k.URI, hsm.Auth{PINs: hsm.StaticPIN("000000")})
	var pe hsm.PINError
	if !errors.As(err, &pe) || !errors.Is(err, hsm.ErrWrongPIN) {
		t.Fatalf("got %v, want a wrong-PIN PINError", err)
	}
	if pe.TriesLeft != -1 || !strings.Contains(err.Error(), "wrong PIN") || !strings.Contains(err.Error(), "wrongpin") {
		t.Errorf("error %q, tries %d: want 'wrong PIN' naming the token, tries -1 (SoftHSM does not count)", err, pe.TriesLeft)
	}
	if strings.Contains(err.Error(), "000000") {
		t.Errorf("error shows the PIN: %v", err)
	}
	s := open(t, k.URI)
	in, opts := digestFor(hsm.ECDSAP256)
	if _, err := s.Sign(nil, in, opts); err != nil {
		t.Fatal(err)
	}
}

// TestWrongPINThenRight: a prompting PIN source is asked again after a
// wrong PIN, told it is a retry and how many tries are left.
func TestWrongPINThenRight(t *testing.T) {
	resetAfter(t, "retry")
	pins := &countingPINs{pins: []string{"111111", "222222", softhsmtest.UserPIN}}
	_, err := Default().Generate(ctx, "pkcs11:token=retry;object=k", hsm.Ed25519, hsm.GenerateOptions{}, hsm.Auth{PINs: pins})
	if err != nil {
		t.Fatal(err)
	}
	if pins.count() != 3 || pins.reqs[0].Retry || !pins.reqs[1].Retry || !pins.reqs[2].Retry {
		t.Fatalf("PIN requests %+v: want three, the last two marked Retry", pins.reqs)
	}
	if pins.reqs[1].TriesLeft != -1 || pins.reqs[1].Device.Label != "retry" {
		t.Errorf("retry request %+v", pins.reqs[1])
	}
}

func logout(t *testing.T, label string) {
	t.Helper()
	tok, err := Default().oneToken(&URI{Token: label})
	if err != nil {
		t.Fatal(err)
	}
	tok.mu.Lock()
	defer tok.mu.Unlock()
	if tok.loggedIn {
		if err := tok.mod.ctx.Logout(tok.sess); err != nil {
			t.Fatal(err)
		}
		tok.loggedIn = false
	}
}

// TestLockedToken: a token whose PIN is locked is refused before any PIN
// is asked for or tried, with a message that says so.
func TestLockedToken(t *testing.T) {
	pins := &countingPINs{pins: []string{softhsmtest.UserPIN}}
	_, err := Default().Generate(ctx, "pkcs11:token=locked;object=k", hsm.Ed25519, hsm.GenerateOptions{}, hsm.Auth{PINs: pins})
	if !errors.Is(err, hsm.ErrPINLocked) || !strings.Contains(err.Error(), "PIN is locked") || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("got %v, want ErrPINLocked", err)
	}
	if pins.count() != 0 {
		t.Errorf("a PIN was asked for on a locked token")
	}
}

// TestLastTry: with one try left, the PIN is not spent unless the policy
// allows it.
func TestLastTry(t *testing.T) {
	resetAfter(t, "lasttry")
	pins := &countingPINs{pins: []string{softhsmtest.UserPIN}}
	_, err := Default().Generate(ctx, "pkcs11:token=lasttry;object=k", hsm.Ed25519, hsm.GenerateOptions{}, hsm.Auth{PINs: pins})
	var pe hsm.PINError
	if !errors.Is(err, hsm.ErrLastTry) || !errors.As(err, &pe) || pe.TriesLeft != 1 || !strings.Contains(err.Error(), "--allow-last-pin-try") {
		t.Fatalf("got %v, want ErrLastTry with 1 try left", err)
	}
	if pins.count() != 0 {
		t.Errorf("a PIN was asked for without permission to spend the last try")
	}
	_, err = Default().Generate(ctx, "pkcs11:token=lasttry;object=k", hsm.Ed25519, hsm.GenerateOptions{},
		hsm.Auth{PINs: pins, Policy: hsm.PINPolicy{AllowLastTry: true}})
	if err != nil {
		t.Fatalf("with AllowLastTry: %v", err)
	}
	if pins.count() != 1 || pins.reqs[0].TriesLeft != 1 {
		t.Errorf("PIN requests %+v: want one, told 1 try left", pins.reqs)
	}
}

// TestMissing: a missing token and a missing key are named in the error.
func TestMissing(t *testing.T) {
	_, err := Default().Signer(ctx, "pkcs11:token=nosuch;object=root", goodAuth())
	if !errors.Is(err, hsm.ErrNotFound) || !strings.Contains(err.Error(), "token=nosuch") || !strings.Contains(err.Error(), "(alice)") {
		t.Errorf("missing token: got %v, want ErrNotFound naming token=nosuch and the tokens present", err)
	}
	_, err = Default().Signer(ctx, "pkcs11:token=alice;object=nosuch", goodAuth())
	if !errors.Is(err, hsm.ErrNotFound) || !strings.Contains(err.Error(), "object=nosuch") || !strings.Contains(err.Error(), "alice") {
		t.Errorf("missing key: got %v, want ErrNotFound naming object=nosuch on alice", err)
	}
	_, err = Default().Signer(ctx, "pkcs11:object=nosuch", goodAuth())
	if !errors.Is(err, hsm.ErrNotFound) || !strings.Contains(err.Error(), "object=nosuch") {
		t.Errorf("missing key on any token: got %v", err)
	}
	_, err = Default().Keys(ctx, "pkcs11:serial=0000", goodAuth())
	if !errors.Is(err, hsm.ErrNotFound) {
		t.Errorf("Keys on a missing token: got %v", err)
	}
	_, err = Default().Signer(ctx, "pkcs11:token=alice?module-path=/nonexistent/lib.so", goodAuth())
	if !errors.Is(err, hsm.ErrNotFound) || !strings.Contains(err.Error(), "/nonexistent/lib.so") {
		t.Errorf("missing module: got %v", err)
	}
	_, err = Default().Signer(ctx, "pkcs11:token=alice;objekt=x", goodAuth())
	if !errors.Is(err, hsm.ErrBadURI) {
		t.Errorf("bad URI: got %v", err)
	}
}

// TestTwoTokens signs with keys on two tokens at once, interleaved.
func TestTwoTokens(t *testing.T) {
	resetAfter(t, "alice", "bob")
	ka := generate(t, "pkcs11:token=alice;object=root-a", hsm.ECDSAP256)
	kb := generate(t, "pkcs11:token=bob;object=root-b", hsm.Ed25519)
	sa, sb := open(t, ka.URI), open(t, kb.URI)
	if sa.Key().Device.Serial == sb.Key().Device.Serial {
		t.Fatal("both keys report the same token")
	}
	for i := 0; i < 5; i++ {
		for _, s := range []hsm.Signer{sa, sb} {
			kt, _ := hsm.KeyTypeOf(s.Public())
			in, opts := digestFor(kt)
			sig, err := s.Sign(nil, in, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := hsm.Verify(s.Public(), in, sig, opts); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Both tokens show up with their keys.
	devs, err := Default().Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, d := range devs {
		for _, k := range d.Keys {
			found[d.Device.Label+"/"+k.Label] = true
		}
	}
	if !found["alice/root-a"] || !found["bob/root-b"] {
		t.Errorf("Devices does not list both keys: %v", found)
	}
}

// TestOneLoginPerToken: every signer on a token shares one session and one
// login for the process, so the PIN is asked for once.
func TestOneLoginPerToken(t *testing.T) {
	resetAfter(t, "conc")
	generate(t, "pkcs11:token=conc;object=c-ed", hsm.Ed25519)
	generate(t, "pkcs11:token=conc;object=c-p256", hsm.ECDSAP256)
	logout(t, "conc")
	pins := &countingPINs{pins: []string{softhsmtest.UserPIN, softhsmtest.UserPIN}}
	auth := hsm.Auth{PINs: pins}
	for i := 0; i < 3; i++ {
		for _, obj := range []string{"c-ed", "c-p256"} {
			s, err := Default().Signer(ctx, "pkcs11:token=conc;object="+obj, auth)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
	}
	if pins.count() != 1 {
		t.Errorf("PIN asked for %d times, want once", pins.count())
	}
}

// TestConcurrentSigning uses one token from many goroutines: every
// signature must verify, which it would not if C_SignInit/C_Sign of two
// goroutines interleaved on the shared session.
func TestConcurrentSigning(t *testing.T) {
	resetAfter(t, "conc")
	generate(t, "pkcs11:token=conc;object=cc-ed", hsm.Ed25519)
	generate(t, "pkcs11:token=conc;object=cc-p256", hsm.ECDSAP256)
	signers := []hsm.Signer{open(t, "pkcs11:token=conc;object=cc-ed"), open(t, "pkcs11:token=conc;object=cc-p256")}
	var wg sync.WaitGroup
	var bad atomic.Int64
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			s := signers[g%2]
			kt, _ := hsm.KeyTypeOf(s.Public())
			for i := 0; i < 30; i++ {
				msg := []byte(fmt.Sprintf("goroutine %d message %d", g, i))
				in, opts := msg, crypto.SignerOpts(crypto.Hash(0))
				if kt != hsm.Ed25519 {
					d := sha256.Sum256(msg)
					in, opts = d[:], crypto.SHA256
				}
				sig, err := s.Sign(nil, in, opts)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					bad.Add(1)
					continue
				}
				if hsm.Verify(s.Public(), in, sig, opts) != nil {
					bad.Add(1)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if bad.Load() != 0 {
		t.Errorf("%d of 480 concurrent signatures failed", bad.Load())
	}
}

// TestAmbiguous: a URI that matches two keys is an error listing them, not
// a guess.
func TestAmbiguous(t *testing.T) {
	resetAfter(t, "dup")
	k1 := generate(t, "pkcs11:token=dup;object=one", hsm.Ed25519)
	k2 := generate(t, "pkcs11:token=dup;object=two", hsm.Ed25519)
	_, err := Default().Signer(ctx, "pkcs11:token=dup", goodAuth())
	if !errors.Is(err, hsm.ErrAmbiguous) || !strings.Contains(err.Error(), k1.URI) || !strings.Contains(err.Error(), k2.URI) {
		t.Errorf("got %v, want ErrAmbiguous listing both keys", err)
	}
	// Two key pairs with the same label (made behind ceremony's back).
	tok, err := Default().oneToken(&URI{Token: "dup"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []byte{0xa1, 0xa2} {
		_, pubT, privT, _ := generateTemplates(hsm.ECDSAP256)
		common := []*p11.Attribute{p11.NewAttribute(p11.CKA_TOKEN, true), p11.NewAttribute(p11.CKA_LABEL, "same"), p11.NewAttribute(p11.CKA_ID, []byte{id})}
		tok.mu.Lock()
		err := tok.loginLocked(goodAuth())
		if err == nil {
			_, _, err = tok.mod.ctx.GenerateKeyPair(tok.sess, []*p11.Mechanism{p11.NewMechanism(p11.CKM_EC_KEY_PAIR_GEN, nil)},
				append(append(pubT, common...), p11.NewAttribute(p11.CKA_VERIFY, true)),
				append(append(privT, common...), p11.NewAttribute(p11.CKA_SIGN, true), p11.NewAttribute(p11.CKA_PRIVATE, true)))
		}
		tok.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = Default().Signer(ctx, "pkcs11:token=dup;object=same", goodAuth())
	if !errors.Is(err, hsm.ErrAmbiguous) || !strings.Contains(err.Error(), "id=%a1") || !strings.Contains(err.Error(), "id=%a2") {
		t.Errorf("same label: got %v, want ErrAmbiguous listing both ids", err)
	}
	if s, err := Default().Signer(ctx, "pkcs11:token=dup;object=same;id=%A2", goodAuth()); err != nil {
		t.Errorf("label and id: %v", err)
	} else if s.Key().ID != "a2" {
		t.Errorf("picked id %s", s.Key().ID)
	}
	_, err = Default().Signer(ctx, "pkcs11:object=one", goodAuth())
	if err != nil {
		t.Errorf("object=one names one key on all tokens: %v", err)
	}
}

// TestErrorsInPlainWords maps the PKCS#11 errors a token returns to
// messages and sentinel errors, on a real token.
func TestErrorsInPlainWords(t *testing.T) {
	resetAfter(t, "errs")
	k := generate(t, "pkcs11:token=errs;object=ed", hsm.Ed25519)
	tok, err := Default().oneToken(&URI{Token: "errs"})
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, k.URI).(*signer)
	// A mechanism the token does not have, and one that does not fit the
	// key: the token's own refusals.
	for _, m := range []uint{0x8000cafe, p11.CKM_ECDSA_SHA256} {
		_, err = tok.sign(s.priv, []*p11.Mechanism{p11.NewMechanism(m, nil)}, make([]byte, 32))
		if !errors.Is(err, hsm.ErrUnsupported) || !strings.Contains(err.Error(), "ed25519, ecdsa-p256, ecdsa-p384, rsa-2048") {
			t.Errorf("mechanism 0x%x: got %v, want ErrUnsupported naming what the token can do", m, err)
		}
	}
	// Ed25519ph is not something the signer offers.
	if _, err := s.Sign(nil, make([]byte, 64), crypto.SHA512); !errors.Is(err, hsm.ErrUnsupported) {
		t.Errorf("Ed25519ph: got %v", err)
	}
	// After a logout, a signer logs in again with its PIN source and
	// finds its key anew; when no PIN comes, the error says a PIN is needed.
	logout(t, "errs")
	in, opts := digestFor(hsm.Ed25519)
	if _, err := s.Sign(nil, in, opts); err != nil {
		t.Errorf("sign after logout: %v", err)
	}
	pins := &countingPINs{pins: []string{softhsmtest.UserPIN}}
	logout(t, "errs")
	s1, err := Default().Signer(ctx, k.URI, hsm.Auth{PINs: pins})
	if err != nil {
		t.Fatal(err)
	}
	logout(t, "errs")
	_, err = s1.Sign(nil, in, opts)
	if !errors.Is(err, hsm.ErrNotLoggedIn) || !strings.Contains(err.Error(), "PIN or touch required") {
		t.Errorf("sign after logout with no PIN left: got %v, want ErrNotLoggedIn", err)
	}
	// A removed token: its session handle goes bad, the error says so and
	// the next lookup opens a new session.
	tok.mu.Lock()
	_ = tok.mod.ctx.CloseSession(tok.sess)
	tok.mu.Unlock()
	if _, err := s.Sign(nil, in, opts); !errors.Is(err, hsm.ErrRemoved) || !strings.Contains(err.Error(), "not present or was removed") {
		t.Errorf("sign on a closed session: got %v, want ErrRemoved", err)
	}
	s2 := open(t, k.URI)
	if _, err := s2.Sign(nil, in, opts); err != nil {
		t.Errorf("after reopening: %v", err)
	}
	s2.Close()
	if _, err := s2.Sign(nil, in, opts); err == nil {
		t.Error("a closed signer signed")
	}
}

// TestDevicesAndKeys lists tokens and the keys on them without a PIN.
func TestDevicesAndKeys(t *testing.T) {
	resetAfter(t, "list")
	k := generate(t, "pkcs11:token=list;object=listed", hsm.ECDSAP384)
	logout(t, "list")
	devs, err := Default().Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dk *hsm.DeviceKeys
	for i := range devs {
		if devs[i].Device.Label == "list" {
			dk = &devs[i]
		}
	}
	if dk == nil {
		t.Fatalf("token list not in %+v", devs)
	}
	if dk.Device.Model != "SoftHSM v2" || dk.Device.Serial != shsm.Tokens["list"].Serial || dk.Device.Backend != "pkcs11" {
		t.Errorf("device %+v", dk.Device)
	}
	if len(dk.Keys) != 1 || dk.Keys[0].URI != k.URI || dk.Keys[0].Type != hsm.ECDSAP384 {
		t.Errorf("keys %+v, want the one generated", dk.Keys)
	}
	keys, err := Default().Keys(ctx, "pkcs11:token=list;object=listed", hsm.Auth{})
	if err != nil || len(keys) != 1 {
		t.Errorf("Keys: %v, %+v", err, keys)
	}
	// The device URI selects the device.
	keys, err = Default().Keys(ctx, dk.Device.URI, hsm.Auth{})
	if err != nil || len(keys) != 1 {
		t.Errorf("Keys(device URI): %v, %+v", err, keys)
	}
}

// TestPINSourceFromURI logs in with the PIN file a URI's pin-source names.
func TestPINSourceFromURI(t *testing.T) {
	resetAfter(t, "bob")
	k := generate(t, "pkcs11:token=bob;object=pinsrc", hsm.Ed25519)
	logout(t, "bob")
	f := t.TempDir() + "/pin"
	if err := os.WriteFile(f, []byte(softhsmtest.UserPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Default().Signer(ctx, k.URI+"?pin-source="+f, hsm.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	in, opts := digestFor(hsm.Ed25519)
	if _, err := s.Sign(nil, in, opts); err != nil {
		t.Fatal(err)
	}
	// A PIN in the URI itself is refused, and the refusal does not repeat it.
	logout(t, "bob")
	_, err = Default().Signer(ctx, k.URI+"?pin-value="+softhsmtest.UserPIN, hsm.Auth{})
	if !errors.Is(err, hsm.ErrBadURI) || !strings.Contains(err.Error(), "pin-source") || strings.Contains(err.Error(), softhsmtest.UserPIN) {
		t.Errorf("pin-value: got %v, want ErrBadURI pointing to pin-source, without the PIN", err)
	}
	// No PIN source at all: a clear "PIN required".
	logout(t, "bob")
	if _, err := Default().Signer(ctx, k.URI, hsm.Auth{}); !errors.Is(err, hsm.ErrNotLoggedIn) {
		t.Errorf("no PIN source: got %v, want ErrNotLoggedIn", err)
	}
}

// TestAlwaysAuthenticate: a key with CKA_ALWAYS_AUTHENTICATE (as a
// YubiKey's PIV signature slot has through ykcs11) gets the PIN again for
// every signature, through the same PIN source and policy.
func TestAlwaysAuthenticate(t *testing.T) {
	resetAfter(t, "gen")
	tok, err := Default().oneToken(&URI{Token: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	_, pubT, privT, _ := generateTemplates(hsm.ECDSAP256)
	common := []*p11.Attribute{p11.NewAttribute(p11.CKA_TOKEN, true), p11.NewAttribute(p11.CKA_LABEL, "always"), p11.NewAttribute(p11.CKA_ID, []byte{0xaa})}
	tok.mu.Lock()
	err = tok.loginLocked(goodAuth())
	if err == nil {
		_, _, err = tok.mod.ctx.GenerateKeyPair(tok.sess, []*p11.Mechanism{p11.NewMechanism(p11.CKM_EC_KEY_PAIR_GEN, nil)},
			append(append(pubT, common...), p11.NewAttribute(p11.CKA_VERIFY, true)),
			append(append(privT, common...), p11.NewAttribute(p11.CKA_SIGN, true), p11.NewAttribute(p11.CKA_PRIVATE, true),
				p11.NewAttribute(p11.CKA_SENSITIVE, true), p11.NewAttribute(p11.CKA_ALWAYS_AUTHENTICATE, true)))
	}
	tok.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	pins := &countingPINs{pins: []string{softhsmtest.UserPIN, "000000"}} // the token is logged in already
	s, err := Default().Signer(ctx, "pkcs11:token=gen;object=always", hsm.Auth{PINs: pins})
	if err != nil {
		t.Fatal(err)
	}
	if !s.(*signer).alwaysAuth {
		t.Fatal("CKA_ALWAYS_AUTHENTICATE not noticed")
	}
	before := pins.count()
	in, opts := digestFor(hsm.ECDSAP256)
	sig, err := s.Sign(nil, in, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := hsm.Verify(s.Public(), in, sig, opts); err != nil {
		t.Fatal(err)
	}
	if pins.count() != before+1 {
		t.Errorf("PIN asked %d times for one signature, want once", pins.count()-before)
	}
	// A wrong PIN for the operation is reported as such, and the session
	// is left ready for the next signature.
	if _, err := s.Sign(nil, in, opts); !errors.Is(err, hsm.ErrWrongPIN) {
		t.Fatalf("wrong context PIN: got %v", err)
	}
	s2, err := Default().Signer(ctx, "pkcs11:token=gen;object=always", goodAuth())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Sign(nil, in, opts); err != nil {
		t.Errorf("after a wrong context PIN: %v", err)
	}
	// SoftHSM does enforce the attribute: without the PIN, no signature.
	s2.(*signer).alwaysAuth = false
	if _, err := s2.Sign(nil, in, opts); !errors.Is(err, hsm.ErrNotLoggedIn) {
		t.Errorf("without the context PIN: got %v, want ErrNotLoggedIn", err)
	}
}
