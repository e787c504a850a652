package roles

import (
	"strings"
	"testing"
	"time"
)

var refTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func failedChecks(fs Findings) map[string]bool {
	out := map[string]bool{}
	for _, f := range fs.Failed() {
		out[f.Check] = true
	}
	return out
}

func testRoot(t *testing.T, keys []testKey, threshold int64) *Root {
	r := NewRoot(refTime.AddDate(0, 6, 0))
	for _, k := range keys[:3] {
		r.AddKey(TypeRoot, k.key)
		r.AddKey(TypeTargets, k.key)
	}
	r.AddKey(TypeSnapshot, keys[3].key)
	r.AddKey(TypeTimestamp, keys[3].key)
	r.Roles[TypeRoot].Threshold = threshold
	return r
}

func TestCheckRoot(t *testing.T) {
	keys := newTestKeys(t, 4)
	p := Policy{Now: refTime, DefaultMaxExpiry: 365 * 24 * time.Hour}
	good := testRoot(t, keys, 2)
	if err := CheckRoot(nil, good, p).Err(); err != nil {
		t.Fatalf("good root: %v", err)
	}

	cases := []struct {
		name  string
		edit  func(r *Root)
		check string
	}{
		{"threshold one", func(r *Root) { r.Roles[TypeRoot].Threshold = 1 }, CheckRootThresholdAboveOne},
		{"threshold above keys", func(r *Root) { r.Roles[TypeRoot].Threshold = 4 }, CheckThresholdWithinKeys},
		{"expired", func(r *Root) { r.Expires = refTime.Add(-time.Hour) }, CheckExpiryInFuture},
		{"expiry too far", func(r *Root) { r.Expires = refTime.AddDate(2, 0, 0) }, CheckExpiryWithinLimit},
		{"root key online", func(r *Root) { r.AddKey(TypeTimestamp, keys[0].key) }, CheckOfflineNotSharedOnline},
		{"keyid not the key's", func(r *Root) {
			id := keys[0].key.ID()
			r.Keys[strings.Repeat("0", 64)] = r.Keys[id]
		}, CheckKeysValid},
	}
	for _, c := range cases {
		r := testRoot(t, keys, 2)
		c.edit(r)
		fs := CheckRoot(nil, r, p)
		if !failedChecks(fs)[c.check] {
			t.Errorf("%s: %s did not fail; findings: %v", c.name, c.check, fs.Failed())
		}
		if fs.Err() == nil {
			t.Errorf("%s: Err() is nil", c.name)
		}
	}

	next := testRoot(t, keys, 2)
	next.Version = 3
	if !failedChecks(CheckRoot(good, next, p))[CheckVersionIncreases] {
		t.Error("root v1 → v3 passed the version check")
	}

	rev := NewRevocations(refTime.AddDate(0, 6, 0))
	rev.Revoked = append(rev.Revoked, &Revocation{KeyID: keys[1].key.ID(), Key: keys[1].key, Role: "root", Reason: "laptop stolen", RevokedAt: refTime})
	p.Revoked = rev
	fs := CheckRoot(nil, good, p)
	if !failedChecks(fs)[CheckNoRevokedKeyTrusted] || !strings.Contains(fs.Err().Error(), "laptop stolen") {
		t.Errorf("revoked key trusted by root not reported: %v", fs.Err())
	}
}

func TestCheckTargetsSizeAndThresholds(t *testing.T) {
	keys := newTestKeys(t, 2)
	tg := NewTargets(refTime.AddDate(0, 3, 0))
	tg.Delegations = &Delegations{Keys: map[string]*Key{keys[0].key.ID(): keys[0].key}}
	tg.Delegations.Roles = []*DelegatedRole{{Name: "proj", KeyIDs: []string{keys[0].key.ID()}, Threshold: 2, Paths: []string{"proj/*"}}}
	p := Policy{Now: refTime}
	fs := CheckTargets("claimed", nil, tg, 6_000_000, p)
	failed := failedChecks(fs)
	if !failed[CheckThresholdWithinKeys] || !failed[CheckFileSizeClientLimit] {
		t.Errorf("findings: %v", fs.Failed())
	}
	// The size limit is a warning: it names the remedy but does not stop
	// the ceremony; the threshold is an error.
	for _, f := range fs.Failed() {
		if f.Check == CheckFileSizeClientLimit && (f.Severity != Warning || !strings.Contains(f.Message, "bins: prefix") || !strings.Contains(f.Message, "python-tuf (targets_max_length 5000000), go-tuf v2 (TargetsMaxLength 5000000), tuf-js (targetsMaxLength 5000000)")) {
			t.Errorf("size finding: %+v", f)
		}
	}
	tg.Delegations.Roles[0].Threshold = 1
	if err := CheckTargets("claimed", nil, tg, 1000, p).Err(); err != nil {
		t.Errorf("fixed role: %v", err)
	}
}

func TestCheckRevocationsAppendOnly(t *testing.T) {
	keys := newTestKeys(t, 2)
	entry := func(k testKey) *Revocation {
		return &Revocation{KeyID: k.key.ID(), Key: k.key, Role: "claimed/proj", Reason: "compromised", RevokedAt: refTime}
	}
	prev := NewRevocations(refTime.AddDate(0, 6, 0))
	prev.Revoked = []*Revocation{entry(keys[0])}
	next := NewRevocations(refTime.AddDate(0, 6, 0))
	next.Version = 2
	next.Revoked = []*Revocation{entry(keys[0]), entry(keys[1])}
	p := Policy{Now: refTime}
	if err := CheckRevocations(prev, next, p).Err(); err != nil {
		t.Fatalf("appending: %v", err)
	}
	dropped := NewRevocations(refTime.AddDate(0, 6, 0))
	dropped.Version = 2
	dropped.Revoked = []*Revocation{entry(keys[1])}
	if !failedChecks(CheckRevocations(prev, dropped, p))[CheckRevocationsAppendOnly] {
		t.Error("a dropped entry passed")
	}
	changed := NewRevocations(refTime.AddDate(0, 6, 0))
	changed.Version = 2
	e := entry(keys[0])
	e.Reason = "never mind"
	changed.Revoked = []*Revocation{e}
	if !failedChecks(CheckRevocations(prev, changed, p))[CheckRevocationsAppendOnly] {
		t.Error("a changed entry passed")
	}
	if !failedChecks(CheckRevocations(next, next, p))[CheckVersionIncreases] {
		t.Error("same version passed")
	}
}

func TestRolesFor(t *testing.T) {
	dl := &Delegations{Roles: []*DelegatedRole{
		{Name: "a", Paths: []string{"proj/*"}},
		{Name: "b", Paths: []string{"proj/*"}, Terminating: true},
		{Name: "c", Paths: []string{"proj/*"}},
	}}
	if got := dl.RolesFor("proj/x.tar.gz"); strings.Join(got, ",") != "a,b" {
		t.Errorf("RolesFor = %v, want a,b (stop at the terminating role)", got)
	}
	if got := dl.RolesFor("other/x"); len(got) != 0 {
		t.Errorf("RolesFor(other/x) = %v", got)
	}
}

// TestCheckFileSizeNamesClients: each kind of file is judged against each
// stock client's default for it, and a failure names every client it
// exceeds, with the setting that raises the limit.
func TestCheckFileSizeNamesClients(t *testing.T) {
	p := Policy{Now: refTime}
	for _, c := range []struct {
		kind string
		size int
		want string // "" when the file is within every limit
	}{
		{TypeSnapshot, 21_000_000, "python-tuf (snapshot_max_length 2000000), go-tuf v2 (SnapshotMaxLength 2000000), tuf-js (snapshotMaxLength 2000000)"},
		{TypeSnapshot, 1_999_999, ""},
		{TypeRoot, 512_001, "python-tuf (root_max_length 512000), go-tuf v2 (RootMaxLength 512000), tuf-js (rootMaxLength 512000)"},
		{TypeTimestamp, 16_385, "tuf-js (timestampMaxLength 16384)"},
		{TypeTargets, 5_000_000, ""},
	} {
		fs := CheckFileSize("x", c.kind, c.size, p)
		if len(fs) != 1 || fs[0].Check != CheckFileSizeClientLimit || fs[0].Passed != (c.want == "") || !strings.Contains(fs[0].Message, c.want) {
			t.Errorf("%s of %d bytes: %+v", c.kind, c.size, fs)
		}
	}
}
