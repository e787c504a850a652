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
	buf    []byte
	end    []int // name i is buf[end[i-1]:end[i]]
	next   []int // the next name with name i's digest, or -1
	by     []int // the name that delegated name i, or -1 (root)
	// walked marks the names whose verification began.
	walked []bool
}

// newNameSet returns a set sized for about n names of size bytes in all,
// so that it is not copied as it grows to them.
func newNameSet(n, size int) *nameSet {
	seed := maphash.MakeSeed()
	return &nameSet{digest: func(s string) uint64 { return maphash.String(seed, s) }, first: make(map[uint64]int, n),
		buf: make([]byte, 0, size), end: make([]int, 0, n), next: make([]int, 0, n), by: make([]int, 0, n), walked: make([]bool, 0, n)}
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

// add adds name, delegated by the name at index by (-1 for root), and
// returns its index; when the set holds name already, it returns that
// index and false.
func (s *nameSet) add(name string, by int) (int, bool) {
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
	i := len(s.end)
	s.buf = append(s.buf, name...)
	s.end = append(s.end, len(s.buf))
	s.next = append(s.next, head)
	s.by = append(s.by, by)
	s.walked = append(s.walked, false)
	s.first[d] = i
	return i, true
}

// bytes is the name at index i, in the buffer.
func (s *nameSet) bytes(i int) []byte {
	start := 0
	if i > 0 {
		start = s.end[i-1]
	}
	return s.buf[start:s.end[i]]
}

// name is the name at index i.
func (s *nameSet) name(i int) string { return string(s.bytes(i)) }

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
