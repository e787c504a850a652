package benchrepo

import (
	"maps"
	"slices"

	"github.com/ceremony-tuf/ceremony/roles"
)

// The layout of claimed, as the tool writes it today (ceremony/bins.go,
// docs/PLANS.md "Claimed in hashed bins"): claimed delegates to 2^bits
// bins named claimed-bin-XX, XX the first bits of the SHA-256 of the
// project's name, listing the path pattern "NAME/*" of every project in
// the bin, with claimed's own keys and threshold; each bin delegates to
// its projects, in name order, with their keys. When the tool's layout
// changes, this file is the one to change.

// claimedBinPrefix names claimed's bins.
const claimedBinPrefix = "claimed-bin"

// projectsPerBin is the most projects a bin of claimed holds here (about
// 0.7 MB a bin): the benchmark's plans split claimed so that no bin nears
// the 5 MB stock clients accept, as an admin would.
const projectsPerBin = 2048

// claimedBinBits is the bin_bits of a claimed holding n projects: at least
// 1, so that every size has the same shape.
func claimedBinBits(n int) int64 {
	bits := int64(1)
	for n > projectsPerBin<<bits {
		bits++
	}
	return bits
}

// project is one project's delegation in claimed.
type project struct {
	role *roles.DelegatedRole
	keys []*roles.Key
}

// claimedLayout returns claimed's delegations and each bin's, by bin name.
// claimedKeys and threshold are targets' delegation to claimed.
func claimedLayout(ps []project, bits int64, claimedKeys []*roles.Key, threshold int64) (*roles.Delegations, map[string]*roles.Delegations) {
	binner := &roles.SuccinctRoles{BitLength: bits, NamePrefix: claimedBinPrefix}
	members := map[string][]project{}
	for _, p := range ps {
		b := binner.BinFor(p.role.Name)
		members[b] = append(members[b], p)
	}
	top := &roles.Delegations{Keys: map[string]*roles.Key{}, Roles: []*roles.DelegatedRole{}}
	var ids []string
	for _, k := range claimedKeys {
		top.Keys[k.ID()] = k
		ids = append(ids, k.ID())
	}
	bins := map[string]*roles.Delegations{}
	for i := 0; i < binner.BinCount(); i++ {
		name := binner.BinName(i)
		list := members[name]
		slices.SortFunc(list, func(a, b project) int {
			switch {
			case a.role.Name < b.role.Name:
				return -1
			case a.role.Name > b.role.Name:
				return 1
			}
			return 0
		})
		paths := []string{}
		dl := &roles.Delegations{Keys: map[string]*roles.Key{}, Roles: []*roles.DelegatedRole{}}
		for _, p := range list {
			paths = append(paths, p.role.Name+"/*")
			dl.Roles = append(dl.Roles, p.role)
			for _, k := range p.keys {
				dl.Keys[k.ID()] = k
			}
		}
		top.Roles = append(top.Roles, &roles.DelegatedRole{Name: name, KeyIDs: slices.Clone(ids), Threshold: threshold, Terminating: true, Paths: paths})
		bins[name] = dl
	}
	return top, bins
}

// binNames are the bins' names in order.
func binNames(bins map[string]*roles.Delegations) []string {
	return slices.Sorted(maps.Keys(bins))
}
