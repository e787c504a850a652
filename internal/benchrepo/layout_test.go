package benchrepo

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// BenchmarkClaimedLayout lays out claimed for the benchmark's project
// names and reports the sizes docs/PLANS.md quotes: claimed, the biggest
// bin, the number of bins (each as published, with the two signatures of
// claimed's keys), and the snapshot listing every targets-type file. Run
// it with `go test -run '^$' -bench ClaimedLayout -benchtime 1x
// ./internal/benchrepo` (600,000 projects takes a minute or two).
func BenchmarkClaimedLayout(b *testing.B) {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	var claimedKeys []*roles.Key
	for i := range 3 {
		seed := sha256.Sum256([]byte(fmt.Sprint("claims-", i)))
		k, err := roles.KeyFromPublic(ed25519.NewKeyFromSeed(seed[:]).Public())
		if err != nil {
			b.Fatal(err)
		}
		claimedKeys = append(claimedKeys, k)
	}
	for _, n := range []int{1000, 100_000, 600_000} {
		b.Run(fmt.Sprintf("projects=%d", n), func(b *testing.B) {
			all := names(n)
			ps := make([]project, n)
			for i, name := range all {
				ps[i], _ = delegationOf(i, name)
			}
			for b.Loop() {
				top, bins := claimedLayout(ps, claimedKeys, claimedThreshold)
				size := func(dl *roles.Delegations) int {
					t := roles.NewTargets(exp)
					t.Delegations = dl
					m := roles.New(t)
					for range claimedThreshold {
						m.AddSignature(roles.Signature{KeyID: claimedKeys[0].ID(), Sig: make([]byte, ed25519.SignatureSize)})
					}
					out, err := m.MarshalJSON()
					if err != nil {
						b.Fatal(err)
					}
					return len(out)
				}
				biggest := 0
				snap := roles.NewSnapshot(exp)
				for name, dl := range bins {
					biggest = max(biggest, size(dl))
					snap.Meta[name+".json"] = &roles.MetaFile{Version: 1}
				}
				for _, name := range append(all, "targets", "claimed", "revocations", "recently-claimed", "unclaimed") {
					snap.Meta[name+".json"] = &roles.MetaFile{Version: 1}
				}
				for i := range 1 << unclaimedBinBits {
					snap.Meta[fmt.Sprintf("unclaimed-%x.json", i)] = &roles.MetaFile{Version: 1}
				}
				sb, err := roles.New(snap).MarshalJSON()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(size(top))/1e6, "claimed-MB")
				b.ReportMetric(float64(biggest)/1e6, "biggest-bin-MB")
				b.ReportMetric(float64(len(bins)), "bins")
				b.ReportMetric(float64(len(sb))/1e6, "snapshot-MB")
			}
		})
	}
}
