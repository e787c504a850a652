package repoverify

import (
	"iter"
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
	var l entryList
	for name, mf := range s.Meta {
		l.add(name, mf)
	}
	return l.index(s.Version)
}

// entryList collects snapshot's entries as roles.ParseSnapshotEach hands
// them over, so that a walk indexes a snapshot it does not keep without
// the parsed map: the names are views of the file, which the walk holds
// anyway.
type entryList struct {
	names   []string
	entries []struct{ version, length int64 }
	hashed  map[int]map[string]string
	size    int
}

func (l *entryList) add(name string, mf *roles.MetaFile) error {
	if mf.Hashes != nil {
		h := make(map[string]string, len(mf.Hashes))
		for alg, sum := range mf.Hashes {
			h[strings.Clone(alg)] = strings.Clone(sum)
		}
		if l.hashed == nil {
			l.hashed = map[int]map[string]string{}
		}
		l.hashed[len(l.names)] = h
	}
	l.names = append(l.names, name)
	l.entries = append(l.entries, struct{ version, length int64 }{mf.Version, mf.Length})
	l.size += len(name)
	return nil
}

// index is the entries as an index, sorted by name (a canonical snapshot
// lists them so already), the names copied back to back.
func (l *entryList) index(version int64) *snapshotIndex {
	ix := &snapshotIndex{version: version, entries: l.entries, hashed: l.hashed}
	if !slices.IsSorted(l.names) {
		order := make([]int, len(l.names))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(l.names[a], l.names[b]) })
		names := make([]string, len(order))
		ix.entries = make([]struct{ version, length int64 }, len(order))
		var hashed map[int]map[string]string
		for to, from := range order {
			names[to], ix.entries[to] = l.names[from], l.entries[from]
			if h, ok := l.hashed[from]; ok {
				if hashed == nil {
					hashed = map[int]map[string]string{}
				}
				hashed[to] = h
			}
		}
		l.names, ix.hashed = names, hashed
	}
	ix.names = newPacked(len(l.names), l.size)
	for _, name := range l.names {
		ix.names.add(name)
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
