package ceremony

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
)

// reqFixture is a bootstrap ceremony whose offline roles are signed by
// air-gapped signers, and a folder requests are exported into.
type reqFixture struct {
	dir  string
	ps   people
	plan *Plan
	e    *Engine
	ws   string
	out  string
}

func newReqFixture(t *testing.T) *reqFixture {
	t.Helper()
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "mallory")
	plan := writePlan(t, dir, "bootstrap.yaml", bootstrapPlan+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	ws := filepath.Join(dir, "ws")
	e, err := Begin(ws, plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Release() })
	return &reqFixture{dir: dir, ps: ps, plan: plan, e: e, ws: ws, out: filepath.Join(dir, "usb")}
}

// export exports the requests and parses them, by role.
func (f *reqFixture) export(t *testing.T) map[string]*Request {
	t.Helper()
	paths, err := f.e.ExportRequests(f.out)
	if err != nil {
		t.Fatal(err)
	}
	reqs := map[string]*Request{}
	for _, p := range paths {
		req, err := ParseRequest(mustRead(t, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if filepath.Base(p) != requestFileName(req.Ceremony, req.Role, req.Version) {
			t.Errorf("request for %s v%d is named %s", req.Role, req.Version, p)
		}
		reqs[req.Role] = req
	}
	return reqs
}

// respond signs req as who, through the response file's bytes.
func (f *reqFixture) respond(t *testing.T, req *Request, who string) *Response {
	t.Helper()
	resp, err := SignRequest(req, f.ps[who], &hsm.Device{Backend: "memory", Model: "test key", Serial: who})
	if err != nil {
		t.Fatalf("%s signs %s: %v", who, req.Role, err)
	}
	b, err := resp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseResponse(b)
	if err != nil {
		t.Fatalf("parse %s's response: %v\n%s", who, err, b)
	}
	return back
}

// snapshotDir returns every file under dir with its bytes.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unchanged fails the test when a refused step changed any file.
func unchanged(t *testing.T, what string, before map[string]string, dirs ...string) {
	t.Helper()
	after := map[string]string{}
	for _, d := range dirs {
		for k, v := range snapshotDir(t, d) {
			after[k] = v
		}
	}
	for p, b := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s: %s was removed", what, p)
		} else if a != b {
			t.Errorf("%s: %s changed", what, p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s was written", what, p)
		}
	}
}

func snapshotDirs(t *testing.T, dirs ...string) map[string]string {
	out := map[string]string{}
	for _, d := range dirs {
		for k, v := range snapshotDir(t, d) {
			out[k] = v
		}
	}
	return out
}

// signersOf are who signs each role of the bootstrap plan.
var signersOf = map[string][]string{
	RoleRoot:        {"alice", "bob"},
	RoleTargets:     {"alice", "carol"},
	RoleClaimed:     {"dave", "erin"},
	RoleRevocations: {"dave", "erin"},
}

// TestRequestRoundTrip: export, sign on "another machine" with nothing but
// the request, collect: every threshold is reached, the fold of the
// transcript holds the signatures, and the ceremony publishes.
func TestRequestRoundTrip(t *testing.T) {
	f := newReqFixture(t)
	reqs := f.export(t)
	var want []string
	for _, r := range f.e.State().Roles {
		if !r.Online {
			want = append(want, r.Role)
		}
	}
	got := make([]string, 0, len(reqs))
	for r := range reqs {
		got = append(got, r)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("requests for %v, want %v", got, want)
	}
	root := reqs[RoleRoot]
	if root.Digest != f.e.State().Role(RoleRoot).Digest || !bytes.Equal(root.Signed, f.e.State().Role(RoleRoot).Canonical) {
		t.Error("the root request does not carry the staged bytes")
	}
	if root.TranscriptHead != f.e.Head().String() || len(root.Summary) == 0 || len(root.ChecksPassed) == 0 {
		t.Errorf("root request: head %s, summary %q, checks %q", root.TranscriptHead, root.Summary, root.ChecksPassed)
	}
	if s := root.Signer(f.ps.id("alice")); s == nil || s.Name != "alice" {
		t.Errorf("root request signers: %+v", root.Signers)
	}
	// Exporting again, with nothing signed since, writes the same files.
	before := snapshotDirs(t, f.out)
	if _, err := f.e.ExportRequests(f.out); err != nil {
		t.Fatalf("export again: %v", err)
	}
	unchanged(t, "export again", before, f.out)

	for role, who := range signersOf {
		for _, w := range who {
			if err := f.e.Collect(f.respond(t, reqs[role], w)); err != nil {
				t.Fatalf("collect %s's signature over %s: %v", w, role, err)
			}
		}
	}
	if !f.e.State().Done() {
		t.Fatalf("not done: %s", f.e.State().missingSummary())
	}
	st, err := Fold(f.e.TranscriptPath())
	if err != nil {
		t.Fatal(err)
	}
	for role, who := range signersOf {
		r := st.Role(role)
		if len(r.Signatures) != len(who) {
			t.Errorf("fold: %s has %d signatures", role, len(r.Signatures))
		}
		for _, s := range r.Signatures {
			// The device a response describes is the signer's claim,
			// recorded apart from the devices the ceremony identified.
			if s.Via != "response" || s.Device != nil || s.ClaimedDevice == nil || s.ClaimedDevice.Backend != "memory" || !slices.Contains(who, s.Signer) {
				t.Errorf("fold: %s signature %+v", role, s)
			}
		}
	}
	// Nothing is left to export.
	if paths, err := f.e.ExportRequests(filepath.Join(f.dir, "empty")); err != nil || len(paths) != 0 {
		t.Errorf("export when done: %v, %v", paths, err)
	}
	if _, err := f.e.Publish(f.ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Fold(f.e.TranscriptPath()); err != nil {
		t.Fatal(err)
	}
}

// TestRequestSignedBytesKeepControlCharacters: canonical JSON keeps a PEM
// key's newlines raw; such a role still parses and checks.
func TestRequestSignedBytesKeepControlCharacters(t *testing.T) {
	k := roles.NewKey("rsa", "rsassa-pss-sha256", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
	tg := roles.NewTargets(mustTime(t, "2027-01-01T00:00:00Z"))
	tg.Delegations = &roles.Delegations{Keys: map[string]*roles.Key{k.ID(): k},
		Roles: []*roles.DelegatedRole{{Name: "p", KeyIDs: []string{k.ID()}, Threshold: 1, Paths: []string{"p/*"}}}}
	canon := roles.New(tg).CanonicalSigned()
	if !bytes.Contains(canon, []byte("\n")) {
		t.Fatal("test needs raw newlines in canonical bytes")
	}
	sum, err := Summarize(RoleClaimed, canon, nil, nil)
	if err != nil || sum.Version != 1 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	// The same with a raw newline outside a string is not canonical.
	bad := append([]byte{'\n'}, canon...)
	if _, err := Summarize(RoleClaimed, bad, nil, nil); err == nil {
		t.Error("white space before the document was accepted")
	}
	if _, err := Summarize(RoleRoot, canon, nil, nil); err == nil {
		t.Error("targets bytes accepted as root")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestRequestRefusals: every bad input is refused with its named error,
// and nothing on disk changes.
func TestRequestRefusals(t *testing.T) {
	f := newReqFixture(t)
	reqs := f.export(t)
	root := reqs[RoleRoot]
	rootPath := filepath.Join(f.out, requestFileName(root.Ceremony, RoleRoot, root.Version))
	rootBytes := mustRead(t, rootPath)
	good := f.respond(t, root, "alice")
	goodBytes, _ := good.Marshal()

	// A second ceremony: another id, and one with the same id over other
	// bytes (another threshold).
	other := writePlan(t, f.dir, "other.yaml", strings.Replace(bootstrapPlan, "bootstrap-test", "other-test", 1)+f.ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e2, err := Begin(filepath.Join(f.dir, "ws2"), other, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Release()
	same := writePlan(t, f.dir, "same.yaml", strings.Replace(bootstrapPlan, "root: {add: [alice, bob, carol], threshold: 2}", "root: {add: [alice, bob, carol], threshold: 3}", 1)+f.ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
	e3, err := Begin(filepath.Join(f.dir, "ws3"), same, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e3.Release()
	fromOther := func(e *Engine) *Response {
		t.Helper()
		paths, err := e.ExportRequests(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			req, err := ParseRequest(mustRead(t, p))
			if err != nil {
				t.Fatal(err)
			}
			if req.Role == RoleRoot {
				return f.respond(t, req, "alice")
			}
		}
		t.Fatal("no root request")
		return nil
	}

	flipSigned := func() []byte {
		var m map[string]any
		if err := json.Unmarshal(rootBytes, &m); err != nil {
			t.Fatal(err)
		}
		s := bytes.Clone(root.Signed)
		s[len(s)/2] ^= 0x01
		m["signed"] = s
		b, _ := json.MarshalIndent(m, "", "  ")
		return b
	}
	flipSignedAndDigest := func() []byte {
		s := bytes.Clone(root.Signed)
		i := bytes.Index(s, []byte(`"version":1`))
		s[i+len(`"version":`)] = '7'
		r := *root
		r.Signed, r.Digest = s, digestOf(s)
		b, _ := r.Marshal()
		return b
	}
	editJSON := func(b []byte, field string, v any) []byte {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		m[field] = v
		out, _ := json.MarshalIndent(m, "", "  ")
		return out
	}

	requests := []struct {
		name string
		b    []byte
	}{
		{"one byte of the signed bytes flipped", flipSigned()},
		{"signed bytes changed and their digest recomputed", flipSignedAndDigest()},
		{"truncated in half", rootBytes[:len(rootBytes)/2]},
		{"truncated by its last brace", bytes.TrimSpace(rootBytes)[:len(bytes.TrimSpace(rootBytes))-1]},
		{"empty", nil},
		{"trailing data", append(bytes.Clone(rootBytes), `{}`...)},
		{"unknown field", editJSON(rootBytes, "note", "sign me")},
		{"another format", editJSON(rootBytes, "format", "ceremony-signing-request/3")},
		{"digest changed", editJSON(rootBytes, "signed_sha256", strings.Repeat("0", 64))},
		{"version changed", editJSON(rootBytes, "version", 2)},
		{"role changed", editJSON(rootBytes, "role", RoleTargets)},
		{"field name in other case", bytes.Replace(rootBytes, []byte(`"role"`), []byte(`"Role"`), 1)},
		{"duplicate field", bytes.Replace(rootBytes, []byte(`"role": "root",`), []byte(`"role": "root", "role": "targets",`), 1)},
	}
	for _, c := range requests {
		_, err := ParseRequest(c.b)
		if !errors.Is(err, ErrRequestInvalid) {
			t.Errorf("request %s: %v", c.name, err)
		}
		t.Logf("request %s: %v", c.name, err)
	}
	// A key the request does not list is refused before signing.
	if _, err := SignRequest(root, f.ps["mallory"], nil); !errors.Is(err, ErrUntrustedKey) {
		t.Errorf("mallory signs the root request: %v", err)
	}
	if _, err := SignRequest(root, f.ps["dave"], nil); !errors.Is(err, ErrUntrustedKey) {
		t.Errorf("dave (a claimed key) signs the root request: %v", err)
	}

	// Responses.
	signedBy := func(who string) *Response {
		k, _ := roles.KeyFromPublic(f.ps[who].Public())
		sig, err := roles.Sign(f.ps[who], k, root.Signed)
		if err != nil {
			t.Fatal(err)
		}
		r := *good
		r.KeyID, r.Sig, r.Signer = k.ID(), hex.EncodeToString(sig.Sig), who
		return &r
	}
	flipSig := *good
	flipSig.Sig = flipHex(good.Sig)
	otherVersion := *good
	otherVersion.Version = 2
	parseRefusals := []struct {
		name string
		b    []byte
	}{
		{"truncated in half", goodBytes[:len(goodBytes)/2]},
		{"truncated by one byte", bytes.TrimSpace(goodBytes)[:len(bytes.TrimSpace(goodBytes))-1]},
		{"unknown field", editJSON(goodBytes, "extra", 1)},
		{"sig not hex", editJSON(goodBytes, "sig", "zz")},
		{"keyid short", editJSON(goodBytes, "keyid", "abcd")},
		{"time missing", bytes.Replace(goodBytes, []byte(`"time"`), []byte(`"tim"`), 1)},
	}
	for _, c := range parseRefusals {
		_, err := ParseResponse(c.b)
		if !errors.Is(err, ErrRequestInvalid) {
			t.Errorf("response %s: %v", c.name, err)
		}
		t.Logf("response %s: %v", c.name, err)
	}
	collects := []struct {
		name string
		resp *Response
		want error
	}{
		{"for another ceremony", fromOther(e2), ErrOtherCeremony},
		{"for the same ceremony id over other bytes", fromOther(e3), ErrStale},
		{"for another version", &otherVersion, ErrStale},
		{"for a role not staged", func() *Response { r := *good; r.Role = "sampleproject"; return &r }(), ErrStale},
		{"signed by a key nobody trusts", signedBy("mallory"), ErrUntrustedKey},
		{"signed by a key trusted for another role", signedBy("dave"), ErrUntrustedKey},
		{"with a tampered signature", &flipSig, ErrRequestInvalid},
	}
	for _, c := range collects {
		before := snapshotDirs(t, f.ws, f.out)
		err := f.e.Collect(c.resp)
		t.Logf("collect a response %s: %v", c.name, err)
		if !errors.Is(err, c.want) {
			t.Errorf("collect a response %s: %v, want %v", c.name, err, c.want)
		} else if msg := err.Error(); strings.Contains(msg, "\n") {
			t.Errorf("collect a response %s: error is not one paragraph: %q", c.name, msg)
		}
		unchanged(t, "collect a response "+c.name, before, f.ws, f.out)
	}
	if n := len(f.e.State().Role(RoleRoot).Signatures); n != 0 {
		t.Fatalf("root has %d signatures after refusals", n)
	}
	// The same response twice: the second is refused, and changes nothing.
	if err := f.e.Collect(good); err != nil {
		t.Fatal(err)
	}
	before := snapshotDirs(t, f.ws, f.out)
	if err := f.e.Collect(good); !errors.Is(err, ErrDuplicate) {
		t.Errorf("the same response twice: %v", err)
	}
	again, _ := ParseResponse(goodBytes)
	if err := f.e.CheckResponse(again); !errors.Is(err, ErrDuplicate) {
		t.Errorf("check the same response again: %v", err)
	}
	unchanged(t, "collect the same response twice", before, f.ws, f.out)

	// After a signature came in, a new export would differ from the files
	// exported before: it is refused, and nothing is written.
	before = snapshotDirs(t, f.ws, f.out)
	if _, err := f.e.ExportRequests(f.out); !errors.Is(err, ErrConflict) {
		t.Errorf("export over older requests: %v", err)
	}
	unchanged(t, "export over older requests", before, f.ws, f.out)
	if st, err := Fold(f.e.TranscriptPath()); err != nil || len(st.Role(RoleRoot).Signatures) != 1 {
		t.Errorf("fold after refusals: %v", err)
	}
}

// flipHex changes one hex digit in the middle of s.
func flipHex(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseRequest(b)
		if err != nil {
			if !errors.Is(err, ErrRequestInvalid) {
				t.Fatalf("error not ErrRequestInvalid: %v", err)
			}
			return
		}
		out, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseRequest(out); err != nil {
			t.Fatalf("a request that parsed does not parse when written again: %v", err)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := ParseResponse(b)
		if err != nil {
			if !errors.Is(err, ErrRequestInvalid) {
				t.Fatalf("error not ErrRequestInvalid: %v", err)
			}
			return
		}
		out, err := resp.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseResponse(out)
		if err != nil || again.Sig != resp.Sig || again.Digest != resp.Digest {
			t.Fatalf("a response that parsed does not parse the same when written again: %v", err)
		}
	})
}

// TestRequestRootRotationAndOtherVersion: in a root rotation the request
// lists the old root's keys and the new root's, and a key only the old
// root trusts signs through a response; that response, brought to a run of
// the same ceremony id that stages another root version, is refused as
// stale.
func TestRequestRootRotationAndOtherVersion(t *testing.T) {
	dir := t.TempDir()
	ps := newPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "frank")
	const id = "same-id"
	publishBootstrap(t, dir, ps, strings.Replace(bootstrapPlan, "bootstrap-test", id, 1))
	boot := strings.Replace(bootstrapPlan, "bootstrap-test", id, 1) + ps.participants("alice", "bob", "carol", "dave", "erin", "online")
	q := writePlan(t, dir, "q.yaml", "ceremony: "+id+`
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: trusted-root.json, metadata: ws1/metadata}
root: {add: [frank], remove: [carol], threshold: 2}
online: {participant: online}
`+ps.participants("alice", "bob", "carol", "dave", "erin", "online", "frank"))
	e2, err := Begin(filepath.Join(dir, "ws2"), q, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Release()
	paths, err := e2.ExportRequests(filepath.Join(dir, "usb"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("export: %v, %v", paths, err)
	}
	req, err := ParseRequest(mustRead(t, paths[0]))
	if err != nil {
		t.Fatal(err)
	}
	if req.Role != RoleRoot || req.Version != 2 || len(req.Thresholds) != 2 || req.Thresholds[0].Under != "root (old)" {
		t.Fatalf("request: %s v%d, thresholds %+v", req.Role, req.Version, req.Thresholds)
	}
	if req.Signer(ps.id("carol")) == nil || req.Signer(ps.id("frank")) == nil {
		t.Error("the request does not list both the removed key and the added one")
	}
	carol, err := SignRequest(req, ps["carol"], nil)
	if err != nil {
		t.Fatal(err)
	}

	// Another run of the same ceremony id, from nothing: root v1.
	e3, err := Begin(filepath.Join(dir, "ws3"), writePlan(t, dir, "b3.yaml", boot), Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e3.Release()
	before := snapshotDirs(t, filepath.Join(dir, "ws3"))
	if err := e3.Collect(carol); !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "root v2") {
		t.Errorf("a root v2 response collected where root v1 is staged: %v", err)
	}
	unchanged(t, "collect another version", before, filepath.Join(dir, "ws3"))

	// In its own ceremony, the old root's key counts under root (old).
	if err := e2.Collect(carol); err != nil {
		t.Fatal(err)
	}
	for _, p := range e2.State().Progress() {
		if p.Under == "root (old)" && !slices.Contains(p.Signed, "carol") {
			t.Errorf("carol's signature does not count under the old root: %+v", p)
		}
	}
}
