// Package enrolltest tests maintainer enrollment through the whole real
// stack: hsm/piv → go-piv → libpcsclite → a private pcscd → vpcd → the
// virtual YubiKey, whose attestations chain to a test CA.
package enrolltest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/piv"
	"github.com/ceremony-tuf/ceremony/internal/pcsctest"
	"github.com/ceremony-tuf/ceremony/internal/vpiv"
	"github.com/ceremony-tuf/ceremony/roles"
)

var daemon *pcsctest.Daemon

func TestMain(m *testing.M) { pcsctest.Main(m, &daemon) }

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const nonce = "6e6f6e63652d6973737565642d62792d70797069"

// enrolled is a key made on the virtual YubiKey, attested. A signer for it
// is opened only around each signature: go-piv holds the card exclusively
// while one is open.
type enrolled struct {
	uri string
	key *roles.Key
	att *piv.Attestation
}

func (k enrolled) sign(t *testing.T, do func(s hsm.Signer) error) {
	t.Helper()
	s, err := hsm.Open(context.Background(), k.uri, hsm.Auth{PINs: hsm.StaticPIN("123456")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := do(s); err != nil {
		t.Fatal(err)
	}
}

// resign signs e's statement again with k's key after the test changed
// it, so that the proof's only flaw is its content. It signs the
// statement's canonical JSON as docs/ENROLLMENT.md says, on its own.
func (k enrolled) resign(t *testing.T, e *ceremony.Enrollment) {
	t.Helper()
	b, err := json.Marshal(e.Statement)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := roles.Canonicalize(b)
	if err != nil {
		t.Fatal(err)
	}
	k.sign(t, func(s hsm.Signer) error {
		sig, err := roles.Sign(s, k.key, msg)
		e.Signature = hex.EncodeToString(sig.Sig)
		return err
	})
}

func (k enrolled) enrollment(t *testing.T, project string) *ceremony.Enrollment {
	var e *ceremony.Enrollment
	k.sign(t, func(s hsm.Signer) (err error) {
		e, err = ceremony.NewEnrollment(k.key, s, k.att, project, nonce, now)
		return err
	})
	return e
}

func enrollKey(t *testing.T, card *vpiv.Card, slot, pinPolicy, touchPolicy string) enrolled {
	t.Helper()
	ctx := context.Background()
	uri := fmt.Sprintf("piv:serial=%d;slot=%s", card.Serial(), slot)
	b, err := hsm.BackendFor(uri)
	if err != nil {
		t.Fatal(err)
	}
	auth := hsm.Auth{PINs: hsm.StaticPIN("123456")}
	if _, err := b.Generate(ctx, uri, hsm.ECDSAP256, hsm.GenerateOptions{PINPolicy: pinPolicy, TouchPolicy: touchPolicy}, auth); err != nil {
		t.Fatal(err)
	}
	att, err := piv.Attest(ctx, uri, piv.AttestOptions{Roots: card.CA().Pool()})
	if err != nil {
		t.Fatal(err)
	}
	k, err := roles.KeyFromPublic(card.PublicKey(slotByte(slot)))
	if err != nil {
		t.Fatal(err)
	}
	return enrolled{uri: uri, key: k, att: att}
}

func insertCard(t *testing.T, serial uint32) *vpiv.Card {
	return daemon.Insert(t, 0, vpiv.Config{Serial: serial})
}

func TestEnrollmentVerifiesAndEachFlawIsRefusedByName(t *testing.T) {
	card := insertCard(t, 24681357)
	good := enrollKey(t, card, "9c", "once", "always")
	weak := enrollKey(t, card, "9a", "once", "never")
	pol := ceremony.EnrollmentPolicy{Roots: card.CA().PEM(), PINPolicy: "once", TouchPolicy: "always", MaxAgeDays: 30}

	enr := good.enrollment(t, "sampleproject")
	ev, err := ceremony.VerifyEnrollment(enr, "sampleproject", nonce, pol, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Serial != 24681357 || ev.Slot != "9c" || ev.PINPolicy != "once" || ev.TouchPolicy != "always" || len(ev.SlotCert) != 64 {
		t.Errorf("evidence: %+v", ev)
	}

	// The same enrollment, checked against Yubico's roots, is refused: the
	// test CA is not Yubico.
	yubico := pol
	yubico.Roots = nil
	wrongKey := *enr
	wrongKey.Key, _ = weak.key.MarshalJSON()
	wrongKey.KeyID = weak.key.ID()
	otherKeyProof := good.enrollment(t, "sampleproject")
	otherKeyProof.Statement.KeyID = weak.key.ID()
	good.resign(t, otherKeyProof)
	weakEnr := weak.enrollment(t, "sampleproject")
	rev := roles.NewRevocations(now.AddDate(0, 3, 0))
	rev.Revoked = append(rev.Revoked, &roles.Revocation{KeyID: good.key.ID(), Key: good.key, Role: "sampleproject", Reason: "lost", RevokedAt: now})

	cases := []struct {
		name    string
		enr     *ceremony.Enrollment
		project string
		nonce   string
		pol     ceremony.EnrollmentPolicy
		at      time.Time
		rev     *roles.Revocations
		check   string
	}{
		{"unknown root", enr, "sampleproject", nonce, yubico, now, nil, "enrollment.attestation-chain"},
		{"attested key differs", &wrongKey, "sampleproject", nonce, pol, now, nil, "enrollment.attested-key-matches"},
		{"proof for another project", enr, "otherproject", nonce, pol, now, nil, "enrollment.proof-project"},
		{"proof for another key", otherKeyProof, "sampleproject", nonce, pol, now, nil, "enrollment.proof-key"},
		{"stale proof", enr, "sampleproject", nonce, pol, now.AddDate(0, 0, 31), nil, "enrollment.proof-fresh"},
		{"replayed proof", enr, "sampleproject", "another-nonce", pol, now, nil, "enrollment.proof-nonce"},
		{"weaker touch policy", weakEnr, "sampleproject", nonce, pol, now, nil, "enrollment.touch-policy"},
		{"revoked key", enr, "sampleproject", nonce, pol, now, rev, "enrollment.key-not-revoked"},
	}
	for _, c := range cases {
		_, err := ceremony.VerifyEnrollment(c.enr, c.project, c.nonce, c.pol, c.at, c.rev)
		if !errors.Is(err, ceremony.ErrEnrollment) || !strings.Contains(err.Error(), c.check) {
			t.Errorf("%s: err = %v, want %s", c.name, err, c.check)
		}
	}
}

func slotByte(slot string) byte {
	var b byte
	fmt.Sscanf(slot, "%x", &b)
	return b
}
