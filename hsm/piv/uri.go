package piv

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// URI is a parsed "piv:" key URI, in the style of RFC 7512:
//
//	piv:serial=12345678;slot=9c?pin-source=/media/alice/pin
//
// Path attributes (separated by ';') select a YubiKey and a slot; query
// attributes (separated by '&') say how to log in. An absent serial matches
// the only YubiKey present; an absent slot means 9c (digital signature).
// docs/URIS-piv.md documents the format.
type URI struct {
	Serial    uint32 // the YubiKey's serial number, as printed on it
	HasSerial bool
	Slot      byte // 0x9a, 0x9c, 0x9d, 0x9e or 0x82 to 0x95
	HasSlot   bool
	PINSource string // a file holding the PIN; there is no pin-value
}

// DefaultSlot is the slot a URI without slot= names: PIV's digital
// signature slot, the one meant for signing documents.
const DefaultSlot = 0x9c

func badURI(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), hsm.ErrBadURI)
}

// validSlot reports whether s is a PIV key slot that can hold a signing key.
func validSlot(s byte) bool {
	switch s {
	case 0x9a, 0x9c, 0x9d, 0x9e:
		return true
	}
	return s >= 0x82 && s <= 0x95
}

// syntax is the piv: URI's attributes; pin-value is refused by Split.
var syntax = hsm.URISyntax{Scheme: "piv", Name: "PIV URI", Path: []string{"serial", "slot"}, Query: []string{"pin-source"}}

// ParseURI parses a "piv:" URI strictly: an unknown or repeated attribute,
// a bad number or an unknown slot is an error wrapping hsm.ErrBadURI, so
// that a typo never quietly selects a different key. pin-value is refused:
// PINs come from the terminal or a pin-source file. Errors name the
// attribute at fault, never its value.
func ParseURI(s string) (*URI, error) {
	attrs, err := syntax.Split(s)
	if err != nil {
		return nil, err
	}
	u := &URI{}
	for _, a := range attrs {
		val, err := url.PathUnescape(a.Value)
		if err != nil {
			return nil, badURI("PIV URI attribute %s has a bad percent escape ('%%' must be followed by two hex digits)", a.Name)
		}
		switch a.Name {
		case "serial":
			if val == "" || strings.TrimLeft(val, "0123456789") != "" {
				return nil, badURI("PIV URI serial must be the YubiKey's decimal serial number, as 'ceremony devices' prints it")
			}
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return nil, badURI("PIV URI serial is out of range: a YubiKey's serial is below 2^32")
			}
			u.Serial, u.HasSerial = uint32(n), true
		case "slot":
			n, err := strconv.ParseUint(val, 16, 8)
			if err != nil || len(val) != 2 || !validSlot(byte(n)) {
				return nil, badURI("PIV URI slot must be one of 9a, 9c, 9d, 9e or 82 to 95 (two hex digits)")
			}
			u.Slot, u.HasSlot = byte(n), true
		case "pin-source":
			if val == "" {
				return nil, badURI("PIV URI pin-source is empty: name the file holding the PIN")
			}
			u.PINSource = strings.TrimPrefix(val, "file:")
		}
	}
	return u, nil
}

// SlotOrDefault returns the slot the URI names, or DefaultSlot.
func (u *URI) SlotOrDefault() byte {
	if u.HasSlot {
		return u.Slot
	}
	return DefaultSlot
}

// String writes the URI in its canonical form. The PIN value is never
// written: a URI in a log or transcript must not carry a secret.
func (u *URI) String() string {
	var path []string
	if u.HasSerial {
		path = append(path, "serial="+strconv.FormatUint(uint64(u.Serial), 10))
	}
	if u.HasSlot {
		path = append(path, fmt.Sprintf("slot=%02x", u.Slot))
	}
	s := "piv:" + strings.Join(path, ";")
	if u.PINSource != "" {
		s += "?pin-source=" + escape(u.PINSource)
	}
	return s
}

// escape percent-encodes what would end or split an attribute value.
func escape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x21 || c > 0x7e || strings.IndexByte("%;?&#=", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// keyURI is the canonical URI of one slot on one YubiKey.
func keyURI(serial uint32, slot byte) string {
	return (&URI{Serial: serial, HasSerial: true, Slot: slot, HasSlot: true}).String()
}

func deviceURI(serial uint32) string {
	return (&URI{Serial: serial, HasSerial: true}).String()
}
