package benchrepo

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/ceremony-tuf/ceremony/roles"
)

// Two yardsticks for `ceremony verify` of a whole repository, both
// walking the same files: the floor (issue 13's definition) and go-tuf
// v2, the Go reference implementation.

// Floor is verify's unavoidable work, done as plainly as the standard
// library allows: read every file, one encoding/json scan of it, and
// each signature checked with crypto/ed25519 (or ecdsa, rsa) over
// canonical bytes computed beforehand, by a worker per core.
type Floor struct {
	files []floorFile
}

type floorFile struct {
	path      string
	canonical []byte
	sigs      []floorSig
}

type floorSig struct {
	key *roles.Key
	pub crypto.PublicKey
	sig []byte
}

// Files is the number of files a Run reads.
func (f *Floor) Files() int { return len(f.files) }

// PrepareFloor reads the repository in dir once, untimed, as verify would
// walk it (the root chain from 1.root.json, root.json, timestamp, the
// snapshot it names, every role snapshot lists), and computes each file's
// canonical signed bytes and the keys of its signatures.
func PrepareFloor(dir string) (*Floor, error) {
	type parsed struct {
		name      string
		canonical []byte
		sigs      []roles.Signature
	}
	var files []parsed
	keys := map[string]*roles.Key{}
	addKeys := func(m map[string]*roles.Key) {
		for id, k := range m {
			keys[id] = k
		}
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	for _, name := range rootFiles(dir) {
		b, err := read(name)
		if err != nil {
			return nil, err
		}
		m, err := roles.Parse[*roles.Root](b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		addKeys(m.Signed.Keys)
		files = append(files, parsed{name, m.CanonicalSigned(), m.Signatures})
	}
	tb, err := read("timestamp.json")
	if err != nil {
		return nil, err
	}
	ts, err := roles.Parse[*roles.Timestamp](tb)
	if err != nil {
		return nil, err
	}
	files = append(files, parsed{"timestamp.json", ts.CanonicalSigned(), ts.Signatures})
	snapName := fmt.Sprintf("%d.snapshot.json", ts.Signed.Meta["snapshot.json"].Version)
	sb, err := read(snapName)
	if err != nil {
		return nil, err
	}
	snap, err := roles.Parse[*roles.Snapshot](sb)
	if err != nil {
		return nil, err
	}
	files = append(files, parsed{snapName, snap.CanonicalSigned(), snap.Signatures})
	for meta, mf := range snap.Signed.Meta {
		role := strings.TrimSuffix(meta, ".json")
		name := fmt.Sprintf("%d.%s", mf.Version, meta)
		b, err := read(name)
		if err != nil {
			return nil, err
		}
		if role == roles.TypeRevocations {
			m, err := roles.Parse[*roles.Revocations](b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			files = append(files, parsed{name, m.CanonicalSigned(), m.Signatures})
			continue
		}
		m, err := roles.Parse[*roles.Targets](b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if m.Signed.Delegations != nil {
			addKeys(m.Signed.Delegations.Keys)
		}
		files = append(files, parsed{name, m.CanonicalSigned(), m.Signatures})
	}
	f := &Floor{}
	for _, p := range files {
		ff := floorFile{path: filepath.Join(dir, p.name), canonical: p.canonical}
		for _, s := range p.sigs {
			k := keys[s.KeyID]
			if k == nil {
				return nil, fmt.Errorf("%s: signed by key %s, which no role delegates to", p.name, s.KeyID)
			}
			pub, err := k.PublicKey()
			if err != nil {
				return nil, err
			}
			ff.sigs = append(ff.sigs, floorSig{key: k, pub: pub, sig: s.Sig})
		}
		f.files = append(f.files, ff)
	}
	return f, nil
}

// rootFiles are the root files verify reads: N.root.json from version 1
// up to the first missing one, and root.json when it is there.
func rootFiles(dir string) []string {
	var out []string
	for v := 1; ; v++ {
		name := fmt.Sprintf("%d.root.json", v)
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			break
		}
		out = append(out, name)
	}
	if _, err := os.Stat(filepath.Join(dir, "root.json")); err == nil {
		out = append(out, "root.json")
	}
	return out
}

// Run does the timed part once: every file read, scanned and its
// signatures checked, on every core.
func (f *Floor) Run() error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(f.files) {
					return
				}
				if err := f.files[i].check(); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return *err
	}
	return nil
}

func (ff *floorFile) check() error {
	b, err := os.ReadFile(ff.path)
	if err != nil {
		return err
	}
	if !json.Valid(b) {
		return fmt.Errorf("%s is not JSON", ff.path)
	}
	for _, s := range ff.sigs {
		if !s.verify(ff.canonical) {
			return fmt.Errorf("%s: the signature of key %s does not verify", ff.path, s.key.ID())
		}
	}
	return nil
}

func (s *floorSig) verify(msg []byte) bool {
	switch pub := s.pub.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(pub, msg, s.sig)
	case *ecdsa.PublicKey:
		h := crypto.SHA256
		if s.key.Scheme == roles.SchemeECDSAP384 {
			h = crypto.SHA384
		}
		d := h.New()
		d.Write(msg)
		return ecdsa.VerifyASN1(pub, d.Sum(nil), s.sig)
	case *rsa.PublicKey:
		d := crypto.SHA256.New()
		d.Write(msg)
		return rsa.VerifyPSS(pub, crypto.SHA256, d.Sum(nil), s.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
	return false
}

// GoTUFWalk verifies the repository in dir from trustedRoot with go-tuf
// v2's trustedmetadata, as its updater would on a first refresh that then
// looks up every target: the root chain, timestamp, snapshot, targets and,
// breadth first, every delegated role (listed and succinct), each read
// at the version snapshot lists. go-tuf does not know the revocation
// list, so it is the one file of the repository this walk leaves out. It
// returns the number of roles loaded.
func GoTUFWalk(dir string, trustedRoot []byte) (int, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	tm, err := trustedmetadata.New(trustedRoot)
	if err != nil {
		return 0, fmt.Errorf("go-tuf: trusted root: %w", err)
	}
	for v := tm.Root.Signed.Version + 1; ; v++ {
		b, err := read(fmt.Sprintf("%d.root.json", v))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return 0, err
		}
		if _, err := tm.UpdateRoot(b); err != nil {
			return 0, fmt.Errorf("go-tuf: root v%d: %w", v, err)
		}
	}
	b, err := read("timestamp.json")
	if err != nil {
		return 0, err
	}
	if _, err := tm.UpdateTimestamp(b); err != nil {
		return 0, fmt.Errorf("go-tuf: timestamp: %w", err)
	}
	if b, err = read(fmt.Sprintf("%d.snapshot.json", tm.Timestamp.Signed.Meta["snapshot.json"].Version)); err != nil {
		return 0, err
	}
	if _, err := tm.UpdateSnapshot(b, false); err != nil {
		return 0, fmt.Errorf("go-tuf: snapshot: %w", err)
	}
	meta := tm.Snapshot.Signed.Meta
	file := func(role string) (string, error) {
		mf := meta[role+".json"]
		if mf == nil {
			return "", fmt.Errorf("go-tuf walk: snapshot does not list %s", role)
		}
		return fmt.Sprintf("%d.%s.json", mf.Version, url.PathEscape(role)), nil
	}
	name, err := file("targets")
	if err != nil {
		return 0, err
	}
	if b, err = read(name); err != nil {
		return 0, err
	}
	if _, err := tm.UpdateTargets(b); err != nil {
		return 0, fmt.Errorf("go-tuf: targets: %w", err)
	}
	loaded := 1
	for queue := []string{"targets"}; len(queue) > 0; queue = queue[1:] {
		parent := queue[0]
		dl := tm.Targets[parent].Signed.Delegations
		if dl == nil {
			continue
		}
		var children []string
		for _, r := range dl.Roles {
			children = append(children, r.Name)
		}
		if dl.SuccinctRoles != nil {
			children = append(children, dl.SuccinctRoles.GetRoles()...)
		}
		for _, child := range children {
			name, err := file(child)
			if err != nil {
				return loaded, err
			}
			if b, err = read(name); err != nil {
				return loaded, err
			}
			if _, err := tm.UpdateDelegatedTargets(b, child, parent); err != nil {
				return loaded, fmt.Errorf("go-tuf: %s (delegated by %s): %w", child, parent, err)
			}
			loaded++
			queue = append(queue, child)
		}
	}
	return loaded, nil
}
