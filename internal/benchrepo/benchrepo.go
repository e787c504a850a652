// Package benchrepo makes the synthetic repositories and plans the
// whole-command benchmark (scripts/bench.sh, `make bench`) runs the built
// binary on, at PyPI's scale: 1,000 to 600,000 projects.
//
// A repository is complete, as this tool publishes it after a bootstrap:
// root, targets, claimed split into hashed bins (layout.go), the
// revocation list, recently-claimed, unclaimed and its hash bins,
// snapshot and timestamp, all with consistent-snapshot names, and one
// delegated role per project listing a release or two, signed by the
// project's maintainer key. The admins' keys live on SoftHSM tokens
// (admins.go) and sign the offline roles through package hsm, as a
// ceremony signs them; maintainer keys are Ed25519 keys in memory, derived
// from the project's name so that every run makes the same keys.
//
// Beside each repository go two plans for a quarterly ceremony on it
// (plans.go): a root rotation, which does not touch claimed, and a claimed
// update, which does. Repositories are cached by size: Generate does
// nothing when the folder already holds one of this version.
//
// The package is for the benchmark only; no product package imports it.
package benchrepo

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/prefixbins"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Version changes whenever what Generate writes changes, so that cached
// repositories of an older version are made again.
const Version = "2"

// Validity of the roles, in days from the reference time: the tool's
// defaults for the offline roles (root and targets 365, claimed and
// revocations 90). The online roles get 60 days instead of the tool's 7
// (timestamp 1), so that a cached repository still verifies weeks later.
const (
	rootDays    = 365
	claimedDays = 90
	onlineDays  = 60
	projectDays = 365
)

// unclaimedBinBits is the tool's default number of unclaimed bins (16). It
// does not grow with the projects: unclaimed is online and empty here.
const unclaimedBinBits = 4

// Options says what to generate.
type Options struct {
	Projects int
	// Dir receives metadata/, plans/ and manifest.json.
	Dir    string
	Admins *Admins
	// ReferenceTime is what every expiry counts from; zero means now,
	// truncated to the hour.
	ReferenceTime time.Time
}

// Manifest describes a generated repository. Generate writes it last, as
// Dir/manifest.json, so that a repository cut short is made again.
type Manifest struct {
	Version  string `json:"version"`
	Projects int    `json:"projects"`
	// ClaimedBins is the number of claimed's name-prefix bins; the sizes
	// are of the files the offline keys sign and of snapshot, which
	// lists every targets-type file.
	ClaimedBins      int       `json:"claimed_bins"`
	ClaimedBytes     int64     `json:"claimed_bytes"`
	LargestBinBytes  int64     `json:"largest_bin_bytes"`
	SnapshotBytes    int64     `json:"snapshot_bytes"`
	UnclaimedBinBits int64     `json:"unclaimed_bin_bits"`
	ReferenceTime    time.Time `json:"reference_time"`
	Metadata         string    `json:"metadata"`     // the folder of published metadata
	TrustedRoot      string    `json:"trusted_root"` // 1.root.json, the pin
	Files            int       `json:"files"`
	Bytes            int64     `json:"bytes"`
	LargestFile      string    `json:"largest_file"`
	LargestBytes     int64     `json:"largest_bytes"`
	Seconds          float64   `json:"seconds"` // how long generating took
	// Update and Remove are the projects the claimed-update plan gives a
	// second maintainer key and takes out of claimed.
	Update []PlanProject `json:"update"`
	Remove []string      `json:"remove"`
}

// PlanProject is a project as a plan's projects file lists it.
type PlanProject struct {
	Name      string            `json:"name"`
	Threshold int64             `json:"threshold"`
	Keys      []json.RawMessage `json:"keys"`
}

// changedProjects is how many projects the claimed update changes and how
// many it removes: the same at every size, so that its cost at each size
// measures the tool's scaling, not the plan's size.
const changedProjects = 10

// ReadManifest returns the manifest of the repository in dir, if dir holds
// a complete one of this Version with the given number of projects.
func ReadManifest(dir string, projects int) (*Manifest, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, false
	}
	var m Manifest
	if json.Unmarshal(b, &m) != nil || m.Version != Version || m.Projects != projects {
		return nil, false
	}
	return &m, true
}

// Fresh reports whether a cached repository still has its online roles
// valid for long enough to be benchmarked (a week to spare).
func (m *Manifest) Fresh(now time.Time) bool {
	return now.Before(m.ReferenceTime.AddDate(0, 0, onlineDays-7))
}

// keySigner is a key with what signs for it.
type keySigner struct {
	key    *roles.Key
	signer crypto.Signer
}

// writer writes the metadata files and keeps count.
type writer struct {
	dir     string
	mu      sync.Mutex
	files   int
	bytes   int64
	largest string
	maxLen  int64
	sizes   map[string]int64 // of the files other than projects'
}

func (w *writer) write(name string, b []byte) error {
	if err := os.WriteFile(filepath.Join(w.dir, name), b, 0o644); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.files++
	w.bytes += int64(len(b))
	if int64(len(b)) > w.maxLen {
		w.largest, w.maxLen = name, int64(len(b))
	}
	if w.sizes == nil {
		w.sizes = map[string]int64{}
	}
	w.sizes[name] = int64(len(b))
	return nil
}

// Generate writes a repository of opts.Projects projects into opts.Dir,
// unless a complete, fresh one is there already, and returns its manifest.
// The plans are Plans' business.
func Generate(ctx context.Context, opts Options) (*Manifest, error) {
	if m, ok := ReadManifest(opts.Dir, opts.Projects); ok && m.Fresh(time.Now()) {
		return m, nil
	}
	if opts.Projects < 1 {
		return nil, fmt.Errorf("benchrepo: %d projects: give 1 or more", opts.Projects)
	}
	start := time.Now()
	ref := opts.ReferenceTime
	if ref.IsZero() {
		ref = time.Now()
	}
	ref = ref.UTC().Truncate(time.Hour)
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(dir, "manifest.json"))
	tmp := filepath.Join(dir, "metadata.tmp")
	final := filepath.Join(dir, "metadata")
	for _, d := range []string{tmp, final} {
		if err := os.RemoveAll(d); err != nil {
			return nil, err
		}
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, err
	}
	g := &gen{ctx: ctx, admins: opts.Admins, ref: ref, w: &writer{dir: tmp}}
	m := &Manifest{Version: Version, Projects: opts.Projects, UnclaimedBinBits: unclaimedBinBits,
		ReferenceTime: ref, Metadata: final, TrustedRoot: filepath.Join(final, "1.root.json")}
	if err := g.run(m); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, err
	}
	m.Files, m.Bytes, m.LargestFile, m.LargestBytes = g.w.files, g.w.bytes, g.w.largest, g.w.maxLen
	m.ClaimedBytes, m.SnapshotBytes = g.w.sizes["1.claimed.json"], g.w.sizes["1.snapshot.json"]
	for name, n := range g.w.sizes {
		if strings.HasPrefix(name, "1."+prefixbins.RolePrefix) || strings.HasPrefix(name, "1."+prefixbins.RoleExact) {
			m.ClaimedBins++
			m.LargestBinBytes = max(m.LargestBinBytes, n)
		}
	}
	m.Seconds = time.Since(start).Seconds()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return m, os.WriteFile(filepath.Join(dir, "manifest.json"), append(b, '\n'), 0o644)
}

// gen is one Generate run.
type gen struct {
	ctx    context.Context
	admins *Admins
	ref    time.Time
	w      *writer
	// listed are the targets-type files snapshot lists, by role name.
	listed []string
}

func (g *gen) days(n int) time.Time { return g.ref.AddDate(0, 0, n) }

// signAndWrite signs m's canonical bytes with each signer and writes the
// file, as published, under name.
func signAndWrite[R roles.Role](g *gen, name string, m *roles.Metadata[R], signers []keySigner) ([]byte, error) {
	canon := m.CanonicalSigned()
	for _, s := range signers {
		sig, err := roles.Sign(s.signer, s.key, canon)
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", name, err)
		}
		m.Signatures = append(m.Signatures, sig)
	}
	b, err := m.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return b, g.w.write(name, b)
}

func (g *gen) run(m *Manifest) error {
	open := func(names ...string) ([]keySigner, error) { return g.admins.signers(g.ctx, names) }
	keysOf := func(names []string) []*roles.Key {
		var out []*roles.Key
		for _, n := range names {
			out = append(out, g.admins.Keys[n].Key)
		}
		return out
	}
	online := g.admins.Keys["online"].Key

	ps, err := g.projects(m)
	if err != nil {
		return err
	}

	// Claimed, its bins and the revocation list, under claimed's keys
	// (two of three sign, as in a ceremony).
	claimedSigners, err := open(claimedKeys[:claimedThreshold]...)
	if err != nil {
		return err
	}
	defer closeAll(claimedSigners)
	top, bins := claimedLayout(ps, keysOf(claimedKeys), claimedThreshold)
	for _, name := range binNames(bins) {
		t := roles.NewTargets(g.days(claimedDays))
		t.Delegations = bins[name]
		if err := g.targets(name, t, claimedSigners); err != nil {
			return err
		}
	}
	cl := roles.NewTargets(g.days(claimedDays))
	cl.Delegations = top
	if err := g.targets("claimed", cl, claimedSigners); err != nil {
		return err
	}
	rev := roles.NewRevocations(g.days(claimedDays))
	for i := 0; i < 5; i++ {
		k := maintainerKey(fmt.Sprintf("revoked-%d", i))
		rev.Revoked = append(rev.Revoked, &roles.Revocation{KeyID: k.key.ID(), Key: k.key, Role: fmt.Sprintf("lost-laptop-%d", i),
			Reason: "the maintainer's laptop was lost; replaced by a new key", RevokedAt: g.ref.AddDate(0, 0, -30*(i+1))})
	}
	if _, err := signAndWrite(g, "1.revocations.json", roles.New(rev), claimedSigners); err != nil {
		return err
	}
	g.listed = append(g.listed, "revocations")

	// Targets delegates to claimed, recently-claimed and the unclaimed
	// bins, in PEP 480's order of trust, as a bootstrap stages it.
	tg := roles.NewTargets(g.days(rootDays))
	dl := &roles.Delegations{Keys: map[string]*roles.Key{online.ID(): online}}
	claimed := &roles.DelegatedRole{Name: "claimed", Threshold: claimedThreshold, Paths: []string{"*/*"}}
	for _, k := range keysOf(claimedKeys) {
		dl.Keys[k.ID()] = k
		claimed.KeyIDs = append(claimed.KeyIDs, k.ID())
	}
	dl.Roles = []*roles.DelegatedRole{
		claimed,
		{Name: "recently-claimed", KeyIDs: []string{online.ID()}, Threshold: 1, Paths: []string{"*/*"}},
		{Name: "unclaimed", KeyIDs: []string{online.ID()}, Threshold: 1, Paths: []string{"*/*"}, Terminating: true},
	}
	tg.Delegations = dl
	targetsSigners, err := open(targetsKeys[:targetsThreshold]...)
	if err != nil {
		return err
	}
	defer closeAll(targetsSigners)
	if err := g.targets("targets", tg, targetsSigners); err != nil {
		return err
	}

	root := roles.NewRoot(g.days(rootDays))
	for _, k := range keysOf(rootKeys) {
		root.AddKey(roles.TypeRoot, k)
	}
	root.Roles[roles.TypeRoot].Threshold = rootThreshold
	for _, k := range keysOf(targetsKeys) {
		root.AddKey(roles.TypeTargets, k)
	}
	root.Roles[roles.TypeTargets].Threshold = targetsThreshold
	root.AddKey(roles.TypeSnapshot, online)
	root.AddKey(roles.TypeTimestamp, online)
	rootSigners, err := open(rootKeys[:rootThreshold]...)
	if err != nil {
		return err
	}
	defer closeAll(rootSigners)
	rb, err := signAndWrite(g, "1.root.json", roles.New(root), rootSigners)
	if err != nil {
		return err
	}
	if err := g.w.write("root.json", rb); err != nil {
		return err
	}

	// The online roles, signed by the online key.
	onlineSigners, err := open("online")
	if err != nil {
		return err
	}
	defer closeAll(onlineSigners)
	if err := g.targets("recently-claimed", roles.NewTargets(g.days(onlineDays)), onlineSigners); err != nil {
		return err
	}
	un := roles.NewTargets(g.days(onlineDays))
	sr := &roles.SuccinctRoles{KeyIDs: []string{online.ID()}, Threshold: 1, BitLength: unclaimedBinBits, NamePrefix: "unclaimed"}
	un.Delegations = &roles.Delegations{Keys: map[string]*roles.Key{online.ID(): online}, SuccinctRoles: sr}
	if err := g.targets("unclaimed", un, onlineSigners); err != nil {
		return err
	}
	for i := 0; i < sr.BinCount(); i++ {
		if err := g.targets(sr.BinName(i), roles.NewTargets(g.days(onlineDays)), onlineSigners); err != nil {
			return err
		}
	}
	snap := roles.NewSnapshot(g.days(onlineDays))
	for _, name := range g.listed {
		snap.Meta[name+".json"] = &roles.MetaFile{Version: 1}
	}
	sb, err := signAndWrite(g, "1.snapshot.json", roles.New(snap), onlineSigners)
	if err != nil {
		return err
	}
	ts := roles.NewTimestamp(g.days(onlineDays))
	ts.Meta["snapshot.json"] = roles.MetaFileFor(1, sb)
	_, err = signAndWrite(g, "timestamp.json", roles.New(ts), onlineSigners)
	return err
}

// targets signs and writes a targets-type role at version 1 and lists it
// for snapshot.
func (g *gen) targets(name string, t *roles.Targets, signers []keySigner) error {
	if _, err := signAndWrite(g, "1."+name+".json", roles.New(t), signers); err != nil {
		return err
	}
	g.listed = append(g.listed, name)
	return nil
}

// maintainer is a maintainer's key in memory.
type maintainer struct {
	key  *roles.Key
	priv ed25519.PrivateKey
}

// maintainerKey derives a maintainer key from a seed name, so that every
// run makes the same key for the same project.
func maintainerKey(seed string) maintainer {
	s := sha256.Sum256([]byte("benchrepo maintainer key " + seed))
	priv := ed25519.NewKeyFromSeed(s[:])
	k, _ := roles.KeyFromPublic(priv.Public()) // an Ed25519 key always converts
	return maintainer{key: k, priv: priv}
}

// projects writes every project's metadata, on every core, and returns
// their delegations. Every tenth project has a second maintainer key
// (threshold 1); every other one lists a wheel beside its sdist.
func (g *gen) projects(m *Manifest) ([]project, error) {
	all := names(m.Projects)
	ps := make([]project, len(all))
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= len(all) {
					return
				}
				p, err := g.project(j, all[j])
				if err != nil {
					errs <- err
					return
				}
				ps[j] = p
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	// The claimed update's projects, spread over the names (and so over
	// the bins): every other one gets a second key, the rest go.
	if len(ps) < 2*changedProjects {
		return nil, fmt.Errorf("benchrepo: %d projects: the claimed update needs at least %d", len(ps), 2*changedProjects)
	}
	step := len(ps) / (2 * changedProjects)
	for j := range 2 * changedProjects {
		p := ps[j*step]
		if j%2 == 1 {
			m.Remove = append(m.Remove, p.role.Name)
			continue
		}
		pp := PlanProject{Name: p.role.Name, Threshold: 1}
		for _, k := range append(slices.Clip(p.keys), maintainerKey("new "+p.role.Name).key) {
			kb, err := k.MarshalJSON()
			if err != nil {
				return nil, err
			}
			pp.Keys = append(pp.Keys, kb)
		}
		m.Update = append(m.Update, pp)
	}
	for _, p := range ps {
		g.listed = append(g.listed, p.role.Name)
	}
	return ps, nil
}

// delegationOf is the i-th project's delegation in claimed, and its
// maintainers: one key, two for every tenth project.
func delegationOf(i int, name string) (project, []maintainer) {
	mk := []maintainer{maintainerKey(name)}
	if i%10 == 9 {
		mk = append(mk, maintainerKey(name+" second"))
	}
	p := project{role: &roles.DelegatedRole{Name: name, Threshold: 1, Terminating: true, Paths: []string{name + "/*"}}}
	for _, k := range mk {
		p.keys = append(p.keys, k.key)
		p.role.KeyIDs = append(p.role.KeyIDs, k.key.ID())
	}
	return p, mk
}

func (g *gen) project(i int, name string) (project, error) {
	p, mk := delegationOf(i, name)
	t := roles.NewTargets(g.days(projectDays))
	files := []string{fmt.Sprintf("%s-%d.%d.%d.tar.gz", name, i%7, i%13, i%5)}
	if i%2 == 1 {
		files = append(files, fmt.Sprintf("%s-%d.%d.%d-py3-none-any.whl", name, i%7, i%13, i%5))
	}
	for j, f := range files {
		path := name + "/" + f
		sum := sha256.Sum256([]byte(path))
		t.Targets[path] = &roles.TargetFile{Length: int64(1000 + (i*7919+j*104729)%5_000_000), Hashes: map[string]string{"sha256": hex.EncodeToString(sum[:])}}
	}
	_, err := signAndWrite(g, "1."+name+".json", roles.New(t), []keySigner{{key: mk[0].key, signer: mk[0].priv}})
	return p, err
}
