package roles

// Benchmarks at PyPI's scale: parse, canonicalise and verify a 3-of-5
// signed claimed role with 1,000 to 100,000 project delegations, three ways
// in one run: this package, go-tuf v2 (the Go reference), and a floor (read
// the bytes, one encoding/json scan, and the three signature checks over
// canonical bytes computed beforehand). Peak memory is the child process's
// maximum resident set, measured by running each way once in a process of
// its own, so that one way's garbage does not count against another.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	gotuf "github.com/theupdateframework/go-tuf/v2/metadata"
)

var benchSizes = []int{1000, 10000, 100000}

// benchRepo is a targets role delegating to a claimed role of n projects,
// both published as python-tuf publishes (sorted, one-space indent).
type benchRepo struct {
	dir                  string
	targetsPath, claimed string
	claimedSize          int64
	canonical            []byte // for the floor, computed outside the timing
	sigs                 []Signature
	keys                 map[string]*Key
}

var (
	benchRepos   = map[int]*benchRepo{}
	benchReposMu sync.Mutex
)

func getBenchRepo(b testing.TB, n int) *benchRepo {
	benchReposMu.Lock()
	defer benchReposMu.Unlock()
	if r := benchRepos[n]; r != nil {
		return r
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("ceremony-bench-%d-", n))
	if err != nil {
		b.Fatal(err)
	}
	r, err := writeBenchRepo(dir, n)
	if err != nil {
		b.Fatal(err)
	}
	benchRepos[n] = r
	return r
}

// writeBenchRepo makes the files: claimed is signed by 3 of its 5 keys
// (ed25519 and P-256 mixed), each project delegated to 1 or 2 maintainer
// keys of those two types.
func writeBenchRepo(dir string, n int) (*benchRepo, error) {
	exp := testExpires
	var signers []crypto.Signer
	for i := 0; i < 5; i++ {
		if i%2 == 0 {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			signers = append(signers, k)
		} else {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			signers = append(signers, k)
		}
	}
	tg := NewTargets(exp)
	tg.Delegations = &Delegations{Keys: map[string]*Key{}}
	claimedRole := &DelegatedRole{Name: "claimed", Threshold: 3, Terminating: true, Paths: []string{"*/*"}}
	var claimedKeys []*Key
	for _, s := range signers {
		k, err := KeyFromPublic(s.Public())
		if err != nil {
			return nil, err
		}
		claimedKeys = append(claimedKeys, k)
		tg.Delegations.Keys[k.ID()] = k
		claimedRole.KeyIDs = append(claimedRole.KeyIDs, k.ID())
	}
	tg.Delegations.Roles = []*DelegatedRole{claimedRole}

	cl := NewTargets(exp)
	cl.Delegations = &Delegations{Keys: make(map[string]*Key, n*3/2), Roles: make([]*DelegatedRole, 0, n)}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("project-%06d", i)
		r := &DelegatedRole{Name: name, Threshold: 1, Terminating: true, Paths: []string{name + "/*"}}
		for j := 0; j < 1+i%2; j++ {
			var pub crypto.PublicKey
			if (i+j)%2 == 0 {
				p, _, _ := ed25519.GenerateKey(rand.Reader)
				pub = p
			} else {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				pub = k.Public()
			}
			k, err := KeyFromPublic(pub)
			if err != nil {
				return nil, err
			}
			cl.Delegations.Keys[k.ID()] = k
			r.KeyIDs = append(r.KeyIDs, k.ID())
		}
		cl.Delegations.Roles = append(cl.Delegations.Roles, r)
	}
	cm := New(cl)
	msg := cm.CanonicalSigned()
	for _, i := range []int{0, 1, 2} {
		sig, err := Sign(signers[i], claimedKeys[i], msg)
		if err != nil {
			return nil, err
		}
		cm.AddSignature(sig)
	}
	r := &benchRepo{dir: dir, canonical: msg, sigs: cm.Signatures, keys: tg.Delegations.Keys}
	write := func(name string, v interface{ MarshalJSON() ([]byte, error) }) (string, int64, error) {
		compact, err := v.MarshalJSON()
		if err != nil {
			return "", 0, err
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, compact, "", " "); err != nil {
			return "", 0, err
		}
		p := filepath.Join(dir, name)
		return p, int64(pretty.Len()), os.WriteFile(p, pretty.Bytes(), 0o644)
	}
	var err error
	if r.targetsPath, _, err = write("targets.json", New(tg)); err != nil {
		return nil, err
	}
	if r.claimed, r.claimedSize, err = write("claimed.json", cm); err != nil {
		return nil, err
	}
	return r, nil
}

// The three ways, each from the files on disk to a verified claimed role.

func verifyOurs(targetsPath, claimedPath string) error {
	tb, err := os.ReadFile(targetsPath)
	if err != nil {
		return err
	}
	tm, err := Parse[*Targets](tb)
	if err != nil {
		return err
	}
	cb, err := os.ReadFile(claimedPath)
	if err != nil {
		return err
	}
	cm, err := Parse[*Targets](cb)
	if err != nil {
		return err
	}
	del, err := tm.Signed.Delegations.Delegation("claimed")
	if err != nil {
		return err
	}
	_, err = Verify(cm, del)
	return err
}

func verifyGoTUF(targetsPath, claimedPath string) error {
	tb, err := os.ReadFile(targetsPath)
	if err != nil {
		return err
	}
	tm, err := gotuf.Targets().FromBytes(tb)
	if err != nil {
		return err
	}
	cb, err := os.ReadFile(claimedPath)
	if err != nil {
		return err
	}
	cm, err := gotuf.Targets().FromBytes(cb)
	if err != nil {
		return err
	}
	return tm.VerifyDelegate("claimed", cm)
}

// floorVerify uses the standard library's verifiers directly, so the floor
// does not depend on this package's streaming code.
func floorVerify(k *Key, msg, sig []byte) error {
	pub, err := k.PublicKey()
	if err != nil {
		return err
	}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if !ed25519.Verify(p, msg, sig) {
			return ErrSignature
		}
	case *ecdsa.PublicKey:
		d := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(p, d[:], sig) {
			return ErrSignature
		}
	}
	return nil
}

func BenchmarkClaimed(b *testing.B) {
	for _, n := range benchSizes {
		r := getBenchRepo(b, n)
		ways := []struct {
			name string
			run  func() error
		}{
			{"ours", func() error { return verifyOurs(r.targetsPath, r.claimed) }},
			{"go-tuf", func() error { return verifyGoTUF(r.targetsPath, r.claimed) }},
			{"floor", func() error { return verifyFloorStd(r) }},
		}
		for _, w := range ways {
			b.Run(fmt.Sprintf("projects=%d/%s", n, w.name), func(b *testing.B) {
				b.SetBytes(r.claimedSize)
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := w.run(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				rss, err := childPeakRSS(w.name, r)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(rss)/1e6, "peak-MB")
				b.ReportMetric(float64(rss)/float64(r.claimedSize), "peak/file")
				b.ReportMetric(float64(r.claimedSize)/1e6, "file-MB")
			})
		}
	}
}

func verifyFloorStd(r *benchRepo) error {
	cb, err := os.ReadFile(r.claimed)
	if err != nil {
		return err
	}
	if !json.Valid(cb) {
		return fmt.Errorf("invalid JSON")
	}
	for _, s := range r.sigs {
		if err := floorVerify(r.keys[s.KeyID], r.canonical, s.Sig); err != nil {
			return err
		}
	}
	return nil
}

// childPeakRSS runs one way once in a child process (this test binary,
// told what to do through the environment) and returns its peak RSS in
// bytes.
func childPeakRSS(way string, r *benchRepo) (int64, error) {
	canon := filepath.Join(r.dir, "claimed.canonical")
	if err := os.WriteFile(canon, r.canonical, 0o644); err != nil {
		return 0, err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CEREMONY_BENCH_CHILD="+way, "CEREMONY_BENCH_DIR="+r.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("child %s: %v\n%s", way, err, out)
	}
	// The child reports its own high-water mark: rusage's maxrss is no use
	// here, because Go starts children with vfork and the child's figure
	// then includes the parent's memory.
	var kb int64
	if _, err := fmt.Sscanf(string(out), "VmHWM %d", &kb); err != nil {
		return 0, fmt.Errorf("child %s said %q", way, out)
	}
	return kb * 1024, nil
}

// vmHWM reads this process's peak resident set from /proc, in kB.
func vmHWM() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// benchChild is the child's side of childPeakRSS.
func benchChild(way, dir string) error {
	targets, claimed := filepath.Join(dir, "targets.json"), filepath.Join(dir, "claimed.json")
	switch way {
	case "ours":
		return verifyOurs(targets, claimed)
	case "go-tuf":
		return verifyGoTUF(targets, claimed)
	case "floor":
		// The canonical bytes and keys are loaded before the measured part,
		// as in the benchmark; they count towards the floor's peak, which
		// only makes the floor look worse, never ours better.
		tb, err := os.ReadFile(targets)
		if err != nil {
			return err
		}
		tm, err := Parse[*Targets](tb)
		if err != nil {
			return err
		}
		cb, err := os.ReadFile(claimed)
		if err != nil {
			return err
		}
		var env struct {
			Signatures []struct{ KeyID, Sig string }
		}
		if err := json.Unmarshal(cb, &env); err != nil {
			return err
		}
		cb = nil
		canon, err := os.ReadFile(filepath.Join(dir, "claimed.canonical"))
		if err != nil {
			return err
		}
		r := &benchRepo{claimed: claimed, canonical: canon, keys: tm.Signed.Delegations.Keys}
		for _, s := range env.Signatures {
			sig := make([]byte, len(s.Sig)/2)
			fmt.Sscanf(s.Sig, "%x", &sig)
			r.sigs = append(r.sigs, Signature{KeyID: s.KeyID, Sig: sig})
		}
		return verifyFloorStd(r)
	}
	return fmt.Errorf("unknown way %q", way)
}

func TestMain(m *testing.M) {
	if way := os.Getenv("CEREMONY_BENCH_CHILD"); way != "" {
		if err := benchChild(way, os.Getenv("CEREMONY_BENCH_DIR")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		kb, err := vmHWM()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("VmHWM %d\n", kb)
		os.Exit(0)
	}
	code := m.Run()
	for _, r := range benchRepos {
		os.RemoveAll(r.dir)
	}
	os.Exit(code)
}

// TestBenchWaysAgree keeps the benchmark honest: on a small claimed role
// all three ways accept the good file, and ours and go-tuf both refuse it
// after one project's keyid is altered.
func TestBenchWaysAgree(t *testing.T) {
	r := getBenchRepo(t, 50)
	if err := verifyOurs(r.targetsPath, r.claimed); err != nil {
		t.Fatalf("ours: %v", err)
	}
	if err := verifyGoTUF(r.targetsPath, r.claimed); err != nil {
		t.Fatalf("go-tuf: %v", err)
	}
	if err := verifyFloorStd(r); err != nil {
		t.Fatalf("floor: %v", err)
	}
	b, _ := os.ReadFile(r.claimed)
	bad := bytes.Replace(b, []byte(`"project-000007/*"`), []byte(`"project-000008/*"`), 1)
	p := filepath.Join(r.dir, "claimed-bad.json")
	os.WriteFile(p, bad, 0o644)
	if err := verifyOurs(r.targetsPath, p); err == nil {
		t.Error("ours accepted an altered claimed role")
	}
	if err := verifyGoTUF(r.targetsPath, p); err == nil {
		t.Error("go-tuf accepted an altered claimed role")
	}
}
