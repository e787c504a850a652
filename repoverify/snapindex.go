package repoverify

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/ceremony-tuf/ceremony/roles"
)

// snapshotIndex is what a walk asks of snapshot: its version and its meta
// entries by name. At PyPI's scale a parsed snapshot holds three times
// its 18 MB file (a map entry and a MetaFile per project, each name a
// view of the file); the index holds the names back to back, sorted, with
// each entry's version and length, so that a walk that keeps nothing
// (Verify) lets the parsed snapshot and its file go once they are checked.
type snapshotIndex struct {
	version int64
	names   []byte
	end     []int // name i is names[end[i-1]:end[i]]
	entries []struct{ version, length int64 }
	// hashed are the entries that list hashes, by index, with copies of
	// the hashes.
	hashed map[int]map[string]string
}

func indexSnapshot(s *roles.Snapshot) *snapshotIndex {
	ix := &snapshotIndex{version: s.Version, hashed: map[int]map[string]string{}}
	// Sized up front: at this point a walk holds the most it ever does.
	keys := slices.AppendSeq(make([]string, 0, len(s.Meta)), maps.Keys(s.Meta))
	slices.Sort(keys)
	size := 0
	for _, k := range keys {
		size += len(k)
	}
	ix.names = make([]byte, 0, size)
	ix.end = make([]int, 0, len(keys))
	ix.entries = make([]struct{ version, length int64 }, 0, len(keys))
	for i, k := range keys {
		mf := s.Meta[k]
		ix.names = append(ix.names, k...)
		ix.end = append(ix.end, len(ix.names))
		ix.entries = append(ix.entries, struct{ version, length int64 }{mf.Version, mf.Length})
		if mf.Hashes != nil {
			h := make(map[string]string, len(mf.Hashes))
			for alg, sum := range mf.Hashes {
				h[strings.Clone(alg)] = strings.Clone(sum)
			}
			ix.hashed[i] = h
		}
	}
	return ix
}

// len is the number of entries.
func (ix *snapshotIndex) len() int { return len(ix.end) }

// bytes is the name of entry i, in the index.
func (ix *snapshotIndex) bytes(i int) []byte {
	start := 0
	if i > 0 {
		start = ix.end[i-1]
	}
	return ix.names[start:ix.end[i]]
}

// name is the name of entry i.
func (ix *snapshotIndex) name(i int) string { return string(ix.bytes(i)) }

// meta is what snapshot lists for the file name, or nil.
func (ix *snapshotIndex) meta(name string) *roles.MetaFile {
	i := sort.Search(ix.len(), func(i int) bool { return string(ix.bytes(i)) >= name })
	if i == ix.len() || string(ix.bytes(i)) != name {
		return nil
	}
	e := ix.entries[i]
	return &roles.MetaFile{Version: e.version, Length: e.length, Hashes: ix.hashed[i]}
}
