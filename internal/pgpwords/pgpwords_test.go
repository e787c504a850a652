package pgpwords

import (
	"encoding/hex"
	"strings"
	"testing"
)

// TestPublishedVector checks the example the PGP word list is usually
// quoted with: a PGP fingerprint and its twenty words.
func TestPublishedVector(t *testing.T) {
	b, err := hex.DecodeString("E58294F2E9A227486E8B061B31CC528FD7FA3F19")
	if err != nil {
		t.Fatal(err)
	}
	want := "topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator goldfish Medusa " +
		"afflict bravado chatter revolver Dupont midsummer stopwatch whimsical cowbell bottomless"
	if got := String(b); got != want {
		t.Errorf("String =\n%s\nwant\n%s", got, want)
	}
	if got := String([]byte{0x90, 0x30, 0xe7, 0x4b}); got != "peachy commando transit disable" {
		t.Errorf("String(9030e74b) = %q", got)
	}
}

// TestListsAreDistinct checks that no word appears twice, within or across
// the lists, so every word names one byte at one parity.
func TestListsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, list := range [][256]string{even, odd} {
		for i, w := range list {
			k := strings.ToLower(w)
			if w == "" || seen[k] {
				t.Errorf("word %d %q empty or repeated", i, w)
			}
			seen[k] = true
		}
	}
}

func TestEmpty(t *testing.T) {
	if got := String(nil); got != "" {
		t.Errorf("String(nil) = %q", got)
	}
}
