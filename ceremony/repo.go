package ceremony

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/ceremony-tuf/ceremony/roles"
)

// Repo is the trusted state a ceremony starts from: the newest verified
// metadata of each role it may change.
type Repo struct {
	Root    *roles.Metadata[*roles.Root]
	Targets *roles.Metadata[*roles.Targets]
	Claimed *roles.Metadata[*roles.Targets]
	// ClaimedBins are claimed's hashed bins, by name, when claimed is
	// split (see bins.go); empty otherwise.
	ClaimedBins map[string]*roles.Metadata[*roles.Targets]
	Revocations *roles.Metadata[*roles.Revocations]
	Snapshot    *roles.Metadata[*roles.Snapshot]
	Timestamp   *roles.Metadata[*roles.Timestamp]

	// Files are the bytes each was read from, by file name, in load order:
	// the transcript keeps them so a replay needs no repository.
	Files     map[string][]byte
	FileOrder []string
}

// ErrUntrusted is wrapped when the starting repository does not verify.
var ErrUntrusted = errors.New("trusted state does not verify")

// LoadRepo reads and verifies the repository in dir from the pinned root
// trustedRoot: the root chain N.root.json up from the pinned
// version, timestamp.json, the snapshot it names, and targets, claimed and
// revocations at the versions snapshot lists, each under its delegator's
// keys and threshold. Expiry is not checked: an offline ceremony must be
// able to start from expired metadata, since refreshing it is one of its
// jobs (the staged roles' own expiry is a policy check).
func LoadRepo(dir string, trustedRoot []byte) (*Repo, error) {
	files := map[string][]byte{}
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			files[name] = b
		}
		return b, err
	}
	return repoFrom(trustedRoot, read, files)
}

// RepoFromFiles rebuilds a Repo from files a transcript recorded. Nothing
// is read from disk; the checks are LoadRepo's.
func RepoFromFiles(trustedRoot []byte, files map[string][]byte) (*Repo, error) {
	read := func(name string) ([]byte, error) {
		b, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
		}
		return b, nil
	}
	return repoFrom(trustedRoot, read, files)
}

func repoFrom(trustedRoot []byte, read func(string) ([]byte, error), files map[string][]byte) (*Repo, error) {
	r, err := loadRepo(trustedRoot, read)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	r.Files = files
	for n := range files {
		r.FileOrder = append(r.FileOrder, n)
	}
	sort.Strings(r.FileOrder)
	return r, nil
}

func loadRepo(trustedRoot []byte, read func(string) ([]byte, error)) (*Repo, error) {
	root, err := roles.Parse[*roles.Root](trustedRoot)
	if err != nil {
		return nil, fmt.Errorf("pinned root: %w", err)
	}
	if _, err := roles.VerifySelfSigned(root); err != nil {
		return nil, fmt.Errorf("pinned root: %w", err)
	}
	var chain []*roles.Metadata[*roles.Root]
	for v := root.Signed.Version + 1; ; v++ {
		b, err := read(fmt.Sprintf("%d.root.json", v))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, err
		}
		m, err := roles.Parse[*roles.Root](b)
		if err != nil {
			return nil, fmt.Errorf("%d.root.json: %w", v, err)
		}
		chain = append(chain, m)
	}
	for _, next := range chain {
		if _, err := roles.VerifyRootUpdate(root, next); err != nil {
			return nil, err
		}
		root = next
	}
	r := &Repo{Root: root}

	tb, err := read("timestamp.json")
	if err != nil {
		return nil, err
	}
	if r.Timestamp, err = parseVerified[*roles.Timestamp]("timestamp.json", tb, root.Signed.Delegation, roles.TypeTimestamp); err != nil {
		return nil, err
	}
	snapMeta := r.Timestamp.Signed.Meta["snapshot.json"]
	snapName := consistentName(root.Signed, "snapshot", snapMeta.Version)
	sb, err := read(snapName)
	if err != nil {
		return nil, err
	}
	if err := snapMeta.Check(sb); err != nil {
		return nil, fmt.Errorf("%s: %v", snapName, err)
	}
	if r.Snapshot, err = parseVerified[*roles.Snapshot](snapName, sb, root.Signed.Delegation, roles.TypeSnapshot); err != nil {
		return nil, err
	}
	if r.Targets, err = loadListed[*roles.Targets](r, read, RoleTargets, root.Signed.Delegation); err != nil {
		return nil, err
	}
	claimedDel := func(role string) (roles.Delegation, error) { return r.Targets.Signed.Delegations.Delegation(role) }
	if r.Claimed, err = loadListed[*roles.Targets](r, read, RoleClaimed, claimedDel); err != nil {
		return nil, err
	}
	r.ClaimedBins = map[string]*roles.Metadata[*roles.Targets]{}
	if isBinned(r.Claimed.Signed) {
		binDel := func(role string) (roles.Delegation, error) { return r.Claimed.Signed.Delegations.Delegation(role) }
		for _, b := range r.Claimed.Signed.Delegations.Roles {
			m, err := loadListed[*roles.Targets](r, read, b.Name, binDel)
			if err != nil {
				return nil, err
			}
			r.ClaimedBins[b.Name] = m
		}
	}
	// The revocation list is signed under targets' delegation to claimed.
	revDel := func(string) (roles.Delegation, error) {
		d, err := claimedDel(RoleClaimed)
		d.Role = RoleRevocations
		return d, err
	}
	if r.Revocations, err = loadListed[*roles.Revocations](r, read, RoleRevocations, revDel); err != nil {
		return nil, err
	}
	return r, nil
}

// loadListed loads a role at the version snapshot lists for it.
func loadListed[R roles.Role](r *Repo, read func(string) ([]byte, error), role string, del func(string) (roles.Delegation, error)) (*roles.Metadata[R], error) {
	mf := r.Snapshot.Signed.Meta[role+".json"]
	if mf == nil {
		return nil, fmt.Errorf("snapshot v%d does not list %s.json", r.Snapshot.Signed.Version, role)
	}
	name := consistentName(r.Root.Signed, role, mf.Version)
	b, err := read(name)
	if err != nil {
		return nil, err
	}
	if err := mf.Check(b); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	m, err := parseVerified[R](name, b, del, role)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func parseVerified[R roles.Role](name string, b []byte, del func(string) (roles.Delegation, error), role string) (*roles.Metadata[R], error) {
	m, err := roles.Parse[R](b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d, err := del(role)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := roles.Verify(m, d); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// consistentName is the file a role's version is published under.
func consistentName(root *roles.Root, role string, version int64) string {
	if root.ConsistentSnapshot || role == RoleRoot {
		return fmt.Sprintf("%d.%s.json", version, role)
	}
	return role + ".json"
}
