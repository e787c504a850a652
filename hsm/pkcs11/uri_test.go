package pkcs11

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/hsm"
)

func TestParseURI(t *testing.T) {
	u, err := ParseURI("pkcs11:token=The%20Token;manufacturer=SoftHSM%20project;serial=2bbf;slot-id=7;" +
		"object=root%3B2026;id=%01%a2;type=private;model=SoftHSM%20v2;library-version=2.6;x-vendor=1" +
		"?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin")
	if err != nil {
		t.Fatal(err)
	}
	want := URI{Token: "The Token", Manufacturer: "SoftHSM project", Serial: "2bbf", SlotID: 7, HasSlotID: true,
		Object: "root;2026", ID: []byte{1, 0xa2}, HasID: true, Type: "private", Model: "SoftHSM v2", LibraryVersion: "2.6",
		ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINSource: "file:/run/pin"}
	if u.Token != want.Token || u.Manufacturer != want.Manufacturer || u.Serial != want.Serial || u.SlotID != 7 || !u.HasSlotID ||
		u.Object != want.Object || !bytes.Equal(u.ID, want.ID) || !u.HasID || u.Type != want.Type || u.Model != want.Model ||
		u.LibraryVersion != "2.6" || u.ModulePath != want.ModulePath || u.PINSource != want.PINSource || u.Vendor["x-vendor"] != "1" {
		t.Errorf("parsed %+v", u)
	}
	again, err := ParseURI(u.String())
	if err != nil || again.String() != u.String() {
		t.Errorf("round trip: %s -> %v %v", u, again, err)
	}
	if s := u.String(); !strings.Contains(s, "object=root%3B2026") || !strings.Contains(s, "id=%01%a2") || !strings.Contains(s, "module-path=/usr/lib/softhsm/libsofthsm2.so") {
		t.Errorf("String() = %s", s)
	}
	for _, s := range []string{"pkcs11:", "PKCS11:token=a", "pkcs11:id="} {
		if _, err := ParseURI(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestParseURIErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"token=alice", "must start with"},
		{"piv:slot=9c", "must start with"},
		{"pkcs11:token=alice;objekt=x", `unknown path attribute "objekt"`},
		{"pkcs11:token=a;token=b", "twice"},
		{"pkcs11:token=a%2", "incomplete percent escape"},
		{"pkcs11:token=a%zz", "bad percent escape"},
		{"pkcs11:token=a b", "must be percent-encoded"},
		{"pkcs11:slot-id=x", "slot-id"},
		{"pkcs11:slot-id=-1", "slot-id"},
		{"pkcs11:type=secret", "type"},
		{"pkcs11:library-version=a.b", "library-version"},
		{"pkcs11:token", "name=value"},
		{"pkcs11:;", "name=value"},
		{"pkcs11:token=a?pin-value=y", "pin-source=FILE"},
		{"pkcs11:token=a?pin-source=x&pin-value=y", "pin-source=FILE"},
		{"pkcs11:token=a?module-name=a&module-path=b", "both module-name"},
		{"pkcs11:token=a?module-name=../x", "bare name"},
		{"pkcs11:token=a?object=b", "unknown query attribute"},
		{"pkcs11:token=%ff", "UTF-8"},
		{"pkcs11:token=a#frag", "fragment"},
	} {
		_, err := ParseURI(c.in)
		if err == nil || !errors.Is(err, hsm.ErrBadURI) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want ErrBadURI mentioning %q", c.in, err, c.want)
		}
	}
}

// FuzzParseURI: no input panics, and whatever parses prints a URI that
// parses back to the same printed form.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:token=alice;object=root-2026;id=%01%02",
		"pkcs11:serial=2bbf;slot-id=3;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/pin",
		"pkcs11:token=a%3Bb;x-foo=bar?pin-source=/run/pin&module-name=softhsm2",
		"pkcs11:library-version=2.6;library-manufacturer=SoftHSM",
		"pkcs11:", "pkcs11:%", "pkcs11:id=%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if !errors.Is(err, hsm.ErrBadURI) {
				t.Fatalf("%q: error %v does not wrap ErrBadURI", s, err)
			}
			return
		}
		out := u.String()
		v, err := ParseURI(out)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, out, err)
		}
		if v.String() != out {
			t.Fatalf("%q printed as %q, then as %q", s, out, v.String())
		}
	})
}
