package roles

// Interop with go-tuf v2, an implementation this project did not write.
// Metadata that roles/ builds, signs and publishes must be accepted by
// go-tuf (metadata.VerifyDelegate and a stock client's trustedmetadata),
// and metadata that go-tuf builds and signs must parse and verify here.
// Each positive check has a negative twin (a signature over other bytes,
// a document altered by one field), so that a verifier which accepts
// everything cannot pass.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

var (
	// interopExpires is when every interop document expires; interopNow
	// is the reference time go-tuf's client and roles judge expiry at, so
	// that the tests do not depend on the wall clock.
	interopExpires = time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC)
	interopNow     = time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
)

// ikey is an in-memory private key with its TUF key object as roles
// builds it.
type ikey struct {
	priv crypto.Signer
	key  *Key
}

// newIKey makes a key of kind "ed25519", "p256", "p384" or "rsa".
func newIKey(t testing.TB, kind string) ikey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch kind {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "p256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	k, err := KeyFromPublic(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return ikey{priv, k}
}

// withKeyExtras gives k's key object the members python-tuf's older keys
// carry: they change the keyid, which go-tuf must compute the same way.
func withKeyExtras(t testing.TB, k ikey) ikey {
	t.Helper()
	pub, err := k.key.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(pub), `{"keytype"`, `{"keyid_hash_algorithms":["sha256","sha512"],"keytype"`, 1)
	key, err := ParseKey([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if key.ID() == k.key.ID() {
		t.Fatal("extra members did not change the keyid")
	}
	return ikey{k.priv, key}
}

// isign signs m's canonical bytes with each key through roles.Sign.
func isign[R Role](t testing.TB, m *Metadata[R], keys ...ikey) {
	t.Helper()
	msg := m.CanonicalSigned()
	for _, k := range keys {
		sig, err := Sign(k.priv, k.key, msg)
		if err != nil {
			t.Fatal(err)
		}
		m.AddSignature(sig)
	}
}

func publish[R Role](t testing.TB, m *Metadata[R]) []byte {
	t.Helper()
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse[R Role](t testing.TB, b []byte) *Metadata[R] {
	t.Helper()
	m, err := Parse[R](b)
	if err != nil {
		t.Fatalf("roles.Parse: %v\n%s", err, b)
	}
	return m
}

// nextVersion returns a copy of m, through its published bytes, with no
// signatures and the version after m's, ready to be changed and signed.
func nextVersion[R Role](t testing.TB, m *Metadata[R]) *Metadata[R] {
	t.Helper()
	n := mustParse[R](t, publish(t, m))
	n.Signatures = nil
	n.Signed.hdr().Version++
	n.Touched()
	return n
}

// withSignedExtra inserts an unknown member at the front of "signed" in a
// published document, out of canonical order, and parses it back: both
// implementations must sign and verify over it as canonical JSON orders it.
func withSignedExtra[R Role](t testing.TB, m *Metadata[R], member string) *Metadata[R] {
	t.Helper()
	b := publish(t, m)
	out := bytes.Replace(b, []byte(`"signed":{`), []byte(`"signed":{`+member+`,`), 1)
	if bytes.Equal(out, b) {
		t.Fatal("no signed object to extend")
	}
	return mustParse[R](t, out)
}

// interopRepo is a complete repository built with roles: a root chain,
// targets → claimed → two projects, snapshot and timestamp.
type interopRepo struct {
	roots                          [][]byte // published, v1 first
	rootThresholds                 []int64
	targets, claimed, snapshot, ts []byte
	sampleproject, otherproject    []byte
	legacyproject                  []byte // signed with rsassa-pss-sha256
	rootKeys                       map[string]ikey
	claimedKeys                    []ikey
	sampleKeys                     []ikey
	otherKey                       ikey
	legacyKey                      ikey
	rootV2                         *Metadata[*Root]
	projectFile                    string
	projectFileLen                 int64
	// rootV3SignedOnlyByNew is root v3 signed by r5 and r6 alone: its
	// own threshold holds, v2's does not.
	rootV3SignedOnlyByNew []byte
}

func buildInteropRepo(t testing.TB) *interopRepo {
	t.Helper()
	r := &interopRepo{rootKeys: map[string]ikey{}}
	for name, kind := range map[string]string{"r1": "ed25519", "r2": "p256", "r3": "p384", "r4": "ed25519", "r5": "p256", "r6": "p384"} {
		r.rootKeys[name] = newIKey(t, kind)
	}
	r.rootKeys["r4"] = withKeyExtras(t, r.rootKeys["r4"])
	rk := r.rootKeys
	tgKey, snKey, tsKey, ts2Key := newIKey(t, "p384"), newIKey(t, "ed25519"), newIKey(t, "p256"), newIKey(t, "p384")

	// Root v1: root 2 of {r1 ed25519, r2 P-256, r3 P-384}.
	v1 := NewRoot(interopExpires)
	for _, n := range []string{"r1", "r2", "r3"} {
		v1.AddKey(TypeRoot, rk[n].key)
	}
	v1.Roles[TypeRoot].Threshold = 2
	v1.AddKey(TypeTargets, tgKey.key)
	v1.AddKey(TypeSnapshot, snKey.key)
	v1.AddKey(TypeTimestamp, tsKey.key)
	m1 := New(v1)
	isign(t, m1, rk["r1"], rk["r3"])

	// Root v2: r3 leaves, r4 (a key object with extra members) joins,
	// threshold 2 → 3. Signed by 2 of v1's keys and 3 of its own.
	m2 := nextVersion(t, m1)
	m2.Signed.RemoveKey(TypeRoot, rk["r3"].key.ID())
	m2.Signed.AddKey(TypeRoot, rk["r4"].key)
	m2.Signed.Roles[TypeRoot].Threshold = 3
	isign(t, m2, rk["r1"], rk["r2"], rk["r4"])

	// Root v3: r1 leaves, r5 and r6 join, threshold 3 → 2, the timestamp
	// key rotates to a P-384 key, and an unknown member rides along.
	m3 := withSignedExtra(t, nextVersion(t, m2), `"x-ceremony":{"kind":"quarterly","seq":12}`)
	m3.Signed.RemoveKey(TypeRoot, rk["r1"].key.ID())
	m3.Signed.AddKey(TypeRoot, rk["r5"].key)
	m3.Signed.AddKey(TypeRoot, rk["r6"].key)
	m3.Signed.Roles[TypeRoot].Threshold = 2
	m3.Signed.RemoveKey(TypeTimestamp, tsKey.key.ID())
	m3.Signed.AddKey(TypeTimestamp, ts2Key.key)
	m3.Touched()
	r.rootV2 = mustParse[*Root](t, publish(t, m2))
	onlyNew := mustParse[*Root](t, publish(t, m3))
	isign(t, onlyNew, rk["r5"], rk["r6"])
	r.rootV3SignedOnlyByNew = publish(t, onlyNew)
	// 3 of v2's {r1, r2, r4}, and 3 of v3's {r2, r4, r5, r6} where 2
	// are needed, one of them a P-384 signature.
	isign(t, m3, rk["r1"], rk["r2"], rk["r4"], rk["r6"])
	r.roots = [][]byte{publish(t, m1), publish(t, m2), publish(t, m3)}
	r.rootThresholds = []int64{2, 3, 2}

	// Targets delegates to claimed: 2 of {ed25519, P-256, P-384}.
	r.claimedKeys = []ikey{newIKey(t, "ed25519"), newIKey(t, "p256"), newIKey(t, "p384")}
	tg := NewTargets(interopExpires)
	tg.Delegations = &Delegations{Keys: map[string]*Key{}}
	var cids []string
	for _, k := range r.claimedKeys {
		tg.Delegations.Keys[k.key.ID()] = k.key
		cids = append(cids, k.key.ID())
	}
	tg.Delegations.Roles = []*DelegatedRole{{Name: "claimed", KeyIDs: cids, Threshold: 2, Paths: []string{"*/*"}}}
	tgm := New(tg)
	isign(t, tgm, tgKey)
	r.targets = publish(t, tgm)

	// Claimed delegates sampleproject to 2 of {P-384, ed25519},
	// otherproject to one P-256 key and legacyproject to one RSA key.
	r.sampleKeys = []ikey{newIKey(t, "p384"), newIKey(t, "ed25519")}
	r.otherKey = newIKey(t, "p256")
	r.legacyKey = newIKey(t, "rsa")
	cl := NewTargets(interopExpires)
	cl.Delegations = &Delegations{Keys: map[string]*Key{}}
	for _, k := range append(slices.Clone(r.sampleKeys), r.otherKey, r.legacyKey) {
		cl.Delegations.Keys[k.key.ID()] = k.key
	}
	cl.Delegations.Roles = []*DelegatedRole{
		{Name: "sampleproject", KeyIDs: []string{r.sampleKeys[0].key.ID(), r.sampleKeys[1].key.ID()}, Threshold: 2, Terminating: true, Paths: []string{"sampleproject/*"}},
		{Name: "otherproject", KeyIDs: []string{r.otherKey.key.ID()}, Threshold: 1, Terminating: true, Paths: []string{"otherproject/*"}},
		{Name: "legacyproject", KeyIDs: []string{r.legacyKey.key.ID()}, Threshold: 1, Terminating: true, Paths: []string{"legacyproject/*"}},
	}
	clm := New(cl)
	isign(t, clm, r.claimedKeys[0], r.claimedKeys[2]) // ed25519 + P-384
	r.claimed = publish(t, clm)

	// The projects' own metadata, each with one file.
	project := func(name string, keys ...ikey) []byte {
		p := NewTargets(interopExpires)
		content := []byte("contents of " + name + "-1.0.tar.gz")
		sum := sha256.Sum256(content)
		path := name + "/" + name + "-1.0.tar.gz"
		p.Targets[path] = &TargetFile{Length: int64(len(content)), Hashes: map[string]string{"sha256": hex.EncodeToString(sum[:])}}
		if name == "sampleproject" {
			r.projectFile, r.projectFileLen = path, int64(len(content))
		}
		pm := New(p)
		isign(t, pm, keys...)
		return publish(t, pm)
	}
	r.sampleproject = project("sampleproject", r.sampleKeys...)
	r.otherproject = project("otherproject", r.otherKey)
	r.legacyproject = project("legacyproject", r.legacyKey)

	sn := NewSnapshot(interopExpires)
	sn.Meta["targets.json"] = MetaFileFor(1, r.targets)
	sn.Meta["claimed.json"] = MetaFileFor(1, r.claimed)
	sn.Meta["sampleproject.json"] = MetaFileFor(1, r.sampleproject)
	sn.Meta["otherproject.json"] = MetaFileFor(1, r.otherproject)
	sn.Meta["legacyproject.json"] = MetaFileFor(1, r.legacyproject)
	snm := New(sn)
	isign(t, snm, snKey)
	r.snapshot = publish(t, snm)

	ts := NewTimestamp(interopExpires)
	ts.Meta["snapshot.json"] = MetaFileFor(1, r.snapshot)
	tsm := New(ts)
	isign(t, tsm, ts2Key) // v3's timestamp key
	r.ts = publish(t, tsm)
	return r
}

func gotufRoot(t testing.TB, b []byte) *metadata.Metadata[metadata.RootType] {
	t.Helper()
	m, err := metadata.Root().FromBytes(b)
	if err != nil {
		t.Fatalf("go-tuf refuses root: %v\n%s", err, b)
	}
	return m
}

func gotufTargets(t testing.TB, b []byte) *metadata.Metadata[metadata.TargetsType] {
	t.Helper()
	m, err := metadata.Targets().FromBytes(b)
	if err != nil {
		t.Fatalf("go-tuf refuses targets: %v\n%s", err, b)
	}
	return m
}

// TestInteropRootChainToGoTUF: go-tuf accepts each step of a root chain
// roles built, under the old root's keys and under the new root's own,
// and reads the same keyids and thresholds from it.
func TestInteropRootChainToGoTUF(t *testing.T) {
	r := buildInteropRepo(t)
	for i, b := range r.roots {
		g := gotufRoot(t, b)
		if got := g.Signed.Roles[metadata.ROOT].Threshold; int64(got) != r.rootThresholds[i] {
			t.Errorf("root v%d: go-tuf reads threshold %d, want %d", i+1, got, r.rootThresholds[i])
		}
		// go-tuf derives each keyid from the key object it read: it must
		// name the key as roles did, extra members included.
		for id, k := range g.Signed.Keys {
			gid, err := k.ID()
			if err != nil || gid != id {
				t.Errorf("root v%d: go-tuf computes keyid %s for the key roles published as %s (%v)", i+1, gid, id, err)
			}
		}
		if err := g.VerifyDelegate(metadata.ROOT, g); err != nil {
			t.Errorf("root v%d under its own keys, per go-tuf: %v", i+1, err)
		}
		if i > 0 {
			prev := gotufRoot(t, r.roots[i-1])
			if err := prev.VerifyDelegate(metadata.ROOT, g); err != nil {
				t.Errorf("root v%d under root v%d's keys, per go-tuf: %v", i+1, i, err)
			}
		}
	}
	// roles agrees on the same bytes.
	var chain []*Metadata[*Root]
	for _, b := range r.roots[1:] {
		chain = append(chain, mustParse[*Root](t, b))
	}
	newest, steps, err := VerifyRootChain(mustParse[*Root](t, r.roots[0]), chain, interopNow)
	if err != nil || newest.Signed.Version != 3 || len(steps) != 2 {
		t.Fatalf("roles' own chain check: %v", err)
	}

	// Negative: v3 signed by its new keys only meets its own threshold
	// but not v2's. Both implementations must refuse it as the next root.
	bad := r.rootV3SignedOnlyByNew
	g := gotufRoot(t, bad)
	if err := g.VerifyDelegate(metadata.ROOT, g); err != nil {
		t.Errorf("control: v3 signed by r5, r6 should meet its own threshold in go-tuf: %v", err)
	}
	if err := gotufRoot(t, r.roots[1]).VerifyDelegate(metadata.ROOT, g); err == nil {
		t.Error("go-tuf accepted root v3 without a threshold of v2's keys")
	}
	if _, err := VerifyRootUpdate(r.rootV2, mustParse[*Root](t, bad)); !errors.Is(err, ErrThreshold) {
		t.Errorf("roles accepted root v3 without a threshold of v2's keys: %v", err)
	}
}

// TestInteropDelegationsToGoTUF: go-tuf verifies targets → claimed →
// project as roles built them, with ed25519, P-256 and P-384 keys at each
// level, and resolves target paths to the same roles.
func TestInteropDelegationsToGoTUF(t *testing.T) {
	r := buildInteropRepo(t)
	root := gotufRoot(t, r.roots[2])
	targets := gotufTargets(t, r.targets)
	claimed := gotufTargets(t, r.claimed)
	sample := gotufTargets(t, r.sampleproject)
	other := gotufTargets(t, r.otherproject)
	legacy := gotufTargets(t, r.legacyproject)
	for _, c := range []struct {
		name string
		err  error
	}{
		{"root → targets", root.VerifyDelegate(metadata.TARGETS, targets)},
		{"targets → claimed", targets.VerifyDelegate("claimed", claimed)},
		{"claimed → sampleproject", claimed.VerifyDelegate("sampleproject", sample)},
		{"claimed → otherproject", claimed.VerifyDelegate("otherproject", other)},
		{"claimed → legacyproject (RSA-PSS)", claimed.VerifyDelegate("legacyproject", legacy)},
	} {
		if c.err != nil {
			t.Errorf("go-tuf: %s: %v", c.name, c.err)
		}
	}
	// Negative: each project's metadata under the other's delegation.
	if err := claimed.VerifyDelegate("otherproject", sample); err == nil {
		t.Error("go-tuf accepted sampleproject's metadata as otherproject")
	}
	if err := claimed.VerifyDelegate("sampleproject", other); err == nil {
		t.Error("go-tuf accepted otherproject's metadata as sampleproject")
	}

	// roles agrees on the same bytes.
	rroot := mustParse[*Root](t, r.roots[2])
	rtg := mustParse[*Targets](t, r.targets)
	rcl := mustParse[*Targets](t, r.claimed)
	tdel, _ := rroot.Signed.Delegation(TypeTargets)
	if _, err := Verify(rtg, tdel); err != nil {
		t.Errorf("roles: root → targets: %v", err)
	}
	cdel, err := rtg.Signed.Delegations.Delegation("claimed")
	if err == nil {
		_, err = Verify(rcl, cdel)
	}
	if err != nil {
		t.Errorf("roles: targets → claimed: %v", err)
	}
	for name, b := range map[string][]byte{"sampleproject": r.sampleproject, "otherproject": r.otherproject, "legacyproject": r.legacyproject} {
		del, err := rcl.Signed.Delegations.Delegation(name)
		if err == nil {
			_, err = Verify(mustParse[*Targets](t, b), del)
		}
		if err != nil {
			t.Errorf("roles: claimed → %s: %v", name, err)
		}
	}

	// Both resolve target paths to the same delegated roles.
	for _, p := range []string{r.projectFile, "otherproject/otherproject-1.0.tar.gz", "sampleproject/sub/x", "nobody/x", "sampleproject", ""} {
		var want []string
		for _, rr := range claimed.Signed.Delegations.GetRolesForTarget(p) {
			want = append(want, rr.Name)
		}
		if got := rcl.Signed.Delegations.RolesFor(p); !slices.Equal(got, want) {
			t.Errorf("roles for %q: roles says %v, go-tuf says %v", p, got, want)
		}
	}
}

// TestInteropStockClientLoadsRepository: go-tuf's client-side state machine
// (trustedmetadata, what its updater drives) walks the whole repository
// roles built: root ×2 updates, timestamp, snapshot (lengths and hashes
// checked), targets, claimed and both projects.
func TestInteropStockClientLoadsRepository(t *testing.T) {
	r := buildInteropRepo(t)
	tm, err := trustedmetadata.New(r.roots[0])
	if err != nil {
		t.Fatalf("go-tuf refuses trusted root v1: %v", err)
	}
	tm.RefTime = interopNow
	for i, b := range r.roots[1:] {
		if _, err := tm.UpdateRoot(b); err != nil {
			t.Fatalf("go-tuf UpdateRoot v%d: %v", i+2, err)
		}
	}
	if _, err := tm.UpdateTimestamp(r.ts); err != nil {
		t.Fatalf("go-tuf UpdateTimestamp: %v", err)
	}
	if _, err := tm.UpdateSnapshot(r.snapshot, false); err != nil {
		t.Fatalf("go-tuf UpdateSnapshot: %v", err)
	}
	if _, err := tm.UpdateTargets(r.targets); err != nil {
		t.Fatalf("go-tuf UpdateTargets: %v", err)
	}
	if _, err := tm.UpdateDelegatedTargets(r.claimed, "claimed", metadata.TARGETS); err != nil {
		t.Fatalf("go-tuf UpdateDelegatedTargets claimed: %v", err)
	}
	for name, b := range map[string][]byte{"sampleproject": r.sampleproject, "otherproject": r.otherproject, "legacyproject": r.legacyproject} {
		if _, err := tm.UpdateDelegatedTargets(b, name, "claimed"); err != nil {
			t.Fatalf("go-tuf UpdateDelegatedTargets %s: %v", name, err)
		}
	}
	tf := tm.Targets["sampleproject"].Signed.Targets[r.projectFile]
	if tf == nil || tf.Length != r.projectFileLen {
		t.Errorf("go-tuf's view of %s: %+v", r.projectFile, tf)
	}

	// Negative: the same client refuses a root that skips v3's update
	// rule, and a snapshot whose bytes differ from what timestamp lists.
	tm2, err := trustedmetadata.New(r.roots[1])
	if err != nil {
		t.Fatal(err)
	}
	tm2.RefTime = interopNow
	if _, err := tm2.UpdateRoot(r.rootV3SignedOnlyByNew); err == nil {
		t.Error("go-tuf's client accepted root v3 without v2's threshold")
	}
	tm3, err := trustedmetadata.New(r.roots[2])
	if err != nil {
		t.Fatal(err)
	}
	tm3.RefTime = interopNow
	if _, err := tm3.UpdateTimestamp(r.ts); err != nil {
		t.Fatal(err)
	}
	if _, err := tm3.UpdateSnapshot(append(slices.Clone(r.snapshot), ' '), false); err == nil {
		t.Error("go-tuf's client accepted a snapshot that does not match timestamp's length and hash")
	}
}

// gotufSigner wraps a private key in the sigstore signer go-tuf signs with.
func gotufSigner(t testing.TB, k ikey) signature.Signer {
	t.Helper()
	var s signature.Signer
	var err error
	switch p := k.priv.(type) {
	case ed25519.PrivateKey:
		s, err = signature.LoadED25519Signer(p)
	case *ecdsa.PrivateKey:
		s, err = signature.LoadECDSASigner(p, crypto.SHA256)
	case *rsa.PrivateKey:
		s, err = signature.LoadRSAPSSSigner(p, crypto.SHA256, nil)
	default:
		t.Fatalf("no go-tuf signer for %T", k.priv)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// gotufKey is the key object go-tuf builds for a public key (KeyFromPublicKey),
// and its keyid as go-tuf computes it.
func gotufKey(t testing.TB, k ikey) (*metadata.Key, string) {
	t.Helper()
	gk, err := metadata.KeyFromPublicKey(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	id, err := gk.ID()
	if err != nil {
		t.Fatal(err)
	}
	return gk, id
}

func gotufSign[T metadata.Roles](t testing.TB, m *metadata.Metadata[T], keys ...ikey) {
	t.Helper()
	for _, k := range keys {
		if _, err := m.Sign(gotufSigner(t, k)); err != nil {
			t.Fatal(err)
		}
	}
}

func gotufBytes[T metadata.Roles](t testing.TB, m *metadata.Metadata[T], pretty bool) []byte {
	t.Helper()
	b, err := m.ToBytes(pretty)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkSameSignedBytes: roles' canonical form of a go-tuf document is the
// very message go-tuf signed.
func checkSameSignedBytes[R Role, T metadata.Roles](t testing.TB, what string, ours *Metadata[R], theirs *metadata.Metadata[T]) {
	t.Helper()
	want, err := cjson.EncodeCanonical(theirs.Signed)
	if err != nil {
		t.Fatal(err)
	}
	if got := ours.CanonicalSigned(); !bytes.Equal(got, want) {
		t.Errorf("%s: roles' canonical signed bytes differ from go-tuf's\nroles:  %s\ngo-tuf: %s", what, got, want)
	}
}

// TestInteropGoTUFToRoles: a root chain and a targets → claimed → project
// delegation chain made and signed by go-tuf (ed25519 and P-256 keys,
// whose keyids go-tuf derives correctly) parse and verify in roles, compact
// and pretty-printed.
func TestInteropGoTUFToRoles(t *testing.T) {
	a, b, c, d := newIKey(t, "ed25519"), newIKey(t, "p256"), newIKey(t, "ed25519"), newIKey(t, "p256")
	online := newIKey(t, "ed25519")
	ka, ida := gotufKey(t, a)
	kb, _ := gotufKey(t, b)
	kc, _ := gotufKey(t, c)
	kd, _ := gotufKey(t, d)
	ko, _ := gotufKey(t, online)
	// go-tuf's keyids are roles' keyids for the same key objects.
	for _, k := range []ikey{a, b, c, d, online} {
		if _, id := gotufKey(t, k); id != k.key.ID() {
			t.Errorf("keyid of a %s key: go-tuf %s, roles %s", k.key.Scheme, id, k.key.ID())
		}
	}

	// v1: root 1 of {a, b}. v2: + c, threshold 2. v3: - a, + d, threshold 3.
	g1 := metadata.Root(interopExpires)
	for _, k := range []*metadata.Key{ka, kb} {
		if err := g1.Signed.AddKey(k, metadata.ROOT); err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range []string{metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		if err := g1.Signed.AddKey(ko, role); err != nil {
			t.Fatal(err)
		}
	}
	gotufSign(t, g1, a)
	v1 := gotufBytes(t, g1, false)

	g2 := gotufRoot(t, v1)
	g2.Signatures = nil
	g2.Signed.Version = 2
	if err := g2.Signed.AddKey(kc, metadata.ROOT); err != nil {
		t.Fatal(err)
	}
	g2.Signed.Roles[metadata.ROOT].Threshold = 2
	gotufSign(t, g2, b, c)
	v2 := gotufBytes(t, g2, true) // pretty: white space, not canonical

	g3 := gotufRoot(t, v2)
	g3.Signatures = nil
	g3.Signed.Version = 3
	if err := g3.Signed.RevokeKey(ida, metadata.ROOT); err != nil {
		t.Fatal(err)
	}
	if err := g3.Signed.AddKey(kd, metadata.ROOT); err != nil {
		t.Fatal(err)
	}
	g3.Signed.Roles[metadata.ROOT].Threshold = 3
	gotufSign(t, g3, b, c, d)
	v3 := gotufBytes(t, g3, false)

	r1, r2, r3 := mustParse[*Root](t, v1), mustParse[*Root](t, v2), mustParse[*Root](t, v3)
	checkSameSignedBytes(t, "root v1", r1, g1)
	checkSameSignedBytes(t, "root v2", r2, g2)
	checkSameSignedBytes(t, "root v3", r3, g3)
	if r3.Signed.Roles[TypeRoot].Threshold != 3 || len(r3.Signed.Roles[TypeRoot].KeyIDs) != 3 || r3.Signed.Keys[ida] != nil {
		t.Errorf("roles reads root v3 as %+v", r3.Signed.Roles[TypeRoot])
	}
	if _, err := VerifySelfSigned(r1); err != nil {
		t.Errorf("roles: go-tuf's root v1: %v", err)
	}
	newest, steps, err := VerifyRootChain(r1, []*Metadata[*Root]{r2, r3}, interopNow)
	if err != nil || newest.Signed.Version != 3 {
		t.Fatalf("roles: go-tuf's root chain: %v", err)
	}
	if steps[1].Old.Count() != 2 || steps[1].New.Count() != 3 {
		t.Errorf("v2 → v3 counted old %d, new %d signers; want 2 and 3", steps[1].Old.Count(), steps[1].New.Count())
	}
	// Without c's signature, v3 has 1 of the 2 v2 signatures it needs
	// (and 2 of its own 3): refused.
	withoutC := mustParse[*Root](t, v3)
	withoutC.Signatures = slices.DeleteFunc(withoutC.Signatures, func(s Signature) bool { return s.KeyID == c.key.ID() })
	if _, _, err := VerifyRootChain(r2, []*Metadata[*Root]{withoutC}, interopNow); !errors.Is(err, ErrThreshold) {
		t.Errorf("roles accepted go-tuf's root v3 without c's signature: %v", err)
	}

	// targets → claimed → project, all made by go-tuf; a second project
	// signs with RSA-PSS, whose keyid go-tuf also derives as roles does.
	cl1, cl2, pk, lk := newIKey(t, "p256"), newIKey(t, "ed25519"), newIKey(t, "p256"), newIKey(t, "rsa")
	gcl1, idcl1 := gotufKey(t, cl1)
	gcl2, idcl2 := gotufKey(t, cl2)
	gpk, idpk := gotufKey(t, pk)
	glk, idlk := gotufKey(t, lk)
	if idlk != lk.key.ID() {
		t.Errorf("keyid of an RSA key: go-tuf %s, roles %s", idlk, lk.key.ID())
	}
	gtg := metadata.Targets(interopExpires)
	gtg.Signed.Delegations = &metadata.Delegations{
		Keys:  map[string]*metadata.Key{idcl1: gcl1, idcl2: gcl2},
		Roles: []metadata.DelegatedRole{{Name: "claimed", KeyIDs: []string{idcl1, idcl2}, Threshold: 2, Paths: []string{"*/*"}}},
	}
	gotufSign(t, gtg, online)
	gcl := metadata.Targets(interopExpires)
	gcl.Signed.Delegations = &metadata.Delegations{
		Keys: map[string]*metadata.Key{idpk: gpk, idlk: glk},
		Roles: []metadata.DelegatedRole{
			{Name: "sampleproject", KeyIDs: []string{idpk}, Threshold: 1, Terminating: true, Paths: []string{"sampleproject/*"}},
			{Name: "legacyproject", KeyIDs: []string{idlk}, Threshold: 1, Terminating: true, Paths: []string{"legacyproject/*"}},
		},
	}
	gotufSign(t, gcl, cl1, cl2)
	gpr := metadata.Targets(interopExpires)
	tfile, err := metadata.TargetFile().FromBytes("sampleproject/sampleproject-1.0.tar.gz", []byte("release"), "sha256")
	if err != nil {
		t.Fatal(err)
	}
	gpr.Signed.Targets[tfile.Path] = tfile
	gotufSign(t, gpr, pk)
	glp := metadata.Targets(interopExpires)
	gotufSign(t, glp, lk)

	rtg := mustParse[*Targets](t, gotufBytes(t, gtg, false))
	rcl := mustParse[*Targets](t, gotufBytes(t, gcl, true))
	rpr := mustParse[*Targets](t, gotufBytes(t, gpr, false))
	checkSameSignedBytes(t, "targets", rtg, gtg)
	checkSameSignedBytes(t, "claimed", rcl, gcl)
	checkSameSignedBytes(t, "project", rpr, gpr)
	tdel, _ := r3.Signed.Delegation(TypeTargets)
	if _, err := Verify(rtg, tdel); err != nil {
		t.Errorf("roles: go-tuf's root → targets: %v", err)
	}
	cdel, err := rtg.Signed.Delegations.Delegation("claimed")
	if err == nil {
		var rep *VerifyReport
		rep, err = Verify(rcl, cdel)
		if err == nil && rep.Count() != 2 {
			t.Errorf("claimed counted %d signers, want 2", rep.Count())
		}
	}
	if err != nil {
		t.Errorf("roles: go-tuf's targets → claimed: %v", err)
	}
	pdel, err := rcl.Signed.Delegations.Delegation("sampleproject")
	if err == nil {
		_, err = Verify(rpr, pdel)
	}
	if err != nil {
		t.Errorf("roles: go-tuf's claimed → sampleproject: %v", err)
	}
	// go-tuf signs RSA-PSS (through sigstore's signer) with the longest
	// salt that fits, which go-securesystemslib refuses: such a signature
	// counts only as a foreign repository's, with a warning.
	ldel, err := rcl.Signed.Delegations.Delegation("legacyproject")
	if err == nil {
		rlp := mustParse[*Targets](t, gotufBytes(t, glp, false))
		checkSameSignedBytes(t, "legacyproject", rlp, glp)
		var rep *VerifyReport
		if rep, err = Verify(rlp, ldel); !errors.Is(err, ErrThreshold) || !errors.Is(rep.Invalid[idlk], ErrPSSSalt) {
			t.Errorf("roles counts go-tuf's RSA-PSS signature with a long salt: %v, %v", err, rep.Invalid)
		}
		if rep, err = VerifyWith(rlp, ldel, VerifyOptions{AnyPSSSalt: true}); err == nil && !slices.Equal(rep.Relaxed, []string{idlk}) {
			t.Errorf("relaxed signatures %v, want %s", rep.Relaxed, idlk)
		}
	}
	if err != nil {
		t.Errorf("roles: go-tuf's claimed → legacyproject (RSA-PSS), any salt: %v", err)
	}
	if got := rcl.Signed.Delegations.RolesFor(tfile.Path); !slices.Equal(got, []string{"sampleproject"}) {
		t.Errorf("roles resolves %s to %v", tfile.Path, got)
	}
	if tf := rpr.Signed.Targets[tfile.Path]; tf == nil || tf.Length != 7 || tf.Hashes["sha256"] != hex.EncodeToString(tfile.Hashes["sha256"]) {
		t.Errorf("roles reads go-tuf's target file as %+v", tf)
	}

	// Snapshot and timestamp from go-tuf, with lengths and hashes.
	gsn := metadata.Snapshot(interopExpires)
	gsn.Signed.Meta["claimed.json"] = metadata.MetaFile(1)
	gotufSign(t, gsn, online)
	snb := gotufBytes(t, gsn, false)
	gts := metadata.Timestamp(interopExpires)
	sum := sha256.Sum256(snb)
	gts.Signed.Meta["snapshot.json"].Length = int64(len(snb))
	gts.Signed.Meta["snapshot.json"].Hashes = metadata.Hashes{"sha256": sum[:]}
	gotufSign(t, gts, online)
	rsn := mustParse[*Snapshot](t, snb)
	rts := mustParse[*Timestamp](t, gotufBytes(t, gts, false))
	checkSameSignedBytes(t, "snapshot", rsn, gsn)
	checkSameSignedBytes(t, "timestamp", rts, gts)
	for name, err := range map[string]error{
		"snapshot":  verifyTop(r3, TypeSnapshot, rsn),
		"timestamp": verifyTop(r3, TypeTimestamp, rts),
	} {
		if err != nil {
			t.Errorf("roles: go-tuf's %s: %v", name, err)
		}
	}
	if err := rts.Signed.Meta["snapshot.json"].Check(snb); err != nil {
		t.Errorf("roles: go-tuf's timestamp does not describe go-tuf's snapshot: %v", err)
	}
}

func verifyTop[R Role](root *Metadata[*Root], role string, m *Metadata[R]) error {
	del, err := root.Signed.Delegation(role)
	if err != nil {
		return err
	}
	_, err = Verify(m, del)
	return err
}

// TestInteropForeignSignatureOverOtherBytes: a signature go-tuf made over
// one document does not verify in roles over another, though it verifies
// over the document it was made for.
func TestInteropForeignSignatureOverOtherBytes(t *testing.T) {
	for _, kind := range []string{"ed25519", "p256"} {
		k := newIKey(t, kind)
		_, id := gotufKey(t, k)
		del := Delegation{Role: "claimed", Keys: map[string]*Key{id: k.key}, KeyIDs: []string{id}, Threshold: 1}

		ga := metadata.Targets(interopExpires)
		ga.Signed.Targets["p/a.tar.gz"] = &metadata.TargetFiles{Length: 1, Hashes: metadata.Hashes{"sha256": make([]byte, 32)}}
		gotufSign(t, ga, k)
		a := mustParse[*Targets](t, gotufBytes(t, ga, false))
		if _, err := Verify(a, del); err != nil {
			t.Fatalf("%s control: go-tuf's signature over its own document: %v", kind, err)
		}
		// The same signature on the next version of the document.
		gb := gotufTargets(t, gotufBytes(t, ga, false))
		gb.Signed.Version = 2
		b := mustParse[*Targets](t, gotufBytes(t, gb, false))
		rep, err := Verify(b, del)
		if !errors.Is(err, ErrThreshold) {
			t.Errorf("%s: roles accepted a go-tuf signature made over other bytes: %v", kind, err)
		} else if !errors.Is(rep.Invalid[id], ErrSignature) {
			t.Errorf("%s: report does not name the bad signature: %+v", kind, rep)
		}
	}
}

// alterOnce replaces the first occurrence of old in b, failing the test if
// there is none, so that every negative case really changes its document.
func alterOnce(t testing.TB, b []byte, old, new string) []byte {
	t.Helper()
	i := bytes.Index(b, []byte(old))
	if i < 0 {
		t.Fatalf("%q not in document", old)
	}
	return slices.Concat(b[:i], []byte(new), b[i+len(old):])
}

// TestInteropAlteredDocumentRejected: a document roles signed, altered by
// one field of its signed part, is refused by go-tuf and by roles, while
// the unaltered document passes both.
func TestInteropAlteredDocumentRejected(t *testing.T) {
	r := buildInteropRepo(t)
	root3 := gotufRoot(t, r.roots[2])
	targets := gotufTargets(t, r.targets)
	claimed := gotufTargets(t, r.claimed)
	rroot3 := mustParse[*Root](t, r.roots[2])
	rtargets := mustParse[*Targets](t, r.targets)
	rclaimed := mustParse[*Targets](t, r.claimed)

	// A refusal must come from verification: the altered documents all
	// still parse, in both implementations.
	errParse := errors.New("does not parse")
	type check struct {
		gotuf func([]byte) error // go-tuf's verdict on the document
		roles func([]byte) error // roles' verdict
	}
	rootSelf := check{
		func(b []byte) error {
			g, err := metadata.Root().FromBytes(b)
			if err != nil {
				return fmt.Errorf("%w: %v", errParse, err)
			}
			return g.VerifyDelegate(metadata.ROOT, g)
		},
		func(b []byte) error {
			m, err := Parse[*Root](b)
			if err != nil {
				return fmt.Errorf("%w: %v", errParse, err)
			}
			_, err = VerifySelfSigned(m)
			return err
		},
	}
	delegated := func(name string, gdel *metadata.Metadata[metadata.TargetsType], rdel *Delegations) check {
		return check{
			func(b []byte) error {
				g, err := metadata.Targets().FromBytes(b)
				if err != nil {
					return fmt.Errorf("%w: %v", errParse, err)
				}
				return gdel.VerifyDelegate(name, g)
			},
			func(b []byte) error {
				m, err := Parse[*Targets](b)
				if err != nil {
					return fmt.Errorf("%w: %v", errParse, err)
				}
				del, err := rdel.Delegation(name)
				if err != nil {
					return err
				}
				_, err = Verify(m, del)
				return err
			},
		}
	}
	topTargets := check{
		func(b []byte) error {
			g, err := metadata.Targets().FromBytes(b)
			if err != nil {
				return fmt.Errorf("%w: %v", errParse, err)
			}
			return root3.VerifyDelegate(metadata.TARGETS, g)
		},
		func(b []byte) error {
			m, err := Parse[*Targets](b)
			if err != nil {
				return fmt.Errorf("%w: %v", errParse, err)
			}
			return verifyTop(rroot3, TypeTargets, m)
		},
	}
	docs := []struct {
		name string
		doc  []byte
		chk  check
		alts [][2]string // old, new
	}{
		{"root v3", r.roots[2], rootSelf, [][2]string{
			{`"version":3`, `"version":4`},
			{`"expires":"2031-06-01T00:00:00Z"`, `"expires":"2032-06-01T00:00:00Z"`},
			{`"quarterly"`, `"emergency"`}, // an unknown member is signed too
			{`"consistent_snapshot":true`, `"consistent_snapshot":false`},
			{`"threshold":2`, `"threshold":1`},
		}},
		{"targets", r.targets, topTargets, [][2]string{
			{`"paths":["*/*"]`, `"paths":["*"]`},
			{`"threshold":2`, `"threshold":1`},
		}},
		{"claimed", r.claimed, delegated("claimed", targets, rtargets.Signed.Delegations), [][2]string{
			{`"sampleproject/*"`, `"sampleprojecT/*"`},
			{`"terminating":true`, `"terminating":false`},
			{`"name":"otherproject"`, `"name":"otherprojecu"`},
		}},
		{"sampleproject", r.sampleproject, delegated("sampleproject", claimed, rclaimed.Signed.Delegations), [][2]string{
			{fmt.Sprintf(`"length":%d`, r.projectFileLen), fmt.Sprintf(`"length":%d`, r.projectFileLen+1)},
			{`-1.0.tar.gz"`, `-1.1.tar.gz"`},
		}},
	}
	for _, d := range docs {
		if err := d.chk.gotuf(d.doc); err != nil {
			t.Errorf("%s control: go-tuf refuses the unaltered document: %v", d.name, err)
		}
		if err := d.chk.roles(d.doc); err != nil {
			t.Errorf("%s control: roles refuses the unaltered document: %v", d.name, err)
		}
		for _, alt := range d.alts {
			bad := alterOnce(t, d.doc, alt[0], alt[1])
			if err := d.chk.gotuf(bad); err == nil || errors.Is(err, errParse) {
				t.Errorf("%s with %s → %s: go-tuf: %v, want a verification error", d.name, alt[0], alt[1], err)
			}
			if err := d.chk.roles(bad); err == nil || errors.Is(err, errParse) {
				t.Errorf("%s with %s → %s: roles: %v, want a verification error", d.name, alt[0], alt[1], err)
			}
		}
	}
}

// TestInteropPathMatchingAndBins compares roles' target path matching and
// succinct hash bins with go-tuf's on the same inputs.
func TestInteropPathMatchingAndBins(t *testing.T) {
	patterns := []string{"*", "*/*", "sampleproject/*", "files/*/x.txt", "a?c/*", "[ab]*/*.whl", "[!a]*/*", "pkg/*.tar.gz", "literal/path", "*/*/*", "x/[0-9]*"}
	paths := []string{"a", "abc/x", "sampleproject/s-1.0.tar.gz", "sampleproject/sub/f", "files/q/x.txt", "files/q/r/x.txt", "bz/w.whl", "az/w.whl", "cz/w.whl", "pkg/p-1.tar.gz", "pkg/p.zip", "literal/path", "a/b/c", "x/9y", "x/y9", "", "/", "a/"}
	for _, p := range patterns {
		ours := &DelegatedRole{Paths: []string{p}}
		theirs := &metadata.DelegatedRole{Paths: []string{p}}
		for _, path := range paths {
			want, _ := theirs.IsDelegatedPath(path)
			if got := ours.Matches(path); got != want {
				t.Errorf("pattern %q, path %q: roles %v, go-tuf %v", p, path, got, want)
			}
		}
	}
	for bits := int64(1); bits <= 12; bits++ {
		ours := &SuccinctRoles{BitLength: bits, NamePrefix: "bins"}
		theirs := &metadata.SuccinctRoles{BitLength: int(bits), NamePrefix: "bins"}
		names := theirs.GetRoles()
		if len(names) != ours.BinCount() {
			t.Fatalf("bit_length %d: %d bins, go-tuf %d", bits, ours.BinCount(), len(names))
		}
		for i, n := range names {
			if ours.BinName(i) != n || !ours.IsBin(n) {
				t.Errorf("bit_length %d, bin %d: roles names it %s (IsBin %v), go-tuf %s", bits, i, ours.BinName(i), ours.IsBin(n), n)
			}
		}
		for i := range 200 {
			p := fmt.Sprintf("project-%d/file-%d.tar.gz", i, i*7)
			if got, want := ours.BinFor(p), theirs.GetRolesForTarget(p)[0].Name; got != want {
				t.Errorf("bit_length %d, %s: roles bin %s, go-tuf %s", bits, p, got, want)
			}
		}
	}
}
