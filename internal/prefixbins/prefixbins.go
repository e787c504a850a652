// Package prefixbins splits claimed's projects into bins by name prefix,
// so that every file the offline keys sign stays small at PyPI's scale
// whatever the number of projects (docs/PLANS.md, "Claimed in name-prefix
// bins").
//
// claimed delegates to each bin with one path pattern: "ab*/*" for the
// projects whose names start with ab, or "ab/*" for the one project named
// ab when the prefix ab is split further (a project named exactly like a
// split prefix is matched by none of "ab-*/*", "aba*/*", …). A prefix that
// holds too many bytes of delegations is split by the character after
// it, and deeper where needed, so the bins partition the names: at most
// one bin's pattern matches any project's paths. Patterns use only "*",
// which fnmatch, go-tuf's path.Match and tuf-js's minimatch agree on for
// the names a plan accepts (lower-case letters, digits, ".", "_", "-",
// never leading "."); character classes, on which they differ, are never
// used.
//
// A layout changes as little as it can from one ceremony to the next: the
// bins a claimed already has stay, a project lands in the bin that matches
// it, a new bin is made only for a name no bin matches, and a bin is split
// only when it outgrows Max. A bin left empty is no longer delegated.
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

// Role names of the bins: RolePrefix+P holds the projects whose names
// start with P; RoleExact+P only the project named P.
const (
	RolePrefix = "claimed-prefix-"
	RoleExact  = "claimed-exact-"
)

// Sizes, in bytes of the bin's delegations: a bin is split once it holds
// more than Max (so every bin file stays well under the 5,000,000 bytes
// stock clients accept: the signatures add under a kilobyte each), and a
// prefix being split is split until each part holds at most Fill, so that
// a bin has room to grow for many ceremonies before it is split again.
const (
	Max  = 4_000_000
	Fill = 1_000_000
)

// Bin is one bin of the partition.
type Bin struct {
	Prefix string
	// Exact bins hold only the project named Prefix.
	Exact bool
}

// Role is the bin's role name.
func (b Bin) Role() string {
	if b.Exact {
		return RoleExact + b.Prefix
	}
	return RolePrefix + b.Prefix
}

// Pattern is the one path pattern claimed delegates to the bin with.
func (b Bin) Pattern() string {
	if b.Exact {
		return b.Prefix + "/*"
	}
	return b.Prefix + "*/*"
}

// IsRole reports whether name is a bin's role name.
func IsRole(name string) bool {
	return strings.HasPrefix(name, RolePrefix) || strings.HasPrefix(name, RoleExact)
}

// FromRole returns the bin a delegated role of claimed stands for. The
// role must say what its name says: one pattern, Pattern(), and a prefix
// that is not empty.
func FromRole(r *roles.DelegatedRole) (Bin, error) {
	var b Bin
	switch {
	case strings.HasPrefix(r.Name, RoleExact):
		b = Bin{Prefix: strings.TrimPrefix(r.Name, RoleExact), Exact: true}
	case strings.HasPrefix(r.Name, RolePrefix):
		b = Bin{Prefix: strings.TrimPrefix(r.Name, RolePrefix)}
	default:
		return b, fmt.Errorf("%s is not a name-prefix bin (%s… or %s…)", r.Name, RolePrefix, RoleExact)
	}
	if b.Prefix == "" || len(r.Paths) != 1 || r.Paths[0] != b.Pattern() || len(r.PathHashPrefixes) > 0 {
		return b, fmt.Errorf("claimed delegates to bin %s with paths %q; a bin of that name has the one pattern %q", r.Name, r.Paths, b.Pattern())
	}
	return b, nil
}

// Partition is a set of bins that partition the names: no prefix bin's
// prefix starts another bin's prefix, and an exact bin's prefix is split
// (no prefix bin holds it).
type Partition struct {
	bins map[Bin]bool
	// split holds every prefix that is split: the proper prefixes of
	// every bin's prefix, and an exact bin's own prefix.
	split map[string]bool
}

// NewPartition checks that bins partition the names and returns them as a
// Partition.
func NewPartition(bins []Bin) (*Partition, error) {
	p := &Partition{bins: map[Bin]bool{}, split: map[string]bool{"": true}}
	for _, b := range bins {
		p.add(b)
	}
	for b := range p.bins {
		if !b.Exact && p.split[b.Prefix] {
			return nil, fmt.Errorf("bin %s overlaps other bins: some project names start with %q and also with a longer prefix that has a bin of its own", b.Role(), b.Prefix)
		}
	}
	return p, nil
}

func (p *Partition) add(b Bin) {
	p.bins[b] = true
	for i := range len(b.Prefix) {
		p.split[b.Prefix[:i]] = true
	}
	if b.Exact {
		p.split[b.Prefix] = true
	}
}

// BinFor returns the bin that holds name: the bin whose pattern matches
// name's paths, or, where none does, the bin that would be made for it.
func (p *Partition) BinFor(name string) (b Bin, exists bool) {
	for i := 1; i <= len(name); i++ {
		pre := name[:i]
		if !p.split[pre] {
			b = Bin{Prefix: pre}
			return b, p.bins[b]
		}
	}
	b = Bin{Prefix: name, Exact: true}
	return b, p.bins[b]
}

// Layout assigns the names to bins: the bins of prev where they match, new
// bins where none does, and then splits every bin whose names weigh more
// than Max into bins of at most Fill (a bin of one name is never split). A
// nil prev lays the names out afresh, splitting every prefix heavier than
// Fill. weight is a project's share of a bin's bytes. The result maps
// every bin that holds a name to its names, sorted.
func Layout(names []string, weight func(string) int, prev *Partition) map[Bin][]string {
	out := map[Bin][]string{}
	if prev == nil {
		splitInto(out, "", slices.Sorted(slices.Values(names)), weight)
		return out
	}
	members := map[Bin][]string{}
	for _, n := range names {
		b, _ := prev.BinFor(n)
		members[b] = append(members[b], n)
	}
	for b, list := range members {
		slices.Sort(list)
		if b.Exact || len(list) < 2 || total(list, weight) <= Max {
			out[b] = list
			continue
		}
		splitInto(out, b.Prefix, list, weight)
	}
	return out
}

// splitInto splits prefix: the name equal to prefix goes to an exact bin,
// the others to a bin per next character, each split again while it holds
// more than Fill and more than one name. names are sorted and all start
// with prefix.
func splitInto(out map[Bin][]string, prefix string, names []string, weight func(string) int) {
	for len(names) > 0 {
		n := names[0]
		if n == prefix {
			out[Bin{Prefix: n, Exact: true}] = []string{n}
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
			out[Bin{Prefix: child}] = group
		}
	}
}

func total(names []string, weight func(string) int) int {
	t := 0
	for _, n := range names {
		t += weight(n)
	}
	return t
}

// Sorted returns the bins of a layout in the order claimed lists them:
// by prefix, a prefix's exact bin before the bins under it.
func Sorted(layout map[Bin][]string) []Bin {
	return slices.SortedFunc(maps.Keys(layout), func(a, b Bin) int {
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
	})
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

// Delegations builds claimed's delegations to the bins of layout, with
// claimed's own keys and threshold, and each bin's delegations to its
// projects, by bin role name. projects and keys hold every project's
// delegation and every key they use. The bins are not terminating: a
// project that is not in claimed is searched for in the roles targets
// delegates after claimed (recently-claimed, unclaimed), while each
// project's own delegation is.
func Delegations(layout map[Bin][]string, projects map[string]*roles.DelegatedRole, keys map[string]*roles.Key, claimedKeys map[string]*roles.Key, keyids []string, threshold int64) (*roles.Delegations, map[string]*roles.Delegations) {
	top := &roles.Delegations{Keys: maps.Clone(claimedKeys), Roles: []*roles.DelegatedRole{}}
	bins := map[string]*roles.Delegations{}
	for _, b := range Sorted(layout) {
		top.Roles = append(top.Roles, &roles.DelegatedRole{Name: b.Role(), KeyIDs: slices.Clone(keyids), Threshold: threshold, Paths: []string{b.Pattern()}})
		dl := &roles.Delegations{Keys: map[string]*roles.Key{}, Roles: []*roles.DelegatedRole{}}
		for _, n := range layout[b] {
			r := projects[n]
			dl.Roles = append(dl.Roles, r)
			for _, id := range r.KeyIDs {
				dl.Keys[id] = keys[id]
			}
		}
		bins[b.Role()] = dl
	}
	return top, bins
}
