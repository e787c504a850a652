package repoverify

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/roles"
)

// allocated returns how many bytes f allocated on the heap, in all.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileFiles: a file where metadata should be that is huge, not a
// file, or a pipe is refused before it is read, fast and in little
// memory: a 3 GB sparse timestamp.json once took 3.1 GB, a link to
// /dev/zero all of it, and a FIFO hung the walk.
func TestHostileFiles(t *testing.T) {
	cases := []struct {
		name   string
		file   string
		make   func(path string) error
		check  string
		reason string
		is     error // ErrBadInput or ErrFailed
	}{
		{"3 GB sparse timestamp", "timestamp.json", func(p string) error { return os.Truncate(p, 3<<30) },
			"timestamp.file", ReasonTooLarge, ErrBadInput},
		{"timestamp a link to /dev/zero", "timestamp.json", func(p string) error { os.Remove(p); return os.Symlink("/dev/zero", p) },
			"timestamp.file", ReasonNotRegular, ErrBadInput},
		{"timestamp a FIFO", "timestamp.json", func(p string) error { os.Remove(p); return syscall.Mkfifo(p, 0o644) },
			"timestamp.file", ReasonNotRegular, ErrBadInput},
		{"root v2 a link to /dev/zero", "2.root.json", func(p string) error { os.Remove(p); return os.Symlink("/dev/zero", p) },
			"root.chain", ReasonNotRegular, ErrBadInput},
		{"a role a directory", "1.alpha.json", func(p string) error { os.Remove(p); return os.Mkdir(p, 0o755) },
			"delegation.alpha.file", ReasonNotRegular, ErrBadInput},
		// Snapshot lists claimed's length: a longer file fails that check
		// unread, whatever the metadata limit.
		{"claimed 1 GB longer than listed", "1.claimed.json", func(p string) error { return os.Truncate(p, 1<<30) },
			"snapshot.meta.claimed.json.length", ReasonLengthMismatch, ErrFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, trusted := newFixture(t).publish()
			if err := c.make(filepath.Join(dir, c.file)); err != nil {
				t.Fatal(err)
			}
			var err error
			start := time.Now()
			alloc := allocated(func() { _, err = Verify(dir, trusted, ref) })
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if alloc > 32<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			var e *Error
			// The bad input a failed check is not: the exit codes' table
			// finds the first kind in the chain.
			notIs := ErrFailed
			if c.is == ErrFailed {
				notIs = boundedfile.ErrTooLarge
			}
			if !errors.As(err, &e) || e.Name != c.check || e.Reason != c.reason || !errors.Is(err, c.is) || errors.Is(err, notIs) {
				t.Fatalf("got %v, want check %s (%s)", err, c.check, c.reason)
			}
		})
	}
}

// TestMetadataLimit: Options.MaxMetadata is the limit of a file nothing
// lists a length for, and the message says how to raise it; the walk of
// recorded files keeps the same limit.
func TestMetadataLimit(t *testing.T) {
	dir, trusted := newFixture(t).publish()
	_, err := VerifyWith(dir, trusted, Options{At: ref, MaxMetadata: 100})
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonTooLarge ||
		!errors.Is(err, boundedfile.ErrTooLarge) || !strings.Contains(err.Error(), "--max-metadata-size") {
		t.Fatalf("metadata over a 100-byte limit: %v", err)
	}
	v, err := Load(dir, trusted, claimedWalk)
	if err != nil {
		t.Fatal(err)
	}
	opts := claimedWalk
	opts.MaxMetadata = 100
	if _, err := FromFiles(v.Files, trusted, opts); !errors.Is(err, boundedfile.ErrTooLarge) || !errors.Is(err, ErrBadInput) {
		t.Errorf("recorded files over the limit: %v", err)
	}
}

// rsaKey adds an RSA key to the fixture whose signatures have the given
// PSS salt length.
func (f *fixture) rsaKey(name string, salt int) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.t.Fatal(err)
	}
	k, err := roles.KeyFromPublic(priv.Public())
	if err != nil {
		f.t.Fatal(err)
	}
	f.keys[name] = &testKey{signer: priv, key: k, pssSalt: salt}
}

// TestPSSSaltByScope: a foreign repository whose project role is signed
// with an RSA-PSS salt of 20 bytes (python-tuf accepts it, go-tuf does
// not) verifies with a warning naming the key; --strict fails it; a
// ceremony refuses it, since the threshold does not hold for every
// client. The severities come from the one table.
func TestPSSSaltByScope(t *testing.T) {
	f := newFixture(t)
	f.rsaKey("rsa-beta", 20)
	dl := f.targets[roleClaimed].Delegations
	dl.Keys[f.id("rsa-beta")] = f.keys["rsa-beta"].key
	dl.Role("beta").KeyIDs = f.ids("rsa-beta")
	f.signers["beta"] = []string{"rsa-beta"}
	dir, trusted := f.publish()
	id := roles.ShortID(f.id("rsa-beta"))

	rep, err := Verify(dir, trusted, ref)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if len(rep.Warnings) != 1 {
		t.Fatalf("warnings: %+v", rep.Warnings)
	}
	w := rep.Warnings[0]
	if w.Name != roles.CheckSignaturesEveryClient || w.Role != "beta" || w.Severity != roles.Warning ||
		w.Reason != ReasonSomeClientsRefuse || !strings.Contains(w.Message, id) || !strings.Contains(w.Message, "threshold does not hold") {
		t.Errorf("warning: %+v", w)
	}
	if !rep.OK || len(rep.Failures) != 0 {
		t.Errorf("failures: %+v", rep.Failures)
	}

	rep, err = VerifyWith(dir, trusted, Options{At: ref, Scope: roles.ScopeVerify, Strict: true})
	var e *Error
	if !errors.As(err, &e) || e.Name != roles.CheckSignaturesEveryClient || !errors.Is(err, ErrFailed) || rep.OK ||
		!strings.Contains(err.Error(), "--strict") {
		t.Errorf("strict: %v", err)
	}

	_, err = VerifyWith(dir, trusted, Options{At: ref, Scope: roles.ScopeCeremony})
	if !errors.As(err, &e) || e.Name != roles.CheckSignaturesEveryClient || e.Severity != roles.Error || !errors.Is(err, ErrFailed) {
		t.Errorf("ceremony scope: %v", err)
	}

	// A threshold reached without the odd signature holds for every
	// client, and says so.
	f = newFixture(t)
	f.rsaKey("rsa-c3", 20)
	cd := f.targets[roles.TypeTargets].Delegations
	cd.Keys[f.id("rsa-c3")] = f.keys["rsa-c3"].key
	cd.Role(roleClaimed).KeyIDs = f.ids("c1", "c2", "rsa-c3")
	f.signers[roleClaimed] = []string{"c1", "c2", "rsa-c3"}
	dir, trusted = f.publish()
	rep, err = Verify(dir, trusted, ref)
	if err != nil || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Message, "holds without them") {
		t.Errorf("a threshold met without it: %v, %+v", err, rep.Warnings)
	}
}

// TestPSSSaltInRoot: the root chain counts by the same rules.
func TestPSSSaltInRoot(t *testing.T) {
	f := newFixture(t)
	f.rsaKey("rsa-root", 20)
	f.roots[2].AddKey(roles.TypeRoot, f.keys["rsa-root"].key)
	f.rootSigners[2] = append(f.rootSigners[2], "rsa-root")
	dir, trusted := f.publish()
	rep, err := Verify(dir, trusted, ref)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rep.Warnings, func(c Check) bool { return c.Name == roles.CheckSignaturesEveryClient && c.File == "3.root.json" })
	if i < 0 {
		t.Fatalf("no warning for root v3: %+v", rep.Warnings)
	}
	if _, err := VerifyWith(dir, trusted, Options{At: ref}); !errors.Is(err, ErrFailed) {
		t.Errorf("a ceremony takes a root signature some clients refuse: %v", err)
	}
}
