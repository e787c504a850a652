package ceremony

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm/piv"
	"github.com/ceremony-tuf/ceremony/roles"
)

// A maintainer enrolls a key for a project (PEP 480) with an enrollment
// file: the TUF key, the YubiKey's attestation that it made the key and
// cannot export it, and a proof of possession: a statement binding the
// project, the keyid, a date and a nonce PyPI issued, signed with the key.
// docs/ENROLLMENT.md specifies the formats.

// Formats of the files and statements, versioned.
const (
	enrollmentFormat = "ceremony-maintainer-enrollment/1"
	statementFormat  = "ceremony-proof-of-possession/1"
)

// Enrollment is a maintainer's enrollment file.
type Enrollment struct {
	Format      string          `json:"format"`
	KeyID       string          `json:"keyid"`
	Key         json.RawMessage `json:"key"` // the TUF key object
	Attestation struct {
		SlotCertificate   string `json:"slot_certificate"`   // PEM
		DeviceCertificate string `json:"device_certificate"` // PEM (the YubiKey's F9)
	} `json:"attestation"`
	Statement Statement `json:"statement"`
	Signature string    `json:"signature"` // hex, over the statement's canonical JSON
}

// Statement is the proof-of-possession statement a maintainer signs.
type Statement struct {
	Format  string `json:"format"`
	Project string `json:"project"`
	KeyID   string `json:"keyid"`
	Date    string `json:"date"`  // YYYY-MM-DDTHH:MM:SSZ
	Nonce   string `json:"nonce"` // hex, as PyPI issued it for this enrollment
}

// canonical is the statement's canonical JSON: what the signature covers.
func (s Statement) canonical() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return roles.Canonicalize(b)
}

// NewEnrollment makes an enrollment: it signs the statement with signer,
// whose public key must be key, and checks the signature.
func NewEnrollment(key *roles.Key, signer crypto.Signer, att *piv.Attestation, project, nonce string, now time.Time) (*Enrollment, error) {
	e := &Enrollment{Format: enrollmentFormat, KeyID: key.ID()}
	var err error
	if e.Key, err = key.MarshalJSON(); err != nil {
		return nil, err
	}
	e.Attestation.SlotCertificate, e.Attestation.DeviceCertificate = att.SlotCertificate, att.DeviceCertificate
	e.Statement = Statement{Format: statementFormat, Project: project, KeyID: key.ID(), Date: now.UTC().Format(roles.TimeFormat), Nonce: nonce}
	msg, err := e.Statement.canonical()
	if err != nil {
		return nil, err
	}
	sig, err := roles.Sign(signer, key, msg)
	if err != nil {
		return nil, fmt.Errorf("sign the proof of possession: %w", err)
	}
	e.Signature = hex.EncodeToString(sig.Sig)
	return e, nil
}

// maxEnrollmentSize bounds an enrollment file: a key, two certificates
// and a statement take a few kilobytes.
const maxEnrollmentSize = 1 << 20

// ParseEnrollment reads an enrollment file strictly, as signing requests
// and responses are read: duplicate member names, unknown members, trailing
// data and anything else ceremony would not have written are refused.
func ParseEnrollment(b []byte) (*Enrollment, error) {
	var e Enrollment
	if err := decodeStrict(ErrEnrollment, "enrollment", maxEnrollmentSize, b, &e); err != nil {
		return nil, err
	}
	if e.Format != enrollmentFormat {
		return nil, fmt.Errorf("%w: format %q is not %s", ErrEnrollment, e.Format, enrollmentFormat)
	}
	return &e, nil
}

// EnrollmentPolicy is what a plan requires of every enrollment.
type EnrollmentPolicy struct {
	// Roots are the attestation roots (PEM); empty means Yubico's.
	Roots []byte `json:"roots,omitempty"`
	// PINPolicy and TouchPolicy are the weakest accepted: PIN "never" <
	// "once" < "always"; touch "never" < "cached" < "always".
	PINPolicy   string `json:"pin_policy,omitempty"`
	TouchPolicy string `json:"touch_policy,omitempty"`
	// MaxAgeDays is how old a proof of possession may be at the plan's
	// reference time.
	MaxAgeDays int `json:"max_age_days,omitempty"`
}

// EnrollmentEvidence is what a verified enrollment proves, for the
// transcript: which YubiKey made the key, with what policies, under which
// certificates.
type EnrollmentEvidence struct {
	Project     string `json:"project"`
	KeyID       string `json:"keyid"`
	Serial      uint32 `json:"serial"`
	Firmware    string `json:"firmware"`
	Slot        string `json:"slot"`
	PINPolicy   string `json:"pin_policy"`
	TouchPolicy string `json:"touch_policy"`
	SlotCert    string `json:"slot_certificate_sha256"`
	DeviceCert  string `json:"device_certificate_sha256"`
	ProofDate   string `json:"proof_date"`
}

// ErrEnrollment is wrapped by every refused enrollment; the message names
// the check (enrollment.attestation-chain, enrollment.proof-fresh, …).
var ErrEnrollment = errors.New("enrollment refused")

func refuse(check, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrEnrollment, check, fmt.Sprintf(format, args...))
}

var pinRank = map[string]int{"never": 0, "once": 1, "always": 2}
var touchRank = map[string]int{"never": 0, "cached": 1, "always": 2}

// VerifyEnrollment checks an enrollment for project, as of now, against
// the policy, the nonce PyPI issued for it, and the revocation list (nil:
// none). Each refusal names its check.
func VerifyEnrollment(e *Enrollment, project, nonce string, pol EnrollmentPolicy, now time.Time, revoked *roles.Revocations) (*EnrollmentEvidence, error) {
	key, err := roles.ParseKey(e.Key)
	if err != nil {
		return nil, refuse("enrollment.key", "%v", err)
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, refuse("enrollment.key", "%v", err)
	}
	if key.ID() != e.KeyID {
		return nil, refuse("enrollment.keyid-matches-key", "keyid %s is not the key's (%s)", roles.ShortID(e.KeyID), roles.ShortID(key.ID()))
	}
	slot, err := parseCert(e.Attestation.SlotCertificate)
	if err != nil {
		return nil, refuse("enrollment.attestation-chain", "slot certificate: %v", err)
	}
	dev, err := parseCert(e.Attestation.DeviceCertificate)
	if err != nil {
		return nil, refuse("enrollment.attestation-chain", "device certificate: %v", err)
	}
	opts := piv.AttestOptions{}
	if len(pol.Roots) > 0 {
		opts.Roots = x509.NewCertPool()
		if !opts.Roots.AppendCertsFromPEM(pol.Roots) {
			return nil, refuse("enrollment.attestation-chain", "the plan's attestation roots hold no PEM certificate")
		}
	}
	att, err := piv.VerifyAttestation(dev, slot, opts)
	if err != nil {
		return nil, refuse("enrollment.attestation-chain", "%v: the key was not shown to be made on a genuine YubiKey", err)
	}
	if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(slot.PublicKey) {
		return nil, refuse("enrollment.attested-key-matches", "the attested key is not the enrolled key %s", roles.ShortID(e.KeyID))
	}
	if pol.PINPolicy != "" && pinRank[att.PINPolicy] < pinRank[pol.PINPolicy] {
		return nil, refuse("enrollment.pin-policy", "the key's PIN policy is %q; the plan requires %q or stronger: generate the key again with that policy", att.PINPolicy, pol.PINPolicy)
	}
	if pol.TouchPolicy != "" && touchRank[att.TouchPolicy] < touchRank[pol.TouchPolicy] {
		return nil, refuse("enrollment.touch-policy", "the key's touch policy is %q; the plan requires %q or stronger: generate the key again with that policy", att.TouchPolicy, pol.TouchPolicy)
	}
	st := e.Statement
	if st.Format != statementFormat {
		return nil, refuse("enrollment.proof-format", "statement format %q is not %s", st.Format, statementFormat)
	}
	msg, err := st.canonical()
	if err != nil {
		return nil, refuse("enrollment.proof-signature", "%v", err)
	}
	sig, err := hex.DecodeString(e.Signature)
	if err != nil || key.Verify(msg, sig) != nil {
		return nil, refuse("enrollment.proof-signature", "the proof of possession is not signed by the enrolled key")
	}
	if st.Project != project {
		return nil, refuse("enrollment.proof-project", "the proof is for project %q, not %q", st.Project, project)
	}
	if st.KeyID != e.KeyID {
		return nil, refuse("enrollment.proof-key", "the proof names key %s, not the enrolled key %s", roles.ShortID(st.KeyID), roles.ShortID(e.KeyID))
	}
	if st.Nonce != nonce {
		return nil, refuse("enrollment.proof-nonce", "the proof carries nonce %q, not the one issued for this enrollment: it is replayed or for another request; ask the maintainer to enroll again with the issued nonce", st.Nonce)
	}
	date, err := time.Parse(roles.TimeFormat, st.Date)
	if err != nil {
		return nil, refuse("enrollment.proof-fresh", "date %q is not of the form 2026-11-01T00:00:00Z", st.Date)
	}
	if date.After(now) {
		return nil, refuse("enrollment.proof-fresh", "the proof is dated %s, after the reference time %s", st.Date, now.Format(roles.TimeFormat))
	}
	if pol.MaxAgeDays > 0 && now.Sub(date) > time.Duration(pol.MaxAgeDays)*24*time.Hour {
		return nil, refuse("enrollment.proof-fresh", "the proof is dated %s, more than %d days before the reference time: ask for a new one", st.Date, pol.MaxAgeDays)
	}
	if revoked != nil {
		if r := revoked.IsRevoked(e.KeyID, key); r != nil {
			return nil, refuse("enrollment.key-not-revoked", "key %s was revoked on %s (%s)", roles.ShortID(e.KeyID), r.RevokedAt.Format(roles.TimeFormat), r.Reason)
		}
	}
	return &EnrollmentEvidence{
		Project: project, KeyID: e.KeyID, Serial: att.Serial, Firmware: att.Firmware, Slot: att.Slot,
		PINPolicy: att.PINPolicy, TouchPolicy: att.TouchPolicy,
		SlotCert: certDigest(slot), DeviceCert: certDigest(dev), ProofDate: st.Date,
	}, nil
}

func parseCert(p string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func certDigest(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
