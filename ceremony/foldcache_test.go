package ceremony

import (
	"os"
	"testing"
)

// TestMain keeps the fold cache of this package's tests in a folder of
// their own, so that every test that opens a ceremony goes through it,
// and none writes into the user's cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ceremony-foldcache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("CEREMONY_CACHE_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
