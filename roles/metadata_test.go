package roles

import (
	"bytes"
	"crypto"
	"errors"
	"strings"
	"testing"
	"time"
)

var testExpires = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// testKey is an in-memory signer with its TUF key.
type testKey struct {
	crypto.Signer
	key *Key
}

func newTestKeys(t testing.TB, n int) []testKey {
	t.Helper()
	var out []testKey
	for len(out) < n {
		for _, scheme := range []string{SchemeEd25519, SchemeECDSAP256, SchemeECDSAP384} {
			s := testSigners(t)[scheme]
			k, err := KeyFromPublic(s.Public())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, testKey{s, k})
		}
	}
	return out[:n]
}

func signAll[R Role](t testing.TB, m *Metadata[R], keys ...testKey) {
	t.Helper()
	msg := m.CanonicalSigned()
	for _, k := range keys {
		sig, err := Sign(k.Signer, k.key, msg)
		if err != nil {
			t.Fatal(err)
		}
		m.AddSignature(sig)
	}
}

// reparse publishes m and parses it back.
func reparse[R Role](t testing.TB, m *Metadata[R]) *Metadata[R] {
	t.Helper()
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse[R](b)
	if err != nil {
		t.Fatalf("parse own output: %v\n%s", err, b)
	}
	return back
}

func TestRootRoundTripAndVerify(t *testing.T) {
	keys := newTestKeys(t, 3)
	root := NewRoot(testExpires)
	for _, k := range keys {
		for _, role := range TopLevelRoles {
			root.AddKey(role, k.key)
		}
	}
	root.Roles[TypeRoot].Threshold = 2
	m := New(root)
	signAll(t, m, keys[0], keys[2])
	back := reparse(t, m)
	if !bytes.Equal(back.CanonicalSigned(), m.CanonicalSigned()) {
		t.Fatal("canonical bytes changed through publish and parse")
	}
	rep, err := VerifySelfSigned(back)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count() != 2 || len(rep.Missing) != 1 || rep.Missing[0] != keys[1].key.ID() {
		t.Errorf("report: %+v", rep)
	}
	// One signature is below the threshold of 2.
	back.Signatures = back.Signatures[:1]
	if _, err := VerifySelfSigned(back); !errors.Is(err, ErrThreshold) {
		t.Errorf("one of two: err = %v, want ErrThreshold", err)
	}
}

// TestThresholdCountsDistinctKeys: two signatures by one key, or one key
// under two keyids, count once.
func TestThresholdCountsDistinctKeys(t *testing.T) {
	k := newTestKeys(t, 1)[0]
	// The same public key with an extra member has another keyid.
	alias, err := ParseKey([]byte(`{"keytype":"ed25519","keyval":{"public":"` + k.key.Public() + `"},"scheme":"ed25519","x-alias":true}`))
	if err != nil {
		t.Fatal(err)
	}
	tg := NewTargets(testExpires)
	m := New(tg)
	signAll(t, m, k, testKey{k.Signer, alias})
	if len(m.Signatures) != 2 {
		t.Fatalf("want two signatures, got %d", len(m.Signatures))
	}
	m.Signatures = append(m.Signatures, m.Signatures[0]) // and a duplicate
	del := Delegation{Role: "claimed", Keys: map[string]*Key{k.key.ID(): k.key, alias.ID(): alias}, KeyIDs: []string{k.key.ID(), alias.ID()}, Threshold: 2}
	rep, err := Verify(m, del)
	if !errors.Is(err, ErrThreshold) || rep.Count() != 1 {
		t.Errorf("one key under two keyids reached threshold 2: count %d, err %v", rep.Count(), err)
	}

	// A key listed under a keyid that is not its hash (securesystemslib's
	// legacy keyids, TAP 12) counts by what it is, not by the keyid.
	legacy := strings.Repeat("0c", 32)
	sig := m.Signatures[0]
	sig.KeyID = legacy
	m.Signatures = append(m.Signatures, sig)
	del.Keys[legacy] = k.key
	del.KeyIDs = append(del.KeyIDs, legacy)
	del.Threshold = 2
	if rep, err := Verify(m, del); !errors.Is(err, ErrThreshold) || rep.Count() != 1 {
		t.Errorf("one key under its keyid and a legacy one reached threshold 2: count %d, err %v", rep.Count(), err)
	}
	del.Keys, del.KeyIDs, del.Threshold = map[string]*Key{legacy: k.key}, []string{legacy}, 1
	if rep, err := Verify(m, del); err != nil || rep.Count() != 1 || rep.Signed[0] != legacy {
		t.Errorf("a key under a legacy keyid alone does not count: %+v, %v", rep, err)
	}
}

func TestUnknownFieldsSurviveResigning(t *testing.T) {
	k := newTestKeys(t, 1)[0]
	doc := `{"signatures":[],"signed":{"_type":"targets","expires":"2030-01-02T03:04:05Z","spec_version":"1.0.31","targets":{"a.txt":{"custom":{"z":[1,{"b":null,"a":"\u00e9"}]},"hashes":{"sha256":"00"},"length":1}},"version":1,"x-extension":{"b":2,"a":1}}}`
	m, err := Parse[*Targets]([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if m.rawCanonical {
		t.Error("a document with unsorted names and escapes was taken as canonical")
	}
	signAll(t, m, k)
	back := reparse(t, m)
	want, err := Canonicalize(m.raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.CanonicalSigned(); !bytes.Equal(got, want) {
		t.Errorf("model writes\n%s\ngeneric canonical form is\n%s", got, want)
	}
	if _, err := Verify(back, Delegation{Role: "targets", Keys: map[string]*Key{k.key.ID(): k.key}, KeyIDs: []string{k.key.ID()}, Threshold: 1}); err != nil {
		t.Errorf("signature over a document with unknown fields: %v", err)
	}
}

// TestStrictParsing: each malformed document is refused with an error that
// names the field.
func TestStrictParsing(t *testing.T) {
	const key = `{"keytype":"ed25519","keyval":{"public":"aa"},"scheme":"ed25519"}`
	const roles = `"roles":{"root":{"keyids":["k"],"threshold":1},"snapshot":{"keyids":["k"],"threshold":1},"targets":{"keyids":["k"],"threshold":1},"timestamp":{"keyids":["k"],"threshold":1}}`
	root := func(s string) string {
		return `{"signatures":[],"signed":{"_type":"root","consistent_snapshot":true,"expires":"2030-01-02T03:04:05Z","keys":{"k":` + key + `},` + s + `}}`
	}
	good := root(roles + `,"spec_version":"1.0.31","version":1`)
	if _, err := Parse[*Root]([]byte(good)); err != nil {
		t.Fatalf("good root refused: %v", err)
	}
	cases := []struct{ name, doc, want string }{
		{"duplicate name", root(roles + `,"spec_version":"1.0.31","version":1,"version":2`), `duplicate member name "version"`},
		{"float version", root(roles + `,"spec_version":"1.0.31","version":1.0`), "signed.version: number is not an integer"},
		{"exponent", root(roles + `,"spec_version":"1.0.31","version":1e3`), "signed.version: number is not an integer"},
		{"huge version", root(roles + `,"spec_version":"1.0.31","version":99999999999999999999`), "signed.version: integer out of range"},
		{"version zero", root(roles + `,"spec_version":"1.0.31","version":0`), "signed.version: version must be 1 or more"},
		{"spec major 2", root(roles + `,"spec_version":"2.0.0","version":1`), "signed.spec_version: spec version \"2.0.0\" is not 1.x"},
		{"threshold 0", root(strings.Replace(roles, `"threshold":1},"snapshot"`, `"threshold":0},"snapshot"`, 1) + `,"spec_version":"1.0.31","version":1`), "signed.roles.root.threshold: threshold must be 1 or more"},
		{"unknown keyid", root(strings.Replace(roles, `["k"]`, `["nope"]`, 1) + `,"spec_version":"1.0.31","version":1`), "signed.roles.root.keyids: keyid nope is not in keys"},
		{"wrong type", strings.Replace(good, `"_type":"root"`, `"_type":"targets"`, 1), `_type is "targets", want "root"`},
		{"trailing data", good + `{}`, "unexpected data after the top-level value"},
		{"bad time", strings.Replace(good, `2030-01-02T03:04:05Z`, `2030-01-02 03:04:05`, 1), "signed.expires"},
		{"missing role", root(strings.Replace(roles, `,"timestamp":{"keyids":["k"],"threshold":1}`, ``, 1) + `,"spec_version":"1.0.31","version":1`), "root assigns no keys to the timestamp role"},
		{"invalid utf-8", strings.Replace(good, `"1.0.31"`, "\"1.0.31\xff\"", 1), "not valid UTF-8"},
		{"lone surrogate", strings.Replace(good, `"1.0.31"`, `"1.0.31\ud800"`, 1), "lone UTF-16 surrogate"},
		{"raw control char", strings.Replace(good, `"1.0.31"`, "\"1.0\n31\"", 1), "control character"},
		{"empty signed", `{"signatures":[],"signed":{}}`, `signed: missing "_type"`},
		{"no signatures", strings.Replace(good, `"signatures":[],`, ``, 1), `both "signed" and "signatures"`},
		{"deep nesting", root(roles + `,"spec_version":"1.0.31","version":1,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100)), "nested deeper"},
	}
	for _, c := range cases {
		_, err := Parse[*Root]([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestDelegationsStrict(t *testing.T) {
	base := func(dl string) string {
		return `{"signatures":[],"signed":{"_type":"targets","delegations":` + dl + `,"expires":"2030-01-02T03:04:05Z","spec_version":"1.0.31","targets":{},"version":1}}`
	}
	k := `"keys":{"k":{"keytype":"ed25519","keyval":{"public":"aa"},"scheme":"ed25519"}}`
	role := func(name string) string {
		return `{"keyids":["k"],"name":"` + name + `","paths":["` + name + `/*"],"terminating":true,"threshold":1}`
	}
	cases := []struct{ name, dl, want string }{
		{"name reused", `{` + k + `,"roles":[` + role("a") + `,` + role("a") + `]}`, `role name "a" is delegated twice`},
		{"top-level delegated", `{` + k + `,"roles":[` + role("snapshot") + `]}`, `top-level role name "snapshot" cannot be delegated`},
		{"both forms", `{` + k + `,"roles":[],"succinct_roles":{"bit_length":8,"keyids":["k"],"name_prefix":"bins","threshold":1}}`, "exactly one of"},
		{"bit length", `{` + k + `,"succinct_roles":{"bit_length":40,"keyids":["k"],"name_prefix":"bins","threshold":1}}`, "bit_length must be from 1 to 32"},
	}
	for _, c := range cases {
		_, err := Parse[*Targets]([]byte(base(c.dl)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestPathMatching(t *testing.T) {
	r := &DelegatedRole{Paths: []string{"sampleproject/*", "files/*/x.txt"}}
	for p, want := range map[string]bool{
		"sampleproject/sampleproject-1.0.tar.gz": true,
		"sampleproject/sub/file":                 false, // "*" does not cross "/"
		"other/file":                             false,
		"files/a/x.txt":                          true,
		"files/a/b/x.txt":                        false,
	} {
		if got := r.Matches(p); got != want {
			t.Errorf("Matches(%q) = %v, want %v", p, got, want)
		}
	}
	h := &DelegatedRole{PathHashPrefixes: []string{"5e"}}
	// sha256("a") = ca97…, sha256("b") = 3e23…, sha256("c") = 2e7d…
	if h.Matches("a") {
		t.Error("hash prefix 5e matched a path hashing to ca97")
	}
}

func TestSuccinctBins(t *testing.T) {
	s := &SuccinctRoles{BitLength: 10, NamePrefix: "bins"}
	if s.BinCount() != 1024 || s.BinName(0) != "bins-000" || s.BinName(1023) != "bins-3ff" {
		t.Errorf("bins: %d %s %s", s.BinCount(), s.BinName(0), s.BinName(1023))
	}
	// sha256("sampleproject") starts with 0x7f 0x6b...: its first 10 bits.
	b := s.BinFor("a") // sha256("a") = ca978112…: 0xca97 >> 6 = 0x32a
	if b != "bins-32a" {
		t.Errorf("BinFor(a) = %s, want bins-32a", b)
	}
	if !s.IsBin("bins-32a") || s.IsBin("bins-32A") || s.IsBin("bins-400") || s.IsBin("bins-0032a") {
		t.Error("IsBin accepts or refuses the wrong names")
	}
}

func TestRootChain(t *testing.T) {
	keys := newTestKeys(t, 5)
	v1 := NewRoot(testExpires)
	for _, k := range keys[:3] {
		v1.AddKey(TypeRoot, k.key)
	}
	for _, role := range TopLevelRoles[1:] {
		v1.AddKey(role, keys[4].key)
	}
	v1.Roles[TypeRoot].Threshold = 2
	m1 := New(v1)
	signAll(t, m1, keys[0], keys[1])
	m1 = reparse(t, m1)

	// v2: replace key 2 with key 3, threshold 2 → 3.
	m2 := reparse(t, m1)
	m2.Signatures = nil
	m2.Signed.Version = 2
	m2.Signed.RemoveKey(TypeRoot, keys[2].key.ID())
	m2.Signed.AddKey(TypeRoot, keys[3].key)
	m2.Signed.Roles[TypeRoot].Threshold = 3
	m2.Touched()
	// Threshold of v1 (2 of keys 0,1,2) and of v2 (3 of keys 0,1,3).
	signAll(t, m2, keys[0], keys[1], keys[3])
	m2 = reparse(t, m2)

	newest, steps, err := VerifyRootChain(m1, []*Metadata[*Root]{m2}, testExpires.Add(-time.Hour))
	if err != nil || newest.Signed.Version != 2 || len(steps) != 1 {
		t.Fatalf("chain v1→v2: %v", err)
	}
	if steps[0].Old.Count() != 2 || steps[0].New.Count() != 3 {
		t.Errorf("counts old %d new %d", steps[0].Old.Count(), steps[0].New.Count())
	}
	// Without key 3, v2 misses its own threshold though v1's holds.
	m2b := reparse(t, m2)
	m2b.Signatures = m2b.Signatures[:2]
	if _, _, err := VerifyRootChain(m1, []*Metadata[*Root]{m2b}, testExpires.Add(-time.Hour)); err == nil || !strings.Contains(err.Error(), "under its own keys") {
		t.Errorf("v2 short of its own threshold: %v", err)
	}
	// Skipping a version is refused.
	m3 := reparse(t, m2)
	m3.Signatures = nil
	m3.Signed.Version = 4
	m3.Touched()
	signAll(t, m3, keys[0], keys[1], keys[3])
	if _, _, err := VerifyRootChain(m2, []*Metadata[*Root]{m3}, testExpires.Add(-time.Hour)); !errors.Is(err, ErrRollback) {
		t.Errorf("v2 → v4: %v", err)
	}
	// Expiry is checked on the newest root only.
	if _, _, err := VerifyRootChain(m1, []*Metadata[*Root]{m2}, testExpires); !errors.Is(err, ErrExpired) {
		t.Errorf("expired newest root: %v", err)
	}
}
