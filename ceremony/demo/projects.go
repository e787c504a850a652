package demo

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/roles"
)

// release is one file of a project, as the demo publishes it.
type release struct {
	project string
	file    string // the file name under targets/<project>/
}

// path is the target path clients ask for: "<project>/<file>".
func (r release) path() string { return r.project + "/" + r.file }

// content is the release's bytes: a line of text, since the demo has no
// real packages to publish.
func (r release) content() []byte {
	return []byte(fmt.Sprintf("%s: a file published by `ceremony demo` as project %s's release, signed for by its maintainer's key through claimed.\n", r.file, r.project))
}

// projectDays is how long the demo's project metadata is valid.
const projectDays = 365

// writeTarget writes a release's bytes under targets/<project>/, by its
// name and by the hash-prefixed names a client of a consistent-snapshot
// repository downloads ("<sha256>.<name>", "<sha512>.<name>": one per hash
// metadata lists, as the TUF specification asks), and returns what
// targets metadata says of it.
func (d *run) writeTarget(r release) (*roles.TargetFile, error) {
	b := r.content()
	dir := filepath.Join(d.dirs.targets, r.project)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s256 := sha256.Sum256(b)
	s512 := sha512.Sum512(b)
	for _, name := range []string{r.file, hex.EncodeToString(s256[:]) + "." + r.file, hex.EncodeToString(s512[:]) + "." + r.file} {
		if err := ceremony.WriteFileAtomic(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	return &roles.TargetFile{Length: int64(len(b)), Hashes: map[string]string{
		"sha256": hex.EncodeToString(s256[:]),
		"sha512": hex.EncodeToString(s512[:]),
	}}, nil
}

// projectMetadata makes version v of a project's delegated targets
// metadata listing its releases, signed by the maintainer key named
// signer: what a maintainer hands PyPI, and what the ceremony includes so
// that it is published and listed in snapshot.
func (d *run) projectMetadata(ctx context.Context, project string, v int64, signer string, releases []release) ([]byte, error) {
	t := roles.NewTargets(d.ref.AddDate(0, 0, projectDays))
	t.Version = v
	for _, r := range releases {
		tf, err := d.writeTarget(r)
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", r.path(), err)
		}
		t.Targets[r.path()] = tf
	}
	m := roles.New(t)
	s, h, err := d.open(ctx, signer)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sig, err := roles.Sign(s, h.key, m.CanonicalSigned())
	if err != nil {
		return nil, fmt.Errorf("%s signs %s v%d: %w", signer, project, v, err)
	}
	m.AddSignature(sig)
	return m.MarshalJSON()
}

// includeProjects makes each project's metadata and includes it in the
// ceremony, so that it is published with it and snapshot lists it.
func (d *run) includeProjects(ctx context.Context, e *ceremony.Engine, projects []projectRelease, c *Ceremony) error {
	for _, p := range projects {
		b, err := d.projectMetadata(ctx, p.name, p.version, p.signer, p.releases)
		if err != nil {
			return err
		}
		if err := e.Include(p.name, b); err != nil {
			return fmt.Errorf("include %s's metadata in ceremony %s: %w", p.name, c.ID, err)
		}
		for _, r := range p.releases {
			c.Targets = append(c.Targets, r.path())
		}
		d.logf("  included %s v%d, signed by its maintainer's key %s (%s)\n", p.name, p.version, p.signer, roles.ShortID(d.holders[p.signer].key.ID()))
	}
	return nil
}

// projectRelease is a project's metadata version as a ceremony includes it.
type projectRelease struct {
	name     string
	version  int64
	signer   string
	releases []release
}
