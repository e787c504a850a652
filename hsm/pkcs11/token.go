package pkcs11

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// token is one token in one slot, with the process's single session on it.
// mu serialises every PKCS#11 call that uses the session: a session runs one
// operation at a time, and C_SignInit/C_Sign from two goroutines would
// interleave.
type token struct {
	mod  *module
	slot uint
	dev  hsm.Device

	mu       sync.Mutex
	sess     p11.SessionHandle
	hasSess  bool
	loggedIn bool
	dead     bool // removed or closed: a new token value replaces it
}

func (t *token) isDead() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dead
}

// sessionLocked opens the token's session the first time it is needed. It
// is read-write so that key generation can use it too.
func (t *token) sessionLocked() error {
	if t.dead {
		return fmt.Errorf("%s: the token was removed or its session closed; plug it in and run again: %w", t.dev, hsm.ErrRemoved)
	}
	if t.hasSess {
		return nil
	}
	s, err := t.mod.ctx.OpenSession(t.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if isCode(err, p11.CKR_TOKEN_WRITE_PROTECTED) {
		s, err = t.mod.ctx.OpenSession(t.slot, p11.CKF_SERIAL_SESSION)
	}
	if err != nil {
		return t.errLocked("open a session", err)
	}
	t.sess, t.hasSess = s, true
	// Another session of this process may have logged in already (PKCS#11
	// login state is per application, not per session).
	if si, err := t.mod.ctx.GetSessionInfo(s); err == nil &&
		(si.State == p11.CKS_RW_USER_FUNCTIONS || si.State == p11.CKS_RO_USER_FUNCTIONS) {
		t.loggedIn = true
	}
	return nil
}

// dropSessionLocked gives up a session that no longer works and marks the
// token dead, so that the next lookup makes a new token value. Closing the
// session matters: modules such as ykcs11 drop their card connection when
// the last session closes, and reconnect to a card put back only then.
func (t *token) dropSessionLocked() {
	if t.hasSess {
		_ = t.mod.ctx.CloseSession(t.sess)
	}
	t.dead, t.hasSess, t.loggedIn = true, false, false
}

// triesLeft reads the token's PIN flags: 0 when locked, 1 on the final
// try, -1 when the token does not say (SoftHSM keeps no retry counter; it
// only sets CKF_USER_PIN_COUNT_LOW after a wrong PIN).
func triesLeft(flags uint) int {
	switch {
	case flags&p11.CKF_USER_PIN_LOCKED != 0:
		return 0
	case flags&p11.CKF_USER_PIN_FINAL_TRY != 0:
		return 1
	}
	return -1
}

// loginLocked logs the token's session in as the user once for the whole
// process, asking auth for the PIN and applying its policy before every try.
func (t *token) loginLocked(auth hsm.Auth) error {
	if err := t.sessionLocked(); err != nil {
		return err
	}
	if t.loggedIn {
		return nil
	}
	ti, err := t.mod.ctx.GetTokenInfo(t.slot)
	if err != nil {
		return t.errLocked("read the token's PIN state", err)
	}
	if ti.Flags&p11.CKF_LOGIN_REQUIRED == 0 {
		t.loggedIn = true
		return nil
	}
	if ti.Flags&p11.CKF_PROTECTED_AUTHENTICATION_PATH != 0 {
		// The PIN is typed on the device's own keypad.
		if err := t.mod.ctx.Login(t.sess, p11.CKU_USER, ""); err != nil && !isCode(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
			return t.loginErrLocked(err, triesLeft(ti.Flags))
		}
		t.loggedIn = true
		return nil
	}
	retry := false
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		tries := triesLeft(ti.Flags)
		if err := auth.Policy.Check(t.dev, tries); err != nil {
			return err
		}
		if auth.PINs == nil {
			return fmt.Errorf("%s needs its user PIN and none can be asked for: run on a terminal, or give pin-source=FILE in the URI: %w", t.dev, hsm.ErrNotLoggedIn)
		}
		pin, err := auth.PIN(hsm.PINRequest{Device: t.dev, TriesLeft: tries, Retry: retry})
		if err != nil {
			return err
		}
		// miekg/pkcs11 takes the PIN as a string and copies it to C memory
		// it frees unwiped (docs/SECURITY.md); PINString at least adds no
		// Go copy.
		err = t.mod.ctx.Login(t.sess, p11.CKU_USER, hsm.PINString(pin))
		hsm.Wipe(pin)
		if err == nil || isCode(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
			t.loggedIn = true
			return nil
		}
		if !isCode(err, p11.CKR_PIN_INCORRECT) {
			return t.loginErrLocked(err, tries)
		}
		if nti, err := t.mod.ctx.GetTokenInfo(t.slot); err == nil {
			ti = nti
		}
		last = hsm.PINError{Device: t.dev, Err: hsm.ErrWrongPIN, TriesLeft: triesLeft(ti.Flags)}
		retry = true
	}
	return last
}

// contextLoginLocked gives the PIN for the one operation just started, for
// keys with CKA_ALWAYS_AUTHENTICATE. The PIN policy applies as for a login.
func (t *token) contextLoginLocked(auth hsm.Auth) error {
	tries := -1
	if ti, err := t.mod.ctx.GetTokenInfo(t.slot); err == nil {
		tries = triesLeft(ti.Flags)
	}
	if err := auth.Policy.Check(t.dev, tries); err != nil {
		return err
	}
	if auth.PINs == nil {
		return fmt.Errorf("%s: this key asks for the PIN before every signature and none can be asked for: run on a terminal, or give pin-source=FILE in the URI: %w", t.dev, hsm.ErrNotLoggedIn)
	}
	pin, err := auth.PIN(hsm.PINRequest{Device: t.dev, TriesLeft: tries})
	if err != nil {
		return err
	}
	err = t.mod.ctx.Login(t.sess, p11.CKU_CONTEXT_SPECIFIC, hsm.PINString(pin))
	hsm.Wipe(pin)
	if err != nil {
		return t.loginErrLocked(err, tries)
	}
	return nil
}

func (t *token) loginErrLocked(err error, tries int) error {
	switch {
	case isCode(err, p11.CKR_PIN_INCORRECT):
		return hsm.PINError{Device: t.dev, Err: hsm.ErrWrongPIN, TriesLeft: tries}
	case isCode(err, p11.CKR_PIN_LOCKED):
		return hsm.PINError{Device: t.dev, Err: hsm.ErrPINLocked, TriesLeft: 0}
	case isCode(err, p11.CKR_PIN_EXPIRED):
		return fmt.Errorf("%s: the user PIN has expired; set a new one with the token's own tool, then run again: %w", t.dev, hsm.ErrNotLoggedIn)
	}
	return t.errLocked("log in", err)
}

// errLocked turns a PKCS#11 error into one that says what happened and what
// to do, wrapping the hsm sentinel for its class.
func (t *token) errLocked(op string, err error) error {
	var code p11.Error
	if !errors.As(err, &code) {
		return fmt.Errorf("%s: %s: %w", t.dev, op, err)
	}
	name := ckrName(err)
	switch uint(code) {
	case p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_DEVICE_REMOVED, p11.CKR_TOKEN_NOT_RECOGNIZED,
		p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_SLOT_ID_INVALID:
		// The module's cache replaces a dead token on the next lookup, so
		// a token plugged back in gets a fresh session and login.
		t.dropSessionLocked()
		return fmt.Errorf("%s: %s: the token is not present or was removed (%s); plug it in and run again: %w", t.dev, op, name, hsm.ErrRemoved)
	case p11.CKR_DEVICE_ERROR:
		// USB tokens and smart cards report a pulled-out device this way
		// (ykcs11 does); the session is unusable either way, so the next
		// use opens a new one.
		t.dropSessionLocked()
		return fmt.Errorf("%s: %s: the device stopped answering (%s); it may have been pulled out: plug it in and run again: %w", t.dev, op, name, hsm.ErrRemoved)
	case p11.CKR_USER_NOT_LOGGED_IN, p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_KEY_HANDLE_INVALID:
		// A private key's handle goes invalid when the token logs out.
		t.loggedIn = false
		return fmt.Errorf("%s: %s: PIN or touch required (%s); log in again and, if the device blinks, touch it: %w", t.dev, op, name, hsm.ErrNotLoggedIn)
	case p11.CKR_PIN_INCORRECT:
		return hsm.PINError{Device: t.dev, Err: hsm.ErrWrongPIN, TriesLeft: -1}
	case p11.CKR_PIN_LOCKED:
		return hsm.PINError{Device: t.dev, Err: hsm.ErrPINLocked, TriesLeft: 0}
	case p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID, p11.CKR_KEY_TYPE_INCONSISTENT,
		p11.CKR_KEY_FUNCTION_NOT_PERMITTED, p11.CKR_FUNCTION_NOT_SUPPORTED, p11.CKR_TEMPLATE_INCONSISTENT,
		p11.CKR_ATTRIBUTE_VALUE_INVALID, p11.CKR_DOMAIN_PARAMS_INVALID, p11.CKR_CURVE_NOT_SUPPORTED:
		return fmt.Errorf("%s: %s: the token does not support this (%s); it can do %s: %w",
			t.dev, op, name, t.capabilitiesLocked(), hsm.ErrUnsupported)
	case p11.CKR_DEVICE_MEMORY:
		return fmt.Errorf("%s: %s: the token is out of memory (%s); delete unused objects or use another token: %w", t.dev, op, name, hsm.ErrDevice)
	}
	return fmt.Errorf("%s: %s failed with %s; check the token and its module, then run again: %w", t.dev, op, name, hsm.ErrDevice)
}

// mechanismTypes maps the signing mechanisms to the key types they serve.
var mechanismTypes = []struct {
	mech  uint
	types []hsm.KeyType
}{
	{ckmEdDSA, []hsm.KeyType{hsm.Ed25519}},
	{p11.CKM_ECDSA, []hsm.KeyType{hsm.ECDSAP256, hsm.ECDSAP384}},
	{p11.CKM_RSA_PKCS_PSS, []hsm.KeyType{hsm.RSA2048, hsm.RSA3072, hsm.RSA4096}},
}

// capabilitiesLocked names the key types the token signs with, for error
// messages.
func (t *token) capabilitiesLocked() string {
	mechs, err := t.mod.ctx.GetMechanismList(t.slot)
	if err != nil {
		return "an unknown set of key types (it would not list its mechanisms)"
	}
	have := map[uint]bool{}
	for _, m := range mechs {
		have[m.Mechanism] = true
	}
	var names []string
	for _, mt := range mechanismTypes {
		if have[mt.mech] {
			for _, kt := range mt.types {
				names = append(names, string(kt))
			}
		}
	}
	if len(names) == 0 {
		return "none of ed25519, ecdsa-p256, ecdsa-p384, rsa-*"
	}
	return strings.Join(names, ", ")
}

// hasMechanismLocked reports whether the token lists mech.
func (t *token) hasMechanismLocked(mech uint) bool {
	mechs, err := t.mod.ctx.GetMechanismList(t.slot)
	if err != nil {
		return true // let the operation itself say what is wrong
	}
	for _, m := range mechs {
		if m.Mechanism == mech {
			return true
		}
	}
	return false
}

// findLocked returns every object matching tmpl.
func (t *token) findLocked(tmpl []*p11.Attribute) ([]p11.ObjectHandle, error) {
	if err := t.mod.ctx.FindObjectsInit(t.sess, tmpl); err != nil {
		return nil, t.errLocked("search objects", err)
	}
	var out []p11.ObjectHandle
	for {
		hs, _, err := t.mod.ctx.FindObjects(t.sess, 64)
		if err != nil {
			_ = t.mod.ctx.FindObjectsFinal(t.sess)
			return nil, t.errLocked("search objects", err)
		}
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
		if len(out) > 100000 {
			break // a token cannot sensibly hold more; stop a runaway module
		}
	}
	if err := t.mod.ctx.FindObjectsFinal(t.sess); err != nil {
		return nil, t.errLocked("search objects", err)
	}
	return out, nil
}

// objectTemplate selects objects of class by the URI's object and id.
func objectTemplate(class uint, u *URI) []*p11.Attribute {
	tmpl := []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, class)}
	if u.Object != "" {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_LABEL, u.Object))
	}
	if u.HasID {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, u.ID))
	}
	return tmpl
}

// keyObject is a key pair as the token stores it.
type keyObject struct {
	key    hsm.Key
	label  string
	id     []byte
	handle p11.ObjectHandle // the public key object, or 0
}

// publicKeysLocked lists the key pairs matching u by their public key
// objects, which tokens show without a login. Keys of types hsm does not
// sign with are left out and counted in skipped.
func (t *token) publicKeysLocked(u *URI) (keys []keyObject, skipped int, err error) {
	hs, err := t.findLocked(objectTemplate(p11.CKO_PUBLIC_KEY, u))
	if err != nil {
		return nil, 0, err
	}
	for _, h := range hs {
		k, err := t.readPublicLocked(h)
		if err != nil {
			if errors.Is(err, hsm.ErrRemoved) {
				return nil, 0, err
			}
			skipped++
			continue
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].key.URI < keys[j].key.URI })
	return keys, skipped, nil
}

// readPublicLocked reads a key object's label, id and public key. It works
// on public key objects and, for RSA, on private key objects, which carry
// the modulus and exponent too.
func (t *token) readPublicLocked(h p11.ObjectHandle) (keyObject, error) {
	attrs, err := t.mod.ctx.GetAttributeValue(t.sess, h, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_KEY_TYPE, nil),
		p11.NewAttribute(p11.CKA_LABEL, nil),
		p11.NewAttribute(p11.CKA_ID, nil),
	})
	if err != nil {
		return keyObject{}, t.errLocked("read a key's attributes", err)
	}
	label, id := string(attrs[1].Value), attrs[2].Value
	if len(attrs[0].Value) == 0 {
		// An empty CKA_KEY_TYPE would read as 0, which is CKK_RSA.
		return keyObject{}, fmt.Errorf("%s: key %q has no key type: %w", t.dev, label, hsm.ErrUnsupported)
	}
	kt := leUint(attrs[0].Value)
	var get []*p11.Attribute
	switch kt {
	case p11.CKK_EC, ckkECEdwards:
		get = []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_PARAMS, nil), p11.NewAttribute(p11.CKA_EC_POINT, nil)}
	case p11.CKK_RSA:
		get = []*p11.Attribute{p11.NewAttribute(p11.CKA_MODULUS, nil), p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, nil)}
	default:
		return keyObject{}, fmt.Errorf("%s: key %q has key type 0x%x, which ceremony does not sign with: %w", t.dev, label, kt, hsm.ErrUnsupported)
	}
	vals, err := t.mod.ctx.GetAttributeValue(t.sess, h, get)
	if err != nil {
		return keyObject{}, t.errLocked(fmt.Sprintf("read key %q's public half", label), err)
	}
	pub, err := parsePublic(kt, vals[0].Value, vals[1].Value)
	if err != nil {
		return keyObject{}, fmt.Errorf("%s: key %q: %w", t.dev, label, err)
	}
	typ, err := hsm.KeyTypeOf(pub)
	if err != nil {
		return keyObject{}, fmt.Errorf("%s: key %q: %v: %w", t.dev, label, err, hsm.ErrUnsupported)
	}
	return keyObject{
		key: hsm.Key{
			URI:    t.keyURI(label, id),
			Label:  label,
			ID:     fmt.Sprintf("%x", id),
			Type:   typ,
			Public: pub,
			Device: t.dev,
		},
		label: label, id: id, handle: h,
	}, nil
}

// keyURI is the URI that names exactly this key on exactly this token.
func (t *token) keyURI(label string, id []byte) string {
	u := &URI{Token: t.dev.Label, Manufacturer: t.dev.Manufacturer, Model: t.dev.Model, Serial: t.dev.Serial, Object: label}
	if len(id) > 0 {
		u.ID, u.HasID = id, true
	}
	return u.String()
}

// leUint reads a CK_ULONG attribute in the host's byte order (little-endian
// on every platform this runs on), whatever its width.
func leUint(b []byte) uint {
	var v uint
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint(b[i])
	}
	return v
}

// ckrName names a PKCS#11 return value: "CKR_PIN_INCORRECT (0xa0)".
func ckrName(err error) string {
	var e p11.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	s := e.Error() // "pkcs11: 0xA0: CKR_PIN_INCORRECT"
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s[i+2:], "CKR_") {
		return fmt.Sprintf("%s, 0x%X", s[i+2:], uint(e))
	}
	return fmt.Sprintf("PKCS#11 error 0x%X", uint(e))
}
