package ceremony_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/roles"
)

// TestMalformedPreviousHeadRefused: a targets file whose link to the
// previous ceremony is not {"ceremony": ID, "head": HEX} is refused by
// VerifyLinks, naming the file, rather than read as "no link".
func TestMalformedPreviousHeadRefused(t *testing.T) {
	dir := t.TempDir()
	tg := &roles.Targets{}
	tg.Expires = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tg.Type, tg.Version, tg.SpecVersion = roles.TypeTargets, 3, roles.SpecVersion
	if err := tg.SetCustom(ceremony.PreviousHeadMember, []byte(`{"ceremony":"q1","head":"not hex"}`)); err != nil {
		t.Fatal(err)
	}
	b, err := roles.New(tg).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "3.targets.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// Any root will do as the pin: the link is refused before it counts.
	pinned, err := os.ReadFile(filepath.Join("..", "repoverify", "testdata", "sigstore", "5.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ceremony.VerifyLinks(dir, t.TempDir(), pinned)
	if err == nil || !strings.Contains(err.Error(), "3.targets.json") || !strings.Contains(err.Error(), ceremony.PreviousHeadMember) {
		t.Fatalf("a malformed link: %v", err)
	}
}
