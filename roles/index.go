package roles

import (
	"slices"
	"strings"
)

// At PyPI's scale a role delegates to a hundred thousand others and a
// delegation lists a pattern per project, so looking a role up by name, or
// a target up among the patterns, one by one, makes a walk of the whole
// repository quadratic. The indexes here make both lookups cost about the
// same whatever the count. Each is built on the first lookup that needs
// it and rebuilt when the slice it indexes changes length; a hit is
// checked against the slice as it stands and a miss is confirmed by the
// plain scan, so an index that is stale (an element overwritten in place)
// costs time, never a wrong answer. Lookups are safe from many goroutines
// at once on metadata no one is changing.

// indexMin is the size below which a plain scan is as fast as an index.
const indexMin = 16

// nameIndex maps delegated role names to their place in Delegations.Roles.
type nameIndex struct {
	n  int // len(Roles) when built
	at map[string]int
}

// Role returns the delegated role named name, or nil.
func (dl *Delegations) Role(name string) *DelegatedRole {
	if len(dl.Roles) >= indexMin {
		ix := dl.names.Load()
		if ix == nil || ix.n != len(dl.Roles) {
			ix = &nameIndex{n: len(dl.Roles), at: make(map[string]int, len(dl.Roles))}
			for i, r := range dl.Roles {
				if _, dup := ix.at[r.Name]; !dup {
					ix.at[r.Name] = i
				}
			}
			dl.names.Store(ix)
		}
		if i, ok := ix.at[name]; ok && i < len(dl.Roles) && dl.Roles[i].Name == name {
			return dl.Roles[i]
		}
	}
	for _, r := range dl.Roles {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// pathIndex groups a role's path patterns by their literal prefix: the
// part before the first character path.Match treats specially. A target
// a pattern matches starts with that prefix ("*" and classes never match
// "/", so the parts line up), so the patterns worth trying for a target
// are those under one of its own prefixes, at the few lengths prefixes
// have.
type pathIndex struct {
	n        int // len(Paths) when built
	byPrefix map[string][]int
	lengths  []int // the distinct prefix lengths, ascending
}

func newPathIndex(paths []string) *pathIndex {
	ix := &pathIndex{n: len(paths), byPrefix: make(map[string][]int, len(paths))}
	for i, p := range paths {
		lit := p
		if j := strings.IndexAny(p, `*?[\`); j >= 0 {
			lit = p[:j]
		}
		if _, ok := ix.byPrefix[lit]; !ok {
			ix.lengths = append(ix.lengths, len(lit))
		}
		ix.byPrefix[lit] = append(ix.byPrefix[lit], i)
	}
	slices.Sort(ix.lengths)
	ix.lengths = slices.Compact(ix.lengths)
	return ix
}

// matchesIndexed reports whether one of r's patterns matches targetPath,
// trying only the patterns its prefixes index; false when none does, which
// the caller confirms with a plain scan.
func (r *DelegatedRole) matchesIndexed(targetPath string) bool {
	ix := r.paths.Load()
	if ix == nil || ix.n != len(r.Paths) {
		ix = newPathIndex(r.Paths)
		r.paths.Store(ix)
	}
	for _, l := range ix.lengths {
		if l > len(targetPath) {
			break
		}
		for _, i := range ix.byPrefix[targetPath[:l]] {
			if i < len(r.Paths) && matchPattern(r.Paths[i], targetPath) {
				return true
			}
		}
	}
	return false
}

// RevokedIndex answers Revocations.IsRevoked for a list as it stood when
// the index was made, in time that does not grow with the list: a walk
// asks it of every key a hundred thousand roles trust.
type RevokedIndex struct {
	list          []*Revocation
	byID, byIdent map[string]int // the first entry of each, by place in list
}

// Index returns an index of the list as it stands; a change to the list
// afterwards is not seen by it.
func (r *Revocations) Index() *RevokedIndex {
	ix := &RevokedIndex{list: slices.Clone(r.Revoked), byID: map[string]int{}, byIdent: map[string]int{}}
	for i, rv := range ix.list {
		if _, ok := ix.byID[rv.KeyID]; !ok {
			ix.byID[rv.KeyID] = i
		}
		if ident, err := rv.Key.identity(); err == nil {
			if _, ok := ix.byIdent[ident]; !ok {
				ix.byIdent[ident] = i
			}
		}
	}
	return ix
}

// IsRevoked is Revocations.IsRevoked: the first entry that revokes keyid,
// or the public key of key under any keyid, or nil.
func (ix *RevokedIndex) IsRevoked(keyid string, key *Key) *Revocation {
	first := len(ix.list)
	if i, ok := ix.byID[keyid]; ok {
		first = i
	}
	if key != nil {
		if ident, err := key.identity(); err == nil {
			if i, ok := ix.byIdent[ident]; ok && i < first {
				first = i
			}
		}
	}
	if first == len(ix.list) {
		return nil
	}
	return ix.list[first]
}
