package pkcs11

import (
	"crypto"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// TestDevicesFollowAReinsertedSoftHSMToken: a SoftHSM token whose folder
// is moved away (unplugged) and back (plugged in again) is listed again
// by the next listing, as the TUI's device panel polls it, without
// restarting: the listing starts SoftHSM afresh. While a signer is open
// on the module, it is left alone, and the signer keeps signing.
func TestDevicesFollowAReinsertedSoftHSMToken(t *testing.T) {
	// Signers other tests left open would hold the module as it is:
	// start from none.
	if err := Default().Close(); err != nil {
		t.Fatal(err)
	}
	resetAfter(t, "replug", "alice")
	listed := func() []string {
		t.Helper()
		devs, err := Default().Devices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, d := range devs {
			labels = append(labels, d.Device.Label)
		}
		return labels
	}
	// Out of SoftHSM's token folder, which it reads whole.
	dir, away := shsm.Tokens["replug"].Dir, filepath.Join(t.TempDir(), "replug")
	unplug := func() {
		if err := os.Rename(dir, away); err != nil {
			t.Fatal(err)
		}
	}
	plugIn := func() {
		if err := os.Rename(away, dir); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Contains(listed(), "replug") {
		t.Fatal("the token is not listed to begin with")
	}
	unplug()
	if slices.Contains(listed(), "replug") {
		t.Error("the token is listed while unplugged")
	}
	plugIn()
	if !slices.Contains(listed(), "replug") {
		t.Fatal("the token plugged in again is not listed")
	}

	// A signer open on another token of the module: listing leaves the
	// module as it is, and the signer signs after it.
	k, err := Default().Generate(ctx, "pkcs11:token=alice;object=replug", hsm.Ed25519, hsm.GenerateOptions{}, goodAuth())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Default().Signer(ctx, k.URI, goodAuth())
	if err != nil {
		t.Fatal(err)
	}
	unplug()
	listed()
	plugIn()
	if slices.Contains(listed(), "replug") {
		t.Error("the module was started afresh under an open signer")
	}
	sig, err := s.Sign(nil, []byte("still signing"), crypto.Hash(0))
	if err != nil || !ed25519.Verify(k.Public.(ed25519.PublicKey), []byte("still signing"), sig) {
		t.Fatalf("the open signer after listings: %v", err)
	}
	s.Close()
	if !slices.Contains(listed(), "replug") {
		t.Error("once the signer is closed, the token plugged in again is not listed")
	}
}
