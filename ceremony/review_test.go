package ceremony

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
)

// hostile is a string a terminal acts on: an OSC that sets the title and
// swallows what follows up to its BEL, a C1 CSI, DEL, a bidi override.
const hostile = "x\x1b]0;owned\a\u009b31m\x7f\u202e"

// TestRequestRefusesHostileText: every name and text field of a request is
// refused when it holds a control, format or invisible character, and
// the error names the field (issue 11, 1).
func TestRequestRefusesHostileText(t *testing.T) {
	f := newReqFixture(t)
	root := f.export(t)[RoleRoot]
	good, err := root.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"summary[0]", "checks_passed[0]", "thresholds[0].under", "signers[0].name", "signers[1].device"} {
		var doc any
		if err := json.Unmarshal(good, &doc); err != nil {
			t.Fatal(err)
		}
		setJSONPath(t, doc, path, hostile)
		b, _ := json.Marshal(doc)
		_, err := ParseRequest(b)
		if !errors.Is(err, ErrRequestInvalid) || !errors.Is(err, untrusted.ErrForbiddenChar) || !strings.Contains(err.Error(), path+":") {
			t.Errorf("%s holds controls: %v", path, err)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x1b\a\x7f\u009b\u202e") {
			t.Errorf("%s: the error quotes the raw characters: %q", path, err)
		}
	}
	// A summary may run over several lines; a carriage return may not.
	for _, c := range []struct {
		text string
		ok   bool
	}{{"two\nlines", true}, {"over\rwritten", false}} {
		var doc any
		json.Unmarshal(good, &doc)
		setJSONPath(t, doc, "summary[0]", c.text)
		b, _ := json.Marshal(doc)
		if _, err := ParseRequest(b); (err == nil) != c.ok {
			t.Errorf("summary %q: %v", c.text, err)
		}
	}
}

// TestResponseRefusesHostileText: a response's signer and the device it
// describes are checked as a request's names are; a PIN in the device's
// URI is refused.
func TestResponseRefusesHostileText(t *testing.T) {
	f := newReqFixture(t)
	good, err := f.respond(t, f.export(t)[RoleRoot], "alice").Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, value string }{
		{"signer", hostile}, {"device.label", hostile}, {"device.model", "YubiKey\u200b"},
		{"device.uri", "pkcs11:token=a?pin-value=123456"},
	} {
		var doc any
		json.Unmarshal(good, &doc)
		setJSONPath(t, doc, c.path, c.value)
		b, _ := json.Marshal(doc)
		_, err := ParseResponse(b)
		if !errors.Is(err, ErrRequestInvalid) || !strings.Contains(err.Error(), c.path) || strings.Contains(err.Error(), "123456") {
			t.Errorf("%s = %q: %v", c.path, c.value, err)
		}
	}
}

// TestCollectTakesIdentityFromTheKey: a response whose signer is not the
// name the plan gives its key is refused and changes nothing; one that
// names no one is recorded under the key's holder, and the device it
// describes as the signer's claim (issue 11, 3).
func TestCollectTakesIdentityFromTheKey(t *testing.T) {
	f := newReqFixture(t)
	resp := f.respond(t, f.export(t)[RoleRoot], "alice")
	before := snapshotDirs(t, f.ws, f.out)
	liar := *resp
	liar.Signer = "bob"
	if err := f.e.Collect(&liar); !errors.Is(err, ErrUntrustedKey) || !strings.Contains(err.Error(), "alice's key") {
		t.Errorf("a response by alice's key that says bob: %v", err)
	}
	unchanged(t, "collect a response that names another signer", before, f.ws, f.out)
	anon := *resp
	anon.Signer = ""
	if err := f.e.Collect(&anon); err != nil {
		t.Fatal(err)
	}
	st, err := Fold(f.e.TranscriptPath())
	if err != nil {
		t.Fatal(err)
	}
	sig := st.Role(RoleRoot).Signatures[0]
	if sig.Signer != "alice" || sig.Device != nil || sig.ClaimedDevice == nil || sig.ClaimedDevice.Serial != "alice" {
		t.Errorf("recorded %+v", sig)
	}
	tr, _ := os.ReadFile(f.e.TranscriptPath())
	if !strings.Contains(string(tr), `"device_claimed_by_signer":{`) {
		t.Error("the transcript does not record the device as the signer's claim")
	}
}

// TestPlanRefusesHostileText: a plan's free text (a device, a reason, a
// path) with controls is refused, naming the field.
func TestPlanRefusesHostileText(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online")
	participants := ps.participants("alice", "bob", "carol", "dave", "erin", "online")
	for _, c := range []struct{ path, plan string }{
		{"participants[0].device", strings.Replace(participants, "keyid: "+ps.id("alice")+"}", "keyid: "+ps.id("alice")+`, device: "YubiKey \e]0;x\a"}`, 1)},
		{"revocations.add[0].reason", participants + "revocations: {add: [{keyid: " + ps.id("erin") + `, role: claimed, reason: "lost \u202edevice"}]}` + "\n"},
		{"start.metadata", participants + `start: {trusted_root: root.json, metadata: "meta\u0085"}` + "\n"},
	} {
		path := filepath.Join(dir, "plan.yaml")
		if err := os.WriteFile(path, []byte(bootstrapPlan+c.plan), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadPlan(path)
		if !errors.Is(err, ErrPlan) || !errors.Is(err, untrusted.ErrForbiddenChar) || !strings.Contains(err.Error(), c.path+":") {
			t.Errorf("%s: %v", c.path, err)
		}
	}
}

// TestSummarizeFromBytes: what a signer is shown comes from the bytes: a
// root whose bytes trust one attacker key says so, whatever a request
// says; against the genuine previous root it says what changes.
func TestSummarizeFromBytes(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "mallory")
	mallory, _ := roles.KeyFromPublic(ps["mallory"].Public())
	expires := time.Date(2027, 11, 1, 0, 0, 0, 0, time.UTC)
	forged := roles.NewRoot(expires)
	for _, role := range roles.TopLevelRoles {
		forged.AddKey(role, mallory)
		forged.Roles[role].Threshold = 1
	}
	forged.Version = 2
	genuine := roles.NewRoot(expires)
	for _, n := range []string{"alice", "bob"} {
		k, _ := roles.KeyFromPublic(ps[n].Public())
		for _, role := range roles.TopLevelRoles {
			genuine.AddKey(role, k)
		}
	}
	for _, role := range roles.TopLevelRoles {
		genuine.Roles[role].Threshold = 2
	}
	prev, err := roles.New(genuine).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	signed := roles.New(forged).CanonicalSigned()
	s, err := Summarize(RoleRoot, signed, prev, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(s.Lines(), "\n")
	for _, want := range []string{
		"root v1 → v2; expires 2027-11-01",
		"root: threshold 1 of 1: " + mallory.ID()[:16],
		"root: threshold 2 of 2 → 1 of 1",
		"root: adds key " + mallory.ID()[:16],
		"root: removes key " + ps.id("alice")[:16],
		"to be trusted it needs 2 of v1's 2 root keys and 1 of its own 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if s.Version != 2 || s.Role != RoleRoot {
		t.Errorf("summary of %s v%d", s.Role, s.Version)
	}
	// Without the previous version it says what the bytes hold.
	s, err = Summarize(RoleRoot, signed, nil, nil)
	if err != nil || !slices.Contains(s.Holds, "root: threshold 1 of 1: "+mallory.ID()[:16]) || s.Changes != nil {
		t.Errorf("without previous: %+v, %v", s, err)
	}
	// A previous version that is not older, or not root, is refused.
	if _, err := Summarize(RoleRoot, roles.New(genuine).CanonicalSigned(), prev, nil); !errors.Is(err, ErrRequestInvalid) {
		t.Errorf("previous of the same version: %v", err)
	}
	tg, _ := roles.New(roles.NewTargets(expires)).MarshalJSON()
	if _, err := Summarize(RoleRoot, signed, tg, nil); !errors.Is(err, ErrRequestInvalid) {
		t.Errorf("targets as root's previous version: %v", err)
	}
	// Names from the metadata are escaped.
	evil := roles.NewTargets(expires)
	evil.Delegations = &roles.Delegations{Keys: map[string]*roles.Key{mallory.ID(): mallory},
		Roles: []*roles.DelegatedRole{{Name: "p\x1b[2J", KeyIDs: []string{mallory.ID()}, Threshold: 1, Paths: []string{"p/*"}}}}
	s, err = Summarize(RoleClaimed, roles.New(evil).CanonicalSigned(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(s.Lines(), "\n"); strings.Contains(text, "\x1b") || !strings.Contains(text, `p\x1b[2J`) {
		t.Errorf("a project name is not escaped:\n%q", text)
	}
	// A look-alike project name is flagged for what it is.
	prev, _ = roles.New(roles.NewTargets(expires)).MarshalJSON()
	evil.Version = 2
	evil.Delegations.Roles[0].Name = "requ\u0435sts"
	s, err = Summarize(RoleClaimed, roles.New(evil).CanonicalSigned(), prev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(s.Lines(), "\n"); !strings.Contains(text, `moves 1 projects into claimed: requеsts [not ASCII; mixes Cyrillic and Latin; looks like "requests"]`) {
		t.Errorf("a look-alike project name is not flagged:\n%s", text)
	}
}

// quarterlyFixture is a repository bootstrapped and published, and a
// quarterly ceremony on it that rotates a root key and moves a project into
// claimed, with its requests exported.
func quarterlyFixture(t *testing.T) (dir string, ps people, trusted []byte, reqs map[string]*Request) {
	t.Helper()
	dir = t.TempDir()
	ps = newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "frank", "maint")
	trusted = publishBootstrap(t, dir, ps, bootstrapPlan)
	projects, _ := json.Marshal(map[string]any{"projects": []any{
		map[string]any{"name": "requests", "threshold": 1, "keys": []any{keyJSON(t, ps["maint"])}},
	}})
	writeFile(t, filepath.Join(dir, "projects.json"), projects)
	q := writePlan(t, dir, "q.yaml", `ceremony: quarterly-test
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: trusted-root.json, metadata: ws1/metadata}
root: {add: [frank], remove: [carol], threshold: 2}
claimed: {projects_file: projects.json}
revocations: {}
online: {participant: online}
`+ps.participants("alice", "bob", "carol", "dave", "erin", "online", "frank"))
	e2, err := Begin(filepath.Join(dir, "ws2"), q, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e2.Release() })
	paths, err := e2.ExportRequests(filepath.Join(dir, "usb"))
	if err != nil {
		t.Fatal(err)
	}
	reqs = map[string]*Request{}
	for _, p := range paths {
		req, err := ParseRequest(mustRead(t, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		reqs[req.Role] = req
	}
	return dir, ps, trusted, reqs
}

// publishBootstrap runs the bootstrap plan (bootstrapPlan, or another
// ceremony id's copy) in dir/ws1, signed by the people it names, publishes
// it into dir/ws1/metadata, writes its root to dir/trusted-root.json for
// a quarterly plan to pin, and returns it.
func publishBootstrap(t *testing.T, dir string, ps people, plan string) []byte {
	t.Helper()
	e, err := Begin(filepath.Join(dir, "ws1"), writePlan(t, dir, "b.yaml", plan+ps.participants("alice", "bob", "carol", "dave", "erin", "online")), Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	signAllAs(t, e, ps, "alice", "bob", "dave", "erin")
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	e.Release()
	trusted := mustRead(t, filepath.Join(dir, "ws1", "metadata", "1.root.json"))
	writeFile(t, filepath.Join(dir, "trusted-root.json"), trusted)
	return trusted
}

// TestRequestPreviousVerifiedUnderPinnedRoot: a request carries its role's
// previous version, and the files that delegate to it, as the trusted
// repository holds them; a signer who pins the repository's root
// verifies them, and a previous version made up by whoever wrote the
// request does not verify.
func TestRequestPreviousVerifiedUnderPinnedRoot(t *testing.T) {
	dir, ps, trusted, reqs := quarterlyFixture(t)
	for _, role := range []string{RoleRoot, RoleClaimed, RoleRevocations} {
		req := reqs[role]
		if req == nil || req.Previous == nil || len(req.Delegators) != len(delegatorsOf(role)) {
			t.Fatalf("%s request: %+v", role, req)
		}
		if v, err := req.VerifyPrevious(trusted); err != nil || v != 1 {
			t.Errorf("%s: previous under the pinned root: v%d, %v", role, v, err)
		}
		if req.Review().Changes == nil && role != RoleRevocations {
			t.Errorf("%s: the review says nothing changes: %+v", role, req.Review())
		}
	}
	claimed := strings.Join(reqs[RoleClaimed].Review().Lines(), "\n")
	if !strings.Contains(claimed, "moves 1 projects into claimed: requests") {
		t.Errorf("claimed review:\n%s", claimed)
	}
	root := strings.Join(reqs[RoleRoot].Review().Lines(), "\n")
	if !strings.Contains(root, "root: adds key "+ps.id("frank")[:16]) || !strings.Contains(root, "root: removes key "+ps.id("carol")[:16]) {
		t.Errorf("root review:\n%s", root)
	}

	// A previous root that mallory made and signed herself.
	mallory := newPeople(t, dir, "mallory")
	mk, _ := roles.KeyFromPublic(mallory["mallory"].Public())
	fake := roles.NewRoot(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, r := range roles.TopLevelRoles {
		fake.AddKey(r, mk)
		fake.Roles[r].Threshold = 1
	}
	m := roles.New(fake)
	sig, err := roles.Sign(mallory["mallory"], mk, m.CanonicalSigned())
	if err != nil {
		t.Fatal(err)
	}
	m.AddSignature(sig)
	fakeBytes, _ := m.MarshalJSON()
	forged := *reqs[RoleRoot]
	forged.Previous = fakeBytes
	if _, err := forged.VerifyPrevious(trusted); !errors.Is(err, ErrUntrusted) {
		t.Errorf("a made-up previous root: %v", err)
	}
	// Pinning mallory's root does not make the genuine previous verify.
	if _, err := reqs[RoleClaimed].VerifyPrevious(fakeBytes); !errors.Is(err, ErrUntrusted) {
		t.Errorf("claimed under another root: %v", err)
	}
	// A request that carries no previous version has nothing to verify.
	none := *reqs[RoleClaimed]
	none.Previous, none.Delegators = nil, nil
	if _, err := none.VerifyPrevious(trusted); !errors.Is(err, ErrNoPrevious) {
		t.Errorf("no previous: %v", err)
	}
	// The request file round-trips with them.
	b, err := reqs[RoleClaimed].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseRequest(b)
	if err != nil || len(back.Delegators) != 1 {
		t.Fatalf("round trip: %v", err)
	}
	// A request in the format before previous versions is still read.
	var doc map[string]any
	json.Unmarshal(b, &doc)
	doc["format"] = requestFormatV1
	delete(doc, "previous")
	delete(doc, "delegators")
	old, _ := json.Marshal(doc)
	if r, err := ParseRequest(old); err != nil || r.Review().Changes != nil {
		t.Errorf("a format 1 request: %v", err)
	}
}

// TestToSign: the roles a key may sign are known from its keyid alone,
// and the refusals come before any device is logged in to.
func TestToSign(t *testing.T) {
	f := newReqFixture(t)
	st := f.e.State()
	rs, err := st.ToSign(f.ps.id("dave"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Role)
	}
	if !slices.Equal(names, []string{RoleClaimed, RoleRevocations}) {
		t.Errorf("dave may sign %v", names)
	}
	if _, err := st.ToSign(f.ps.id("mallory")); !errors.Is(err, ErrWrongKey) {
		t.Errorf("mallory: %v", err)
	}
	if _, err := st.ToSign(f.ps.id("online")); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "signs none of the roles") {
		t.Errorf("the online key: %v", err)
	}
	signAllAs(t, f.e, f.ps, "dave")
	if _, err := f.e.State().ToSign(f.ps.id("dave")); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "has signed every role") {
		t.Errorf("dave again: %v", err)
	}
}

// setJSONPath sets the value at path ("signers[0].name", "device.label")
// in a document json.Unmarshal made.
func setJSONPath(t *testing.T, doc any, path string, value any) {
	t.Helper()
	parts := strings.Split(strings.ReplaceAll(path, "[", ".["), ".")
	for i, p := range parts {
		last := i == len(parts)-1
		if strings.HasPrefix(p, "[") {
			var n int
			if _, err := fmt.Sscan(strings.Trim(p, "[]"), &n); err != nil {
				t.Fatal(err)
			}
			a := doc.([]any)
			if last {
				a[n] = value
				return
			}
			doc = a[n]
			continue
		}
		o := doc.(map[string]any)
		if last {
			o[p] = value
			return
		}
		if o[p] == nil {
			o[p] = map[string]any{}
		}
		doc = o[p]
	}
}
