package vpiv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Yubico's attestation extensions, as piv.Verify parses them
// (https://developers.yubico.com/PIV/Introduction/PIV_attestation.html).
var (
	oidFirmware   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 3}
	oidSerial     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 7}
	oidPolicy     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}
	oidFormFactor = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 9}
)

// CA is a test attestation root standing in for Yubico's PIV root CA. It
// signs each virtual card's F9 device certificate, which in turn signs slot
// attestation certificates, so the chain has Yubico's shape: root → device
// (F9) → slot.
type CA struct {
	Cert *x509.Certificate
	key  crypto.Signer
}

// NewCA makes a fresh test root with a P-256 key.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate test CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{CommonName: "Virtual PIV Test Root CA (not Yubico)"},
		NotBefore:             time.Now().Add(-24 * time.Hour),
		NotAfter:              time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create test CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key}, nil
}

// PEM returns the root certificate in PEM form, as --roots files hold it.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Pool returns a pool holding only this root.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// deviceCert issues the F9 certificate for a card's attestation key.
func (ca *CA) deviceCert(pub crypto.PublicKey, serial uint32) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("Yubico PIV Attestation (virtual card %d)", serial)},
		NotBefore:             time.Now().Add(-24 * time.Hour),
		NotAfter:              time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("create F9 certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// slotCert issues a slot attestation certificate with Yubico's extensions.
func slotCert(dev *x509.Certificate, devKey crypto.Signer, pub crypto.PublicKey, slot byte, serial uint32, fw [3]byte, formFactor, pinPolicy, touchPolicy byte) ([]byte, error) {
	serialDER, err := asn1.Marshal(int64(serial))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{CommonName: fmt.Sprintf("YubiKey PIV Attestation %02x", slot)},
		NotBefore:    time.Now().Add(-24 * time.Hour),
		NotAfter:     time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		ExtraExtensions: []pkix.Extension{
			{Id: oidFirmware, Value: fw[:]},
			{Id: oidSerial, Value: serialDER},
			{Id: oidPolicy, Value: []byte{pinPolicy, touchPolicy}},
			{Id: oidFormFactor, Value: []byte{formFactor}},
		},
	}
	return x509.CreateCertificate(rand.Reader, tmpl, dev, pub, devKey)
}

func randSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		// crypto/rand does not fail on Linux; a fixed serial is still a
		// valid certificate.
		return big.NewInt(1)
	}
	return n
}
