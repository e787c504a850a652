package ceremony

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
)

// A Summary says in plain words what a role's signed bytes hold and what
// they change from the role's previous version: the review a signer reads
// before signing, in the ceremony room (start, sign, the TUI) and on an
// air-gapped machine (sign REQUEST) alike. Everything in it is read from
// the bytes themselves; the strings they hold (role and project names,
// paths, reasons) and the names given for keys are escaped with
// untrusted.Line.
type Summary struct {
	Role    string
	Version int64
	// Previous is the previous version's number, 0 when there is none.
	Previous int64
	// Head names the role and its versions and says when it expires:
	// "root v7 → v8; expires 2027-12-01".
	Head string
	// Holds says what the bytes hold: the keys and threshold of each role
	// they delegate to, the projects or revocations they list.
	Holds []string
	// Changes says what changes from the previous version: nil when there
	// is none.
	Changes []string
	// Projects lists every project claimed (or its bin) adds, removes or
	// re-keys, which Changes counts and names the first few of: against
	// the previous version, or every project of a new role; nil when the
	// previous version is not at hand. Lines leaves them out, so that the
	// transcript records a summary of bounded length; ProjectLines says
	// them.
	Projects []ProjectChange
}

// Lines are the summary as the room's review shows it and the transcript
// records it: the head, what the role holds, what changes.
func (s *Summary) Lines() []string {
	return slices.Concat([]string{s.Head}, s.Holds, s.Changes)
}

// KeyNames says who holds a key, for people ("alice, YubiKey 5
// #12345678"), or "" when it names no one. A nil KeyNames names no one.
type KeyNames func(keyid string) string

// Summarize reads the canonical JSON of role's signed part, signed, and
// says what it holds and, against previous (the role's previous version:
// a whole metadata file, or nil for a role that is new), what it changes.
// It refuses bytes that are not the role's metadata in canonical form
// (ErrRequestInvalid), and a previous version that is not the role's
// metadata or not older. names says who holds the keys, where the caller
// knows it; only a source the signer trusts may name them (the room's
// plan), never a request.
func Summarize(role string, signed, previous []byte, names KeyNames) (*Summary, error) {
	z := summarizer{names: names}
	switch roleType(role) {
	case roles.TypeRoot:
		return summarize(role, signed, previous, z.root)
	case roles.TypeRevocations:
		return summarize(role, signed, previous, z.revocations)
	case roles.TypeSnapshot, roles.TypeTimestamp:
		return nil, fmt.Errorf("%w: %s is an online role, signed at publish; no request asks for it", ErrRequestInvalid, untrusted.Line(role))
	}
	return summarize(role, signed, previous, func(prev, next *roles.Targets) *Summary {
		return z.targets(role, prev, next)
	})
}

func summarize[R roles.Role](role string, signed, previous []byte, describe func(prev, next R) *Summary) (*Summary, error) {
	next, err := parseCanonical[R](signed)
	if err != nil {
		return nil, reqInvalidf("the signed bytes are not %s metadata in canonical form (%v): do not sign them", untrusted.Line(role), err)
	}
	var prev R
	if previous != nil {
		m, err := roles.Parse[R](previous)
		if err != nil {
			return nil, reqInvalidf("the previous version is not %s metadata (%v)", untrusted.Line(role), err)
		}
		if pv, nv := roles.HeaderOf(m.Signed).Version, roles.HeaderOf(next).Version; pv >= nv {
			return nil, reqInvalidf("the previous version is %s v%d, not older than the v%d to sign", untrusted.Line(role), pv, nv)
		}
		prev = m.Signed
	}
	return describe(prev, next), nil
}

// roleType is the metadata type of a role of this repository's layout.
func roleType(role string) string {
	switch role {
	case RoleRoot:
		return roles.TypeRoot
	case RoleRevocations:
		return roles.TypeRevocations
	case RoleSnapshot:
		return roles.TypeSnapshot
	case RoleTimestamp:
		return roles.TypeTimestamp
	}
	return roles.TypeTargets
}

// parseCanonical parses canonical, the canonical JSON of a role's signed
// part, strictly as R, and checks that it is canonical. Canonical JSON
// writes control characters in strings raw (a PEM key's newlines), which
// JSON parsers refuse; so the bytes are made JSON by escaping those,
// wrapped in an envelope, parsed, and written canonically again: the
// result must be the very bytes given.
func parseCanonical[R roles.Role](canonical []byte) (R, error) {
	var zero R
	doc := make([]byte, 0, len(canonical)+48)
	doc = append(doc, `{"signatures":[],"signed":`...)
	doc = escapeControls(doc, canonical)
	doc = append(doc, '}')
	m, err := roles.Parse[R](doc)
	if err != nil {
		return zero, err
	}
	if !bytes.Equal(m.CanonicalSigned(), canonical) {
		return zero, errors.New("they are not in canonical form")
	}
	return m.Signed, nil
}

// escapeControls appends src to dst with every control character inside
// a JSON string written as a \u00XX escape.
func escapeControls(dst, src []byte) []byte {
	const hexd = "0123456789abcdef"
	in, esc := false, false
	for _, c := range src {
		switch {
		case !in:
			in = c == '"'
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			in = false
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// summarizer writes summaries, naming keys with names.
type summarizer struct{ names KeyNames }

// shownKeyID is how many hex digits of a keyid a summary shows: 64 bits,
// too many to grind a look-alike key for.
const shownKeyID = 16

// key names a key for people: "3f1a2b3c4d5e6f70 (carol, YubiKey 5
// #12345678)", or its keyid's first digits alone.
func (z summarizer) key(id string) string {
	s := untrusted.Line(id[:min(len(id), shownKeyID)])
	if z.names != nil {
		if who := z.names(id); who != "" {
			s += " (" + shownName(who) + ")"
		}
	}
	return s
}

// maxKeysListed bounds the keys a line names: a delegation in a request
// may list any number of them.
const maxKeysListed = 32

// keys names a list of keys, the first maxKeysListed of them.
func (z summarizer) keys(ids []string) string {
	if len(ids) == 0 {
		return "no keys"
	}
	out := make([]string, 0, min(len(ids), maxKeysListed+1))
	for _, id := range ids[:min(len(ids), maxKeysListed)] {
		out = append(out, z.key(id))
	}
	if n := len(ids) - maxKeysListed; n > 0 {
		out = append(out, fmt.Sprintf("and %d more keys", n))
	}
	return strings.Join(out, ", ")
}

// threshold says how many of which keys must sign.
func (z summarizer) threshold(t int64, ids []string) string {
	return fmt.Sprintf("threshold %d of %d: %s", t, len(ids), z.keys(ids))
}

// keyDiff describes the keys added to and removed from a list.
func (z summarizer) keyDiff(what string, before, after []string) []string {
	var out []string
	for _, id := range after {
		if !slices.Contains(before, id) {
			out = append(out, fmt.Sprintf("%s: adds key %s", what, z.key(id)))
		}
	}
	for _, id := range before {
		if !slices.Contains(after, id) {
			out = append(out, fmt.Sprintf("%s: removes key %s", what, z.key(id)))
		}
	}
	return out
}

// newSummary starts the summary of role: its head names the role and
// its versions and says when it expires.
func newSummary(role string, prev, next *roles.Header) *Summary {
	s := &Summary{Role: role, Version: next.Version}
	name := shownName(role)
	switch {
	case prev != nil:
		s.Previous = prev.Version
		s.Head = fmt.Sprintf("%s v%d → v%d; expires %s", name, prev.Version, next.Version, day(next.Expires))
	case next.Version == 1:
		s.Head = fmt.Sprintf("%s v%d (new); expires %s", name, next.Version, day(next.Expires))
	default:
		// Not new, but no previous version to compare with: say so, so
		// that a request stripped of it does not pass for a new role.
		s.Head = fmt.Sprintf("%s v%d (its previous version is not at hand: what changes cannot be shown); expires %s", name, next.Version, day(next.Expires))
	}
	return s
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func (z summarizer) root(prev, next *roles.Root) *Summary {
	var ph *roles.Header
	if prev != nil {
		ph = &prev.Header
	}
	s := newSummary(RoleRoot, ph, &next.Header)
	for _, role := range roles.TopLevelRoles {
		nk := next.Roles[role]
		if nk == nil {
			nk = &roles.RoleKeys{}
		}
		s.Holds = append(s.Holds, fmt.Sprintf("%s: %s", role, z.threshold(nk.Threshold, nk.KeyIDs)))
		if prev == nil {
			continue
		}
		pk := prev.Roles[role]
		if pk == nil {
			pk = &roles.RoleKeys{}
		}
		if pk.Threshold != nk.Threshold || len(pk.KeyIDs) != len(nk.KeyIDs) {
			s.Changes = append(s.Changes, fmt.Sprintf("%s: threshold %d of %d → %d of %d", role, pk.Threshold, len(pk.KeyIDs), nk.Threshold, len(nk.KeyIDs)))
		}
		s.Changes = append(s.Changes, z.keyDiff(role, pk.KeyIDs, nk.KeyIDs)...)
	}
	if prev != nil {
		// The rotation rule: the old root's keys vouch for the new one.
		if pk, nk := prev.Roles[roles.TypeRoot], next.Roles[roles.TypeRoot]; pk != nil && nk != nil {
			s.Holds = append(s.Holds, fmt.Sprintf("to be trusted it needs %d of v%d's %d root keys and %d of its own %d",
				pk.Threshold, prev.Version, len(pk.KeyIDs), nk.Threshold, len(nk.KeyIDs)))
		}
	}
	return s
}

// maxListed is how many delegations, projects, files or revocations a
// summary lists one by one before it counts the rest.
const maxListed = 8

func (z summarizer) targets(name string, prev, next *roles.Targets) *Summary {
	var ph *roles.Header
	if prev != nil {
		ph = &prev.Header
	}
	s := newSummary(name, ph, &next.Header)
	projects := name == RoleClaimed || isBinName(name)
	// What a claimed split into bins delegates to is bins, not projects.
	noun := "projects"
	if name == RoleClaimed && isBinned(next) {
		noun = "bins"
	}
	var after []*roles.DelegatedRole
	if next.Delegations != nil {
		after = next.Delegations.Roles
		if sr := next.Delegations.SuccinctRoles; sr != nil {
			s.Holds = append(s.Holds, fmt.Sprintf("delegates %d hash bins %s-* to %s", 1<<sr.BitLength, shownName(sr.NamePrefix), z.threshold(sr.Threshold, sr.KeyIDs)))
		}
	}
	switch {
	case projects:
		s.Holds = append(s.Holds, fmt.Sprintf("%d %s in %s", len(after), noun, shownName(name)))
	case len(after) <= maxListed:
		for _, r := range after {
			s.Holds = append(s.Holds, fmt.Sprintf("delegates %s to %s", shownName(r.Name), z.threshold(r.Threshold, r.KeyIDs)))
		}
	default:
		s.Holds = append(s.Holds, fmt.Sprintf("delegates %d roles: %s", len(after), listFew(roleNames(after))))
	}
	if n := len(next.Targets); n > 0 {
		s.Holds = append(s.Holds, fmt.Sprintf("%d target files", n))
		paths := slices.Sorted(maps.Keys(next.Targets))
		for _, p := range paths[:min(n, maxListed)] {
			t := next.Targets[p]
			s.Holds = append(s.Holds, fmt.Sprintf("target %s, %d bytes, sha256 %s", untrusted.Line(p), t.Length, untrusted.Line(t.Hashes["sha256"])))
		}
		if n > maxListed {
			s.Holds = append(s.Holds, fmt.Sprintf("and %d more target files", n-maxListed))
		}
	}
	if prev == nil {
		if projects && len(after) > 0 {
			s.Holds = append(s.Holds, fmt.Sprintf("delegates to: %s", listFew(roleNames(after))))
		}
		if projects && next.Version == 1 {
			s.Projects = diffDelegations(nil, after)
		}
		return s
	}
	var before []*roles.DelegatedRole
	if prev.Delegations != nil {
		before = prev.Delegations.Roles
	}
	changes := diffDelegations(before, after)
	if projects {
		s.Projects = changes
	}
	var added, removed, rekeyed []string
	for _, c := range changes {
		rn := shownName(c.Project)
		switch c.Change {
		case ChangeAdded:
			added = append(added, c.Project)
			if !projects {
				s.Changes = append(s.Changes, fmt.Sprintf("newly delegates %s to %s", rn, z.threshold(c.Threshold, c.KeyIDs)))
			}
		case ChangeRekeyed:
			rekeyed = append(rekeyed, c.Project)
			if projects {
				continue
			}
			if c.ThresholdBefore != c.Threshold {
				s.Changes = append(s.Changes, fmt.Sprintf("%s: threshold %d → %d", rn, c.ThresholdBefore, c.Threshold))
			}
			s.Changes = append(s.Changes, z.keyDiff(rn, c.KeyIDsBefore, c.KeyIDs)...)
		case ChangeRemoved:
			removed = append(removed, c.Project)
			if !projects {
				s.Changes = append(s.Changes, fmt.Sprintf("no longer delegates %s", rn))
			}
		}
	}
	if projects {
		where := shownName(name)
		if len(added) > 0 {
			s.Changes = append(s.Changes, fmt.Sprintf("moves %d %s into %s: %s", len(added), noun, where, listFew(added)))
		}
		if len(removed) > 0 {
			s.Changes = append(s.Changes, fmt.Sprintf("takes %d %s out of %s: %s", len(removed), noun, where, listFew(removed)))
		}
		if len(rekeyed) > 0 {
			s.Changes = append(s.Changes, fmt.Sprintf("changes the keys of %d %s: %s", len(rekeyed), noun, listFew(rekeyed)))
		}
	}
	return s
}

func roleNames(rs []*roles.DelegatedRole) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

func (z summarizer) revocations(prev, next *roles.Revocations) *Summary {
	var ph *roles.Header
	n := 0
	if prev != nil {
		ph, n = &prev.Header, len(prev.Revoked)
	}
	s := newSummary(RoleRevocations, ph, &next.Header)
	s.Holds = append(s.Holds, fmt.Sprintf("%d keys revoked in all", len(next.Revoked)))
	// The list is append-only (a policy check): what is past the previous
	// version's entries is new.
	n = min(n, len(next.Revoked))
	added := next.Revoked[n:]
	lines := &s.Changes
	if prev == nil {
		lines = &s.Holds
	}
	for i, r := range added {
		if i == maxListed {
			*lines = append(*lines, fmt.Sprintf("and %d more revocations", len(added)-maxListed))
			break
		}
		*lines = append(*lines, fmt.Sprintf("revokes key %s, trusted for %s: %s", z.key(r.KeyID), shownName(r.Role), untrusted.Line(r.Reason)))
	}
	return s
}

// shownName renders a name from outside (a project, a delegated role, a
// key's holder or device) for review: escaped, and flagged when it is
// not plain printable ASCII (untrusted.CheckName), so that a look-alike
// ("requеsts" with a Cyrillic е) says what it is.
func shownName(n string) string {
	s := untrusted.Line(n)
	if r := untrusted.CheckName(n); !r.Plain() {
		s += " [" + r.String() + "]"
	}
	return s
}

// listFew lists names, escaped, the first few of them when there are many.
func listFew(items []string) string {
	shown := make([]string, min(len(items), 5))
	for i := range shown {
		shown[i] = shownName(items[i])
	}
	if len(items) > len(shown) {
		shown = append(shown, items[len(shown):]...) // counted, not shown
	}
	return roles.FirstFew(shown, ", ")
}

// summarizer is the room's: keys named by the plan's participants.
func (s *staging) summarizer() summarizer {
	return summarizer{names: s.plan.keyNames}
}

// keyNames names a participant's key: "alice, YubiKey 5 #12345678".
func (p *Plan) keyNames(id string) string {
	pt := p.participantByKeyID(id)
	switch {
	case pt == nil:
		return ""
	case pt.Device != "":
		return pt.Name + ", " + pt.Device
	}
	return pt.Name
}

// The staging rules' summaries, as the transcript records them.

func (s *staging) rootSummary(prev, next *roles.Root) []string {
	return s.summarizer().root(prev, next).Lines()
}

func (s *staging) targetsSummary(name string, prev, next *roles.Targets) []string {
	return s.summarizer().targets(name, prev, next).Lines()
}

func (s *staging) revocationsSummary(prev, next *roles.Revocations) []string {
	return s.summarizer().revocations(prev, next).Lines()
}

// The kinds of ProjectChange.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	ChangeRekeyed = "rekeyed"
)

// ProjectChange is one delegation a version of a targets role adds,
// removes or gives other keys or another threshold, against the role's
// previous version: for claimed (or its bin), a project moved in, taken
// out or re-keyed.
type ProjectChange struct {
	Project   string   `json:"project"`
	Change    string   `json:"change"` // ChangeAdded, ChangeRemoved, ChangeRekeyed
	Threshold int64    `json:"threshold,omitempty"`
	KeyIDs    []string `json:"keyids,omitempty"`
	// ThresholdBefore and KeyIDsBefore are what a re-keyed or removed
	// delegation had.
	ThresholdBefore int64    `json:"threshold_before,omitempty"`
	KeyIDsBefore    []string `json:"keyids_before,omitempty"`
}

// diffDelegations lists what after changes from before, in one pass over
// each (claimed holds 100,000 projects): the delegations added and
// re-keyed in after's order, then those removed in before's.
func diffDelegations(before, after []*roles.DelegatedRole) []ProjectChange {
	old := make(map[string]*roles.DelegatedRole, len(before))
	for _, b := range before {
		old[b.Name] = b
	}
	kept := make(map[string]bool, len(after))
	var out []ProjectChange
	for _, r := range after {
		kept[r.Name] = true
		b := old[r.Name]
		switch {
		case b == nil:
			out = append(out, ProjectChange{Project: r.Name, Change: ChangeAdded, Threshold: r.Threshold, KeyIDs: r.KeyIDs})
		case !slices.Equal(b.KeyIDs, r.KeyIDs) || b.Threshold != r.Threshold:
			out = append(out, ProjectChange{Project: r.Name, Change: ChangeRekeyed, Threshold: r.Threshold, KeyIDs: r.KeyIDs,
				ThresholdBefore: b.Threshold, KeyIDsBefore: b.KeyIDs})
		}
	}
	for _, b := range before {
		if !kept[b.Name] {
			out = append(out, ProjectChange{Project: b.Name, Change: ChangeRemoved, ThresholdBefore: b.Threshold, KeyIDsBefore: b.KeyIDs})
		}
	}
	return out
}

// String says the change in the review's words, keys by their keyids'
// first digits: "adds sampleproject: threshold 1 of 1: 3f1a2b3c4d5e6f70".
func (c ProjectChange) String() string {
	var z summarizer
	name := shownName(c.Project)
	switch c.Change {
	case ChangeAdded:
		return fmt.Sprintf("adds %s: %s", name, z.threshold(c.Threshold, c.KeyIDs))
	case ChangeRemoved:
		return fmt.Sprintf("removes %s (was %s)", name, z.threshold(c.ThresholdBefore, c.KeyIDsBefore))
	}
	return fmt.Sprintf("re-keys %s: %s (was %s)", name, z.threshold(c.Threshold, c.KeyIDs), z.threshold(c.ThresholdBefore, c.KeyIDsBefore))
}

// ProjectChanges lists every project a staged claimed role (or claimed
// bin) adds, removes or re-keys, against the trusted version (every
// project, for a new role); nil for any other role. The review's summary,
// which the transcript records, names the first few and counts them; this
// is the whole list, for faces that page it and for --json. It is the
// Projects of the role's Summary, which a signing request's review holds
// too.
func (s *State) ProjectChanges(role string) []ProjectChange {
	r := s.Role(role)
	if r == nil || r.Included || (role != RoleClaimed && !isBinName(role)) {
		return nil
	}
	// A state the engine took up from its fold cache reads the role's
	// bytes and the trusted repository only now, when they are needed.
	next, err := parseRole[*roles.Targets](r)
	if err == nil {
		_, err = s.repository()
	}
	// Claimed split into bins delegates its projects from the bins, whose
	// reviews list them: the projects it no longer lists are moved, not
	// removed. (A request's review says what its bytes say, bins and all.)
	if err != nil || (role == RoleClaimed && isBinned(next.Signed)) {
		return nil
	}
	prev, err := s.trustedTargets(role)
	if err != nil {
		return nil
	}
	return summarizer{}.targets(role, prev, next.Signed).Projects
}

// trustedTargets is the trusted version of claimed or one of its bins,
// or nil.
func (s *State) trustedTargets(role string) (*roles.Targets, error) {
	switch {
	case s.Repo == nil:
		return nil, nil
	case role == RoleClaimed:
		return s.Repo.Claimed.Signed, nil
	}
	m, err := s.Repo.Bin(role)
	if m == nil || err != nil {
		return nil, err
	}
	return m.Signed, nil
}

// ProjectLines says changes in the review's words: a line that counts
// them, then a line a change, the first page of them, then how many more
// there are ('ceremony status --json' lists every one).
func ProjectLines(changes []ProjectChange, page int) []string {
	return pageLines("projects changed, %d in all, each with its maintainers' keys:", changes, page,
		"'ceremony status --json' lists every one")
}

// ReviewProjectLines is how many project changes a text review lists;
// 'ceremony status --json' lists every one.
const ReviewProjectLines = 200

// ProjectReview returns the review's lines for the projects role adds,
// removes or re-keys (ProjectLines of ProjectChanges, the first
// ReviewProjectLines of them), nil when it changes none. It is worked out
// once per role and kept with the fold, so that a command that reads it
// again (status) costs nothing at any number of projects.
func (s *State) ProjectReview(role string) []string {
	r := s.Role(role)
	if r == nil {
		return nil
	}
	if r.projectReview == nil {
		r.projectReview = slices.Clip(append([]string{}, ProjectLines(s.ProjectChanges(role), ReviewProjectLines)...))
	}
	return r.projectReview
}

// ProjectLines says the request's Projects as the room's review says a
// staged role's (ProjectLines), the rest listed by 'ceremony request show
// --json'.
func (s *Summary) ProjectLines(page int) []string {
	return pageLines("projects changed, %d in all, each with its maintainers' keys:", s.Projects, page,
		"'ceremony request show --json REQUEST' lists every one")
}

// pageLines says items, a line each: a head that counts them (its %d),
// the first page of them, then how many more there are and where whole
// lists them. No items, no lines.
func pageLines[T fmt.Stringer](head string, items []T, page int, whole string) []string {
	if len(items) == 0 {
		return nil
	}
	out := []string{fmt.Sprintf(head, len(items))}
	for _, it := range items[:min(len(items), page)] {
		out = append(out, it.String())
	}
	if n := len(items) - page; n > 0 {
		out = append(out, fmt.Sprintf("and %d more: %s", n, whole))
	}
	return out
}
