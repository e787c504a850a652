package ceremony

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// Claimed outgrows one file at PyPI's scale (100,000 projects is about
// 57 MB; stock clients refuse targets files over 5 MB by default), so a
// plan can split it into 2^N hashed bins. TAP 15's succinct bins cannot
// serve here: they hash a target's path, which would scatter one project's
// files over many bins, while a project's delegation must stand in one
// place. So the bins are classic delegations binned by the hash of the
// project's name: claimed delegates to claimed-bin-XX (XX: the first N bits
// of SHA-256 of the name), listing the path patterns of the projects in
// it, and each bin delegates to its projects. Bins are signed by claimed's
// own keys and threshold; a ceremony re-signs only the bins it changes.

// binPrefix names claimed's bins.
const binPrefix = "claimed-bin"

// binner computes bin names for a bit length.
func binner(bits int64) *roles.SuccinctRoles {
	return &roles.SuccinctRoles{BitLength: bits, NamePrefix: binPrefix}
}

// isBinned reports whether claimed delegates to hashed bins.
func isBinned(claimed *roles.Targets) bool {
	dl := claimed.Delegations
	return dl != nil && len(dl.Roles) > 0 && strings.HasPrefix(dl.Roles[0].Name, binPrefix+"-")
}

// binBits is the bit length of a binned claimed: the width of its names.
func binBits(claimed *roles.Targets) int64 {
	n := len(claimed.Delegations.Roles)
	bits := int64(0)
	for 1<<bits < n {
		bits++
	}
	return bits
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

// layOut writes the projects into claimed, directly (bits 0) or through
// 2^bits bins; it returns the bins' new delegations by bin name.
func layOut(claimed *roles.Targets, ps projects, bits int64, claimedKeys map[string]*roles.Key, keyids []string, threshold int64) map[string]*roles.Delegations {
	names := slices.Sorted(maps.Keys(ps.roles))
	delegationsFor := func(list []string) *roles.Delegations {
		dl := &roles.Delegations{Keys: map[string]*roles.Key{}, Roles: []*roles.DelegatedRole{}}
		for _, n := range list {
			r := ps.roles[n]
			dl.Roles = append(dl.Roles, r)
			for _, id := range r.KeyIDs {
				dl.Keys[id] = ps.keys[id]
			}
		}
		return dl
	}
	if bits == 0 {
		claimed.Delegations = delegationsFor(names)
		return nil
	}
	b := binner(bits)
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
		out[name] = delegationsFor(members[name])
	}
	claimed.Delegations = dl
	return out
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

func binError(format string, args ...any) error {
	return fmt.Errorf("%w: claimed.bin_bits: %s", ErrPlan, fmt.Sprintf(format, args...))
}
