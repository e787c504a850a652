package roles

import (
	"bytes"
	"strings"
	"testing"
)

// TestCustomMembers: a custom "x-" member of root's or targets' signed
// part is read by the strict parser, kept through a round trip and
// covered by the canonical bytes a signature signs; SetCustom sets,
// replaces and removes one, and refuses a name without the "x-" prefix
// or a value that is not JSON.
func TestCustomMembers(t *testing.T) {
	const link = `{"ceremony":"pypi-2026-q3","head":"ab01"}`
	doc := `{"signatures":[],"signed":{"_type":"targets","expires":"2030-01-02T03:04:05Z","spec_version":"1.0.31","targets":{},"version":2,"x-ceremony-previous-head":{"head":"ab01","ceremony":"pypi-2026-q3"}}}`
	m, err := Parse[*Targets]([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m.Signed.Custom("x-ceremony-previous-head")); got != link {
		t.Errorf("Custom: %s, want %s", got, link)
	}
	if !bytes.Contains(reparse(t, m).CanonicalSigned(), []byte(`"x-ceremony-previous-head":`+link)) {
		t.Errorf("the canonical bytes lost the member: %s", m.CanonicalSigned())
	}

	root := NewRoot(testExpires)
	for _, role := range TopLevelRoles {
		root.Roles[role] = &RoleKeys{KeyIDs: []string{}, Threshold: 1}
	}
	rm := &Metadata[*Root]{Signed: root}
	if err := root.SetCustom("x-ceremony-previous-head", []byte(` { "head" : "cd02", "ceremony" : "c1" } `)); err != nil {
		t.Fatal(err)
	}
	k := newTestKeys(t, 1)[0]
	signAll(t, rm, k)
	back := reparse(t, rm)
	want := `"x-ceremony-previous-head":{"ceremony":"c1","head":"cd02"}`
	if !strings.Contains(string(back.CanonicalSigned()), want) {
		t.Errorf("root's canonical bytes: %s, want them to hold %s", back.CanonicalSigned(), want)
	}
	if _, err := Verify(back, Delegation{Role: "root", Keys: map[string]*Key{k.key.ID(): k.key}, KeyIDs: []string{k.key.ID()}, Threshold: 1}); err != nil {
		t.Errorf("a signature over root with a custom member: %v", err)
	}
	if err := back.Signed.SetCustom("x-ceremony-previous-head", nil); err != nil || back.Signed.Custom("x-ceremony-previous-head") != nil {
		t.Errorf("remove: %v", err)
	}
	for name, value := range map[string]string{"ceremony": `1`, "x-": `1`, "x-bad": `{"a":`} {
		if err := root.SetCustom(name, []byte(value)); err == nil {
			t.Errorf("SetCustom(%q, %s) was taken", name, value)
		}
	}
}
