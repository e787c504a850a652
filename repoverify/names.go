package repoverify

import "hash/maphash"

// nameSet is the role names a walk reached, each with the role that
// delegated it and whether the walk verified it: the set that catches a
// name delegated twice, and tells which snapshot entries were reached.
// At PyPI's scale it holds over 600,000 names, so rather than a map of
// strings it keeps the names back to back in one buffer, indexed by a
// 64-bit digest of each. The digest is seeded per walk, so no repository
// can aim at a collision; and names whose digests collide anyway are
// chained and told apart by comparing the names themselves, so that a
// collision never hides a duplicate nor makes an unreached role reached.
type nameSet struct {
	digest func(string) uint64
	first  map[uint64]int // by digest, the first name with it
	packed
	next []int // the next name with name i's digest, or -1
	by   []int // the name that delegated name i, or -1 (root)
	// walked marks the names whose verification began.
	walked []bool
}

// newNameSet returns a set sized for about n names of size bytes in all,
// so that it is not copied as it grows to them.
func newNameSet(n, size int) *nameSet {
	seed := maphash.MakeSeed()
	return &nameSet{digest: func(s string) uint64 { return maphash.String(seed, s) }, first: make(map[uint64]int, n),
		packed: newPacked(n, size), next: make([]int, 0, n), by: make([]int, 0, n), walked: make([]bool, 0, n)}
}

// find returns the index of name, or false when the set lacks it.
func (s *nameSet) find(name string) (int, bool) {
	i, ok := s.first[s.digest(name)]
	for ; ok && i >= 0; i = s.next[i] {
		if string(s.bytes(i)) == name {
			return i, true
		}
	}
	return 0, false
}

// insert adds name, delegated by the name at index by (-1 for root), and
// returns its index; when the set holds name already, it returns that
// index and false.
func (s *nameSet) insert(name string, by int) (int, bool) {
	d := s.digest(name)
	head, ok := s.first[d]
	for i := head; ok && i >= 0; i = s.next[i] {
		if string(s.bytes(i)) == name {
			return i, false
		}
	}
	if !ok {
		head = -1
	}
	i := s.add(name)
	s.next = append(s.next, head)
	s.by = append(s.by, by)
	s.walked = append(s.walked, false)
	s.first[d] = i
	return i, true
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

// delegator is the name of the role that delegated the name at index i.
func (s *nameSet) delegator(i int) string {
	if s.by[i] < 0 {
		return "root"
	}
	return s.name(s.by[i])
}

// hasWalked reports whether the walk began verifying the role name.
func (s *nameSet) hasWalked(name string) bool {
	i, ok := s.find(name)
	return ok && s.walked[i]
}
