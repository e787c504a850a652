package benchrepo

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Project names are made up, PyPI-like and deterministic: the first n names
// are the same whatever n is, so a repository of 10,000 projects holds the
// 1,000 of the smaller one. They are not numbered ("project-000123"):
// a layout that splits claimed by name prefix would see one prefix for
// all of them, which no real index has. Instead they share PyPI's skew:
// common prefixes (py, django-, pytest-, types-, …) and suffixes (-utils,
// -client, …) over two to four random syllables.

var syllables = strings.Fields(`ab ac ad al am an ap ar as at ax ba be bi bo bu ca ce
	ci co cu da de di do du el em en er es ex fa fe fi fo fu ga ge gi go gu ha he hi
	ho hu id il im in io ir is it ja jo ka ke ki ko la le li lo lu ly ma me mi mo mu
	na ne ni no nu ny ob oc ol om on op or os pa pe pi po pu py qu ra re ri ro ru sa
	se si so su ta te ti to tu ul um un ur va ve vi vo wa we wi xa xi ya yo za ze zo`)

// weighted is a choice among strings: s[i] with probability w[i]‰, and
// the empty string for what is left of 1000.
type weighted struct {
	s []string
	w []int
}

func (c weighted) pick(r *rand.Rand) string {
	n := r.IntN(1000)
	for i, w := range c.w {
		if n < w {
			return c.s[i]
		}
		n -= w
	}
	return ""
}

var (
	namePrefixes = weighted{
		s: []string{"py", "django-", "pytest-", "flask-", "types-", "azure-", "sphinx-", "odoo-", "mkdocs-", "google-"},
		w: []int{80, 40, 15, 15, 10, 8, 8, 8, 5, 5},
	}
	nameSuffixes = weighted{
		s: []string{"-utils", "-client", "-api", "-sdk", "-tools", "-plugin", "-py", "-cli", "2", "3"},
		w: []int{30, 20, 15, 12, 10, 10, 8, 8, 10, 5},
	}
	// Inner separators: most names are one word, some are dotted or
	// snake-cased (zope.interface, ruamel_yaml).
	nameJoins = weighted{s: []string{"-", "_", "."}, w: []int{60, 20, 10}}
)

// reserved are names a project must not take: the repository's own roles
// and the prefixes of its bins.
var reserved = []string{"root", "targets", "snapshot", "timestamp", "claimed", "revocations", "recently-claimed", "unclaimed"}

// names returns n distinct project names.
func names(n int) []string {
	r := rand.New(rand.NewPCG(0x62656e63, 0x68726570)) // fixed: the same names every run
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		b.WriteString(namePrefixes.pick(r))
		words := 2 + r.IntN(3)
		for i := 0; i < words; i++ {
			if i == words/2 && words > 2 {
				b.WriteString(nameJoins.pick(r))
			}
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		b.WriteString(nameSuffixes.pick(r))
		name := b.String()
		if isReserved(name) {
			continue
		}
		for base, k := name, 2; seen[name]; k++ {
			name = base + strconv.Itoa(k)
		}
		seen[name] = true
		out = append(out, name)
	}
	return out
}

func isReserved(name string) bool {
	for _, r := range reserved {
		if name == r || strings.HasPrefix(name, r+"-") {
			return true
		}
	}
	return false
}
