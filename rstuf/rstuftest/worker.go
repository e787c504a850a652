// Package rstuftest is a test-only stand-in for RSTUF's worker
// (repository-service-tuf-worker, repository.py): from a bootstrapped
// root and the online key it makes the online roles the way the worker's
// bootstrap and add_artifacts do, so that tests can check what a
// ceremony's RSTUF root leads to with `ceremony verify` and independent
// clients. The product never uses it.
//
// What the worker does, and this does alike: targets delegates to
// succinct hash bins (TAP 15) named "bins-" plus the bin number in
// zero-padded hex, bit length log2 of the bins count, the online key
// alone with threshold 1, and lists that key in its delegations' keys;
// each bin holds the targets whose path's SHA-256 falls in it; snapshot
// lists targets and every bin by version only, timestamp the snapshot by
// version only; every file is named with its version (consistent
// snapshots), timestamp.json aside.
package rstuftest

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/rstuf"
)

// Worker bootstraps an RSTUF repository's online roles.
type Worker struct {
	// Root is the bootstrapped root, fully signed, as published.
	Root []byte
	// Online signs targets, the bins, snapshot and timestamp: its public
	// key must be the one root lists for them.
	Online crypto.Signer
	// Bins is the number of hash bins (rstuf.MinBins to rstuf.MaxBins).
	Bins int
	// Now is when the roles are made; each expires Days later.
	Now  time.Time
	Days int
}

// Target is an artifact as RSTUF's API takes it: its path and content.
type Target struct {
	Path    string
	Content []byte
}

// Publish writes 1.root.json, root.json, 1.targets.json, every bin,
// 1.snapshot.json and timestamp.json into dir, with targets added to
// the bins their paths hash to.
func (w *Worker) Publish(dir string, targets []Target) error {
	root, err := roles.Parse[*roles.Root](w.Root)
	if err != nil {
		return err
	}
	del, err := root.Signed.Delegation(roles.TypeTargets)
	if err != nil {
		return err
	}
	onlineID := del.KeyIDs[0]
	online := root.Signed.Keys[onlineID]
	if w.Bins < rstuf.MinBins || w.Bins > rstuf.MaxBins || bits.OnesCount(uint(w.Bins)) != 1 {
		return fmt.Errorf("rstuftest: %d bins", w.Bins)
	}
	exp := w.Now.AddDate(0, 0, w.Days)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, m interface{ MarshalJSON() ([]byte, error) }) ([]byte, error) {
		b, err := m.MarshalJSON()
		if err != nil {
			return nil, err
		}
		return b, os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	sign := func(canonical []byte) (roles.Signature, error) {
		sig, err := roles.Sign(w.Online, online, canonical)
		sig.KeyID = onlineID // root's keyid for the key, whatever it covers
		return sig, err
	}
	for _, name := range []string{"1.root.json", "root.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), w.Root, 0o644); err != nil {
			return err
		}
	}

	tg := roles.NewTargets(exp)
	sr := &roles.SuccinctRoles{KeyIDs: []string{onlineID}, Threshold: 1, BitLength: int64(bits.TrailingZeros(uint(w.Bins))), NamePrefix: rstuf.BinsPrefix}
	tg.Delegations = &roles.Delegations{Keys: map[string]*roles.Key{onlineID: online}, SuccinctRoles: sr}
	bins := make([]*roles.Targets, w.Bins)
	for i := range bins {
		bins[i] = roles.NewTargets(exp)
	}
	for _, t := range targets {
		sum := sha256.Sum256(t.Content)
		// The bin is the path's hash's top bits, as python-tuf's
		// SuccinctRoles.get_role_for_target computes it.
		ph := sha256.Sum256([]byte(t.Path))
		i := int(uint32(ph[0])<<24|uint32(ph[1])<<16|uint32(ph[2])<<8|uint32(ph[3])) >> (32 - sr.BitLength)
		if sr.BinFor(t.Path) != sr.BinName(i) {
			return fmt.Errorf("rstuftest: %s hashes to bin %d here, %s in roles", t.Path, i, sr.BinFor(t.Path))
		}
		bins[i].Targets[t.Path] = &roles.TargetFile{Length: int64(len(t.Content)), Hashes: map[string]string{"sha256": hex.EncodeToString(sum[:])}}
	}
	snap := roles.NewSnapshot(exp)
	snap.Meta["targets.json"] = &roles.MetaFile{Version: 1}
	for i, b := range bins {
		m := roles.New(b)
		sig, err := sign(m.CanonicalSigned())
		if err != nil {
			return err
		}
		m.AddSignature(sig)
		name := sr.BinName(i)
		if _, err := write("1."+name+".json", m); err != nil {
			return err
		}
		snap.Meta[name+".json"] = &roles.MetaFile{Version: 1}
	}
	tm := roles.New(tg)
	sig, err := sign(tm.CanonicalSigned())
	if err != nil {
		return err
	}
	tm.AddSignature(sig)
	if _, err := write("1.targets.json", tm); err != nil {
		return err
	}
	sm := roles.New(snap)
	if sig, err = sign(sm.CanonicalSigned()); err != nil {
		return err
	}
	sm.AddSignature(sig)
	if _, err := write("1.snapshot.json", sm); err != nil {
		return err
	}
	ts := roles.NewTimestamp(w.Now.AddDate(0, 0, 1))
	ts.Meta["snapshot.json"] = &roles.MetaFile{Version: 1}
	tsm := roles.New(ts)
	if sig, err = sign(tsm.CanonicalSigned()); err != nil {
		return err
	}
	tsm.AddSignature(sig)
	_, err = write("timestamp.json", tsm)
	return err
}

// PrivateKey reads an unencrypted PKCS#8 private key (the RSTUF CLI's
// test keys in rstuf/testdata, decrypted).
func PrivateKey(t testing.TB, path string) crypto.Signer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}
