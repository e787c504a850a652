package ceremony

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/rstuf"
	"github.com/ceremony-tuf/ceremony/rstuf/rstuftest"
)

// writeOnlineKeyFile writes the online key's file as `ceremony keys
// import --rstuf-online-key-uri` does, and returns its keyid.
func writeOnlineKeyFile(t *testing.T, path string, pub crypto.PublicKey, uri string) string {
	t.Helper()
	k, err := roles.KeyFromPublic(pub)
	if err != nil {
		t.Fatal(err)
	}
	if k, err = rstuf.WithMembers(k, map[string]string{rstuf.OnlineKeyURIField: uri, rstuf.KeyNameField: "Online Key"}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"keyid": k.ID(), "key": k})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return k.ID()
}

// rstufReferenceTime is the reference time of the RSTUF plans that only
// this package's checks read.
var rstufReferenceTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// rstufBootstrap starts an RSTUF bootstrap in dir at reference time ref:
// root keys alice, bob and carol (threshold 2), an in-memory online key,
// bins hash bins.
func rstufBootstrap(t *testing.T, dir string, bins int, ref time.Time) (*Engine, people) {
	t.Helper()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave")
	online, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ps["online"] = online
	onlineID := writeOnlineKeyFile(t, filepath.Join(dir, "online.json"), online.Public(), "fn:online-key")
	plan := writePlan(t, dir, "bootstrap.yaml", fmt.Sprintf(`ceremony: rstuf-bootstrap
reference_time: %s
allow_network: true
layout: rstuf
root: {add: [alice, bob, carol], threshold: 2, expires_days: 365}
rstuf:
  online_participant: online
  bins: %d
  expiration: {targets: 365, snapshot: 1, timestamp: 1, bins: 1}
`, ref.Format(time.RFC3339), bins)+ps.participants("alice", "bob", "carol", "dave")+fmt.Sprintf("  - {name: online, key_file: online.json, keyid: %s}\n", onlineID))
	e, err := Begin(filepath.Join(dir, "ws"), plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	return e, ps
}

// rstufSignedRoot bootstraps (rstufBootstrap), has signers sign, and
// returns root v1 from the bootstrap payload, parsed and as published.
func rstufSignedRoot(t *testing.T, dir string, bins int, ref time.Time, signers ...string) (*roles.Metadata[*roles.Root], []byte, people) {
	t.Helper()
	e, ps := rstufBootstrap(t, dir, bins, ref)
	defer e.Release()
	signAllAs(t, e, ps, signers...)
	p, err := e.State().RSTUFPayload()
	if err != nil {
		t.Fatal(err)
	}
	_, root, err := rstuf.ParseBootstrap(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := root.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return root, b, ps
}

// TestRSTUFBootstrapPayload: an RSTUF plan stages root v1 alone, with
// consistent snapshots and one online key (threshold 1) for timestamp,
// snapshot and targets; its payload has exactly the shape of the one
// RSTUF's CLI wrote (rstuf/testdata/payload_ceremony.json), says how far
// root's threshold reaches, and folds the same from the transcript.
func TestRSTUFBootstrapPayload(t *testing.T) {
	dir := t.TempDir()
	e, ps := rstufBootstrap(t, dir, 16384, rstufReferenceTime)
	defer e.Release()
	st := e.State()
	if len(st.Roles) != 1 || st.Roles[0].Role != RoleRoot {
		t.Fatalf("staged %d roles", len(st.Roles))
	}
	if _, err := st.RSTUFPayload(); !errors.Is(err, ErrNotSigned) {
		t.Fatalf("payload before anyone signed: %v", err)
	}
	signAllAs(t, e, ps, "alice")
	p, err := e.State().RSTUFPayload()
	if err != nil {
		t.Fatal(err)
	}
	if p.Complete || len(p.Progress) != 1 || p.Progress[0].Threshold != 2 || len(p.Progress[0].Signed) != 1 {
		t.Errorf("one of two signatures: complete %v, progress %+v", p.Complete, p.Progress)
	}
	signAllAs(t, e, ps, "bob")
	if p, err = e.State().RSTUFPayload(); err != nil || !p.Complete {
		t.Fatalf("two of two: %v, %+v", err, p)
	}
	b, root, err := rstuf.ParseBootstrap(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := root.Signed
	online := r.Roles[roles.TypeTimestamp].KeyIDs
	for _, role := range []string{roles.TypeSnapshot, roles.TypeTargets, roles.TypeTimestamp} {
		if rk := r.Roles[role]; rk.Threshold != 1 || len(rk.KeyIDs) != 1 || rk.KeyIDs[0] != online[0] {
			t.Errorf("%s: %+v", role, rk)
		}
	}
	if !r.ConsistentSnapshot || rstuf.OnlineKeyURI(r.Keys[online[0]]) != "fn:online-key" || b.Settings.Roles.Bins.Number != 16384 || b.Timeout != rstuf.DefaultTimeout {
		t.Errorf("root v1 or settings: %+v %+v", r, b.Settings.Roles)
	}
	want, err := rstuftest.Shape(mustRead(t, "../rstuf/testdata/payload_ceremony.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := rstuftest.Shape(p.Body); got != want {
		t.Errorf("the payload's shape is not RSTUF's:\n got %s\nwant %s", got, want)
	}
	if s := string(p.Body); strings.Index(s, `"settings"`) > strings.Index(s, `"metadata"`) || strings.Index(s, `"metadata"`) > strings.Index(s, `"timeout"`) {
		t.Errorf("members not in the CLI's order:\n%s", s[:200])
	}
	// Publishing writes root as signed, for the record and the next
	// rotation's chain; the ceremony then closes.
	res, err := e.PublishInto(filepath.Join(dir, "roots"), nil, nil)
	if err != nil || len(res.Files) != 2 {
		t.Fatalf("publish: %v, %v", res, err)
	}
	if want, _ := root.MarshalJSON(); string(mustRead(t, filepath.Join(dir, "roots", "1.root.json"))) != string(want) {
		t.Errorf("the published root is not the payload's")
	}
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	fold, err := Fold(e.TranscriptPath())
	if err != nil {
		t.Fatal(err)
	}
	fp, err := fold.RSTUFPayload()
	if err != nil || string(fp.Body) != string(p.Body) {
		t.Errorf("the folded transcript gives another payload: %v", err)
	}
}

// TestRSTUFRepositoryVerifies: the root an RSTUF ceremony bootstraps,
// with targets, snapshot, timestamp and 16,384 succinct hash bins made
// as RSTUF's worker makes them (rstuftest, the online key an in-memory
// ECDSA key) and targets added to the bins their paths hash to, passes
// every check `ceremony verify` runs, and go-tuf v2's client-side
// metadata (which we did not write) accepts it down to a target's bin.
func TestRSTUFRepositoryVerifies(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	meta, rootFile, targets := rstufRepository(t, dir, 16384, now)
	rep, err := repoverify.Verify(meta, rootFile, now)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("ceremony verify's checks fail: %v", rep.Failures)
	}
	if n := len(rep.Roles); n < 16384+3 {
		t.Errorf("verified %d roles, want every bin", n)
	}

	read := func(name string) []byte { return mustRead(t, filepath.Join(meta, name)) }
	tm, err := gotufTrusted(rootFile, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.UpdateTimestamp(read("timestamp.json")); err != nil {
		t.Fatalf("go-tuf timestamp: %v", err)
	}
	if _, err := tm.UpdateSnapshot(read("1.snapshot.json"), false); err != nil {
		t.Fatalf("go-tuf snapshot: %v", err)
	}
	tg, err := tm.UpdateTargets(read("1.targets.json"))
	if err != nil {
		t.Fatalf("go-tuf targets: %v", err)
	}
	path := targets[7].Path
	bin := tg.Signed.Delegations.SuccinctRoles.GetRoles()[0]
	for _, r := range tg.Signed.Delegations.GetRolesForTarget(path) {
		bin = r.Name
	}
	bm, err := tm.UpdateDelegatedTargets(read("1."+bin+".json"), bin, "targets")
	if err != nil {
		t.Fatalf("go-tuf %s: %v", bin, err)
	}
	if bm.Signed.Targets[path] == nil {
		t.Errorf("go-tuf finds %s in no bin (looked in %s)", path, bin)
	}
}

// rstufRepository bootstraps root at now (signed by alice and carol) and
// has the test-only worker publish, into dir/metadata, the online roles
// with bins hash bins and 200 targets, expiring a day after now.
func rstufRepository(t *testing.T, dir string, bins int, now time.Time) (meta string, rootFile []byte, targets []rstuftest.Target) {
	t.Helper()
	_, rootFile, ps := rstufSignedRoot(t, dir, bins, now, "alice", "carol")
	for i := range 200 {
		targets = append(targets, rstuftest.Target{Path: fmt.Sprintf("packages/p%03d/p%03d-1.0.tar.gz", i, i), Content: []byte(fmt.Sprint("artifact ", i))})
	}
	meta = filepath.Join(dir, "metadata")
	w := rstuftest.Worker{Root: rootFile, Online: ps["online"], Bins: bins, Now: now, Days: 1}
	if err := w.Publish(meta, targets); err != nil {
		t.Fatal(err)
	}
	return meta, rootFile, targets
}

// TestRSTUFRepositoryTufJS: tuf-js's updater (an independent client,
// the one npm's sigstore uses) refreshes an RSTUF repository from the
// root an RSTUF ceremony bootstraps, trusting that root alone, and finds
// every target through its succinct hash bin, and no target that was
// never added. tuf-js reads the clock, so the ceremony and the worker
// run now. 256 bins, not 16,384: tuf-js 3.x (@tufjs/models 3.0.1) builds
// snapshot's meta by a reduce that copies the object at each entry, so
// its parse and its serialization to check the signature take time
// quadratic in the bins (4,096 bins: about 30 s; 16,384: many minutes).
func TestRSTUFRepositoryTufJS(t *testing.T) {
	dir := t.TempDir()
	meta, rootFile, targets := rstufRepository(t, dir, 256, time.Now().UTC().Truncate(time.Hour))
	published := map[string][]byte{}
	for _, tg := range targets {
		published[tg.Path] = tg.Content
	}
	trusted := filepath.Join(dir, "trusted.json")
	if err := os.WriteFile(trusted, rootFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tufJSResolves(t, meta, trusted, published, "packages/nosuch/nosuch-1.0.tar.gz"); err != nil {
		t.Errorf("tuf-js: %v", err)
	}
}

// TestRSTUFRotation: a rotation starts from the root chain alone, stages
// root v2, and its update payload reaches the old and the new root's
// thresholds only once both hold; a pending root with one signature is
// read from RSTUF's GET body, reviewed against the trusted root, and
// signed by a missing key into the POST body.
func TestRSTUFRotation(t *testing.T) {
	dir := t.TempDir()
	root, rootFile, ps := rstufSignedRoot(t, dir, 4, rstufReferenceTime, "alice", "bob")
	chain := filepath.Join(dir, "chain")
	os.MkdirAll(chain, 0o755)
	os.WriteFile(filepath.Join(dir, "trusted.json"), rootFile, 0o644)
	os.WriteFile(filepath.Join(chain, "1.root.json"), rootFile, 0o644)

	plan := writePlan(t, dir, "rotate.yaml", `ceremony: rstuf-rotate
reference_time: 2026-11-01T00:00:00Z
allow_network: true
layout: rstuf
start: {trusted_root: trusted.json, metadata: chain}
root: {add: [dave], remove: [carol], threshold: 2}
`+ps.participants("alice", "bob", "carol", "dave"))
	e2, err := Begin(filepath.Join(dir, "ws2"), plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Release()
	if err := e2.End(); !errors.Is(err, ErrState) {
		t.Errorf("closing before anyone signed: %v", err)
	}
	// A signer elsewhere signs from a request, as in any ceremony.
	paths, err := e2.ExportRequests(filepath.Join(dir, "requests"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("export: %v %v", paths, err)
	}
	req, err := ParseRequest(mustRead(t, paths[0]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := req.VerifyPrevious(rootFile); err != nil {
		t.Errorf("the request's previous root under the pinned root: %v", err)
	}
	resp, err := SignRequest(req, ps["bob"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Collect(resp); err != nil {
		t.Fatal(err)
	}
	signAllAs(t, e2, ps, "dave")
	p2, err := e2.State().RSTUFPayload()
	if err != nil {
		t.Fatal(err)
	}
	if p2.Complete || len(p2.Progress) != 2 || p2.Progress[0].Reached || !p2.Progress[1].Reached {
		t.Errorf("bob (old root) and dave (new): %+v", p2.Progress)
	}
	if _, _, err := rstuf.ParseUpdate(p2.Body); err != nil {
		t.Fatal(err)
	}
	// The payload is the product: RSTUF collects the rest of the
	// thresholds, and the ceremony closes with one signature.
	if _, err := e2.Publish(nil, nil); !errors.Is(err, ErrNotSigned) {
		t.Errorf("publishing short of a threshold: %v", err)
	}
	if err := e2.End(); err != nil {
		t.Errorf("closing once the payload has a signature: %v", err)
	}
	want, _ := rstuftest.Shape(mustRead(t, "../rstuf/testdata/payload_update.json"))
	if got, _ := rstuftest.Shape(p2.Body); got != want {
		t.Errorf("the update's shape is not RSTUF's:\n got %s\nwant %s", got, want)
	}

	// Had RSTUF received root v2 with dave's signature alone, alice signs it
	// offline from the GET body.
	_, pendingRoot, _ := rstuf.ParseUpdate(p2.Body)
	pendingRoot.Signatures = slices.DeleteFunc(pendingRoot.Signatures, func(s roles.Signature) bool { return s.KeyID != ps.id("dave") })
	pendingFile, _ := pendingRoot.MarshalJSON()
	get, _ := json.Marshal(map[string]any{"data": map[string]any{"metadata": map[string]json.RawMessage{"root": pendingFile, "trusted_root": rootFile}}})
	pr, err := ReadPendingRoot(get)
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Thresholds) != 2 || len(pr.Thresholds[0].Signed) != 0 || len(pr.Thresholds[1].Signed) != 1 || pr.Review.Previous != 1 || len(pr.Review.Changes) == 0 {
		t.Errorf("review: %+v %+v", pr.Thresholds, pr.Review)
	}
	if v, err := pr.VerifyTrusted(rootFile); err != nil || v != 1 {
		t.Errorf("pinned root: %d, %v", v, err)
	}
	carol, err := pr.Sign(ps["carol"])
	if err != nil {
		t.Fatalf("carol, a key of the trusted root only, may sign: %v", err)
	}
	if _, err := pr.Sign(ps["dave"]); !errors.Is(err, ErrDuplicate) {
		t.Errorf("dave signs twice: %v", err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := pr.Sign(other); !errors.Is(err, ErrUntrustedKey) {
		t.Errorf("a stranger's key: %v", err)
	}
	sig, err := pr.Sign(ps["alice"])
	if err != nil {
		t.Fatal(err)
	}
	out, _ := rstuf.Marshal(sig)
	want, _ = rstuftest.Shape(mustRead(t, "../rstuf/testdata/payload_sign.json"))
	if got, _ := rstuftest.Shape(out); got != want {
		t.Errorf("the signature's shape is not RSTUF's:\n got %s\nwant %s", got, want)
	}
	ks, _ := rstuf.ParseSignature(out)
	pendingRoot.AddSignature(roles.Signature{KeyID: ks.Signature.KeyID, Sig: mustHex(t, ks.Signature.Sig)})
	if _, err := roles.VerifyRootUpdate(root, pendingRoot); err == nil {
		t.Errorf("alice and dave take root v1 to v2; v1's threshold is 2 of alice, bob, carol")
	}
	pendingRoot.AddSignature(roles.Signature{KeyID: carol.Signature.KeyID, Sig: mustHex(t, carol.Signature.Sig)})
	if _, err := roles.VerifyRootUpdate(root, pendingRoot); err != nil {
		t.Errorf("alice's, carol's and dave's signatures do not take root v1 to v2: %v", err)
	}
}

// TestRSTUFPendingFromRSTUFsCLI: the pending root RSTUF's own CLI test
// vectors hold (keys listed under the keyids its CLI gives them) is read,
// and signing it with JH's key gives the signature RSTUF's sign.json
// recorded, byte for byte.
func TestRSTUFPendingFromRSTUFsCLI(t *testing.T) {
	pr, err := ReadPendingRoot(mustRead(t, "../rstuf/testdata/payload_sign_pending_roles.json"))
	if err != nil {
		t.Fatal(err)
	}
	jh := rstuftest.PrivateKey(t, "../rstuf/testdata/JH.key.pem")
	sig, err := pr.Sign(jh)
	if err != nil {
		t.Fatal(err)
	}
	want, err := rstuf.ParseSignature(mustRead(t, "../rstuf/testdata/payload_sign.json"))
	if err != nil {
		t.Fatal(err)
	}
	if *sig != *want {
		t.Errorf("signed %+v, RSTUF's CLI signed %+v", sig, want)
	}
	// A member RSTUF drops is refused before anything is signed.
	b := strings.Replace(string(mustRead(t, "../rstuf/testdata/payload_sign_pending_roles.json")), `"threshold": 2`, `"threshold": 2, "x-acme-note": "n"`, 1)
	if _, err := ReadPendingRoot([]byte(b)); !errors.Is(err, rstuf.ErrInvalid) || !strings.Contains(err.Error(), "x-acme-note") {
		t.Errorf("a role member RSTUF drops: %v", err)
	}
}

// TestRSTUFPlanRefusals: an RSTUF plan's mistakes are named.
func TestRSTUFPlanRefusals(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "online")
	base := "ceremony: x\nreference_time: 2026-11-01T00:00:00Z\nlayout: rstuf\nroot: {add: [alice]}\n"
	for _, c := range []struct{ body, field string }{
		{"rstuf: {online_participant: online, bins: 3}\n", "rstuf.bins"},
		{"rstuf: {online_participant: online}\n", "rstuf.bins"},
		{"rstuf: {bins: 4}\n", "rstuf.online_participant"},
		{"rstuf: {online_participant: online, bins: 4}\n", "x-rstuf-online-key-uri"},
		{"rstuf: {online_participant: online, bins: 4}\ntargets: {add: [alice]}\n", "targets"},
		{"rstuf: {online_participant: nobody, bins: 4}\n", "rstuf.online_participant"},
	} {
		path := filepath.Join(dir, "plan.yaml")
		os.WriteFile(path, []byte(base+c.body+ps.participants("alice", "online")), 0o644)
		_, err := LoadPlan(path)
		if !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%q: %v", c.body, err)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRSTUFCustomDelegations: a bootstrap with custom delegations (the
// delegations of RSTUF's API example, from a file) writes them into the
// payload as RSTUF's API documents them, with no bins.
func TestRSTUFCustomDelegations(t *testing.T) {
	dir := t.TempDir()
	var api struct {
		Settings struct {
			Roles struct {
				Delegations json.RawMessage `json:"delegations"`
			} `json:"roles"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(mustRead(t, "../rstuf/testdata/api_bootstrap_payload_custom_targets.json"), &api); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "delegations.json"), api.Settings.Roles.Delegations, 0o644)
	ps := newPeople(t, dir, "alice", "bob")
	online, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	onlineID := writeOnlineKeyFile(t, filepath.Join(dir, "online.json"), online.Public(), "fn:online-key")
	plan := writePlan(t, dir, "bootstrap.yaml", `ceremony: rstuf-custom
reference_time: 2026-11-01T00:00:00Z
allow_network: true
layout: rstuf
root: {add: [alice, bob], threshold: 2}
rstuf: {online_participant: online, delegations_file: delegations.json}
`+ps.participants("alice", "bob")+fmt.Sprintf("  - {name: online, key_file: online.json, keyid: %s}\n", onlineID))
	e, err := Begin(filepath.Join(dir, "ws"), plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Release()
	signAllAs(t, e, ps, "alice")
	p, err := e.State().RSTUFPayload()
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := rstuf.ParseBootstrap(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b.Settings.Roles.Bins != nil {
		t.Errorf("bins with custom delegations: %+v", b.Settings.Roles.Bins)
	}
	got, _ := rstuftest.Shape(b.Settings.Roles.Delegations)
	want, _ := rstuftest.Shape(api.Settings.Roles.Delegations)
	if got != want {
		t.Errorf("delegations' shape:\n got %s\nwant %s", got, want)
	}
}

// TestRSTUFRotatesRootRSTUFsCLIMade: a rotation starts from the root
// RSTUF's CLI bootstrapped (its test vector: named keys under the keyids
// its CLI gives them), keeps those keyids, and JH's and JJ's signatures
// (the vector's test keys, in memory) take it to v2 under both
// thresholds.
func TestRSTUFRotatesRootRSTUFsCLIMade(t *testing.T) {
	dir := t.TempDir()
	_, v1, err := rstuf.ParseBootstrap(mustRead(t, "../rstuf/testdata/payload_ceremony.json"))
	if err != nil {
		t.Fatal(err)
	}
	rootFile, _ := v1.MarshalJSON()
	os.MkdirAll(filepath.Join(dir, "chain"), 0o755)
	os.WriteFile(filepath.Join(dir, "trusted.json"), rootFile, 0o644)
	ps := people{
		"jh": rstuftest.PrivateKey(t, "../rstuf/testdata/JH.key.pem"),
		"jj": rstuftest.PrivateKey(t, "../rstuf/testdata/JJ.key.pem"),
	}
	ps["frank"], _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for n, s := range ps {
		writeKeyFile(t, filepath.Join(dir, n+".json"), s.Public())
	}
	plan := writePlan(t, dir, "rotate.yaml", `ceremony: rstuf-cli-rotate
reference_time: 2026-11-01T00:00:00Z
allow_network: true
layout: rstuf
start: {trusted_root: trusted.json, metadata: chain}
root: {add: [frank], threshold: 2}
`+ps.participants("jh", "jj", "frank"))
	e, err := Begin(filepath.Join(dir, "ws"), plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Release()
	signAllAs(t, e, ps, "jh", "jj")
	p, err := e.State().RSTUFPayload()
	if err != nil || !p.Complete {
		t.Fatalf("payload: %v %+v", err, p)
	}
	_, v2, err := rstuf.ParseUpdate(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := roles.VerifyRootUpdate(v1, v2); err != nil {
		t.Errorf("root v2 does not follow RSTUF's root v1: %v", err)
	}
	if k := v2.Signed.Keys[ps.id("jh")]; k == nil || rstuf.KeyName(k) != "JimiHendrix's Key" {
		t.Errorf("JH's key is not kept under its keyid with its name")
	}
}
