package piv

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	gopiv "github.com/go-piv/piv-go/v2/piv"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// card is one open YubiKey. go-piv holds it exclusively while it is open,
// so every operation opens it, does its work and closes it again, except a
// Signer, which holds it until its Close.
type card struct {
	yk     *gopiv.YubiKey
	reader string
	serial uint32
	ver    gopiv.Version
	dev    hsm.Device
}

// isYubiKeyReader keeps the backend to readers a YubiKey shows up as: other
// smart cards (a national ID in a laptop's reader) are none of its business.
func isYubiKeyReader(name string) bool {
	return strings.Contains(strings.ToLower(name), "yubikey") || strings.HasPrefix(name, "Yubico")
}

// readers lists the PC/SC readers that may hold a YubiKey.
func readers() ([]string, error) {
	all, err := gopiv.Cards()
	if err != nil {
		return nil, classify(nil, "list smart card readers", err)
	}
	var out []string
	for _, r := range all {
		if isYubiKeyReader(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// openReader opens the YubiKey in reader and reads who it is.
func openReader(reader string) (*card, error) {
	yk, err := gopiv.Open(reader)
	if err != nil {
		return nil, classify(nil, "open the YubiKey in reader "+reader, err)
	}
	c := &card{yk: yk, reader: reader, ver: yk.Version()}
	if c.serial, err = yk.Serial(); err != nil {
		yk.Close()
		return nil, classify(nil, "read the serial number of the YubiKey in "+reader, err)
	}
	model := fmt.Sprintf("YubiKey %d", c.ver.Major)
	// Reading the form factor visits the management applet, which also
	// ends any PIN login another program left on the card: every open
	// here starts logged out, so a PIN is asked for by this program.
	if ff, err := yk.FormFactor(); err == nil && ff != 0 {
		model += " " + ff.String()
	}
	c.dev = hsm.Device{
		Backend:      "piv",
		URI:          deviceURI(c.serial),
		Model:        model,
		Manufacturer: "Yubico",
		Serial:       fmt.Sprint(c.serial),
		Firmware:     fmt.Sprintf("%d.%d.%d", c.ver.Major, c.ver.Minor, c.ver.Patch),
	}
	return c, nil
}

// Close logs out and releases the card. go-piv leaves the card powered
// and logged in when it disconnects, so the next program to open it would
// inherit the PIN login; visiting another applet (which FormFactor does)
// ends the login first.
func (c *card) Close() error {
	if c == nil || c.yk == nil {
		return nil
	}
	c.yk.FormFactor()
	err := c.yk.Close()
	c.yk = nil
	return err
}

// openCards opens the YubiKeys a URI selects: the one with its serial, or
// every one present when it names none. The caller closes them.
func openCards(u *URI) ([]*card, error) {
	rs, err := readers()
	if err != nil {
		return nil, err
	}
	var out []*card
	var errs []string
	for _, r := range rs {
		c, err := openReader(r)
		if err != nil {
			// An empty reader, or a card that is busy elsewhere: say so
			// only if nothing matches.
			errs = append(errs, err.Error())
			continue
		}
		if u.HasSerial && c.serial != u.Serial {
			c.Close()
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		what := "no YubiKey is plugged in"
		if u.HasSerial {
			what = fmt.Sprintf("no YubiKey with serial %d is plugged in", u.Serial)
		}
		detail := ""
		if len(errs) > 0 {
			detail = " (" + strings.Join(errs, "; ") + ")"
		}
		return nil, fmt.Errorf("%s%s: plug it in and run again, or check the serial with 'ceremony devices': %w", what, detail, hsm.ErrNotFound)
	}
	return out, nil
}

// openOne opens the single YubiKey a URI selects.
func openOne(u *URI) (*card, error) {
	cs, err := openCards(u)
	if err != nil {
		return nil, err
	}
	if len(cs) > 1 {
		var serials []string
		for _, c := range cs {
			serials = append(serials, fmt.Sprint(c.serial))
			c.Close()
		}
		return nil, fmt.Errorf("%d YubiKeys are plugged in (serials %s): add serial=N to the URI to choose one: %w", len(cs), strings.Join(serials, ", "), hsm.ErrAmbiguous)
	}
	return cs[0], nil
}

// pivSlot turns a slot byte into go-piv's Slot.
func pivSlot(s byte) (gopiv.Slot, bool) {
	switch s {
	case 0x9a:
		return gopiv.SlotAuthentication, true
	case 0x9c:
		return gopiv.SlotSignature, true
	case 0x9d:
		return gopiv.SlotKeyManagement, true
	case 0x9e:
		return gopiv.SlotCardAuthentication, true
	}
	return gopiv.RetiredKeyManagementSlot(uint32(s))
}

// allSlots are the slots Devices looks into, in order.
var allSlots = func() []byte {
	s := []byte{0x9a, 0x9c, 0x9d, 0x9e}
	for b := byte(0x82); b <= 0x95; b++ {
		s = append(s, b)
	}
	return s
}()

var slotNames = map[byte]string{
	0x9a: "PIV authentication", 0x9c: "digital signature",
	0x9d: "key management", 0x9e: "card authentication",
}

func slotLabel(s byte) string {
	if n, ok := slotNames[s]; ok {
		return fmt.Sprintf("slot %02x (%s)", s, n)
	}
	return fmt.Sprintf("slot %02x (retired key management)", s)
}

// slotInfo is what the card says about a slot's key without a PIN.
type slotInfo struct {
	pub         crypto.PublicKey
	pinPolicy   gopiv.PINPolicy
	touchPolicy gopiv.TouchPolicy
}

func atLeast(v gopiv.Version, major, minor int) bool {
	if v.Major != major {
		return v.Major > major
	}
	return v.Minor >= minor
}

// slot reads a slot's public key and policies: from the key metadata on
// firmware 5.3 and later, else from the slot's attestation. It wraps
// hsm.ErrNotFound when the slot holds no key.
func (c *card) slot(s byte) (slotInfo, error) {
	ps, ok := pivSlot(s)
	if !ok {
		return slotInfo{}, fmt.Errorf("slot %02x is not a PIV key slot: %w", s, hsm.ErrBadURI)
	}
	if atLeast(c.ver, 5, 3) {
		ki, err := c.yk.KeyInfo(ps)
		if err != nil {
			if errors.Is(err, gopiv.ErrNotFound) {
				return slotInfo{}, fmt.Errorf("%s: %s holds no key: %w", c.dev, slotLabel(s), hsm.ErrNotFound)
			}
			return slotInfo{}, classify(c, "read "+slotLabel(s), err)
		}
		return slotInfo{pub: ki.PublicKey, pinPolicy: ki.PINPolicy, touchPolicy: ki.TouchPolicy}, nil
	}
	cert, err := c.yk.Attest(ps)
	if err != nil {
		if errors.Is(err, gopiv.ErrNotFound) {
			return slotInfo{}, fmt.Errorf("%s: %s holds no key generated on the YubiKey: %w", c.dev, slotLabel(s), hsm.ErrNotFound)
		}
		return slotInfo{}, classify(c, "read "+slotLabel(s), err)
	}
	pp, tp := policiesFromCert(cert)
	return slotInfo{pub: cert.PublicKey, pinPolicy: pp, touchPolicy: tp}, nil
}

var oidKeyPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 41482, 3, 8}

// policiesFromCert reads the PIN and touch policies from an attestation
// certificate; unknown values count as the strictest ("always").
func policiesFromCert(cert *x509.Certificate) (gopiv.PINPolicy, gopiv.TouchPolicy) {
	pp, tp := gopiv.PINPolicyAlways, gopiv.TouchPolicyAlways
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidKeyPolicy) && len(e.Value) == 2 {
			switch e.Value[0] {
			case 1:
				pp = gopiv.PINPolicyNever
			case 2:
				pp = gopiv.PINPolicyOnce
			}
			switch e.Value[1] {
			case 1:
				tp = gopiv.TouchPolicyNever
			case 3:
				tp = gopiv.TouchPolicyCached
			}
		}
	}
	return pp, tp
}

func (c *card) key(s byte, info slotInfo) (hsm.Key, error) {
	kt, err := hsm.KeyTypeOf(info.pub)
	if err != nil {
		return hsm.Key{}, fmt.Errorf("%s: %s: %v: %w", c.dev, slotLabel(s), err, hsm.ErrUnsupported)
	}
	return hsm.Key{
		URI:    keyURI(c.serial, s),
		Label:  slotLabel(s),
		ID:     fmt.Sprintf("%02x", s),
		Type:   kt,
		Public: info.pub,
		Device: c.dev,
	}, nil
}

// keys lists the keys in the slots a URI selects.
func (c *card) keys(u *URI) ([]hsm.Key, error) {
	slots := allSlots
	if u.HasSlot {
		slots = []byte{u.Slot}
	}
	var out []hsm.Key
	for _, s := range slots {
		info, err := c.slot(s)
		if errors.Is(err, hsm.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		k, err := c.key(s, info)
		if err != nil {
			// An X25519 key, say: not one that signs.
			continue
		}
		out = append(out, k)
	}
	return out, nil
}

// Messages of PC/SC errors that mean the card went away. go-piv does not
// export its error type, so its text is all there is to go by.
var removedMessages = []string{
	"smart card has been removed",
	"no Smart Card is currently in the device",
	"power has been removed from the smart card",
	"smart card has been reset",
	"not ready to accept commands",
	"communications error",
	"attempt was made to end a non-existent transaction",
	"reader is not currently available",
	"scard response too short: 0",
	"the supplied handle was invalid",
}

// classify turns a go-piv or PC/SC error into one that names what was
// being done and what to do, wrapping the hsm sentinel for its class.
func classify(c *card, op string, err error) error {
	who := "YubiKey"
	if c != nil {
		who = c.dev.String()
	}
	msg := err.Error()
	for _, m := range removedMessages {
		if strings.Contains(msg, m) {
			return fmt.Errorf("%s: %s: the YubiKey was removed or lost power (%v): plug it back in and run the step again: %w", who, op, err, hsm.ErrRemoved)
		}
	}
	switch {
	case strings.Contains(msg, "other connections outstanding") || strings.Contains(msg, "sharing violation"):
		return fmt.Errorf("%s: %s: another program holds the YubiKey (%v): close it (ykman, gpg-agent, a browser) and run again: %w", who, op, err, hsm.ErrNotFound)
	case strings.Contains(msg, "resource manager is not running") || strings.Contains(msg, "connecting to pcsc") || strings.Contains(msg, "smart card daemon"):
		return fmt.Errorf("%s: %s: the PC/SC daemon is not running (%v): install and start pcscd (scripts/install-deps.sh; systemctl start pcscd.socket): %w", who, op, err, hsm.ErrNotFound)
	case strings.Contains(msg, "security status not satisfied"):
		return fmt.Errorf("%s: %s: the YubiKey refused: PIN or touch missing (%v): %w", who, op, err, hsm.ErrNotLoggedIn)
	}
	return fmt.Errorf("%s: %s: %w", who, op, err)
}
