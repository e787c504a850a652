package ceremony

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/prefixbins"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Claimed outgrows one file at PyPI's scale (100,000 projects is about
// 57 MB; stock clients refuse targets files over 5 MB by default), so a
// plan can split it into bins, each signed by claimed's own keys and
// threshold; a ceremony re-signs only the bins it changes.
//
// The layout to use is name-prefix bins (`claimed: {bins: prefix}`,
// package prefixbins): claimed delegates to each bin with one pattern
// ("ab*/*") or a few, so claimed's size grows with the number of bins,
// not of projects. The layout before it, 2^N hashed bins (`bin_bits: N`), is
// still read, kept and written for the repositories that use it: claimed
// delegates to claimed-bin-XX (XX: the first N bits of SHA-256 of the
// project's name) listing the path pattern of every project in it, so
// claimed grows with the projects. A plan with `bins: prefix` moves such a
// repository to name-prefix bins in one ceremony.

// binPrefix names claimed's hashed bins.
const binPrefix = "claimed-bin"

// binLayoutPrefix is the value of claimed.bins that asks for name-prefix
// bins.
const binLayoutPrefix = "prefix"

// binner computes hashed bin names for a bit length.
func binner(bits int64) *roles.SuccinctRoles {
	return &roles.SuccinctRoles{BitLength: bits, NamePrefix: binPrefix}
}

// isBinName reports whether role is one of claimed's bins, hashed or by
// name prefix.
func isBinName(role string) bool {
	return strings.HasPrefix(role, binPrefix+"-") || prefixbins.IsRole(role)
}

// isBinned reports whether claimed delegates to bins.
func isBinned(claimed *roles.Targets) bool {
	dl := claimed.Delegations
	return dl != nil && len(dl.Roles) > 0 && isBinName(dl.Roles[0].Name)
}

// isHashBinned reports whether claimed delegates to hashed bins.
func isHashBinned(claimed *roles.Targets) bool {
	return isBinned(claimed) && strings.HasPrefix(claimed.Delegations.Roles[0].Name, binPrefix+"-")
}

// binBits is the bit length of a hash-binned claimed: the width of its names.
func binBits(claimed *roles.Targets) int64 {
	n := len(claimed.Delegations.Roles)
	bits := int64(0)
	for 1<<bits < n {
		bits++
	}
	return bits
}

// partitionOf is the name-prefix bins claimed delegates to. It refuses
// bins whose patterns do not say what their names say, or that overlap.
func partitionOf(claimed *roles.Targets) (*prefixbins.Partition, error) {
	p, err := prefixbins.NewPartition(claimed.Delegations.Roles)
	if err != nil {
		return nil, fmt.Errorf("%w: claimed's name-prefix bins: %w", ErrUntrusted, err)
	}
	return p, nil
}

// binFor names the bin of a binned claimed that holds (or would hold)
// project.
func binFor(claimed *roles.Targets, project string) (string, error) {
	if isHashBinned(claimed) {
		return binner(binBits(claimed)).BinFor(project), nil
	}
	p, err := partitionOf(claimed)
	if err != nil {
		return "", err
	}
	return p.BinFor(project), nil
}

// projects is every project delegation claimed holds, directly or in its
// bins, with the keys they use.
type projects struct {
	roles map[string]*roles.DelegatedRole
	keys  map[string]*roles.Key
}

func projectsOf(claimed *roles.Targets, bins map[string]*roles.Metadata[*roles.Targets]) projects {
	ps := projects{roles: map[string]*roles.DelegatedRole{}, keys: map[string]*roles.Key{}}
	add := func(dl *roles.Delegations) {
		for _, r := range dl.Roles {
			ps.roles[r.Name] = r
		}
		maps.Copy(ps.keys, dl.Keys)
	}
	if isBinned(claimed) {
		for _, b := range bins {
			add(b.Signed.Delegations)
		}
	} else if claimed.Delegations != nil {
		add(claimed.Delegations)
	}
	return ps
}

// readBins reads the trusted bins named in only, or every bin when only
// is nil, by name; none for a bootstrap.
func (r *Repo) readBins(only map[string]bool) (map[string]*roles.Metadata[*roles.Targets], error) {
	out := map[string]*roles.Metadata[*roles.Targets]{}
	if r == nil {
		return out, nil
	}
	for _, name := range r.Bins {
		if only != nil && !only[name] {
			continue
		}
		m, err := r.Bin(name)
		if err != nil {
			return nil, err
		}
		out[name] = m
	}
	return out, nil
}

// claimedLayout says how claimed holds its projects: directly (the zero
// value), in 2^hashBits hashed bins, or in name-prefix bins.
type claimedLayout struct {
	hashBits int64
	prefix   bool
	// prev is the name-prefix bins claimed has, which a new layout keeps
	// where it can; nil lays the projects out afresh.
	prev *prefixbins.Partition
}

// layoutFor is the layout a ceremony leaves claimed in: the one it has
// (cur, nil for a bootstrap), or the one plan c asks for.
func layoutFor(cur *roles.Targets, c *ClaimedChange) (claimedLayout, error) {
	var l claimedLayout
	switch {
	case cur == nil || !isBinned(cur):
	case isHashBinned(cur):
		l.hashBits = binBits(cur)
	default:
		p, err := partitionOf(cur)
		if err != nil {
			return l, err
		}
		l.prefix, l.prev = true, p
	}
	if c == nil {
		return l, nil
	}
	switch {
	case c.Bins == binLayoutPrefix && !l.prefix:
		// Into name-prefix bins, from one file or from hashed bins: every
		// project is laid out afresh.
		return claimedLayout{prefix: true}, nil
	case c.BinBits != 0 && l.prefix:
		return l, binError("claimed is split into name-prefix bins; bin_bits makes hashed bins, whose claimed grows with every project: leave bin_bits out")
	case c.BinBits != 0 && l.hashBits != 0 && c.BinBits != l.hashBits:
		return l, binError("claimed is already split into %d bins; changing the number of hashed bins is not supported: leave bin_bits out or give %d, or move to name-prefix bins with `bins: prefix`", 1<<l.hashBits, l.hashBits)
	case c.BinBits != 0:
		l.hashBits = c.BinBits
	}
	return l, nil
}

// layOut writes the projects into claimed as layout l says; it returns
// the bins' new delegations by bin name.
func layOut(claimed *roles.Targets, ps projects, l claimedLayout, claimedKeys map[string]*roles.Key, keyids []string, threshold int64) map[string]*roles.Delegations {
	names := slices.Sorted(maps.Keys(ps.roles))
	switch {
	case l.prefix:
		weight := func(n string) int { return prefixbins.Weight(ps.roles[n], ps.keys) }
		top, bins := prefixbins.Delegations(prefixbins.Layout(names, weight, l.prev), ps.roles, ps.keys, claimedKeys, keyids, threshold)
		claimed.Delegations = top
		return bins
	case l.hashBits == 0:
		claimed.Delegations = projectDelegations(ps, names)
		return nil
	}
	b := binner(l.hashBits)
	members := map[string][]string{}
	for _, n := range names {
		members[b.BinFor(n)] = append(members[b.BinFor(n)], n)
	}
	dl := &roles.Delegations{Keys: maps.Clone(claimedKeys), Roles: []*roles.DelegatedRole{}}
	out := map[string]*roles.Delegations{}
	for i := 0; i < b.BinCount(); i++ {
		name := b.BinName(i)
		paths := []string{}
		for _, n := range members[name] {
			paths = append(paths, n+"/*")
		}
		dl.Roles = append(dl.Roles, &roles.DelegatedRole{Name: name, KeyIDs: slices.Clone(keyids), Threshold: threshold, Terminating: true, Paths: paths})
		out[name] = projectDelegations(ps, members[name])
	}
	claimed.Delegations = dl
	return out
}

// projectDelegations delegates to the named projects, in order, with the
// keys they use.
func projectDelegations(ps projects, names []string) *roles.Delegations {
	dl := &roles.Delegations{Keys: map[string]*roles.Key{}, Roles: []*roles.DelegatedRole{}}
	for _, n := range names {
		r := ps.roles[n]
		dl.Roles = append(dl.Roles, r)
		for _, id := range r.KeyIDs {
			dl.Keys[id] = ps.keys[id]
		}
	}
	return dl
}

// sameDelegations reports whether two delegations say the same thing.
func sameDelegations(a, b *roles.Delegations) bool {
	if a == nil || b == nil {
		return a == b
	}
	epoch := time.Unix(0, 0)
	ca, cb := roles.NewTargets(epoch), roles.NewTargets(epoch)
	ca.Delegations, cb.Delegations = a, b
	return string(roles.New(ca).CanonicalSigned()) == string(roles.New(cb).CanonicalSigned())
}

// stagedBins is the bins of a new layout whose content changes (every bin
// when claimed's keys rotate: their signatures must then be new), each one
// version past the one snapshot last listed, so that a bin made again
// under the name of one that was emptied or split never goes back in
// version (clients refuse that, and snapshot lists a file for good).
func stagedBins(newBins map[string]*roles.Delegations, repo *Repo, oldBins map[string]*roles.Metadata[*roles.Targets], rotated bool, expires time.Time) map[string]*roles.Metadata[*roles.Targets] {
	out := map[string]*roles.Metadata[*roles.Targets]{}
	for _, name := range slices.Sorted(maps.Keys(newBins)) {
		dl := newBins[name]
		t := roles.NewTargets(expires)
		if repo != nil {
			if old := oldBins[name]; old != nil {
				if !rotated && sameDelegations(old.Signed.Delegations, dl) {
					continue
				}
				t.Version = old.Signed.Version + 1
			} else if mf := repo.SnapshotEntries.Meta(name + ".json"); mf != nil {
				t.Version = mf.Version + 1
			}
		}
		t.Delegations = dl
		out[name] = roles.New(t)
	}
	return out
}

func binError(format string, args ...any) error {
	return fmt.Errorf("%w: claimed.bin_bits: %s", ErrPlan, fmt.Sprintf(format, args...))
}

// snapshotChecks is policy check size.client-limit on the snapshot the
// online key signs at publish, measured from the trusted one and the
// entries this ceremony adds (none for a bootstrap, whose snapshot is
// small): snapshot lists every targets-type file, so at PyPI's scale it
// outgrows the stock clients' default limit whatever claimed's layout,
// and the review must say so before anyone signs.
func (s *staging) snapshotChecks(pol roles.Policy) roles.Findings {
	if s.repo == nil {
		return nil
	}
	snap := s.repo.SnapshotEntries
	size := s.repo.Sums[fmt.Sprintf("%d.snapshot.json", snap.Version())].Size
	if size == 0 {
		size = s.repo.Sums["snapshot.json"].Size
	}
	added := slices.Collect(maps.Keys(s.bins))
	if c := s.plan.Claimed; c != nil {
		for _, p := range c.Projects {
			added = append(added, p.Name)
		}
	}
	for _, name := range added {
		if snap.Meta(name+".json") == nil {
			size += len(`,"`) + len(name) + len(`.json":{"version":1}`)
		}
	}
	return roles.CheckFileSize(RoleSnapshot, roles.TypeSnapshot, size, pol)
}
