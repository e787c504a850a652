package ceremony

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/hsm/piv"
	"github.com/ceremony-tuf/ceremony/roles"
)

// TestParseEnrollmentIsStrict holds ParseEnrollment to docs/ENROLLMENT.md:
// an enrollment as 'ceremony maintainer enroll' writes it is read, and
// every file ceremony would not have written is refused, including those
// encoding/json alone takes (a duplicate member, the last one winning; a
// stray "}]" after the object; a member name in other case).
func TestParseEnrollmentIsStrict(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, err := roles.KeyFromPublic(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	att := &piv.Attestation{
		SlotCertificate:   "-----BEGIN CERTIFICATE-----\nc2xvdA==\n-----END CERTIFICATE-----\n",
		DeviceCertificate: "-----BEGIN CERTIFICATE-----\nZGV2aWNl\n-----END CERTIFICATE-----\n",
	}
	enr, err := NewEnrollment(key, priv, att, "sampleproject", "3f9a", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// As cmd/ceremony's 'maintainer enroll' writes it.
	good, err := json.MarshalIndent(enr, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	good = append(good, '\n')
	got, err := ParseEnrollment(good)
	if err != nil {
		t.Fatalf("the enrollment as written is refused: %v", err)
	}
	if got.KeyID != key.ID() || got.Statement.Nonce != "3f9a" || got.Attestation.SlotCertificate != att.SlotCertificate {
		t.Fatalf("read back %+v", got)
	}

	doc := string(good)
	replaceOnce := func(old, new string) string {
		t.Helper()
		if strings.Count(doc, old) != 1 {
			t.Fatalf("%q is not in the enrollment exactly once", old)
		}
		return strings.Replace(doc, old, new, 1)
	}
	for _, c := range []struct {
		name, file, want string
	}{
		{"empty", "  \n", "is empty"},
		{"duplicate member", replaceOnce(`"format": "ceremony-maintainer-enrollment/1",`,
			`"format": "ceremony-maintainer-enrollment/1", "keyid": "`+strings.Repeat("0", 64)+`",`), "not well-formed JSON"},
		{"duplicate member in the statement", replaceOnce(`"nonce": "3f9a"`, `"nonce": "3f9a", "nonce": "0000"`), "not well-formed JSON"},
		{"trailing }]", doc + "}]\n", "not well-formed JSON"},
		{"a second object", doc + "{}\n", "not well-formed JSON"},
		{"unknown member", replaceOnce(`"signature":`, `"comment": "hi", "signature":`), "does not have the enrollment form"},
		{"member name in other case", replaceOnce(`"signature":`, `"Signature":`), "not as ceremony writes it"},
		{"member missing", replaceOnce(`"format": "ceremony-maintainer-enrollment/1",`, ``), "not as ceremony writes it"},
		{"another format", replaceOnce(`"ceremony-maintainer-enrollment/1"`, `"ceremony-maintainer-enrollment/2"`), `format "ceremony-maintainer-enrollment/2"`},
		{"too large", doc + strings.Repeat(" ", maxEnrollmentSize), "more than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := ParseEnrollment([]byte(c.file))
			if !errors.Is(err, ErrEnrollment) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, %v; want an error wrapping ErrEnrollment that says %q", e, err, c.want)
			}
		})
	}
}
