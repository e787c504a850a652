package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// reviewScreen is the Review screen: one staged role at a time, in plain
// words or as the canonical JSON its signatures cover.
type reviewScreen struct {
	role int  // index into the snapshot's roles
	raw  bool // the canonical JSON instead of the summary
	done bool // the review was read: its step on the rail is done
}

func (m *Model) reviewKey(k tea.KeyMsg) {
	km, r := m.keys, &m.review
	switch {
	case key.Matches(k, km.PrevRole):
		if r.role > 0 {
			r.role--
			m.scroll = 0
		}
	case key.Matches(k, km.NextRole):
		if r.role < len(m.snap.Roles)-1 {
			r.role++
			m.scroll = 0
		}
	case key.Matches(k, km.Raw):
		r.raw = !r.raw
		m.scroll = 0
	case key.Matches(k, km.Reviewed):
		r.done = true
		m.go2(screenSign)
	default:
		m.scrollKey(k)
	}
}

// body draws the role under review, w columns wide.
func (r *reviewScreen) body(s *snapshot, sty styles, w int) []string {
	if len(s.Roles) == 0 {
		return []string{"Nothing is staged in this ceremony."}
	}
	role := s.Roles[r.role]
	kind := ""
	switch {
	case role.Online:
		kind = " (online role, signed with the online key at publish)"
	case role.Included:
		kind = " (signed elsewhere, published as it is)"
	}
	head := fmt.Sprintf("Role %d of %d: %s v%d%s", r.role+1, len(s.Roles), role.Name, role.Version, kind)
	lines := []string{sty.key.Render(head)}
	if r.raw {
		lines = append(lines, fmt.Sprintf("Canonical JSON, %d bytes: what each signature covers.", len(role.Canonical)))
		for c := role.Canonical; len(c) > 0; {
			n := min(len(c), w)
			lines = append(lines, c[:n])
			c = c[n:]
		}
		return lines
	}
	lines = append(lines, "What changes:")
	for _, l := range role.Summary {
		for i, x := range wrap(l, w-4) {
			if i == 0 {
				lines = append(lines, "  • "+x)
			} else {
				lines = append(lines, "    "+x)
			}
		}
	}
	if len(role.Checks) > 0 {
		lines = append(lines, "Policy checks:")
	}
	for _, c := range role.Checks {
		if c.Passed {
			// The message says what was checked ("root: threshold 2 of 3
			// distinct keys"): one role's checks of one kind differ by it.
			lines = append(lines, sty.good.Render("  ✓ pass ")+c.Check+sty.dim.Render(" · "+c.Message))
		} else {
			lines = append(lines, sty.bad.Render(fmt.Sprintf("  ✗ %s ", c.Severity))+c.Check+": "+c.Message)
		}
	}
	lines = append(lines, "Signed bytes, sha256:", "  "+role.Digest, "In words, to read aloud:")
	for _, l := range wrap(role.Words, w-2) {
		lines = append(lines, "  "+l)
	}
	return lines
}
