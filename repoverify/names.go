package repoverify

import (
	"hash/maphash"
	"sort"
	"strings"
)

// nameSet is the role names a walk reached, each with the role that
// delegated it and whether the walk verified it: the set that catches a
// name delegated twice, and tells which snapshot entries were reached.
// At PyPI's scale it holds over 600,000 names, nearly all of them listed
// by snapshot as NAME.json: such a name is known by its place in
// snapshot's index (listed), and costs the set five bytes. The few others
// are kept back to back in one buffer, indexed by a 64-bit digest of
// each. The digest is seeded per walk, so no repository can aim at a
// collision; and names whose digests collide anyway are chained and told
// apart by comparing the names themselves, so that a collision never
// hides a duplicate nor makes an unreached role reached.
type nameSet struct {
	// listed is snapshot's index, or nil: the name of its entry i (less
	// ".json") has id i. The other names have ids from its length on.
	listed  *snapshotIndex
	nlisted int
	digest  func(string) uint64
	first   map[uint64]int // by digest, the first other name with it
	packed                 // the other names: id nlisted+k is string k
	next    []int          // the next other name with name k's digest, or -1
	// by is the id of the name that delegated name id, -1 for root, or
	// absent for a listed name the walk has not reached.
	by []int32
	// walked marks the names whose verification began.
	walked []bool
}

const absent = -2

// newNameSet returns a set that knows the names snapshot's index listed
// (nil for none) lists, with room for n other names of size bytes in all.
func newNameSet(listed *snapshotIndex, n, size int) *nameSet {
	seed := maphash.MakeSeed()
	s := &nameSet{listed: listed, digest: func(s string) uint64 { return maphash.String(seed, s) }, first: make(map[uint64]int, n),
		packed: newPacked(n, size), next: make([]int, 0, n)}
	if listed != nil {
		s.nlisted = listed.names.len()
	}
	s.by = make([]int32, s.nlisted, s.nlisted+n)
	for i := range s.by {
		s.by[i] = absent
	}
	s.walked = make([]bool, s.nlisted, s.nlisted+n)
	return s
}

// listedID is the id of name when snapshot lists it as NAME.json.
func (s *nameSet) listedID(name string) (int, bool) {
	if s.listed == nil {
		return 0, false
	}
	names := &s.listed.names
	i := sort.Search(s.nlisted, func(i int) bool { return compareJSON(names.bytes(i), name) >= 0 })
	return i, i < s.nlisted && compareJSON(names.bytes(i), name) == 0
}

// compareJSON compares entry with name+".json", without making it.
func compareJSON(entry []byte, name string) int {
	n := min(len(entry), len(name))
	if c := strings.Compare(string(entry[:n]), name[:n]); c != 0 {
		return c
	}
	if len(entry) < len(name) {
		return -1
	}
	return strings.Compare(string(entry[n:]), ".json")
}

// find returns the id of name, or false when the set lacks it.
func (s *nameSet) find(name string) (int, bool) {
	if i, ok := s.listedID(name); ok {
		return i, s.by[i] != absent
	}
	k, ok := s.first[s.digest(name)]
	for ; ok && k >= 0; k = s.next[k] {
		if string(s.bytes(k)) == name {
			return s.nlisted + k, true
		}
	}
	return 0, false
}

// insert adds name, delegated by the name with id by (-1 for root), and
// returns its id; when the set holds name already, it returns that id and
// false.
func (s *nameSet) insert(name string, by int) (int, bool) {
	if i, ok := s.listedID(name); ok {
		if s.by[i] != absent {
			return i, false
		}
		s.by[i] = int32(by)
		return i, true
	}
	d := s.digest(name)
	head, ok := s.first[d]
	for k := head; ok && k >= 0; k = s.next[k] {
		if string(s.bytes(k)) == name {
			return s.nlisted + k, false
		}
	}
	if !ok {
		head = -1
	}
	k := s.add(name)
	s.next = append(s.next, head)
	s.by = append(s.by, int32(by))
	s.walked = append(s.walked, false)
	s.first[d] = k
	return s.nlisted + k, true
}

// name is a copy of the name with id i.
func (s *nameSet) name(i int) string {
	if i < s.nlisted {
		return strings.TrimSuffix(s.listed.names.name(i), ".json")
	}
	return s.packed.name(i - s.nlisted)
}

// delegator is the name of the role that delegated the name with id i.
func (s *nameSet) delegator(i int) string {
	if s.by[i] < 0 {
		return "root"
	}
	return s.name(int(s.by[i]))
}

// hasWalked reports whether the walk began verifying the role name.
func (s *nameSet) hasWalked(name string) bool {
	i, ok := s.find(name)
	return ok && s.walked[i]
}

// packed is strings back to back in one buffer: at PyPI's scale a
// string apiece costs more in headers and allocations than in bytes.
type packed struct {
	buf []byte
	end []int // string i is buf[end[i-1]:end[i]]
}

// newPacked returns a packed sized for n strings of size bytes in all.
func newPacked(n, size int) packed {
	return packed{buf: make([]byte, 0, size), end: make([]int, 0, n)}
}

// add appends s and returns its index.
func (p *packed) add(s string) int {
	p.buf = append(p.buf, s...)
	p.end = append(p.end, len(p.buf))
	return len(p.end) - 1
}

// len is the number of strings.
func (p *packed) len() int { return len(p.end) }

// bytes is string i, in the buffer.
func (p *packed) bytes(i int) []byte {
	start := 0
	if i > 0 {
		start = p.end[i-1]
	}
	return p.buf[start:p.end[i]]
}

// name is a copy of string i.
func (p *packed) name(i int) string { return string(p.bytes(i)) }
