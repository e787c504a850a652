package ceremony

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// who names a key for people: "3f1a2b3c (carol, YubiKey 5 #12345678)".
func (s *staging) who(id string) string {
	short := id
	if len(short) > 8 {
		short = short[:8]
	}
	if pt := s.plan.participantByKeyID(id); pt != nil {
		if pt.Device != "" {
			return fmt.Sprintf("%s (%s, %s)", short, pt.Name, pt.Device)
		}
		return fmt.Sprintf("%s (%s)", short, pt.Name)
	}
	return short
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func versions(role string, prev, next int64) string {
	if prev == 0 {
		return fmt.Sprintf("%s v%d (new)", role, next)
	}
	return fmt.Sprintf("%s v%d → v%d", role, prev, next)
}

// keyDiff describes the keys added to and removed from a list.
func (s *staging) keyDiff(what string, before, after []string) []string {
	var out []string
	for _, id := range after {
		if !slices.Contains(before, id) {
			out = append(out, fmt.Sprintf("%s: adds key %s", what, s.who(id)))
		}
	}
	for _, id := range before {
		if !slices.Contains(after, id) {
			out = append(out, fmt.Sprintf("%s: removes key %s", what, s.who(id)))
		}
	}
	return out
}

func (s *staging) rootSummary(prev, next *roles.Root) []string {
	var pv int64
	if prev != nil {
		pv = prev.Version
	}
	out := []string{fmt.Sprintf("%s; expires %s", versions("root", pv, next.Version), day(next.Expires))}
	for _, role := range roles.TopLevelRoles {
		nk := next.Roles[role]
		var before []string
		var bt int64
		if prev != nil && prev.Roles[role] != nil {
			before, bt = prev.Roles[role].KeyIDs, prev.Roles[role].Threshold
		}
		if bt != nk.Threshold || len(before) != len(nk.KeyIDs) {
			if prev == nil {
				out = append(out, fmt.Sprintf("%s: threshold %d of %d", role, nk.Threshold, len(nk.KeyIDs)))
			} else {
				out = append(out, fmt.Sprintf("%s: threshold %d of %d → %d of %d", role, bt, len(before), nk.Threshold, len(nk.KeyIDs)))
			}
		}
		out = append(out, s.keyDiff(role, before, nk.KeyIDs)...)
	}
	return out
}

func (s *staging) targetsSummary(name string, prev, next *roles.Targets) []string {
	var pv int64
	if prev != nil {
		pv = prev.Version
	}
	out := []string{fmt.Sprintf("%s; expires %s", versions(name, pv, next.Version), day(next.Expires))}
	var before []*roles.DelegatedRole
	if prev != nil && prev.Delegations != nil {
		before = prev.Delegations.Roles
	}
	var added, removed, changed []string
	for _, r := range next.Delegations.Roles {
		i := slices.IndexFunc(before, func(b *roles.DelegatedRole) bool { return b.Name == r.Name })
		switch {
		case i < 0:
			added = append(added, r.Name)
			if name == RoleTargets {
				out = append(out, fmt.Sprintf("delegates %s to %d keys, threshold %d", r.Name, len(r.KeyIDs), r.Threshold))
			}
		case !slices.Equal(before[i].KeyIDs, r.KeyIDs) || before[i].Threshold != r.Threshold:
			changed = append(changed, r.Name)
			if before[i].Threshold != r.Threshold {
				out = append(out, fmt.Sprintf("%s: threshold %d → %d", r.Name, before[i].Threshold, r.Threshold))
			}
			out = append(out, s.keyDiff(r.Name, before[i].KeyIDs, r.KeyIDs)...)
		}
	}
	for _, b := range before {
		if next.Delegations.Role(b.Name) == nil {
			removed = append(removed, b.Name)
		}
	}
	if name == RoleClaimed || strings.HasPrefix(name, binPrefix+"-") {
		if len(added) > 0 {
			out = append(out, fmt.Sprintf("moves %d projects into claimed: %s", len(added), listFew(added)))
		}
		if len(removed) > 0 {
			out = append(out, fmt.Sprintf("takes %d projects out of claimed: %s", len(removed), listFew(removed)))
		}
		out = append(out, fmt.Sprintf("%d projects in claimed", len(next.Delegations.Roles)))
	}
	return out
}

func (s *staging) revocationsSummary(prev, next *roles.Revocations) []string {
	var pv int64
	n := 0
	if prev != nil {
		pv, n = prev.Version, len(prev.Revoked)
	}
	out := []string{fmt.Sprintf("%s; expires %s", versions("revocations", pv, next.Version), day(next.Expires))}
	for _, r := range next.Revoked[n:] {
		out = append(out, fmt.Sprintf("revokes key %s, trusted for %s: %s", s.who(r.KeyID), r.Role, r.Reason))
	}
	out = append(out, fmt.Sprintf("%d keys revoked in all", len(next.Revoked)))
	return out
}

func listFew(items []string) string {
	if len(items) <= 5 {
		return fmt.Sprint(items)
	}
	return fmt.Sprintf("%v and %d more", items[:5], len(items)-5)
}
