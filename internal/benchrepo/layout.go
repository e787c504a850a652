package benchrepo

import (
	"maps"
	"slices"

	"github.com/ceremony-tuf/ceremony/internal/prefixbins"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Claimed is laid out as the tool lays it out afresh for `claimed: {bins:
// prefix}` (ceremony/bins.go, docs/PLANS.md "Claimed in name-prefix
// bins"), with the same code: claimed delegates to bins by project name
// prefix, with claimed's own keys and threshold, each bin delegating to
// its projects in name order.

// project is one project's delegation in claimed.
type project struct {
	role *roles.DelegatedRole
	keys []*roles.Key
}

// claimedLayout returns claimed's delegations and each bin's, by bin name.
// claimedKeys and threshold are targets' delegation to claimed.
func claimedLayout(ps []project, claimedKeys []*roles.Key, threshold int64) (*roles.Delegations, map[string]*roles.Delegations) {
	delegated := map[string]*roles.DelegatedRole{}
	keys := map[string]*roles.Key{}
	for _, p := range ps {
		delegated[p.role.Name] = p.role
		for _, k := range p.keys {
			keys[k.ID()] = k
		}
	}
	top := map[string]*roles.Key{}
	var ids []string
	for _, k := range claimedKeys {
		top[k.ID()] = k
		ids = append(ids, k.ID())
	}
	names := slices.Sorted(maps.Keys(delegated))
	weight := func(n string) int { return prefixbins.Weight(delegated[n], keys) }
	return prefixbins.Delegations(prefixbins.Layout(names, weight, nil), delegated, keys, top, ids, threshold)
}

// binNames are the bins' names in order.
func binNames(bins map[string]*roles.Delegations) []string {
	return slices.Sorted(maps.Keys(bins))
}
