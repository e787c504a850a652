package main

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/roles"
)

// verifyRef is the time the script repository is made for: it is valid
// from then for a day (timestamp) to a year (root).
var verifyRef = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// cmdMkrepo and cmdTamper are verify.txtar's script commands:
//
//	mkrepo [-revoke-trusted] [-pss-salt-20] DIR
//	                               write a small signed repository: DIR/metadata
//	                               (consistent snapshots) and DIR/trusted-root.json;
//	                               -pss-salt-20 gives the project an RSA key that
//	                               signs with a 20-byte PSS salt, as other tools may
//	tamper FILE OLD NEW            replace the first OLD in FILE with NEW
func cmdMkrepo(ts *testscript.TestScript, neg bool, args []string) {
	var o mkrepoOptions
	for len(args) > 0 && args[0] != "" && args[0][0] == '-' {
		switch args[0] {
		case "-revoke-trusted":
			o.revokeTrusted = true
		case "-pss-salt-20":
			o.pssSalt20 = true
		default:
			ts.Fatalf("mkrepo: unknown option %s", args[0])
		}
		args = args[1:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mkrepo [-revoke-trusted] [-pss-salt-20] DIR")
	}
	if err := mkrepo(ts.MkAbs(args[0]), o); err != nil {
		ts.Fatalf("mkrepo: %v", err)
	}
}

// mkrepoOptions change the script repository.
type mkrepoOptions struct {
	revokeTrusted bool // the revocation list revokes the project's key
	pssSalt20     bool // the project's key is RSA and signs with a 20-byte salt
}

func cmdTamper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: tamper FILE OLD NEW")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	if !bytes.Contains(b, []byte(args[1])) {
		ts.Fatalf("tamper: %s has no %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(p, bytes.Replace(b, []byte(args[1]), []byte(args[2]), 1), 0o644))
}

// mkrepo writes root v1 → v2 (a root key replaced), targets delegating to
// claimed, claimed delegating to the project sampleproject, a revocation
// list, snapshot and timestamp, all with in-memory ed25519 keys.
func mkrepo(dir string, o mkrepoOptions) error {
	md := filepath.Join(dir, "metadata")
	if err := os.MkdirAll(md, 0o755); err != nil {
		return err
	}
	keys := map[string]mkKey{}
	for _, n := range []string{"r1", "r2", "r3", "targets", "snapshot", "timestamp", "claimed", "maintainer", "old"} {
		seed := sha256.Sum256([]byte("verify script key " + n))
		s := ed25519.NewKeyFromSeed(seed[:])
		k, err := roles.KeyFromPublic(s.Public())
		if err != nil {
			return err
		}
		keys[n] = mkKey{s: s, k: k}
	}
	if o.pssSalt20 {
		s, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		k, err := roles.KeyFromPublic(s.Public())
		if err != nil {
			return err
		}
		keys["maintainer"] = mkKey{s: s, k: k, pssSalt: 20}
	}
	var failed error
	check := func(b []byte, err error) []byte {
		if err != nil && failed == nil {
			failed = err
		}
		return b
	}
	publish := func(name string, b []byte) []byte {
		return check(b, os.WriteFile(filepath.Join(md, name), b, 0o644))
	}
	exp := verifyRef.AddDate(1, 0, 0)
	mkRoot := func(version int64, rootKeys ...string) *roles.Root {
		r := roles.NewRoot(exp)
		r.Version = version
		for _, n := range rootKeys {
			r.AddKey(roles.TypeRoot, keys[n].k)
		}
		r.Roles[roles.TypeRoot].Threshold = 2
		for _, n := range []string{"targets", "snapshot", "timestamp"} {
			r.AddKey(n, keys[n].k)
		}
		return r
	}
	v1 := publish("1.root.json", check(mkSigned(mkRoot(1, "r1", "r2"), keys, "r1", "r2")))
	publish("2.root.json", check(mkSigned(mkRoot(2, "r1", "r3"), keys, "r1", "r2", "r3")))
	if err := os.WriteFile(filepath.Join(dir, "trusted-root.json"), v1, 0o644); err != nil {
		return err
	}

	snap := roles.NewSnapshot(verifyRef.AddDate(0, 0, 7))
	list := func(name string, version int64, b []byte) { snap.Meta[name] = roles.MetaFileFor(version, b) }

	tg := roles.NewTargets(exp)
	tg.Delegations = &roles.Delegations{
		Keys:  map[string]*roles.Key{keys["claimed"].k.ID(): keys["claimed"].k},
		Roles: []*roles.DelegatedRole{{Name: "claimed", KeyIDs: []string{keys["claimed"].k.ID()}, Threshold: 1, Paths: []string{"*/*"}}},
	}
	list("targets.json", 1, publish("1.targets.json", check(mkSigned(tg, keys, "targets"))))

	cl := roles.NewTargets(verifyRef.AddDate(0, 3, 0))
	mk := keys["maintainer"].k
	cl.Delegations = &roles.Delegations{
		Keys:  map[string]*roles.Key{mk.ID(): mk},
		Roles: []*roles.DelegatedRole{{Name: "sampleproject", KeyIDs: []string{mk.ID()}, Threshold: 1, Terminating: true, Paths: []string{"sampleproject/*"}}},
	}
	list("claimed.json", 1, publish("1.claimed.json", check(mkSigned(cl, keys, "claimed"))))

	pr := roles.NewTargets(verifyRef.AddDate(0, 6, 0))
	sum := sha256.Sum256([]byte("sdist"))
	pr.Targets["sampleproject/sampleproject-1.0.tar.gz"] = &roles.TargetFile{Length: 5, Hashes: map[string]string{"sha256": fmt.Sprintf("%x", sum)}}
	list("sampleproject.json", 1, publish("1.sampleproject.json", check(mkSigned(pr, keys, "maintainer"))))

	rv := roles.NewRevocations(verifyRef.AddDate(0, 3, 0))
	revoked := "old"
	if o.revokeTrusted {
		revoked = "maintainer"
	}
	rv.Revoked = append(rv.Revoked, &roles.Revocation{KeyID: keys[revoked].k.ID(), Key: keys[revoked].k, Role: "sampleproject", Reason: "key lost", RevokedAt: verifyRef.Add(-time.Hour)})
	list("revocations.json", 1, publish("1.revocations.json", check(mkSigned(rv, keys, "claimed"))))

	sb := publish("1.snapshot.json", check(mkSigned(snap, keys, "snapshot")))
	ts := roles.NewTimestamp(verifyRef.AddDate(0, 0, 1))
	ts.Meta["snapshot.json"] = roles.MetaFileFor(1, sb)
	publish("timestamp.json", check(mkSigned(ts, keys, "timestamp")))
	return failed
}

// mkKey is an in-memory key of the script repository.
type mkKey struct {
	s crypto.Signer
	k *roles.Key
	// pssSalt, when set, is the salt length of the RSA-PSS signatures it
	// makes, as another tool may have made them.
	pssSalt int
}

// mkSigned signs a role with the named keys and returns it as published.
func mkSigned[R roles.Role](r R, keys map[string]mkKey, signers ...string) ([]byte, error) {
	m := roles.New(r)
	msg := m.CanonicalSigned()
	for _, n := range signers {
		sig, err := roles.Sign(keys[n].s, keys[n].k, msg)
		if salt := keys[n].pssSalt; salt != 0 {
			digest := sha256.Sum256(msg)
			sig.KeyID = keys[n].k.ID()
			sig.Sig, err = rsa.SignPSS(rand.Reader, keys[n].s.(*rsa.PrivateKey), crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: salt})
		}
		if err != nil {
			return nil, err
		}
		m.AddSignature(sig)
	}
	return m.MarshalJSON()
}
