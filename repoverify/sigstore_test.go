package repoverify

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// sigstore is a real published repository signed with YubiKeys:
// sigstore's root-signing (testdata/sigstore/README.md says which files,
// from which commit).
var sigstore = filepath.Join("testdata", "sigstore")

// sigstoreAt is when its timestamp was signed (the commit's time).
var sigstoreAt = time.Date(2026, 8, 21, 19, 25, 56, 0, time.UTC)

func readSigstore(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sigstore, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSigstoreFromRoot5: the chain from root 5 to 15, timestamp,
// snapshot, targets and the registry.npmjs.org delegation verify as of
// the timestamp's time. Root 11 lists its online key under a legacy keyid
// (TAP 12), a warning; --strict makes it the failure.
func TestSigstoreFromRoot5(t *testing.T) {
	trusted := readSigstore(t, "5.root.json")
	rep, err := VerifyWith(sigstore, trusted, Options{At: sigstoreAt, Scope: roles.ScopeVerify})
	if err != nil {
		t.Fatalf("sigstore's repository does not verify from root 5: %v", err)
	}
	if n := len(rep.RootSteps); n != 10 || rep.RootSteps[n-1].Version != 15 {
		t.Errorf("root chain %+v, want v6 to v15", rep.RootSteps)
	}
	var names []string
	for _, r := range rep.Roles {
		names = append(names, r.Name)
	}
	if want := []string{"root", "timestamp", "snapshot", "targets", "registry.npmjs.org"}; !slices.Equal(names, want) {
		t.Errorf("roles verified %v, want %v", names, want)
	}
	var keyids []Check
	for _, c := range rep.Warnings {
		if c.Reason == ReasonKeyIDMismatch {
			keyids = append(keyids, c)
		}
	}
	if len(keyids) != 1 || keyids[0].Name != "root.keys" || keyids[0].File != "11.root.json" {
		t.Errorf("keyid warnings %+v, want one, root.keys of 11.root.json", keyids)
	}

	_, err = VerifyWith(sigstore, trusted, Options{At: sigstoreAt, Scope: roles.ScopeVerify, Strict: true})
	var ve *Error
	if !errors.As(err, &ve) || ve.Name != "root.keys" || ve.File != "11.root.json" || !errors.Is(err, ErrFailed) {
		t.Errorf("under --strict: %v, want root.keys of 11.root.json to fail", err)
	}
}

// TestSigstoreRoot1Refused: roots 1 to 4 were written before TUF 1.0
// (an expiry with an offset, keys as hex EC points): as the trusted root,
// root 1 is refused by name, not verified.
func TestSigstoreRoot1Refused(t *testing.T) {
	_, err := VerifyWith(sigstore, readSigstore(t, "1.root.json"), Options{At: sigstoreAt, Scope: roles.ScopeVerify})
	if !errors.Is(err, roles.ErrTimeNotUTC) || !errors.Is(err, ErrBadInput) {
		t.Fatalf("root 1 as the trusted root: %v, want a refusal for its time not in UTC", err)
	}
	var root struct {
		Signed struct {
			Keys map[string]json.RawMessage `json:"keys"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(readSigstore(t, "1.root.json"), &root); err != nil {
		t.Fatal(err)
	}
	for id, raw := range root.Signed.Keys {
		k, err := roles.ParseKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.PublicKey(); !errors.Is(err, roles.ErrHexECPoint) {
			t.Errorf("key %s of root 1: %v, want ErrHexECPoint", roles.ShortID(id), err)
		}
	}
}
