package piv

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	gopiv "github.com/go-piv/piv-go/v2/piv"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// ErrAttestation marks an attestation that does not verify: the chain does
// not reach the trusted roots, or the certificate speaks of another
// YubiKey, slot or key than the one asked about.
var ErrAttestation = errors.New("attestation does not verify")

// Attestation is what a verified attestation proves about a key: that the
// YubiKey with this serial and firmware generated it in this slot, with
// these policies, and that it cannot leave the YubiKey. Transcripts record
// it as evidence, with both certificates so that an auditor can check it
// again without the hardware (VerifyAttestation).
type Attestation struct {
	URI         string      `json:"uri"`
	Serial      uint32      `json:"serial"`
	Firmware    string      `json:"firmware"`
	FormFactor  string      `json:"form_factor,omitempty"`
	Slot        string      `json:"slot"`
	KeyType     hsm.KeyType `json:"key_type"`
	PINPolicy   string      `json:"pin_policy"`
	TouchPolicy string      `json:"touch_policy"`
	// KeyMatches is true when the attested public key is the key the slot
	// holds now (checked against the card's key metadata).
	KeyMatches bool `json:"key_matches"`
	// Roots says what the chain was verified against: "yubico" (the roots
	// go-piv embeds) or "custom" (AttestOptions.Roots).
	Roots string `json:"roots"`
	// SlotCertificate and DeviceCertificate are the slot's attestation
	// certificate and the YubiKey's F9 certificate, PEM-encoded.
	SlotCertificate   string `json:"slot_certificate"`
	DeviceCertificate string `json:"device_certificate"`
}

// AttestOptions choose what an attestation is verified against.
type AttestOptions struct {
	// Roots replaces Yubico's attestation roots; nil means Yubico's. Only
	// tests and private CAs need it.
	Roots *x509.CertPool
}

// Attest fetches the attestation of the key in the slot a URI names (9c
// when it names none), verifies it and returns the verified facts. It
// needs no PIN. The error wraps ErrAttestation when the attestation does
// not verify.
func Attest(ctx context.Context, uri string, opts AttestOptions) (*Attestation, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	c, err := openOne(u)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	slot := u.SlotOrDefault()
	ps, _ := pivSlot(slot)
	slotCert, err := c.yk.Attest(ps)
	if err != nil {
		if errors.Is(err, gopiv.ErrNotFound) {
			return nil, fmt.Errorf("%s: %s holds no key generated on the YubiKey (imported keys cannot be attested): %w", c.dev, slotLabel(slot), hsm.ErrNotFound)
		}
		return nil, classify(c, "fetch the attestation of "+slotLabel(slot), err)
	}
	devCert, err := c.yk.AttestationCertificate()
	if err != nil {
		return nil, classify(c, "read the YubiKey's attestation certificate (F9)", err)
	}
	a, err := VerifyAttestation(devCert, slotCert, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.dev, err)
	}
	if a.Serial != c.serial {
		return nil, fmt.Errorf("%s: the attestation names serial %d, not this YubiKey's: %w", c.dev, a.Serial, ErrAttestation)
	}
	if a.Slot != fmt.Sprintf("%02x", slot) {
		return nil, fmt.Errorf("%s: the attestation is for slot %s, not %02x: %w", c.dev, a.Slot, slot, ErrAttestation)
	}
	a.URI = keyURI(c.serial, slot)
	if ff, err := c.yk.FormFactor(); err == nil && ff != 0 && a.FormFactor == "" {
		a.FormFactor = ff.String()
	}
	if atLeast(c.ver, 5, 3) {
		info, err := c.slot(slot)
		if err != nil {
			return nil, err
		}
		a.KeyMatches = samePublic(info.pub, slotCert.PublicKey)
		if !a.KeyMatches {
			return nil, fmt.Errorf("%s: the attested key is not the key %s holds: %w", c.dev, slotLabel(slot), ErrAttestation)
		}
	} else if cert, err := c.yk.Certificate(ps); err == nil {
		// Before 5.3 only a stored certificate tells the slot's key.
		a.KeyMatches = samePublic(cert.PublicKey, slotCert.PublicKey)
	}
	return a, nil
}

// VerifyAttestation checks an attestation offline: the slot certificate
// must chain through the device (F9) certificate to the roots. It returns
// the facts the slot certificate carries; KeyMatches stays false, as only
// the card can say what its slot holds now.
func VerifyAttestation(devCert, slotCert *x509.Certificate, opts AttestOptions) (*Attestation, error) {
	v := gopiv.Verifier{Roots: opts.Roots}
	roots := "yubico"
	if opts.Roots != nil {
		roots = "custom"
	}
	got, err := v.Verify(devCert, slotCert)
	if err != nil {
		hint := "the key may not have been generated on a genuine YubiKey"
		if opts.Roots != nil {
			hint = "it does not chain to the roots given with --roots"
		}
		return nil, fmt.Errorf("attestation does not verify against %s roots (%v): %s: %w", roots, err, hint, ErrAttestation)
	}
	kt, err := hsm.KeyTypeOf(slotCert.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("attested key: %v: %w", err, hsm.ErrUnsupported)
	}
	a := &Attestation{
		Serial:            got.Serial,
		Firmware:          fmt.Sprintf("%d.%d.%d", got.Version.Major, got.Version.Minor, got.Version.Patch),
		Slot:              got.Slot.String(),
		KeyType:           kt,
		PINPolicy:         PINPolicyName(got.PINPolicy),
		TouchPolicy:       TouchPolicyName(got.TouchPolicy),
		Roots:             roots,
		SlotCertificate:   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: slotCert.Raw})),
		DeviceCertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: devCert.Raw})),
	}
	if got.Formfactor != 0 {
		a.FormFactor = got.Formfactor.String()
	}
	if got.Slot == (gopiv.Slot{}) {
		return nil, fmt.Errorf("the attestation names no slot (subject %q): %w", slotCert.Subject.CommonName, ErrAttestation)
	}
	return a, nil
}
