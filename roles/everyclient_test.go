package roles_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// TestP384KeysWarnForTufJS: a root that lists a P-384 key is reviewed with
// a warning naming tuf-js, which refuses its signatures; a root without one
// gets no such line at all.
func TestP384KeysWarnForTufJS(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		priv, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, err := roles.KeyFromPublic(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		r := &roles.Root{Keys: map[string]*roles.Key{k.ID(): k}, Roles: map[string]*roles.RoleKeys{}}
		r.Expires = now.Add(24 * time.Hour)
		r.Roles[roles.TypeRoot] = &roles.RoleKeys{KeyIDs: []string{k.ID()}, Threshold: 1}
		var got *roles.Finding
		for _, f := range roles.CheckRoot(nil, r, roles.Policy{Now: now}) {
			if f.Check == roles.CheckKeysEveryClient {
				got = &f
			}
		}
		p384 := curve == elliptic.P384()
		switch {
		case p384 && got == nil:
			t.Fatal("a P-384 key gives no keys.every-client finding")
		case p384 && (got.Passed || got.Severity != roles.Warning || !strings.Contains(got.Message, "tuf-js")):
			t.Fatalf("P-384 finding: %+v", *got)
		case !p384 && got != nil:
			t.Fatalf("a P-256 key gives %+v", *got)
		}
	}
}
