package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// boardBody draws the Thresholds screen: per role and per delegation it
// must satisfy, who signed and who is missing; a new root's two
// delegations, the old root's and its own, side by side.
func (m *Model) boardBody(w int) []string {
	var lines []string
	groups := map[string][]int{}
	var order []string
	online := 0
	for i, p := range m.snap.Progress {
		if m.snap.online(p.Role) {
			online++
			continue
		}
		if _, ok := groups[p.Role]; !ok {
			order = append(order, p.Role)
		}
		groups[p.Role] = append(groups[p.Role], i)
	}
	version := map[string]int64{}
	for _, r := range m.snap.Roles {
		version[r.Name] = r.Version
	}
	for _, role := range order {
		var cols [][]string
		for _, i := range groups[role] {
			c := m.delegationColumn(i)
			if len(groups[role]) == 2 && m.snap.Progress[i].Under == role {
				c[0] = strings.Replace(c[0], "under "+role, "under "+role+" (new)", 1)
			}
			cols = append(cols, c)
		}
		lines = append(lines, m.sty.key.Render(fmt.Sprintf("%s v%d", role, version[role])))
		if len(cols) == 2 {
			cw := (w - 5) / 2
			for j := 0; j < max(len(cols[0]), len(cols[1])); j++ {
				a, b := cell(cols[0], j), cell(cols[1], j)
				a = ansi.Truncate(a, cw, "…")
				lines = append(lines, "  "+a+strings.Repeat(" ", max(0, cw-ansi.StringWidth(a)))+" │ "+b)
			}
			continue
		}
		for _, c := range cols {
			// One delegation: its signers on one line.
			lines = append(lines, "  "+c[0])
			for _, l := range wrap(strings.Join(c[1:], ", "), w-4) {
				lines = append(lines, "    "+l)
			}
		}
	}
	if online > 0 {
		lines = append(lines, fmt.Sprintf("%d thresholds of online roles, signed with the online key at publish.", online))
	}
	if len(lines) == 0 {
		lines = append(lines, "No thresholds: nothing is staged.")
	}
	return lines
}

func cell(c []string, j int) string {
	if j < len(c) {
		return c[j]
	}
	return ""
}

// delegationColumn shows one delegation: its threshold and each signer.
func (m *Model) delegationColumn(i int) []string {
	p := m.snap.Progress[i]
	state := m.sty.bad.Render("missing")
	if p.Reached {
		state = m.sty.good.Render("reached")
	}
	out := []string{fmt.Sprintf("under %s: %d of %d, %s", p.Under, len(p.Signed), p.Threshold, state)}
	for _, n := range p.Signed {
		out = append(out, m.sty.good.Render("✓ ")+n+" signed")
	}
	for _, n := range p.Missing {
		if p.Reached {
			out = append(out, m.sty.dim.Render("– "+n+" not needed"))
		} else {
			out = append(out, "· "+n+" missing")
		}
	}
	return out
}
