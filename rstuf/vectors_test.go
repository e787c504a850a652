package rstuf_test

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/rstuf"
	"github.com/ceremony-tuf/ceremony/rstuf/rstuftest"
)

func readVector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func privateKey(t *testing.T, name string) crypto.Signer {
	return rstuftest.PrivateKey(t, filepath.Join("testdata", name))
}

// TestVectorsParse: every payload RSTUF's CLI recorded parses as RSTUF's
// API reads it, and its root's canonical bytes verify every recorded
// signature under the keys as listed (Ed25519, ECDSA P-256 in DER,
// RSA-PSS): canonical JSON as securesystemslib writes it.
func TestVectorsParse(t *testing.T) {
	var roots []*roles.Metadata[*roles.Root]
	_, r, err := rstuf.ParseBootstrap(readVector(t, "payload_ceremony.json"))
	if err != nil {
		t.Fatalf("ceremony.json: %v", err)
	}
	roots = append(roots, r)
	_, r, err = rstuf.ParseUpdate(readVector(t, "payload_update.json"))
	if err != nil {
		t.Fatalf("update.json: %v", err)
	}
	roots = append(roots, r)
	for _, name := range []string{"root_v1.json", "root_v2.json"} {
		r, err := rstuf.ParseRoot(name, readVector(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		roots = append(roots, r)
	}
	schemes := map[string]int{}
	for _, r := range roots {
		if err := rstuf.CheckKeyIDs("root", r.Signed); err != nil {
			t.Errorf("root v%d: %v", r.Signed.Version, err)
		}
		msg := r.CanonicalSigned()
		for _, s := range r.Signatures {
			k := r.Signed.Keys[s.KeyID]
			if k == nil {
				continue // a signature by a key of the previous root
			}
			if err := k.Verify(msg, s.Sig); err != nil {
				t.Errorf("root v%d: signature by %s (%s): %v", r.Signed.Version, roles.ShortID(s.KeyID), k.Scheme, err)
			}
			schemes[k.Scheme]++
		}
	}
	for _, s := range []string{roles.SchemeEd25519, roles.SchemeRSAPSS, "ecdsa-sha2-nistp256"} {
		if schemes[s] == 0 {
			t.Errorf("no %s signature verified: %v", s, schemes)
		}
	}
	// The keys are listed as RSTUF's CLI lists them: under the keyid of
	// the key without its x-rstuf- members.
	k := roots[0].Signed.Keys["c6d8bf2e4f48b41ac2ce8eca21415ca8ef68c133b47fc33df03d4070a7e1e9cc"]
	if id, _ := rstuf.LegacyKeyID(k); k.ID() == id || id != "c6d8bf2e4f48b41ac2ce8eca21415ca8ef68c133b47fc33df03d4070a7e1e9cc" || rstuf.KeyName(k) != "JimiHendrix's Key" {
		t.Errorf("JH's key: keyid %s, legacy %s, name %q", k.ID(), id, rstuf.KeyName(k))
	}
}

// TestResignReproducesSignatures: signing the vectors' canonical bytes
// again with JH's Ed25519 key gives the very signatures RSTUF's CLI
// recorded, byte for byte (Ed25519 is deterministic): an exact test of
// canonical JSON against securesystemslib's.
func TestResignReproducesSignatures(t *testing.T) {
	jh := privateKey(t, "JH.key.pem")
	const id = "c6d8bf2e4f48b41ac2ce8eca21415ca8ef68c133b47fc33df03d4070a7e1e9cc"
	for _, name := range []string{"payload_ceremony.json", "payload_update.json"} {
		b := readVector(t, name)
		var root []byte = b
		var env struct {
			Metadata struct{ Root json.RawMessage } `json:"metadata"`
		}
		if json.Unmarshal(b, &env) == nil && env.Metadata.Root != nil {
			root = env.Metadata.Root
		}
		m, err := roles.Parse[*roles.Root](root)
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		for _, s := range m.Signatures {
			if s.KeyID == id {
				want = s.Sig
			}
		}
		if want == nil {
			t.Fatalf("%s: no signature by JH", name)
		}
		got, err := jh.Sign(nil, m.CanonicalSigned(), crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: re-signed %x…, recorded %x…", name, got[:8], want[:8])
		}
	}
	// sign.json is JH's signature over the pending root v2.
	sp, err := rstuf.ParseSignature(readVector(t, "payload_sign.json"))
	if err != nil {
		t.Fatal(err)
	}
	pending, trusted, err := rstuf.ParsePending(readVector(t, "payload_sign_pending_roles.json"))
	if err != nil {
		t.Fatal(err)
	}
	if trusted == nil || pending.Signed.Version != 2 || sp.Role != "root" || sp.Signature.KeyID != id {
		t.Fatalf("pending v%d, trusted %v, signature %+v", pending.Signed.Version, trusted != nil, sp)
	}
	got, _ := jh.Sign(nil, pending.CanonicalSigned(), crypto.Hash(0))
	if hex.EncodeToString(got) != sp.Signature.Sig {
		t.Errorf("re-signed the pending root: %x…, sign.json holds %s…", got[:8], sp.Signature.Sig[:16])
	}
}

// TestOtherKeysVerify: the vectors' ECDSA and RSA private keys are the
// ones their public keys name, and what they sign over the vectors'
// canonical bytes verifies under the key objects RSTUF lists (both
// schemes are randomized: verified, not compared).
func TestOtherKeysVerify(t *testing.T) {
	_, r, err := rstuf.ParseUpdate(readVector(t, "payload_update.json"))
	if err != nil {
		t.Fatal(err)
	}
	msg := r.CanonicalSigned()
	for file, keyid := range map[string]string{
		"JJ.key.pem": "50d7e110ad65f3b2dba5c3cfc8c5ca259be9774cc26be3410044ffd4be3aa5f3",
		"JC.key.pem": "2f685fa7546f1856b123223ab086b3def14c89d24eef18f49c32508c2f60e241",
	} {
		k := r.Signed.Keys[keyid]
		sig, err := roles.Sign(privateKey(t, file), k, msg)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := k.Verify(msg, sig.Sig); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// TestPayloadsRoundTrip: the CLI's payloads marshal back to the same
// JSON values (roots byte for byte as canonical JSON).
func TestPayloadsRoundTrip(t *testing.T) {
	for _, name := range []string{"payload_ceremony.json", "payload_update.json", "payload_sign.json"} {
		in := readVector(t, name)
		var v any
		switch {
		case strings.Contains(name, "ceremony"):
			v, _, _ = rstuf.ParseBootstrap(in)
		case strings.Contains(name, "update"):
			v, _, _ = rstuf.ParseUpdate(in)
		default:
			v, _ = rstuf.ParseSignature(in)
		}
		out, err := rstuf.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		json.Unmarshal(in, &a)
		json.Unmarshal(out, &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s does not round-trip:\n%s\n%s", name, ja, jb)
		}
	}
}

// TestKeptRefusesWhatRSTUFDrops: a member of a key or a role's entry
// that RSTUF's API drops, or a top-level member not x-<vendor>-<name>,
// is refused by name.
func TestKeptRefusesWhatRSTUFDrops(t *testing.T) {
	v1 := readVector(t, "root_v1.json")
	for _, c := range []struct{ old, new, field string }{
		{`"x-rstuf-key-name": "JimiHendrix's Key"`, `"x-rstuf-key-name": "JimiHendrix's Key", "keyid_hash_algorithms": ["sha256"]`, "keyid_hash_algorithms"},
		{`"threshold": 2`, `"threshold": 2, "x-acme-note": "n"`, "roles.root.x-acme-note"},
		{`"consistent_snapshot": true`, `"consistent_snapshot": true, "note": "n"`, ".note"},
		{`"public": "4f66`, `"extra": "x", "public": "4f66`, "keyval.extra"},
	} {
		b := bytes.Replace(v1, []byte(c.old), []byte(c.new), 1)
		if bytes.Equal(b, v1) {
			t.Fatalf("no %s in root v1", c.old)
		}
		_, err := rstuf.ParseRoot("root", b)
		if !errors.Is(err, rstuf.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v", c.field, err)
		}
	}
	// A top-level x-<vendor>-<name> member is kept.
	b := bytes.Replace(v1, []byte(`"consistent_snapshot": true`), []byte(`"consistent_snapshot": true, "x-acme-note": "n"`), 1)
	if _, err := rstuf.ParseRoot("root", b); err != nil {
		t.Errorf("x-acme-note: %v", err)
	}
}

// TestAPIExamples: the bootstrap payloads RSTUF's API documents, with
// bins and with custom delegations, parse and pass its checks; a custom
// delegation refused by RSTUF's API is refused here, by name.
func TestAPIExamples(t *testing.T) {
	for _, name := range []string{"api_bootstrap_payload_bins.json", "api_bootstrap_payload_custom_targets.json"} {
		if _, _, err := rstuf.ParseBootstrap(readVector(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	b := readVector(t, "api_bootstrap_payload_custom_targets.json")
	for _, c := range []struct{ old, new, field string }{
		{`"name": "default"`, `"name": "bins-01"`, "roles[0].name"},
		{`"name": "default"`, `"name": "../etc"`, "roles[0].name"},
		{`"x-rstuf-expire-policy": 1,`, ``, "x-rstuf-expire-policy"},
		{`"paths": [`, `"paths": ["", `, "roles[0].paths"},
	} {
		bad := strings.Replace(string(b), c.old, c.new, 1)
		if bad == string(b) {
			t.Fatalf("no %s", c.old)
		}
		if _, _, err := rstuf.ParseBootstrap([]byte(bad)); !errors.Is(err, rstuf.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v", c.new, err)
		}
	}
}

func TestBitLength(t *testing.T) {
	for n, want := range map[int]int64{2: 1, 4: 2, 16384: 14} {
		if got, err := rstuf.BitLength("bins", n); err != nil || got != want {
			t.Errorf("%d bins: %d, %v", n, got, err)
		}
	}
	for _, n := range []int{0, 1, 3, 100, 32768} {
		if _, err := rstuf.BitLength("bins", n); !errors.Is(err, rstuf.ErrInvalid) {
			t.Errorf("%d bins accepted", n)
		}
	}
}
