package repoverify

import (
	"iter"
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
	names   packed
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
	ix.names = newPacked(len(keys), size)
	ix.entries = make([]struct{ version, length int64 }, 0, len(keys))
	for i, k := range keys {
		mf := s.Meta[k]
		ix.names.add(k)
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

// meta is what snapshot lists for the file name, or nil.
func (ix *snapshotIndex) meta(name string) *roles.MetaFile {
	i := sort.Search(ix.names.len(), func(i int) bool { return string(ix.names.bytes(i)) >= name })
	if i == ix.names.len() || string(ix.names.bytes(i)) != name {
		return nil
	}
	e := ix.entries[i]
	return &roles.MetaFile{Version: e.version, Length: e.length, Hashes: ix.hashed[i]}
}

// SnapshotEntries is a verified snapshot's version and meta entries, held
// as the walk indexes them: at 600,000 entries about a third of the
// parsed snapshot (Repository.Snapshot), which Options.Hold may let go.
type SnapshotEntries struct{ ix *snapshotIndex }

// Version is the snapshot's version.
func (e *SnapshotEntries) Version() int64 { return e.ix.version }

// Len is the number of meta entries.
func (e *SnapshotEntries) Len() int { return e.ix.names.len() }

// Meta is what snapshot lists for the file name (NAME.json), or nil.
func (e *SnapshotEntries) Meta(name string) *roles.MetaFile { return e.ix.meta(name) }

// All yields every entry, by file name in sorted order. Each entry is
// made for the call, but its Hashes are the index's own: do not change
// them.
func (e *SnapshotEntries) All() iter.Seq2[string, *roles.MetaFile] {
	return func(yield func(string, *roles.MetaFile) bool) {
		for i := range e.ix.names.len() {
			x := e.ix.entries[i]
			if !yield(e.ix.names.name(i), &roles.MetaFile{Version: x.version, Length: x.length, Hashes: e.ix.hashed[i]}) {
				return
			}
		}
	}
}
