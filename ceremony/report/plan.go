package report

import (
	"fmt"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/roles"
)

// planLines says in plain words what the recorded plan asked for: the
// resolved plan the ceremony opened with, which the fold re-derived every
// staged role from.
func planLines(st *ceremony.State) []string {
	p := st.Plan
	out := []string{
		"ceremony " + line(p.Ceremony) + ", every expiry counted from the reference time " + p.ReferenceTime.UTC().Format(timeFormat),
	}
	if p.AllowNetwork {
		out = append(out, "the plan let the ceremony run with a network interface up")
	} else {
		out = append(out, "air-gapped: the plan refused any network interface up but loopback")
	}
	if s := p.Start; s != nil {
		out = append(out, fmt.Sprintf("starts from the repository in %s, trusting the root in %s", line(s.Metadata), line(s.TrustedRoot)))
	} else {
		out = append(out, "bootstrap: a new repository, from the plan alone")
	}
	out = append(out, fmt.Sprintf("%d participants' keys (listed under Who was present)", len(p.Participants)))
	if o := p.Online; o != nil {
		l := "online key: " + line(o.Participant)
		if o.UnclaimedBinBits > 0 {
			l += fmt.Sprintf("; unclaimed split into %d hash bins", 1<<o.UnclaimedBinBits)
		}
		out = append(out, l)
	}
	keys := func(role string, c *ceremony.KeysChange) {
		if c == nil {
			return
		}
		var parts []string
		if len(c.Add) > 0 {
			parts = append(parts, "add "+names(c.Add))
		}
		if len(c.Remove) > 0 {
			parts = append(parts, "remove "+names(c.Remove))
		}
		if c.Threshold > 0 {
			parts = append(parts, fmt.Sprintf("threshold %d", c.Threshold))
		}
		if c.ExpiresDays > 0 {
			parts = append(parts, fmt.Sprintf("expires %d days after the reference time", c.ExpiresDays))
		}
		if len(parts) == 0 {
			parts = append(parts, "a new version, keys unchanged")
		}
		out = append(out, role+": "+strings.Join(parts, "; "))
	}
	keys("root", p.Root)
	if t := p.Targets; t != nil {
		keys("targets", &t.KeysChange)
		keys("targets' delegation to claimed", t.Claimed)
	}
	if c := p.Claimed; c != nil {
		var projects []string
		for _, pr := range c.Projects {
			projects = append(projects, pr.Name)
		}
		if len(projects) > 0 {
			out = append(out, fmt.Sprintf("claimed: add or update %d projects: %s", len(projects), names(projects)))
		}
		if len(c.RemoveProjects) > 0 {
			out = append(out, fmt.Sprintf("claimed: remove %d projects: %s", len(c.RemoveProjects), names(c.RemoveProjects)))
		}
		var enrolled []string
		for _, e := range c.Enrollments {
			enrolled = append(enrolled, e.Project)
		}
		if len(enrolled) > 0 {
			out = append(out, fmt.Sprintf("claimed: enroll maintainers' attested YubiKey keys for %s", names(enrolled)))
		}
		if c.BinBits > 0 {
			out = append(out, fmt.Sprintf("claimed: split into %d hash bins", 1<<c.BinBits))
		}
		if c.ExpiresDays > 0 {
			out = append(out, fmt.Sprintf("claimed: expires %d days after the reference time", c.ExpiresDays))
		}
	}
	if r := p.Revocations; r != nil {
		for _, e := range r.Add {
			out = append(out, fmt.Sprintf("revoke key %s (%s): %s", roles.ShortID(line(e.KeyID)), line(e.Role), line(e.Reason)))
		}
		if r.ExpiresDays > 0 {
			out = append(out, fmt.Sprintf("revocations: expires %d days after the reference time", r.ExpiresDays))
		}
	}
	if p.MaxExpiryDays > 0 {
		out = append(out, fmt.Sprintf("no expiry more than %d days after the reference time", p.MaxExpiryDays))
	}
	return out
}

// names lists names for a line, escaped: the first few, and how many
// more.
func names(xs []string) string {
	shown := make([]string, len(xs))
	for i, x := range xs {
		shown[i] = line(x)
	}
	return roles.FirstFew(shown, ", ")
}
