package piv

import (
	"errors"
	"testing"

	"github.com/ceremony-tuf/ceremony/hsm"
)

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want URI
		str  string
	}{
		{"piv:", URI{}, "piv:"},
		{"piv:serial=12345678;slot=9c", URI{Serial: 12345678, HasSerial: true, Slot: 0x9c, HasSlot: true}, "piv:serial=12345678;slot=9c"},
		{"PIV:slot=9A", URI{Slot: 0x9a, HasSlot: true}, "piv:slot=9a"},
		{"piv:slot=95;serial=1?pin-source=file:/m/pin%3Bx", URI{Serial: 1, HasSerial: true, Slot: 0x95, HasSlot: true, PINSource: "/m/pin;x"}, "piv:serial=1;slot=95?pin-source=/m/pin%3Bx"},
	} {
		u, err := ParseURI(tc.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", tc.in, err)
			continue
		}
		if *u != tc.want {
			t.Errorf("ParseURI(%q) = %+v, want %+v", tc.in, *u, tc.want)
		}
		if s := u.String(); s != tc.str {
			t.Errorf("String() = %q, want %q", s, tc.str)
		}
	}
	for _, bad := range []string{
		"pkcs11:token=x", "piv", "piv:slot=9b", "piv:slot=f9", "piv:slot=c", "piv:slot=009c",
		"piv:serial=-1", "piv:serial=4294967296", "piv:serial=", "piv:serial=1;serial=2",
		"piv:token=x", "piv:slot=9c?serial=1", "piv:pin-source=x", "piv:?pin-source=",
		"piv:slot=9c#x", "piv:serial=%zz", "piv:serial", "piv:serial=0x10", "piv:?pin-value=123456",
	} {
		if _, err := ParseURI(bad); !errors.Is(err, hsm.ErrBadURI) {
			t.Errorf("ParseURI(%q) = %v, want ErrBadURI", bad, err)
		}
	}
}

// FuzzParseURI checks that parsing never panics and that what parses
// prints as a URI that parses back to the same thing.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"piv:serial=12345678;slot=9c", "piv:slot=82?pin-source=/a%20b", "piv:", "piv:serial=1?pin-source=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		back, err := ParseURI(u.String())
		if err != nil {
			t.Fatalf("String() = %q does not parse: %v", u.String(), err)
		}
		if *back != *u {
			t.Fatalf("round trip %q -> %q: %+v != %+v", s, u.String(), *back, *u)
		}
	})
}
