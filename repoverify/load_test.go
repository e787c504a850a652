package repoverify

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// claimedWalk walks as a ceremony does: targets and claimed, and requires
// claimed and the revocation list.
var claimedWalk = Options{
	Follow: func(delegator, delegated string) bool {
		return delegator == roles.TypeTargets && delegated == roleClaimed
	},
	Require: []string{roleClaimed, roles.TypeRevocations},
}

// TestLoad walks part of the fixture from a folder and again from the
// files it read, and gets the same roles from the same files.
func TestLoad(t *testing.T) {
	f := newFixture(t)
	dir, trusted := f.publish()
	v, err := Load(dir, trusted, claimedWalk)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1.claimed.json", "1.revocations.json", "1.snapshot.json", "1.targets.json", "2.root.json", "3.root.json", "timestamp.json"}
	if got := slices.Sorted(maps.Keys(v.Files)); !slices.Equal(got, want) {
		t.Errorf("files read: %v, want %v", got, want)
	}
	if got := slices.Sorted(maps.Keys(v.Delegated)); !slices.Equal(got, []string{roleClaimed}) {
		t.Errorf("delegated roles: %v", got)
	}
	if v.Root.Signed.Version != 3 || v.Snapshot == nil || v.Timestamp == nil || v.Targets == nil || v.Revocations == nil {
		t.Errorf("repository: root v%d, snapshot %v, timestamp %v, targets %v, revocations %v", v.Root.Signed.Version, v.Snapshot != nil, v.Timestamp != nil, v.Targets != nil, v.Revocations != nil)
	}

	again, err := FromFiles(v.Files, trusted, claimedWalk)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(v.Files, again.Files, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Error("FromFiles read other files than Load")
	}
	if string(again.Delegated[roleClaimed].CanonicalSigned()) != string(v.Delegated[roleClaimed].CanonicalSigned()) {
		t.Error("FromFiles verified another claimed")
	}

	// A recorded file missing is named, and where it was looked for.
	files := maps.Clone(v.Files)
	delete(files, "1.claimed.json")
	_, err = FromFiles(files, trusted, claimedWalk)
	var e *Error
	if !errors.As(err, &e) || e.Name != "delegation.claimed.file" || e.Reason != ReasonMissingFile || !strings.Contains(err.Error(), "the recorded files") {
		t.Errorf("claimed missing from the recorded files: %v", err)
	}
}

// TestLoadJudges says what a partial walk without a time judges: not
// expiry, not revoked keys still trusted (a ceremony exists to repair
// both), and every other check as Verify does.
func TestLoadJudges(t *testing.T) {
	f := newFixture(t)
	f.timestamp = roles.NewTimestamp(ref.AddDate(-1, 0, 0))
	f.revocations.Revoked = append(f.revocations.Revoked, &roles.Revocation{
		KeyID: f.id("c1"), Key: f.keys["c1"].key, Role: roleClaimed, Reason: "lost", RevokedAt: ref.Add(-time.Minute)})
	dir, trusted := f.publish()
	if _, err := Verify(dir, trusted, ref); !errors.Is(err, ErrFailed) {
		t.Fatalf("Verify: %v", err)
	}
	v, err := Load(dir, trusted, claimedWalk)
	if err != nil {
		t.Fatalf("an expired repository trusting a revoked key does not load: %v", err)
	}
	if !v.Timestamp.Signed.IsExpired(ref) {
		t.Fatal("the fixture's timestamp should have expired")
	}

	// A failure on the way is the walk's error, as Verify's is.
	f = newFixture(t)
	f.signers[roleClaimed] = []string{"c1"}
	dir, trusted = f.publish()
	_, err = Load(dir, trusted, claimedWalk)
	var e *Error
	if !errors.As(err, &e) || e.Name != "delegation.claimed.threshold" || !errors.Is(err, ErrFailed) {
		t.Errorf("claimed under its threshold: %v", err)
	}
	// A delegation not followed is not read: a broken project does not
	// stop a walk that does not go there.
	f = newFixture(t)
	f.signers["alpha"] = []string{"m-stranger"}
	dir, trusted = f.publish()
	if _, err := Load(dir, trusted, claimedWalk); err != nil {
		t.Errorf("a project the walk does not follow failed it: %v", err)
	}
}

// TestLoadRequire fails a walk that does not reach a role it requires.
func TestLoadRequire(t *testing.T) {
	f := newFixture(t)
	f.skip[roles.TypeRevocations] = true
	dir, trusted := f.publish()
	_, err := Load(dir, trusted, claimedWalk)
	var e *Error
	if !errors.As(err, &e) || e.Name != "snapshot.meta.revocations.json.listed" || e.Reason != ReasonNotListed {
		t.Errorf("revocations not listed: %v", err)
	}

	dir, trusted = newFixture(t).publish()
	opts := claimedWalk
	opts.Require = []string{roleRecentlyClaimed}
	_, err = Load(dir, trusted, opts)
	if !errors.As(err, &e) || e.Name != "delegation.recently-claimed.name" || e.Reason != ReasonNotDelegated {
		t.Errorf("recently-claimed not followed: %v", err)
	}
}
