package roles

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"iter"
	"testing"
	"time"

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

// TestSnapshotListEach: a snapshot written from an ordered sequence of
// entries is the one written from its map; entries out of order or
// given twice are refused.
func TestSnapshotListEach(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	fromMap := NewSnapshot(exp)
	fromMap.Meta = map[string]*MetaFile{"b.json": {Version: 2}, "a.json": {Version: 1}, "c\u0001.json": {Version: 3, Length: 7}}
	want, err := New(fromMap).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	seq := func(names ...string) iter.Seq2[string, *MetaFile] {
		return func(yield func(string, *MetaFile) bool) {
			for _, n := range names {
				if !yield(n, fromMap.Meta[n]) {
					return
				}
			}
		}
	}
	listed := NewSnapshot(exp)
	listed.ListEach(seq("a.json", "b.json", "c\u0001.json"))
	got, err := New(listed).MarshalJSON()
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("written from a sequence: %s, %v\nfrom the map: %s", got, err, want)
	}
	if !bytes.Equal(New(listed).CanonicalSignedView(), New(fromMap).CanonicalSignedView()) {
		t.Error("canonical bytes differ")
	}
	for _, bad := range [][]string{{"b.json", "a.json"}, {"a.json", "a.json"}} {
		s := NewSnapshot(exp)
		s.ListEach(seq(bad...))
		if _, err := New(s).MarshalJSON(); err == nil {
			t.Errorf("%v: written, want refused", bad)
		}
	}
}
