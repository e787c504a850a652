package repoverify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gtsig "github.com/sigstore/sigstore/pkg/signature"
	gtmeta "github.com/theupdateframework/go-tuf/v2/metadata"
	gttrusted "github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/ceremony-tuf/ceremony/roles"
)

// The roles of PEP 480's layout the fixture delegates to.
const (
	roleClaimed         = "claimed"
	roleRecentlyClaimed = "recently-claimed"
	roleUnclaimed       = "unclaimed"
)

// ref is the fixtures' reference time.
var ref = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// testKey is an in-memory key of a fixture.
type testKey struct {
	signer crypto.Signer
	key    *roles.Key
	// pssSalt, for an RSA key, is the salt length its signatures have
	// when not the digest's, as another tool may have signed them.
	pssSalt int
}

// testKeys makes deterministic keys by name: ed25519, or ECDSA P-256
// for names starting "ec".
func testKeys(t testing.TB, names ...string) map[string]*testKey {
	t.Helper()
	out := map[string]*testKey{}
	for _, n := range names {
		seed := sha256.Sum256([]byte("repoverify test key " + n))
		var s crypto.Signer
		if strings.HasPrefix(n, "ec") {
			d := new(big.Int).SetBytes(seed[:])
			d.Mod(d, new(big.Int).Sub(elliptic.P256().Params().N, big.NewInt(1)))
			d.Add(d, big.NewInt(1))
			priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d.FillBytes(make([]byte, 32)))
			if err != nil {
				t.Fatal(err)
			}
			s = priv
		} else {
			s = ed25519.NewKeyFromSeed(seed[:])
		}
		k, err := roles.KeyFromPublic(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		out[n] = &testKey{signer: s, key: k}
	}
	return out
}

// fixture is a whole repository held as roles' models, published into a
// folder by publish. Tests change the models, the signers and the hooks
// before publishing, or the files after.
type fixture struct {
	t    testing.TB
	keys map[string]*testKey

	roots       []*roles.Root
	rootSigners [][]string
	// targets holds every targets role by name, in publishing order.
	targets     map[string]*roles.Targets
	order       []string
	signers     map[string][]string
	revocations *roles.Revocations
	snapshot    *roles.Snapshot
	timestamp   *roles.Timestamp

	// sigHook changes a role's signatures before it is written;
	// byteHook its published bytes, before snapshot or timestamp
	// describes them.
	sigHook  map[string]func([]roles.Signature) []roles.Signature
	byteHook map[string]func([]byte) []byte
	// skip leaves a role out of snapshot and the folder.
	skip map[string]bool
	// tsMeta changes timestamp's entry for snapshot before it is signed.
	tsMeta func(*roles.MetaFile)
}

func (f *fixture) id(name string) string { return f.keys[name].key.ID() }

func (f *fixture) keyMap(names ...string) map[string]*roles.Key {
	m := map[string]*roles.Key{}
	for _, n := range names {
		m[f.id(n)] = f.keys[n].key
	}
	return m
}

func (f *fixture) ids(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, f.id(n))
	}
	return out
}

// newFixture builds root v1 → v3 (a root key replaced, then the
// threshold raised and targets' key rotated), targets delegating to
// claimed (2 of 2), recently-claimed and unclaimed (succinct bins, 2
// bits), claimed delegating to projects alpha (ed25519), beta (ECDSA) and
// ns/delta (a name with a slash), and a revocation list revoking a key no
// role trusts.
func newFixture(t testing.TB) *fixture {
	f := &fixture{
		t:        t,
		keys:     testKeys(t, "r1", "r2", "r3", "r4", "tg1", "tg2", "sn", "ts", "c1", "c2", "online", "m-alpha", "ec-beta", "m-delta", "m-old", "m-stranger"),
		targets:  map[string]*roles.Targets{},
		signers:  map[string][]string{},
		sigHook:  map[string]func([]roles.Signature) []roles.Signature{},
		byteHook: map[string]func([]byte) []byte{},
		skip:     map[string]bool{},
	}
	exp := ref.AddDate(1, 0, 0)
	mkRoot := func(version int64, rootKeys []string, threshold int64, targetsKey string) *roles.Root {
		r := roles.NewRoot(exp)
		r.Version = version
		for _, k := range rootKeys {
			r.AddKey(roles.TypeRoot, f.keys[k].key)
		}
		r.Roles[roles.TypeRoot].Threshold = threshold
		r.AddKey(roles.TypeTargets, f.keys[targetsKey].key)
		r.AddKey(roles.TypeSnapshot, f.keys["sn"].key)
		r.AddKey(roles.TypeTimestamp, f.keys["ts"].key)
		return r
	}
	f.roots = []*roles.Root{
		mkRoot(1, []string{"r1", "r2", "r3"}, 2, "tg1"),
		mkRoot(2, []string{"r1", "r2", "r4"}, 2, "tg1"),
		mkRoot(3, []string{"r1", "r2", "r4"}, 3, "tg2"),
	}
	f.rootSigners = [][]string{{"r1", "r2", "r3"}, {"r1", "r2"}, {"r1", "r2", "r4"}}

	add := func(name string, t *roles.Targets, signers ...string) {
		f.targets[name] = t
		f.order = append(f.order, name)
		f.signers[name] = signers
	}
	tg := roles.NewTargets(exp)
	tg.Delegations = &roles.Delegations{
		Keys: f.keyMap("c1", "c2", "online"),
		Roles: []*roles.DelegatedRole{
			{Name: roleClaimed, KeyIDs: f.ids("c1", "c2"), Threshold: 2, Paths: []string{"*/*", "ns/delta/*"}},
			{Name: roleRecentlyClaimed, KeyIDs: f.ids("online"), Threshold: 1, Paths: []string{"*/*"}},
			{Name: roleUnclaimed, KeyIDs: f.ids("online"), Threshold: 1, Paths: []string{"*/*"}, Terminating: true},
		},
	}
	add(roles.TypeTargets, tg, "tg2")

	cl := roles.NewTargets(ref.AddDate(0, 3, 0))
	cl.Delegations = &roles.Delegations{
		Keys: f.keyMap("m-alpha", "ec-beta", "m-delta"),
		Roles: []*roles.DelegatedRole{
			{Name: "alpha", KeyIDs: f.ids("m-alpha"), Threshold: 1, Terminating: true, Paths: []string{"alpha/*"}},
			{Name: "beta", KeyIDs: f.ids("ec-beta"), Threshold: 1, Terminating: true, Paths: []string{"beta/*"}},
			{Name: "ns/delta", KeyIDs: f.ids("m-delta"), Threshold: 1, Terminating: true, Paths: []string{"ns/delta/*"}},
		},
	}
	add(roleClaimed, cl, "c1", "c2")
	add(roleRecentlyClaimed, roles.NewTargets(ref.AddDate(0, 0, 7)), "online")

	un := roles.NewTargets(ref.AddDate(0, 0, 7))
	un.Delegations = &roles.Delegations{
		Keys:          f.keyMap("online"),
		SuccinctRoles: &roles.SuccinctRoles{KeyIDs: f.ids("online"), Threshold: 1, BitLength: 2, NamePrefix: roleUnclaimed},
	}
	add(roleUnclaimed, un, "online")
	for i := 0; i < 4; i++ {
		bin := roles.NewTargets(ref.AddDate(0, 0, 7))
		add(un.Delegations.SuccinctRoles.BinName(i), bin, "online")
	}
	// One unclaimed target, in the bin its path hashes to.
	p := "gamma/gamma-0.1.tar.gz"
	f.targets[un.Delegations.SuccinctRoles.BinFor(p)].Targets[p] = targetFile(p)

	for _, pr := range []struct{ name, key string }{{"alpha", "m-alpha"}, {"beta", "ec-beta"}, {"ns/delta", "m-delta"}} {
		pt := roles.NewTargets(ref.AddDate(0, 6, 0))
		path := pr.name + "/" + strings.ReplaceAll(pr.name, "/", "-") + "-1.0.tar.gz"
		pt.Targets[path] = targetFile(path)
		add(pr.name, pt, pr.key)
	}

	f.revocations = roles.NewRevocations(ref.AddDate(0, 3, 0))
	f.revocations.Revoked = append(f.revocations.Revoked, &roles.Revocation{
		KeyID: f.id("m-old"), Key: f.keys["m-old"].key, Role: "alpha", Reason: "laptop stolen", RevokedAt: ref.Add(-time.Hour),
	})
	f.snapshot = roles.NewSnapshot(ref.AddDate(0, 0, 7))
	f.timestamp = roles.NewTimestamp(ref.AddDate(0, 0, 1))
	return f
}

func targetFile(path string) *roles.TargetFile {
	sum := sha256.Sum256([]byte(path))
	return &roles.TargetFile{Length: int64(len(path)), Hashes: map[string]string{"sha256": fmt.Sprintf("%x", sum)}}
}

// signRole signs and marshals a role.
func signRole[R roles.Role](f *fixture, name string, signed R, signers []string) []byte {
	f.t.Helper()
	m := roles.New(signed)
	msg := m.CanonicalSigned()
	for _, s := range signers {
		k := f.keys[s]
		sig, err := roles.Sign(k.signer, k.key, msg)
		if k.pssSalt != 0 {
			digest := sha256.Sum256(msg)
			sig.KeyID = k.key.ID()
			sig.Sig, err = rsa.SignPSS(crand.Reader, k.signer.(*rsa.PrivateKey), crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: k.pssSalt})
		}
		if err != nil {
			f.t.Fatal(err)
		}
		m.AddSignature(sig)
	}
	if h := f.sigHook[name]; h != nil {
		m.Signatures = h(m.Signatures)
	}
	b, err := m.MarshalJSON()
	if err != nil {
		f.t.Fatal(err)
	}
	if h := f.byteHook[name]; h != nil {
		b = h(b)
	}
	return b
}

// publish writes the repository into a new folder with consistent
// snapshot names and returns the folder and the trusted root (v1).
func (f *fixture) publish() (string, []byte) {
	f.t.Helper()
	dir := f.t.TempDir()
	write := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	var trusted []byte
	for i, r := range f.roots {
		b := signRole(f, fmt.Sprintf("root-v%d", r.Version), r, f.rootSigners[i])
		if i == 0 {
			trusted = b
		}
		write(fmt.Sprintf("%d.root.json", r.Version), b)
		if i == len(f.roots)-1 {
			write("root.json", b)
		}
	}
	f.snapshot.Meta = map[string]*roles.MetaFile{}
	for _, name := range f.order {
		if f.skip[name] {
			continue
		}
		t := f.targets[name]
		b := signRole(f, name, t, f.signers[name])
		write(fmt.Sprintf("%d.%s.json", t.Version, quote(name)), b)
		f.snapshot.Meta[name+".json"] = roles.MetaFileFor(t.Version, b)
	}
	if f.revocations != nil && !f.skip[roles.TypeRevocations] {
		signers := f.signers[roles.TypeRevocations]
		if signers == nil {
			signers = []string{"c1", "c2"}
		}
		b := signRole(f, roles.TypeRevocations, f.revocations, signers)
		write(fmt.Sprintf("%d.revocations.json", f.revocations.Version), b)
		f.snapshot.Meta["revocations.json"] = roles.MetaFileFor(f.revocations.Version, b)
	}
	sb := signRole(f, roles.TypeSnapshot, f.snapshot, []string{"sn"})
	write(fmt.Sprintf("%d.snapshot.json", f.snapshot.Version), sb)
	f.timestamp.Meta = map[string]*roles.MetaFile{"snapshot.json": roles.MetaFileFor(f.snapshot.Version, sb)}
	if f.tsMeta != nil {
		f.tsMeta(f.timestamp.Meta["snapshot.json"])
	}
	write("timestamp.json", signRole(f, roles.TypeTimestamp, f.timestamp, []string{"ts"}))
	return dir, trusted
}

// expectFailure verifies and requires the first failure to be check
// with reason, named in the error's text too.
func expectFailure(t *testing.T, dir string, trusted []byte, at time.Time, check, reason string) *Report {
	t.Helper()
	rep, err := Verify(dir, trusted, at)
	if err == nil {
		t.Fatalf("verified; want check %s to fail (%s)", check, reason)
	}
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *Error", err)
	}
	if ve.Name != check || ve.Reason != reason {
		t.Fatalf("first failure is %s (%s), want %s (%s): %v", ve.Name, ve.Reason, check, reason, err)
	}
	for _, want := range []string{check, reason} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q: %v", want, err)
		}
	}
	if rep == nil || rep.OK || len(rep.Failures) == 0 || rep.Failures[0].Name != check {
		t.Fatalf("report does not list the failure first: %+v", rep)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one paragraph: %q", err)
	}
	return rep
}

func TestVerifyOK(t *testing.T) {
	f := newFixture(t)
	dir, trusted := f.publish()
	if _, err := os.Stat(filepath.Join(dir, "1.ns%2Fdelta.json")); err != nil {
		t.Fatalf("the fixture should publish ns/delta escaped: %v", err)
	}
	rep, err := Verify(dir, trusted, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Failures) != 0 {
		t.Fatalf("failures: %+v", rep.Failures)
	}
	if len(rep.RootSteps) != 2 || rep.RootSteps[1].Version != 3 || rep.RootSteps[1].NewThreshold != 3 || len(rep.RootSteps[1].OldSigned) != 3 {
		t.Errorf("root steps: %+v", rep.RootSteps)
	}
	got := map[string]Role{}
	for _, r := range rep.Roles {
		got[r.Name] = r
	}
	for _, want := range []string{"root", "timestamp", "snapshot", "targets", "claimed", "recently-claimed", "unclaimed",
		"unclaimed-0", "unclaimed-1", "unclaimed-2", "unclaimed-3", "alpha", "beta", "ns/delta", "revocations"} {
		if _, ok := got[want]; !ok {
			t.Errorf("role %s not verified", want)
		}
	}
	if r := got["claimed"]; r.Delegator != "targets" || r.Threshold != 2 || len(r.Signed) != 2 || r.File != "1.claimed.json" {
		t.Errorf("claimed: %+v", r)
	}
	if r := got["ns/delta"]; r.File != "1.ns%2Fdelta.json" || r.Delegator != "claimed" {
		t.Errorf("ns/delta: %+v", r)
	}
	if r := got["root"]; r.Version != 3 {
		t.Errorf("root: %+v", r)
	}
	checks := map[string]bool{}
	for _, c := range rep.Checks {
		checks[c.Name] = true
	}
	for _, want := range []string{"root.chain", "root.chain.gap", "root.expiry", "timestamp.signature", "timestamp.meta.snapshot.json.hash",
		"snapshot.meta.claimed.json.hash", "snapshot.meta.claimed.json.length", "delegation.claimed.threshold", "delegation.claimed.keys",
		"delegation.alpha.paths", "delegation.unclaimed-0.paths", "revocations.signature", "revocation.no-revoked-key-trusted"} {
		if !checks[want] {
			t.Errorf("no check %s in the report", want)
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}

	// Pinned at v2, the chain is one step.
	b2, err := os.ReadFile(filepath.Join(dir, "2.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := Verify(dir, b2, ref); err != nil || len(rep.RootSteps) != 1 {
		t.Fatalf("from root v2: %v", err)
	}
}

// TestVerifyRefusals changes one thing each and requires it to be
// refused by name.
func TestVerifyRefusals(t *testing.T) {
	type tc struct {
		name          string
		before        func(f *fixture)
		after         func(t *testing.T, dir string)
		at            time.Time
		check, reason string
		syntax        bool // the error wraps a *roles.SyntaxError
	}
	replaceLast := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte {
			i := bytes.LastIndex(b, []byte(old))
			if i < 0 {
				panic("no " + old)
			}
			return append(append(append([]byte{}, b[:i]...), new...), b[i+len(old):]...)
		}
	}
	cases := []tc{
		{name: "expired timestamp", at: ref.AddDate(0, 0, 2), check: "timestamp.expiry", reason: ReasonExpired},
		{name: "expired root", at: ref.AddDate(2, 0, 0), check: "root.expiry", reason: ReasonExpired},
		{name: "snapshot hash mismatch", after: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "1.claimed.json")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// Same length, one byte changed in the signed part.
			b = bytes.Replace(b, []byte(`"alpha/*"`), []byte(`"alphb/*"`), 1)
			os.WriteFile(p, b, 0o644)
		}, check: "snapshot.meta.claimed.json.hash", reason: ReasonHashMismatch},
		{name: "snapshot length mismatch", after: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "1.snapshot.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, '\n'), 0o644)
		}, check: "timestamp.meta.snapshot.json.length", reason: ReasonLengthMismatch},
		{name: "project signed by the wrong key", before: func(f *fixture) { f.signers["alpha"] = []string{"m-stranger"} },
			check: "delegation.alpha.threshold", reason: ReasonThreshold},
		{name: "threshold short by one", before: func(f *fixture) { f.signers[roleClaimed] = []string{"c1"} },
			check: "delegation.claimed.threshold", reason: ReasonThreshold},
		{name: "one keyid signing twice is malformed", before: func(f *fixture) {
			// Stock clients refuse such a file, so roles refuses it at parse.
			f.sigHook[roleClaimed] = func(s []roles.Signature) []roles.Signature { return []roles.Signature{s[0], s[0]} }
		}, check: "delegation.claimed.parse", reason: ReasonMalformed, syntax: true},
		{name: "root threshold short by one", before: func(f *fixture) { f.rootSigners[2] = []string{"r1", "r2"} },
			check: "root.chain", reason: ReasonThreshold},
		{name: "duplicate JSON names", before: func(f *fixture) {
			f.byteHook[roleClaimed] = replaceLast(`"_type":"targets"`, `"_type":"targets","_type":"targets"`)
		}, check: "delegation.claimed.parse", reason: ReasonDuplicateName, syntax: true},
		{name: "version 0", before: func(f *fixture) {
			f.byteHook["alpha"] = replaceLast(`"version":1}`, `"version":0}`)
		}, check: "delegation.alpha.parse", reason: ReasonVersionBelowOne, syntax: true},
		{name: "spec version 2.0.0", before: func(f *fixture) {
			f.byteHook[roles.TypeSnapshot] = replaceLast(`"spec_version":"1.0.31"`, `"spec_version":"2.0.0"`)
		}, check: "snapshot.parse", reason: ReasonSpecVersion, syntax: true},
		{name: "raw r||s ECDSA signature", before: func(f *fixture) {
			f.sigHook["beta"] = func(s []roles.Signature) []roles.Signature {
				var v struct{ R, S *big.Int }
				if _, err := asn1.Unmarshal(s[0].Sig, &v); err != nil {
					panic(err)
				}
				s[0].Sig = append(v.R.FillBytes(make([]byte, 32)), v.S.FillBytes(make([]byte, 32))...)
				return s
			}
		}, check: "delegation.beta.threshold", reason: ReasonECDSANotDER},
		{name: "role name reused in one delegation", before: func(f *fixture) {
			dl := f.targets[roleClaimed].Delegations
			dup := *dl.Role("alpha")
			dl.Roles = append(dl.Roles, &dup)
		}, check: "delegation.claimed.parse", reason: ReasonRoleNameReused, syntax: true},
		{name: "role name reused by another delegator", before: func(f *fixture) {
			rc := f.targets[roleRecentlyClaimed]
			rc.Delegations = &roles.Delegations{Keys: f.keyMap("m-alpha"),
				Roles: []*roles.DelegatedRole{{Name: "alpha", KeyIDs: f.ids("m-alpha"), Threshold: 1, Paths: []string{"alpha/*"}}}}
		}, check: "delegation.alpha.name", reason: ReasonRoleNameReused},
		{name: "top-level role delegated", before: func(f *fixture) {
			dl := f.targets[roleClaimed].Delegations
			dl.Roles = append(dl.Roles, &roles.DelegatedRole{Name: "snapshot", KeyIDs: f.ids("m-alpha"), Threshold: 1, Paths: []string{"x/*"}})
		}, check: "delegation.claimed.parse", reason: ReasonTopLevelDelegated, syntax: true},
		{name: "revoked key still trusted", before: func(f *fixture) {
			f.revocations.Revoked = append(f.revocations.Revoked, &roles.Revocation{
				KeyID: f.id("m-alpha"), Key: f.keys["m-alpha"].key, Role: "alpha", Reason: "lost", RevokedAt: ref.Add(-time.Minute)})
		}, check: roles.CheckNoRevokedKeyTrusted, reason: ReasonRevokedKeyTrusted},
		{name: "revocations not signed under claimed's keys", before: func(f *fixture) { f.signers[roles.TypeRevocations] = []string{"c1", "online"} },
			check: "revocations.signature", reason: ReasonThreshold},
		{name: "root chain skipping a version", after: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "2.root.json"))
		}, check: "root.chain.gap", reason: ReasonChainGap},
		{name: "root chain with a version out of place", after: func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "3.root.json"))
			os.WriteFile(filepath.Join(dir, "2.root.json"), b, 0o644)
			os.Remove(filepath.Join(dir, "3.root.json"))
		}, check: "root.chain", reason: ReasonChainRollback},
		{name: "snapshot version not timestamp's", before: func(f *fixture) {
			f.snapshot.Version = 2
			f.tsMeta = func(mf *roles.MetaFile) { mf.Version = 1 }
		}, after: func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "2.snapshot.json"), filepath.Join(dir, "1.snapshot.json"))
		}, check: "snapshot.version", reason: ReasonVersionMismatch},
		{name: "project metadata missing", after: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "1.beta.json"))
		}, check: "delegation.beta.file", reason: ReasonMissingFile},
		{name: "delegated role not in snapshot", before: func(f *fixture) { f.skip["beta"] = true },
			check: "snapshot.meta.beta.json.listed", reason: ReasonNotListed},
		{name: "hash bin not in snapshot", before: func(f *fixture) { f.skip["unclaimed-2"] = true },
			check: "snapshot.meta.unclaimed-*.listed", reason: ReasonNotListed},
		{name: "target outside the delegated paths", before: func(f *fixture) {
			f.targets["alpha"].Targets["beta/evil-1.0.tar.gz"] = targetFile("beta/evil-1.0.tar.gz")
		}, check: "delegation.alpha.paths", reason: ReasonOutsidePaths},
		{name: "target in the wrong hash bin", before: func(f *fixture) {
			s := f.targets[roleUnclaimed].Delegations.SuccinctRoles
			p := "zeta/zeta-1.0.tar.gz"
			wrong := s.BinName((func() int {
				for i := 0; i < s.BinCount(); i++ {
					if s.BinName(i) != s.BinFor(p) {
						return i
					}
				}
				return 0
			})())
			f.targets[wrong].Targets[p] = targetFile(p)
		}, check: "", reason: ReasonOutsidePaths},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			if c.before != nil {
				c.before(f)
			}
			dir, trusted := f.publish()
			if c.after != nil {
				c.after(t, dir)
			}
			at := c.at
			if at.IsZero() {
				at = ref
			}
			if c.check == "" {
				// The check is named by the bin the target went to.
				rep, err := Verify(dir, trusted, at)
				var ve *Error
				if !errors.As(err, &ve) || ve.Reason != c.reason || !strings.HasPrefix(ve.Name, "delegation.unclaimed-") {
					t.Fatalf("got %v, report %+v", err, rep)
				}
				return
			}
			expectFailure(t, dir, trusted, at, c.check, c.reason)
			_, err := Verify(dir, trusted, at)
			var se *roles.SyntaxError
			if got := errors.As(err, &se); got != c.syntax {
				t.Errorf("wraps a SyntaxError: %v, want %v (%v)", got, c.syntax, err)
			}
			if got := errors.Is(err, ErrFailed); got == c.syntax {
				t.Errorf("errors.Is ErrFailed: %v (%v)", got, err)
			}
		})
	}
}

// TestVerifyVersionMismatch publishes a project whose content
// version is not the one snapshot lists.
func TestVerifyVersionMismatch(t *testing.T) {
	f := newFixture(t)
	f.targets["beta"].Version = 2
	dir, _ := f.publish()
	// Snapshot lists beta v2 at 2.beta.json; move it under v1's name and
	// point snapshot's entry there by re-signing snapshot.
	b, err := os.ReadFile(filepath.Join(dir, "2.beta.json"))
	if err != nil {
		t.Fatal(err)
	}
	f2 := newFixture(t)
	f2.byteHook["beta"] = func([]byte) []byte { return b }
	dir, trusted := f2.publish()
	expectFailure(t, dir, trusted, ref, "delegation.beta.version", ReasonVersionMismatch)
}

// TestVerifyBadInput covers what cannot be verified at all.
func TestVerifyBadInput(t *testing.T) {
	f := newFixture(t)
	dir, trusted := f.publish()
	if _, err := Verify(filepath.Join(dir, "nope"), trusted, ref); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
	var se *roles.SyntaxError
	if _, err := Verify(dir, []byte(`{"signed":`), ref); !errors.As(err, &se) {
		t.Errorf("truncated root: %v", err)
	}
	os.Remove(filepath.Join(dir, "timestamp.json"))
	_, err := Verify(dir, trusted, ref)
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrBadInput) {
		t.Errorf("missing timestamp: %v", err)
	}
	// Truncated, garbled and empty files anywhere never panic.
	f = newFixture(t)
	dir, trusted = f.publish()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		orig, _ := os.ReadFile(p)
		for _, b := range [][]byte{nil, orig[:len(orig)/2], []byte("null"), []byte(`{"signed":{},"signatures":[]}`)} {
			os.WriteFile(p, b, 0o644)
			if _, err := Verify(dir, trusted, ref); err == nil && e.Name() != "root.json" && e.Name() != "1.root.json" {
				t.Errorf("%s as %q verified", e.Name(), b)
			}
		}
		os.WriteFile(p, orig, 0o644)
	}
	if _, err := Verify(dir, trusted, ref); err != nil {
		t.Fatalf("restored: %v", err)
	}
	// Single bytes changed anywhere: refused, never a panic.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, e := range ents {
		if e.Name() == "root.json" || e.Name() == "1.root.json" {
			continue
		}
		p := filepath.Join(dir, e.Name())
		orig, _ := os.ReadFile(p)
		for range 15 {
			b := bytes.Clone(orig)
			i := rng.IntN(len(b))
			b[i] ^= byte(1 + rng.IntN(255))
			os.WriteFile(p, b, 0o644)
			if _, err := Verify(dir, trusted, ref); err == nil {
				t.Errorf("%s with byte %d changed verified", e.Name(), i)
			}
		}
		os.WriteFile(p, orig, 0o644)
	}
}

// TestVerifyNotConsistent verifies a repository published
// without consistent snapshots: NAME.json for all but root.
func TestVerifyNotConsistent(t *testing.T) {
	f := newFixture(t)
	for _, r := range f.roots {
		r.ConsistentSnapshot = false
	}
	dir, trusted := f.publish()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		n := e.Name()
		if strings.Contains(n, ".root.") || n == "root.json" || n == "timestamp.json" {
			continue
		}
		_, rest, _ := strings.Cut(n, ".")
		if err := os.Rename(filepath.Join(dir, n), filepath.Join(dir, rest)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Verify(dir, trusted, ref); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyMadeByGoTUF verifies a repository that go-tuf v2's
// metadata API made and signed: "any TUF 1.0 repository verifies". It has
// a root rotation, pretty-printed (not canonical) files, and a delegated
// role signed with an ECDSA key through go-tuf's signer.
func TestVerifyMadeByGoTUF(t *testing.T) {
	dir := t.TempDir()
	exp := ref.AddDate(0, 1, 0)
	keys := testKeys(t, "g-root1", "g-root2", "g-targets", "g-snapshot", "g-timestamp", "ec-g-proj")
	tufKey := func(n string) *gtmeta.Key {
		k, err := gtmeta.KeyFromPublicKey(keys[n].signer.Public())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	signer := func(n string) gtsig.Signer {
		h := crypto.Hash(0)
		if strings.HasPrefix(n, "ec") {
			h = crypto.SHA256
		}
		s, err := gtsig.LoadSigner(keys[n].signer, h)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	write := func(name string, m interface{ ToFile(string, bool) error }) {
		if err := m.ToFile(filepath.Join(dir, name), true); err != nil {
			t.Fatal(err)
		}
	}

	root := gtmeta.Root(exp)
	for role, n := range map[string]string{"root": "g-root1", "targets": "g-targets", "snapshot": "g-snapshot", "timestamp": "g-timestamp"} {
		if err := root.Signed.AddKey(tufKey(n), role); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := root.Sign(signer("g-root1")); err != nil {
		t.Fatal(err)
	}
	write("1.root.json", root)
	trusted, err := os.ReadFile(filepath.Join(dir, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Root v2 replaces the root key: signed by the old key and the new.
	root.Signed.Version = 2
	if err := root.Signed.RevokeKey(goTUFID(t, tufKey("g-root1")), "root"); err != nil {
		t.Fatal(err)
	}
	if err := root.Signed.AddKey(tufKey("g-root2"), "root"); err != nil {
		t.Fatal(err)
	}
	root.ClearSignatures()
	for _, n := range []string{"g-root1", "g-root2"} {
		if _, err := root.Sign(signer(n)); err != nil {
			t.Fatal(err)
		}
	}
	write("2.root.json", root)
	write("root.json", root)

	targets := gtmeta.Targets(exp)
	tf, err := gtmeta.TargetFile().FromBytes("proj/proj-1.0.tar.gz", []byte("a target"))
	if err != nil {
		t.Fatal(err)
	}
	proj := gtmeta.Targets(exp)
	proj.Signed.Targets["proj/proj-1.0.tar.gz"] = tf
	pk := tufKey("ec-g-proj")
	pkID := goTUFID(t, pk)
	targets.Signed.Delegations = &gtmeta.Delegations{
		Keys:  map[string]*gtmeta.Key{pkID: pk},
		Roles: []gtmeta.DelegatedRole{{Name: "proj", KeyIDs: []string{pkID}, Threshold: 1, Terminating: true, Paths: []string{"proj/*"}}},
	}
	if _, err := targets.Sign(signer("g-targets")); err != nil {
		t.Fatal(err)
	}
	if _, err := proj.Sign(signer("ec-g-proj")); err != nil {
		t.Fatal(err)
	}
	write("1.targets.json", targets)
	write("1.proj.json", proj)

	snap := gtmeta.Snapshot(exp)
	snap.Signed.Meta["targets.json"] = gtmeta.MetaFile(1)
	snap.Signed.Meta["proj.json"] = gtmeta.MetaFile(1)
	if _, err := snap.Sign(signer("g-snapshot")); err != nil {
		t.Fatal(err)
	}
	write("1.snapshot.json", snap)
	sb, err := os.ReadFile(filepath.Join(dir, "1.snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	ts := gtmeta.Timestamp(exp)
	ts.Signed.Meta["snapshot.json"] = gtmeta.MetaFile(1)
	sum := sha256.Sum256(sb)
	ts.Signed.Meta["snapshot.json"].Length = int64(len(sb))
	ts.Signed.Meta["snapshot.json"].Hashes = gtmeta.Hashes{"sha256": sum[:]}
	if _, err := ts.Sign(signer("g-timestamp")); err != nil {
		t.Fatal(err)
	}
	write("timestamp.json", ts)

	rep, err := Verify(dir, trusted, ref)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rep.Roles {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "root timestamp snapshot targets proj" || len(rep.RootSteps) != 1 {
		t.Fatalf("roles verified: %s; root steps %+v", got, rep.RootSteps)
	}
	for _, c := range rep.Checks {
		if !c.Passed {
			t.Errorf("check not passed: %+v", c)
		}
	}
	// And it is refused once tampered with, like any other.
	p := filepath.Join(dir, "1.proj.json")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(b, []byte("proj-1.0"), []byte("proj-6.6"), 1), 0o644)
	expectFailure(t, dir, trusted, ref, "delegation.proj.threshold", ReasonThreshold)
}

func goTUFID(t *testing.T, k *gtmeta.Key) string {
	id, err := k.ID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestVerifyLoadsInGoTUF checks the fixture itself with go-tuf's
// client-side state, so the refusals above are refusals of a repository
// a stock client accepts.
func TestVerifyLoadsInGoTUF(t *testing.T) {
	f := newFixture(t)
	dir, trusted := f.publish()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tm, err := gttrusted.New(trusted)
	if err != nil {
		t.Fatal(err)
	}
	tm.RefTime = ref
	for _, n := range []string{"2.root.json", "3.root.json"} {
		if _, err := tm.UpdateRoot(read(n)); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	if _, err := tm.UpdateTimestamp(read("timestamp.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.UpdateSnapshot(read("1.snapshot.json"), false); err != nil {
		t.Fatal(err)
	}
	for _, d := range [][3]string{{"targets", "root", "1.targets.json"}, {"claimed", "targets", "1.claimed.json"},
		{"unclaimed", "targets", "1.unclaimed.json"}, {"unclaimed-2", "unclaimed", "1.unclaimed-2.json"},
		{"beta", "claimed", "1.beta.json"}, {"ns/delta", "claimed", "1.ns%2Fdelta.json"}} {
		if _, err := tm.UpdateDelegatedTargets(read(d[2]), d[0], d[1]); err != nil {
			t.Fatalf("%s: %v", d[0], err)
		}
	}
}

// TestVerifySlashNameAsFolder finds a role whose name has a "/"
// where a web server that decodes %2F would serve it: in a subfolder.
func TestVerifySlashNameAsFolder(t *testing.T) {
	f := newFixture(t)
	dir, trusted := f.publish()
	if err := os.Mkdir(filepath.Join(dir, "1.ns"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "1.ns%2Fdelta.json"), filepath.Join(dir, "1.ns", "delta.json")); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, trusted, ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Roles {
		if r.Name == "ns/delta" && r.File != "1.ns/delta.json" {
			t.Errorf("ns/delta read from %s", r.File)
		}
	}
}

// TestLegacyKeyID: keys listed, and signing, under keyids that are not
// the SHA-256 of the key (securesystemslib's legacy keyids, TAP 12), in
// root and in a delegation: `ceremony verify` verifies the repository
// with a warning for each, --strict fails it, and a ceremony's walk
// refuses it.
func TestLegacyKeyID(t *testing.T) {
	f := newFixture(t)
	legacy := func(of string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte("legacy keyid of "+of))) }
	relist := func(keys map[string]*roles.Key, keyids []string, name string) {
		keys[legacy(name)] = keys[f.id(name)]
		delete(keys, f.id(name))
		keyids[slices.Index(keyids, f.id(name))] = legacy(name)
	}
	resign := func(name string) func([]roles.Signature) []roles.Signature {
		return func(s []roles.Signature) []roles.Signature {
			for i := range s {
				if s[i].KeyID == f.id(name) {
					s[i].KeyID = legacy(name)
				}
			}
			return s
		}
	}
	r := f.roots[2]
	relist(r.Keys, r.Roles[roles.TypeSnapshot].KeyIDs, "sn")
	f.sigHook[roles.TypeSnapshot] = resign("sn")
	dl := f.targets[roleClaimed].Delegations
	relist(dl.Keys, dl.Role("alpha").KeyIDs, "m-alpha")
	f.sigHook["alpha"] = resign("m-alpha")
	dir, trusted := f.publish()

	rep, err := Verify(dir, trusted, ref)
	if err != nil {
		t.Fatalf("legacy keyids refused: %v", err)
	}
	var warned []string
	for _, c := range rep.Warnings {
		if c.Reason == ReasonKeyIDMismatch {
			warned = append(warned, c.Name)
		}
	}
	if !slices.Equal(warned, []string{"root.keys", "delegation.claimed.keys"}) {
		t.Errorf("keyid warnings %v, want root.keys (v3) and delegation.claimed.keys", warned)
	}
	for _, opts := range []Options{{At: ref, Scope: roles.ScopeVerify, Strict: true}, {At: ref, Scope: roles.ScopeCeremony}} {
		_, err := VerifyWith(dir, trusted, opts)
		var ve *Error
		if !errors.As(err, &ve) || ve.Name != "root.keys" || ve.Reason != ReasonKeyIDMismatch || !errors.Is(err, ErrFailed) {
			t.Errorf("strict %v, scope %v: %v, want root.keys (keyid-mismatch) to fail", opts.Strict, opts.Scope, err)
		}
	}
}
