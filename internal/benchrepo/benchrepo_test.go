package benchrepo

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
)

// TestGenerateSmall makes a repository of 100 projects on fresh SoftHSM
// tokens and has go-tuf v2 load every role of it; the floor's walk reads
// and checks the same files, and both plans load as the tool loads them.
func TestGenerateSmall(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("SOFTHSM2_CONF", "") // OpenAdmins points this process at its tokens; restore after
	t.Setenv("CEREMONY_PKCS11_MODULE", "")
	a, err := OpenAdmins(ctx, filepath.Join(dir, "hsm"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Generate(ctx, Options{Projects: 100, Dir: filepath.Join(dir, "repo"), Admins: a})
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(m.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	n, err := GoTUFWalk(m.Metadata, root)
	if err != nil {
		t.Fatal(err)
	}
	// targets, claimed and its bin (100 projects fill one), 100 projects,
	// recently-claimed, unclaimed and its 16 bins.
	if m.ClaimedBins != 1 || m.LargestBinBytes == 0 || m.ClaimedBytes == 0 {
		t.Errorf("manifest: %d claimed bins, largest %d bytes, claimed %d bytes", m.ClaimedBins, m.LargestBinBytes, m.ClaimedBytes)
	}
	if want := 1 + 1 + m.ClaimedBins + 100 + 1 + 1 + 16; n != want {
		t.Errorf("go-tuf loaded %d roles, want %d", n, want)
	}
	f, err := PrepareFloor(m.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Run(); err != nil {
		t.Fatal(err)
	}
	// The roles above, the revocation list, two root files, timestamp, snapshot.
	if f.Files() != n+1+2+2 || m.Files != f.Files() {
		t.Errorf("the floor reads %d files, the generator wrote %d; want %d", f.Files(), m.Files, n+5)
	}

	// A second Generate finds the repository made and does nothing.
	again, err := Generate(ctx, Options{Projects: 100, Dir: filepath.Join(dir, "repo"), Admins: a})
	if err != nil || again.Seconds != m.Seconds {
		t.Errorf("second Generate made the repository again (%v)", err)
	}

	if err := Plans(filepath.Join(dir, "repo"), m, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{RootRotationPlan, ClaimedUpdatePlan} {
		if _, err := ceremony.LoadPlan(filepath.Join(dir, "repo", "plans", name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(m.Update) != changedProjects || len(m.Remove) != changedProjects {
		t.Errorf("claimed update changes %d and removes %d projects, want %d each", len(m.Update), len(m.Remove), changedProjects)
	}
}

// TestNames: names are valid project names, distinct, and the first n
// are the same whatever n is, so that the sizes nest.
func TestNames(t *testing.T) {
	big := names(5000)
	if !slices.Equal(names(1000), big[:1000]) {
		t.Error("names(1000) is not the start of names(5000)")
	}
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	seen := map[string]bool{}
	for _, n := range big {
		if !valid.MatchString(n) || isReserved(n) || seen[n] {
			t.Fatalf("bad or repeated name %q", n)
		}
		seen[n] = true
	}
}

// TestTable: medians, each goal's verdict, and failures named with what
// the command said.
func TestTable(t *testing.T) {
	var runs []Run
	add := func(cmd string, size int, secs ...float64) {
		for i, s := range secs {
			runs = append(runs, Run{Command: cmd, Size: size, Run: i + 1, Seconds: s, CPUSeconds: s / 2, MaxRSSKB: 50_000})
		}
	}
	add("verify", 1000, 0.1, 0.3, 0.2)
	add("verify", 10_000, 1, 2, 1.5)
	add("verify", 100_000, 20, 18, 100) // median 20: 13x the 10k median, a failure of linearity
	add("sign.rr", 1000, 0.1)
	add("sign.rr", 10_000, 0.1)
	add("sign.rr", 100_000, 0.15) // 1.5x the 1k time: holds
	runs = append(runs, Run{Command: "floor", Size: 100_000, Seconds: 8, CPUSeconds: 15})
	runs = append(runs, Run{Command: "publish.cu", Size: 100_000, Exit: 4, Seconds: 3, Error: "ceremony publish: snapshot\nis too big"})
	var b strings.Builder
	Table(&b, runs, map[int]*Manifest{100_000: {LargestBytes: 50e6, Files: 5, Bytes: 60e6, LargestFile: "1.snapshot.json"}})
	out := b.String()
	for _, want := range []string{
		"| `verify` (whole repository) | 0.20 s (0.10 cpu), 51 MB | 1.50 s (0.75 cpu), 51 MB | 20.0 s (10.0 cpu), 51 MB | 13.3 **fails** (cpu 13.3) | | 51 MB ≤ 300 MB holds | **fail**: 100k/10k, verify/floor at 100k |",
		"| `sign` root, 1 signer | 0.10 s (0.050 cpu), 51 MB (1 run) | 0.10 s (0.050 cpu), 51 MB (1 run) | 0.15 s (0.075 cpu), 51 MB (1 run) | 1.5 holds (cpu 1.5) | 1.5 holds (cpu 1.5) | 51 MB ≤ 300 MB holds | pass |",
		"| 100,000 | 20.0 s (10.0 cpu), 51 MB | 8.00 s (15.0 cpu) (1 run) | — | 2.5 **fails** (cpu 0.7) | — |",
		"t(100k)/t(1k) ≤ 2, not touching claimed (600k not run)",
		"- `publish` claimed update at 100,000 projects: exit 4 after 3.00 s: ceremony publish: snapshot / is too big",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
}
