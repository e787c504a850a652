package hsm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/hsm"
	_ "github.com/ceremony-tuf/ceremony/hsm/piv"
	_ "github.com/ceremony-tuf/ceremony/hsm/pkcs11"
)

// secret stands where a PIN, or a PIN file's name, would: no error may
// quote any part of it.
const secret = "Zq7Kx9Wv"

// leaks reports the first four-byte piece of secret that msg quotes.
func leaks(msg, secret string) string {
	for i := 0; i+4 <= len(secret); i++ {
		if strings.Contains(msg, secret[i:i+4]) {
			return secret[i : i+4]
		}
	}
	return ""
}

// TestURIErrorsQuoteNoValue opens malformed key URIs the way the CLI's
// --key, plans and requests do, through hsm.Open, and checks that each is
// refused as a bad URI that names what is wrong without quoting a value:
// a mangled URI may hold a PIN.
func TestURIErrorsQuoteNoValue(t *testing.T) {
	for _, c := range []struct{ uri, want string }{
		{"pkcs11:token=a?pin-value=" + secret, "pin-value"},
		{"pkcs11:token=a?pin-value=" + secret[:3] + "%zz" + secret[3:], "pin-value"},
		{"pkcs11:token=a?PIN-VALUE=" + secret, "pin-value"},
		{"pkcs11:token=a?pin-source=/p&pin-value=" + secret, "pin-value"},
		{"pkcs11:token=" + secret + "%zz", "token has a bad percent escape"},
		{"pkcs11:token=" + secret + "%2", "token ends in an incomplete percent escape"},
		{"pkcs11:token=" + secret + "%ff", "token is not valid UTF-8"},
		{"pkcs11:token=" + secret[:4] + " " + secret[4:], "token holds a space"},
		{"pkcs11:token=a?pin-source=/media/" + secret + "#x", "fragment"},
		{"pkcs11:token=a#" + secret, "fragment"},
		{"pkcs11:token=a?pin-valeu=" + secret, `unknown query attribute "pin-valeu"`},
		{"pkcs11:token=a;" + secret, "path attribute number 2"},
		{"pkcs11:token=a?" + secret, "query attribute number 1"},
		{"pkcs11:token=a?48" + secret + "=1", "its name is not shown"},
		{"pkcs11:token=a?pin-source=" + secret + "&pin-source=/p", "pin-source twice"},
		{"pkcs11:library-version=" + secret, "library-version"},
		{"pkcs11:slot-id=" + secret, "slot-id"},
		{"pkcs11:type=" + secret, "type"},
		{"pkcs11:token=a?module-name=/" + secret, "module-name"},
		{"pkcs11:token=a?pin-source=" + secret + ":x", "pin-source is not a file"},
		{"piv:?pin-value=" + secret, "pin-value"},
		{"piv:serial=1?pin-value=" + secret + "%zz", "pin-value"},
		{"piv:serial=" + secret, "serial"},
		{"piv:serial=4294967296" + "1234", "serial is out of range"},
		{"piv:slot=" + secret, "slot"},
		{"piv:slot=9c#" + secret, "fragment"},
		{"piv:?pin-source=" + secret + "%zz", "pin-source has a bad percent escape"},
		{"piv:?pin-valeu=" + secret, `unknown query attribute "pin-valeu"`},
		{"piv:" + secret, "path attribute number 1"},
		{secret, "no scheme"},
		{secret + ":token=a", "unknown scheme:"},
		{"gpg:" + secret, `unknown scheme "gpg"`},
	} {
		_, err := hsm.Open(context.Background(), c.uri, hsm.Auth{})
		if !errors.Is(err, hsm.ErrBadURI) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want ErrBadURI saying %q", c.uri, err, c.want)
			continue
		}
		s := secret
		if strings.HasPrefix(c.uri, "piv:serial=4294967296") {
			s = "42949672961234"
		}
		if piece := leaks(err.Error(), s); piece != "" {
			t.Errorf("%q: the error quotes %q from a value: %v", c.uri, piece, err)
		}
	}
}

// TestPINValueRefusedEverywhere: the refusal of pin-value names the way
// out, whatever the scheme, and CheckNoPIN (which plans use) agrees with
// the parsers.
func TestPINValueRefusedEverywhere(t *testing.T) {
	for _, uri := range []string{
		"pkcs11:token=a?pin-value=1234", "piv:slot=9c?pin-value=1234", "fake:online?pin-value=1234",
		"pkcs11:token=a;pin-value=1234", "x:?Pin-Value=1234",
	} {
		err := hsm.CheckNoPIN(uri)
		if !errors.Is(err, hsm.ErrBadURI) || !strings.Contains(err.Error(), "pin-source=FILE") || strings.Contains(err.Error(), "1234") {
			t.Errorf("CheckNoPIN(%q) = %v, want ErrBadURI pointing to pin-source", uri, err)
		}
	}
	for _, uri := range []string{"pkcs11:token=a?pin-source=/p", "piv:slot=9c", "fake:online", "pkcs11:object=pin-value"} {
		if err := hsm.CheckNoPIN(uri); err != nil {
			t.Errorf("CheckNoPIN(%q) = %v, want nil", uri, err)
		}
	}
}
