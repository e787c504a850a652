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
	PINSource string // a file holding the PIN
	PINValue  string // the PIN itself: tests only, callers warn
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

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// ParseURI parses a "piv:" URI strictly: an unknown or repeated attribute,
// a bad number or an unknown slot is an error wrapping hsm.ErrBadURI, so
// that a typo never quietly selects a different key.
func ParseURI(s string) (*URI, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(scheme, "piv") {
		return nil, badURI("%q is not a PIV URI: it must start with \"piv:\", e.g. piv:serial=12345678;slot=9c", clip(s))
	}
	if strings.Contains(rest, "#") {
		return nil, badURI("PIV URI %q has a fragment ('#'); percent-encode '#' as %%23 in values", clip(s))
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	set := func(part string, inQuery bool) error {
		name, raw, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return badURI("PIV URI %q: %q is not name=value", clip(s), clip(part))
		}
		if seen[name] {
			return badURI("PIV URI %q repeats %q", clip(s), name)
		}
		seen[name] = true
		val, err := url.PathUnescape(raw)
		if err != nil {
			return badURI("PIV URI %q: bad percent escape in %s", clip(s), name)
		}
		switch {
		case name == "serial" && !inQuery:
			if val == "" || strings.TrimLeft(val, "0123456789") != "" {
				return badURI("PIV URI %q: serial must be the YubiKey's decimal serial number, as 'ceremony devices' prints it", clip(s))
			}
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return badURI("PIV URI %q: serial %s is out of range", clip(s), clip(val))
			}
			u.Serial, u.HasSerial = uint32(n), true
		case name == "slot" && !inQuery:
			n, err := strconv.ParseUint(val, 16, 8)
			if err != nil || len(val) != 2 || !validSlot(byte(n)) {
				return badURI("PIV URI %q: slot must be one of 9a, 9c, 9d, 9e or 82 to 95 (two hex digits)", clip(s))
			}
			u.Slot, u.HasSlot = byte(n), true
		case name == "pin-source" && inQuery:
			if val == "" {
				return badURI("PIV URI %q: pin-source is empty", clip(s))
			}
			u.PINSource = strings.TrimPrefix(val, "file:")
		case name == "pin-value" && inQuery:
			if val == "" {
				return badURI("PIV URI %q: pin-value is empty", clip(s))
			}
			u.PINValue = val
		default:
			where := "path (before '?')"
			if inQuery {
				where = "query (after '?')"
			}
			return badURI("PIV URI %q: unknown attribute %q in the %s; known: serial and slot in the path, pin-source and pin-value in the query", clip(s), clip(name), where)
		}
		return nil
	}
	if path != "" {
		for _, part := range strings.Split(path, ";") {
			if err := set(part, false); err != nil {
				return nil, err
			}
		}
	}
	if query != "" {
		for _, part := range strings.Split(query, "&") {
			if err := set(part, true); err != nil {
				return nil, err
			}
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
