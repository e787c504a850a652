package rstuf_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/rstuf"
	"github.com/ceremony-tuf/ceremony/rstuf/rstuftest"
)

// BenchmarkVerifyRSTUF measures `ceremony verify` (repoverify.Verify) on
// an RSTUF-layout repository at PyPI's size: 16,384 succinct hash bins
// and RSTUF_BENCH_TARGETS targets (default a million), laid out as RSTUF's
// worker lays them out (rstuftest). The repository is made once, outside
// the timing.
func BenchmarkVerifyRSTUF(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("RSTUF_BENCH_TARGETS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	online, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, admin, _ := ed25519.GenerateKey(rand.Reader)
	ok, _ := roles.KeyFromPublic(online.Public())
	ok, err := rstuf.WithMembers(ok, map[string]string{rstuf.OnlineKeyURIField: "fn:online"})
	if err != nil {
		b.Fatal(err)
	}
	ak, _ := roles.KeyFromPublic(admin.Public())
	r := roles.NewRoot(now.AddDate(1, 0, 0))
	r.AddKey(roles.TypeRoot, ak)
	r.Roles[roles.TypeRoot].Threshold = 1
	for _, role := range []string{roles.TypeTimestamp, roles.TypeSnapshot, roles.TypeTargets} {
		r.AddKey(role, ok)
		r.Roles[role].Threshold = 1
	}
	m := roles.New(r)
	sig, err := roles.Sign(admin, ak, m.CanonicalSigned())
	if err != nil {
		b.Fatal(err)
	}
	m.AddSignature(sig)
	root, _ := m.MarshalJSON()
	targets := make([]rstuftest.Target, n)
	for i := range targets {
		targets[i] = rstuftest.Target{Path: fmt.Sprintf("packages/%02x/p%d/p%d-1.0.tar.gz", i%256, i, i), Content: []byte(strconv.Itoa(i))}
	}
	meta := filepath.Join(dir, "metadata")
	w := rstuftest.Worker{Root: root, Online: online, Bins: rstuf.MaxBins, Now: now, Days: 1}
	if err := w.Publish(meta, targets); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := repoverify.Verify(meta, root, now.Add(time.Hour))
		if err != nil || !rep.OK {
			b.Fatalf("verify: %v %v", err, rep.Failures)
		}
	}
	// Reported after the loop: b.Loop's first call drops metrics
	// reported before it, and bench.sh's table reads these.
	b.ReportMetric(float64(rstuf.MaxBins), "bins")
	b.ReportMetric(float64(n), "targets")
}
