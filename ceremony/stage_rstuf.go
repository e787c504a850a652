package ceremony

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/rstuf"
)

// loadRootChain reads the roots N.root.json in dir that follow the pinned
// root, and verifies the chain: an RSTUF ceremony changes root alone, and
// RSTUF's worker signs every other role online. Expiry is not judged, as
// in trustedWalk.
func loadRootChain(dir string, trustedRoot []byte, maxMetadata int64) (*Repo, error) {
	pinned, err := roles.Parse[*roles.Root](trustedRoot)
	if err != nil {
		return nil, fmt.Errorf("%w: the pinned root: %w", ErrUntrusted, err)
	}
	lim := boundedfile.Metadata
	if maxMetadata > 0 {
		lim.Max = maxMetadata
	}
	files := map[string][]byte{}
	for v := pinned.Signed.Version + 1; ; v++ {
		name := fmt.Sprintf("%d.root.json", v)
		b, err := boundedfile.Read(filepath.Join(dir, name), lim)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
		}
		files[name] = b
	}
	return rootChainFromFiles(trustedRoot, files)
}

// rootChainFromFiles verifies the root chain files (N.root.json from the
// pinned root's version up, with no gap) hold.
func rootChainFromFiles(trustedRoot []byte, files map[string][]byte) (*Repo, error) {
	pinned, err := roles.Parse[*roles.Root](trustedRoot)
	if err != nil {
		return nil, fmt.Errorf("%w: the pinned root: %w", ErrUntrusted, err)
	}
	var chain []*roles.Metadata[*roles.Root]
	for v := pinned.Signed.Version + 1; len(chain) < len(files); v++ {
		name := fmt.Sprintf("%d.root.json", v)
		b, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("%w: the root chain has no %s, yet newer roots: give every root from the pinned one up", ErrUntrusted, name)
		}
		m, err := roles.Parse[*roles.Root](b)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrUntrusted, name, err)
		}
		chain = append(chain, m)
	}
	newest, _, err := roles.VerifyRootChain(pinned, chain, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	if err := rstufRootChecks("the trusted root", newest.Signed); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	v := &repoverify.Repository{Root: newest, Files: files, Delegated: map[string]*roles.Metadata[*roles.Targets]{}, Sums: map[string]repoverify.Sum{}}
	for name, b := range files {
		v.Sums[name] = repoverify.Sum{SHA256: sha256.Sum256(b), Size: len(b)}
	}
	return &Repo{Repository: v, FileOrder: slices.Sorted(maps.Keys(files))}, nil
}

// rstufRootChecks refuses a root RSTUF would not run on or would not keep
// as signed: timestamp, snapshot and targets must share one online key
// with threshold 1 (RSTUF's worker signs all three with it), which
// carries x-rstuf-online-key-uri; consistent snapshots on; and nothing
// RSTUF drops (rstuf.Kept).
func rstufRootChecks(what string, r *roles.Root) error {
	if !r.ConsistentSnapshot {
		return fmt.Errorf("%s v%d: consistent_snapshot is false; RSTUF publishes consistent snapshots only", what, r.Version)
	}
	var online string
	for _, role := range []string{roles.TypeTimestamp, roles.TypeSnapshot, roles.TypeTargets} {
		rk := r.Roles[role]
		if rk == nil || len(rk.KeyIDs) != 1 || rk.Threshold != 1 {
			return fmt.Errorf("%s v%d: %s must list exactly one key, the online key, with threshold 1 (RSTUF's worker signs it)", what, r.Version, role)
		}
		if online != "" && rk.KeyIDs[0] != online {
			return fmt.Errorf("%s v%d: %s lists key %s, timestamp lists %s: RSTUF's online roles share one key", what, r.Version, role, roles.ShortID(rk.KeyIDs[0]), roles.ShortID(online))
		}
		online = rk.KeyIDs[0]
	}
	if k := r.Keys[online]; k == nil || rstuf.OnlineKeyURI(k) == "" {
		return fmt.Errorf("%s v%d: the online key %s carries no %s: RSTUF's worker cannot find its signer", what, r.Version, roles.ShortID(online), rstuf.OnlineKeyURIField)
	}
	if err := rstuf.CheckKeyIDs(what, r); err != nil {
		return err
	}
	return rstuf.Kept(what, r)
}

// stageRSTUF stages an RSTUF plan: root alone. A bootstrap makes root v1
// (consistent snapshots; timestamp, snapshot and targets under the one
// online key, threshold 1); a rotation makes root N+1 from the trusted
// root, with the plan's key, threshold, expiry and online key changes.
func stageRSTUF(plan *Plan, repo *Repo) ([]*Staged, error) {
	s := &staging{plan: plan, repo: repo, names: map[string]string{}}
	var root *roles.Metadata[*roles.Root]
	var prev *roles.Root
	if repo == nil {
		r := roles.NewRoot(plan.expiry(plan.Root.ExpiresDays, defaultRootDays))
		for _, n := range plan.Root.Add {
			k, _ := s.key(n)
			r.AddKey(roles.TypeRoot, k)
		}
		r.Roles[roles.TypeRoot].Threshold = thresholdOr(plan.Root.Threshold, 1)
		root = roles.New(r)
	} else {
		prev = repo.Root.Signed
		m, err := clone(repo.Root)
		if err != nil {
			return nil, err
		}
		m.Signed.Version++
		if err := s.applyKeys(m.Signed, roles.TypeRoot, plan.Root); err != nil {
			return nil, err
		}
		m.Signed.Expires = plan.expiry(plan.Root.ExpiresDays, defaultRootDays)
		root = m
	}
	if online := plan.rstufOnlineKey(); online != nil {
		r := root.Signed
		for _, role := range []string{roles.TypeTimestamp, roles.TypeSnapshot, roles.TypeTargets} {
			if rk := r.Roles[role]; rk != nil {
				for _, id := range slices.Clone(rk.KeyIDs) {
					r.RemoveKey(role, id)
				}
			}
			r.AddKey(role, online)
			r.Roles[role].Threshold = 1
		}
	}
	if err := rstufRootChecks("the staged root", root.Signed); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlan, err)
	}
	pub, err := root.MarshalJSON()
	if err != nil {
		return nil, err
	}
	checks := rstufFindings(roles.CheckRoot(prev, root.Signed, s.policy()), root.Signed)
	return []*Staged{{Role: RoleRoot, Version: root.Signed.Version, Metadata: pub, Summary: s.rootSummary(prev, root.Signed), Checks: checks}}, nil
}

// policy is the policy the staged roles are checked against.
func (s *staging) policy() roles.Policy {
	pol := roles.Policy{Now: s.plan.ReferenceTime}
	if s.plan.MaxExpiryDays > 0 {
		pol.DefaultMaxExpiry = time.Duration(s.plan.MaxExpiryDays) * 24 * time.Hour
	}
	return pol
}

// rstufFindings judges two of root's policy checks by RSTUF's layout
// rather than PEP 480's. keys.offline-not-shared-with-online: targets is
// an online role there, so only a root key that signs for timestamp,
// snapshot or targets fails it. keys.valid: a key may be listed under
// the keyid RSTUF's CLI gave it, without its x-rstuf- members
// (rstuf.LegacyKeyID), since a root RSTUF made keeps its keyids through
// a rotation (clients match signatures by keyid); every key must still
// parse.
func rstufFindings(fs roles.Findings, r *roles.Root) roles.Findings {
	out := slices.Clone(fs)
	for i, f := range out {
		switch {
		case f.Passed:
		case f.Check == roles.CheckOfflineNotSharedOnline:
			online := r.Roles[roles.TypeTimestamp].KeyIDs[0] // one, by rstufRootChecks
			shared := slices.Contains(r.Roles[roles.TypeRoot].KeyIDs, online)
			out[i].Passed = !shared
			out[i].Message = "no root key signs for the online roles (timestamp, snapshot, targets and the bins share the online key)"
			if shared {
				out[i].Message = fmt.Sprintf("the online key %s is also a root key: give root keys of its own", roles.ShortID(online))
			}
		case f.Check == roles.CheckKeysValid:
			ok := rstuf.CheckKeyIDs("root", r) == nil
			for _, k := range r.Keys {
				if _, err := k.PublicKey(); err != nil {
					ok = false
				}
			}
			if ok {
				out[i].Passed = true
				out[i].Message = fmt.Sprintf("all %d keys parse; each is listed under its keyid, or the one RSTUF's CLI gave it (without its x-rstuf- members)", len(r.Keys))
			}
		}
	}
	return out
}

// verifyRSTUF is verifyStaged for an RSTUF plan: the staged root is all
// the ceremony makes. It must follow the trusted root (version N+1; the
// signatures are judged by the payload commands, which may send fewer
// than the thresholds), and when now is not zero not be expired by the
// machine's clock.
func (s *State) verifyRSTUF(now time.Time) error {
	r := s.Role(RoleRoot)
	if r == nil {
		return fmt.Errorf("%w: an RSTUF ceremony stages root", ErrState)
	}
	m, err := parseRole[*roles.Root](r)
	if err != nil {
		return err
	}
	repo, err := s.repository() // nil for a bootstrap
	if err != nil {
		return err
	}
	if repo != nil {
		if err := roles.CheckNotRolledBack(RoleRoot, repo.Root.Signed.Version, m.Signed.Version-1, true); err != nil || m.Signed.Version != repo.Root.Signed.Version+1 {
			return fmt.Errorf("%w: root v%d does not follow the trusted root v%d", repoverify.ErrFailed, m.Signed.Version, repo.Root.Signed.Version)
		}
	}
	if !now.IsZero() && m.Signed.IsExpired(now) {
		return verifyFailure(s.PublishDir, "as of the machine's clock "+now.Format(roles.TimeFormat), []string{fmt.Sprintf("root.expiry: root v%d expires %s", m.Signed.Version, m.Signed.Expires.Format(roles.TimeFormat))})
	}
	return nil
}
