package roles

import (
	"crypto/sha512"
	"encoding/hex"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func TestMetaFileCheckEveryHash(t *testing.T) {
	good := []byte("the published claimed.json")
	bad := []byte("a forged claimed.json.....")
	if len(good) != len(bad) {
		t.Fatal("test needs equal lengths")
	}
	sum := sha512.Sum512(good)
	mf := &MetaFile{Version: 1, Length: int64(len(good)), Hashes: map[string]string{"sha512": hex.EncodeToString(sum[:])}}
	if err := mf.Check(good); err != nil {
		t.Fatalf("control: %v", err)
	}
	theirs := &metadata.MetaFiles{Version: 1, Length: int64(len(good)), Hashes: metadata.Hashes{"sha512": sum[:]}}
	if err := theirs.VerifyLengthHashes(bad); err == nil {
		t.Fatal("control: go-tuf accepted forged bytes")
	}
	if err := mf.Check(bad); err == nil {
		t.Error("MetaFile.Check accepted bytes whose sha512 differs from the entry's")
	}
	// An algorithm nobody can check must not pass either.
	odd := &MetaFile{Version: 1, Hashes: map[string]string{"md7": "00"}}
	if err := odd.Check(bad); err == nil {
		t.Error("MetaFile.Check accepted an entry whose only hash it cannot compute")
	}
}
