// Package prefixbins splits claimed's projects into bins by name prefix,
// so that every file the offline keys sign stays small at PyPI's scale
// whatever the number of projects (docs/PLANS.md, "Claimed in name-prefix
// bins").
//
// Claimed delegates to each bin with a few path patterns, each a slot of
// the partition: "ab*/*" for the projects whose names start with ab, or
// "ab/*" for the one project named ab when the prefix ab is split further
// (a project named exactly like a split prefix is matched by none of
// "ab-*/*", "aba*/*", …). A prefix that holds too many bytes of
// delegations is split by the character after it, and deeper where
// needed, so the slots partition the names: at most one pattern matches
// any project's paths. Splitting makes many small slots (up to one per
// character), so consecutive slots are packed into bins of up to Fill
// bytes; a bin is named after its first slot. Patterns use only "*",
// which fnmatch, go-tuf's path.Match and tuf-js's minimatch agree on for
// the names a plan accepts (lower-case letters, digits, ".", "_", "-",
// never leading "."); character classes, on which they differ, are never
// used.
//
// A layout changes as little as it can from one ceremony to the next: the
// bins a claimed already has stay with their patterns, a project lands in
// the bin whose pattern matches it, a new bin is made only for a name no
// pattern matches, and a bin is laid out again only when it outgrows Max.
// A bin left empty is no longer delegated.
//
// The ceremony (ceremony/bins.go) and the benchmark's repositories
// (internal/benchrepo) both lay claimed out with Layout, so the benchmark
// measures the layout the tool writes.
package prefixbins

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/roles"
)

// Role names of the bins: RolePrefix+P for a bin whose first slot holds
// the projects whose names start with P; RoleExact+P for one whose first
// slot is the project named P.
const (
	RolePrefix = "claimed-prefix-"
	RoleExact  = "claimed-exact-"
)

// Sizes, in bytes of delegations: a bin is laid out again once it holds
// more than Max (so every bin file stays well under the 5,000,000 bytes
// stock clients accept: the signatures add under a kilobyte each), and
// then a slot is split until each part holds at most Fill and slots are
// packed into bins of at most Fill, so that a bin has room to grow for
// many ceremonies before it is laid out again.
const (
	Max  = 4_000_000
	Fill = 1_000_000
)

// Slot is one pattern of the partition.
type Slot struct {
	Prefix string
	// Exact slots hold only the project named Prefix.
	Exact bool
}

// Pattern is the slot's path pattern.
func (s Slot) Pattern() string {
	if s.Exact {
		return s.Prefix + "/*"
	}
	return s.Prefix + "*/*"
}

// role is the name of a bin whose first slot is s.
func (s Slot) role() string {
	if s.Exact {
		return RoleExact + s.Prefix
	}
	return RolePrefix + s.Prefix
}

func compareSlots(a, b Slot) int {
	if c := strings.Compare(a.Prefix, b.Prefix); c != 0 {
		return c
	}
	switch {
	case a.Exact == b.Exact:
		return 0
	case a.Exact:
		return -1
	}
	return 1
}

// slotOf parses a pattern Pattern wrote.
func slotOf(pattern string) (Slot, bool) {
	if p, ok := strings.CutSuffix(pattern, "*/*"); ok && validPrefix(p) {
		return Slot{Prefix: p}, true
	}
	if p, ok := strings.CutSuffix(pattern, "/*"); ok && validPrefix(p) {
		return Slot{Prefix: p, Exact: true}, true
	}
	return Slot{}, false
}

// validPrefix: the start of a project name (lower-case letters, digits,
// ".", "_", "-"; not starting with "."), so that no glob character or
// "/" hides in a pattern.
func validPrefix(p string) bool {
	if p == "" || p[0] == '.' {
		return false
	}
	for _, c := range []byte(p) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Bin is one bin: its slots, in order, and the projects it holds.
type Bin struct {
	Slots []Slot
	Names []string // sorted
}

// Role is the bin's role name, after its first slot.
func (b *Bin) Role() string { return b.Slots[0].role() }

// Paths are the bin's path patterns, one a slot.
func (b *Bin) Paths() []string {
	out := make([]string, len(b.Slots))
	for i, s := range b.Slots {
		out[i] = s.Pattern()
	}
	return out
}

// IsRole reports whether name is a bin's role name.
func IsRole(name string) bool {
	return strings.HasPrefix(name, RolePrefix) || strings.HasPrefix(name, RoleExact)
}

// Partition is the bins a claimed delegates to, checked to partition the
// names: no slot's prefix starts another slot's prefix (but for an exact
// slot, whose prefix is split), no slot stands twice.
type Partition struct {
	bins  [][]Slot
	binOf map[Slot]int // index into bins
	// split holds every prefix that is split: the proper prefixes of
	// every slot's prefix, and an exact slot's own prefix.
	split map[string]bool
}

// NewPartition checks that the delegated roles are bins whose names and
// patterns agree (as Delegations writes them) and partition the names,
// and returns them as a Partition.
func NewPartition(delegated []*roles.DelegatedRole) (*Partition, error) {
	p := &Partition{binOf: map[Slot]int{}, split: map[string]bool{"": true}}
	for _, r := range delegated {
		var slots []Slot
		for _, pat := range r.Paths {
			s, ok := slotOf(pat)
			if !ok {
				return nil, fmt.Errorf("claimed delegates to bin %s with pattern %q; a bin's patterns are NAME*/* or NAME/*, NAME the start of a project name", r.Name, pat)
			}
			if _, dup := p.binOf[s]; dup {
				return nil, fmt.Errorf("claimed delegates pattern %q to two bins", pat)
			}
			p.binOf[s] = len(p.bins)
			slots = append(slots, s)
		}
		if len(slots) == 0 || len(r.PathHashPrefixes) > 0 || slots[0].role() != r.Name {
			return nil, fmt.Errorf("claimed delegates to bin %s with paths %q; a bin is named after its first pattern (%s… or %s…)", r.Name, r.Paths, RolePrefix, RoleExact)
		}
		p.bins = append(p.bins, slots)
		for _, s := range slots {
			for i := range len(s.Prefix) {
				p.split[s.Prefix[:i]] = true
			}
			if s.Exact {
				p.split[s.Prefix] = true
			}
		}
	}
	for s := range p.binOf {
		if !s.Exact && p.split[s.Prefix] {
			return nil, fmt.Errorf("claimed's bins overlap: pattern %q matches projects that a longer pattern also matches", s.Pattern())
		}
	}
	return p, nil
}

// slotFor returns the slot that holds name, and whether the partition
// has it; where it does not, the slot is the one to make for name.
func (p *Partition) slotFor(name string) (Slot, bool) {
	for i := 1; i <= len(name); i++ {
		if pre := name[:i]; !p.split[pre] {
			s := Slot{Prefix: pre}
			_, ok := p.binOf[s]
			return s, ok
		}
	}
	s := Slot{Prefix: name, Exact: true}
	_, ok := p.binOf[s]
	return s, ok
}

// BinFor returns the role name of the bin that holds name: the bin one of
// whose patterns matches name's paths, or, where none does, the bin that
// would be made for it.
func (p *Partition) BinFor(name string) string {
	s, ok := p.slotFor(name)
	if ok {
		return p.bins[p.binOf[s]][0].role()
	}
	return s.role()
}

// Layout assigns the names to bins: the bins of prev with their slots
// where a slot matches, a new bin of one slot where none does; then lays
// every bin whose names weigh more than Max out again, splitting its
// slots into slots of at most Fill (a slot of one name is never split)
// and packing them into bins of at most Fill. A nil prev lays the names
// out afresh, splitting every prefix heavier than Fill. weight is a
// project's share of a bin's bytes. Bins that hold no name are left out;
// the rest come in the order claimed lists them.
func Layout(names []string, weight func(string) int, prev *Partition) []*Bin {
	// Each name's weight is summed once per level of splitting: compute it
	// once.
	ws := make(map[string]int, len(names))
	for _, n := range names {
		ws[n] = weight(n)
	}
	weight = func(n string) int { return ws[n] }
	if prev == nil {
		slots := map[Slot][]string{}
		splitInto(slots, "", slices.Sorted(slices.Values(names)), weight)
		return pack(slots, weight)
	}
	bySlot := map[Slot][]string{}
	for _, n := range names {
		s, _ := prev.slotFor(n)
		bySlot[s] = append(bySlot[s], n)
	}
	var out []*Bin
	add := func(slots []Slot) {
		b := &Bin{Slots: slots}
		for _, s := range slots {
			b.Names = append(b.Names, bySlot[s]...)
		}
		if len(b.Names) == 0 {
			return
		}
		slices.Sort(b.Names)
		if total(b.Names, weight) <= Max {
			out = append(out, b)
			return
		}
		again := map[Slot][]string{}
		for _, s := range slots {
			list := slices.Sorted(slices.Values(bySlot[s]))
			if !s.Exact && len(list) > 1 && total(list, weight) > Fill {
				splitInto(again, s.Prefix, list, weight)
			} else if len(list) > 0 {
				again[s] = list
			}
		}
		out = append(out, pack(again, weight)...)
	}
	for _, slots := range prev.bins {
		add(slots)
	}
	for _, s := range slices.SortedFunc(maps.Keys(bySlot), compareSlots) {
		if _, ok := prev.binOf[s]; !ok {
			add([]Slot{s})
		}
	}
	slices.SortFunc(out, func(a, b *Bin) int { return compareSlots(a.Slots[0], b.Slots[0]) })
	return out
}

// splitInto splits prefix: the name equal to prefix goes to an exact
// slot, the others to a slot per next character, each split again while
// it holds more than Fill and more than one name. names are sorted and
// all start with prefix.
func splitInto(out map[Slot][]string, prefix string, names []string, weight func(string) int) {
	for len(names) > 0 {
		n := names[0]
		if n == prefix {
			out[Slot{Prefix: n, Exact: true}] = []string{n}
			names = names[1:]
			continue
		}
		child := n[:len(prefix)+1]
		end := 1
		for end < len(names) && strings.HasPrefix(names[end], child) {
			end++
		}
		group := names[:end:end]
		names = names[end:]
		if len(group) > 1 && total(group, weight) > Fill {
			splitInto(out, child, group, weight)
		} else {
			out[Slot{Prefix: child}] = group
		}
	}
}

// pack puts consecutive slots, in order, into bins of at most Fill.
func pack(slots map[Slot][]string, weight func(string) int) []*Bin {
	var out []*Bin
	var cur *Bin
	size := 0
	for _, s := range slices.SortedFunc(maps.Keys(slots), compareSlots) {
		w := total(slots[s], weight)
		if cur == nil || size+w > Fill {
			cur, size = &Bin{}, 0
			out = append(out, cur)
		}
		cur.Slots = append(cur.Slots, s)
		cur.Names = append(cur.Names, slots[s]...)
		size += w
	}
	for _, b := range out {
		slices.Sort(b.Names)
	}
	return out
}

func total(names []string, weight func(string) int) int {
	t := 0
	for _, n := range names {
		t += weight(n)
	}
	return t
}

// Weight is a project's share of a bin's bytes: its delegation and the
// keys it uses (a key two projects share is counted twice, which only
// errs on the safe side).
func Weight(r *roles.DelegatedRole, keys map[string]*roles.Key) int {
	// {"keyids":[…],"name":"…","paths":["…/*"],"terminating":true,"threshold":N},
	n := 80 + 2*len(r.Name)
	for _, id := range r.KeyIDs {
		n += len(id) + 3
		if k := keys[id]; k != nil {
			n += len(id) + 4 + len(k.CanonicalJSON())
		}
	}
	return n
}

// Delegations builds claimed's delegations to the bins, with claimed's
// own keys and threshold, and each bin's delegations to its projects, by
// bin role name. projects and keys hold every project's delegation and
// every key they use. The bins are not terminating: a project that is not
// in claimed is searched for in the roles targets delegates after claimed
// (recently-claimed, unclaimed), while each project's own delegation is.
func Delegations(bins []*Bin, projects map[string]*roles.DelegatedRole, keys map[string]*roles.Key, claimedKeys map[string]*roles.Key, keyids []string, threshold int64) (*roles.Delegations, map[string]*roles.Delegations) {
	top := &roles.Delegations{Keys: maps.Clone(claimedKeys), Roles: []*roles.DelegatedRole{}}
	out := map[string]*roles.Delegations{}
	for _, b := range bins {
		top.Roles = append(top.Roles, &roles.DelegatedRole{Name: b.Role(), KeyIDs: slices.Clone(keyids), Threshold: threshold, Paths: b.Paths()})
		dl := &roles.Delegations{Keys: map[string]*roles.Key{}, Roles: []*roles.DelegatedRole{}}
		for _, n := range b.Names {
			r := projects[n]
			dl.Roles = append(dl.Roles, r)
			for _, id := range r.KeyIDs {
				dl.Keys[id] = keys[id]
			}
		}
		out[b.Role()] = dl
	}
	return top, out
}

// SortRoles sorts claimed's delegations to its bins into the order
// Layout gives the bins: by their first patterns' slots. A ceremony that
// lays out only some bins again (ceremony/stage.go) merges them so with
// the bins it keeps.
func SortRoles(rs []*roles.DelegatedRole) {
	first := func(r *roles.DelegatedRole) Slot {
		var s Slot
		if len(r.Paths) > 0 {
			s, _ = slotOf(r.Paths[0])
		}
		return s
	}
	slices.SortStableFunc(rs, func(a, b *roles.DelegatedRole) int { return compareSlots(first(a), first(b)) })
}
