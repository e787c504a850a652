package enrolltest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

// TestEnrolledKeyThroughACeremony: a maintainer's enrolled YubiKey key is
// brought into claimed by a ceremony whose plan names the enrollment; the
// transcript's review carries the evidence; the maintainer signs the
// project's metadata with the YubiKey; and go-tuf v2 verifies the chain
// targets → claimed → project.
func TestEnrolledKeyThroughACeremony(t *testing.T) {
	card := insertCard(t, 13572468)
	maint := enrollKey(t, card, "9c", "once", "always")
	enr := maint.enrollment(t, "sampleproject")
	dir := t.TempDir()
	eb, _ := json.MarshalIndent(enr, "", " ")
	os.WriteFile(filepath.Join(dir, "sp.enrollment.json"), eb, 0o644)
	os.WriteFile(filepath.Join(dir, "roots.pem"), card.CA().PEM(), 0o644)

	admins := map[string]crypto.Signer{}
	var parts strings.Builder
	parts.WriteString("participants:\n")
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin", "online"} {
		_, s, _ := ed25519.GenerateKey(rand.Reader)
		admins[n] = s
		k, _ := roles.KeyFromPublic(s.Public())
		kb, _ := json.Marshal(map[string]any{"keyid": k.ID(), "key": k})
		os.WriteFile(filepath.Join(dir, n+".json"), kb, 0o644)
		fmt.Fprintf(&parts, "  - {name: %s, key_file: %s.json, keyid: %s}\n", n, n, k.ID())
	}
	plan := `ceremony: enroll-test
reference_time: ` + now.Format(roles.TimeFormat) + `
allow_network: true
root: {add: [alice, bob, carol], threshold: 2}
targets:
  add: [alice, bob, carol]
  threshold: 2
  claimed: {add: [dave, erin], threshold: 2}
online: {participant: online, unclaimed_bin_bits: 1}
claimed:
  enrollments:
    - {project: sampleproject, file: sp.enrollment.json, nonce: ` + nonce + `}
  enrollment_policy: {roots_file: roots.pem, pin_policy: once, touch_policy: always, max_age_days: 30}
` + parts.String()
	os.WriteFile(filepath.Join(dir, "plan.yaml"), []byte(plan), 0o644)
	p, err := ceremony.LoadPlan(filepath.Join(dir, "plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := ceremony.Begin(filepath.Join(dir, "ws"), p, ceremony.Options{Tool: ceremony.Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Release()
	summary := strings.Join(e.State().Role(ceremony.RoleClaimed).Summary, "\n")
	if !strings.Contains(summary, "sampleproject: enrolled key "+maint.key.ID()[:8]+" from YubiKey #13572468") ||
		!strings.Contains(summary, "PIN once, touch always") {
		t.Errorf("claimed's review lacks the enrollment evidence:\n%s", summary)
	}

	// The maintainer signs the project's metadata with the YubiKey.
	proj := roles.NewTargets(now.AddDate(0, 1, 0))
	sum := sha256.Sum256([]byte("abc"))
	proj.Targets["sampleproject/sampleproject-1.0.tar.gz"] = &roles.TargetFile{Length: 3, Hashes: map[string]string{"sha256": hex.EncodeToString(sum[:])}}
	pm := roles.New(proj)
	maint.sign(t, func(s hsm.Signer) error {
		sig, err := roles.Sign(s, maint.key, pm.CanonicalSigned())
		pm.AddSignature(sig)
		return err
	})
	pb, _ := pm.MarshalJSON()
	if err := e.Include("sampleproject", pb); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alice", "bob", "dave", "erin"} {
		if _, err := e.Sign(admins[n], nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Publish(admins["online"], nil); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, "ws", "metadata")
	read := func(n string) []byte {
		b, err := os.ReadFile(filepath.Join(meta, n))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tm, err := trustedmetadata.New(read("1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	tm.RefTime = now
	steps := []func() error{
		func() error { _, err := tm.UpdateTimestamp(read("timestamp.json")); return err },
		func() error { _, err := tm.UpdateSnapshot(read("1.snapshot.json"), false); return err },
		func() error { _, err := tm.UpdateTargets(read("1.targets.json")); return err },
		func() error {
			_, err := tm.UpdateDelegatedTargets(read("1.claimed.json"), "claimed", "targets")
			return err
		},
		func() error {
			_, err := tm.UpdateDelegatedTargets(read("1.sampleproject.json"), "sampleproject", "claimed")
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("go-tuf step %d: %v", i, err)
		}
	}
	// And with roles: the project verifies under claimed's delegation.
	cl, _ := roles.Parse[*roles.Targets](read("1.claimed.json"))
	del, _ := cl.Signed.Delegations.Delegation("sampleproject")
	pr, _ := roles.Parse[*roles.Targets](read("1.sampleproject.json"))
	if _, err := roles.Verify(pr, del); err != nil {
		t.Errorf("roles: %v", err)
	}
	if _, err := ceremony.Replay(e.TranscriptPath(), meta); err != nil {
		t.Errorf("replay: %v", err)
	}
}
