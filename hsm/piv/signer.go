package piv

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	gopiv "github.com/go-piv/piv-go/v2/piv"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// login verifies the PIN under hsm's shared policy: it reads the tries
// left first and refuses the last one unless auth.Policy allows it, asks
// auth.PINs again after a wrong PIN while tries remain, and reports a
// blocked PIN with what to do. With always set it asks for the PIN even
// when the card is already logged in, and returns it (for go-piv's PIN
// policy "always", which verifies it again just before signing); the
// caller wipes it once the signature is made.
func (c *card) login(auth hsm.Auth, always bool) ([]byte, error) {
	retry := false
	for attempt := 0; attempt < 3; attempt++ {
		tries, verified, err := c.retries()
		if err != nil {
			return nil, err
		}
		if verified && !always {
			return nil, nil
		}
		if err := auth.Policy.Check(c.dev, tries); err != nil {
			if retry {
				// Say first that the PIN just typed was wrong.
				return nil, fmt.Errorf("%w. %w", hsm.PINError{Device: c.dev, Err: hsm.ErrWrongPIN, TriesLeft: tries}, pinError(err))
			}
			return nil, pinError(err)
		}
		if auth.PINs == nil {
			return nil, fmt.Errorf("%s needs its PIN and none can be asked for: run on a terminal, or add ?pin-source=FILE to the key URI: %w", c.dev, hsm.ErrNotLoggedIn)
		}
		pin, err := auth.PIN(hsm.PINRequest{Device: c.dev, TriesLeft: tries, Retry: retry})
		if err != nil {
			return nil, pinError(err)
		}
		if len(pin) == 0 || len(pin) > 8 {
			n := len(pin)
			hsm.Wipe(pin)
			return nil, fmt.Errorf("%s: a PIV PIN is 1 to 8 characters, this one has %d: no try was spent: %w", c.dev, n, hsm.ErrWrongPIN)
		}
		// go-piv takes the PIN as a string and pads a copy of its own
		// (docs/SECURITY.md); PINString at least adds no Go copy.
		err = c.yk.VerifyPIN(hsm.PINString(pin))
		if err == nil {
			if !always {
				hsm.Wipe(pin)
				pin = nil
			}
			return pin, nil
		}
		hsm.Wipe(pin)
		var ae gopiv.AuthErr
		if !errors.As(err, &ae) {
			return nil, classify(c, "verify the PIN", err)
		}
		if ae.Retries == 0 {
			return nil, pinError(hsm.PINError{Device: c.dev, Err: hsm.ErrPINLocked, TriesLeft: 0})
		}
		retry = true
		if attempt == 2 {
			return nil, hsm.PINError{Device: c.dev, Err: hsm.ErrWrongPIN, TriesLeft: ae.Retries}
		}
	}
	return nil, fmt.Errorf("%s: PIN not accepted: %w", c.dev, hsm.ErrWrongPIN)
}

// pinError adds the PIV way out to a blocked PIN.
func pinError(err error) error {
	var pe hsm.PINError
	if errors.As(err, &pe) && errors.Is(pe.Err, hsm.ErrPINLocked) {
		return fmt.Errorf("%w. On a YubiKey: 'ykman piv access unblock-pin' sets a new PIN with the PUK (if the PUK is blocked too, only a PIV reset is left, which erases every key)", err)
	}
	return err
}

// retries reads the PIN tries left; verified is true when the card is
// logged in already (go-piv then reports an "expected error" instead of a
// count).
func (c *card) retries() (tries int, verified bool, err error) {
	n, err := c.yk.Retries()
	if err == nil {
		return n, false, nil
	}
	if strings.Contains(err.Error(), "expected error code from empty pin") {
		return -1, true, nil
	}
	return 0, false, classify(c, "read the PIN tries left", err)
}

// Signer implements hsm.Backend. The YubiKey stays open (and locked to this
// process) until the signer's Close: close it as soon as the step is done.
func (b *Backend) Signer(ctx context.Context, uri string, auth hsm.Auth) (hsm.Signer, error) {
	u, err := parse(uri)
	if err != nil {
		return nil, err
	}
	auth = authFor(u, auth)
	c, err := openOne(u)
	if err != nil {
		return nil, err
	}
	slot := u.SlotOrDefault()
	info, err := c.slot(slot)
	if err != nil {
		c.Close()
		return nil, err
	}
	k, err := c.key(slot, info)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &signer{b: b, c: c, serial: c.serial, slot: slot, info: info, k: k, auth: auth}, nil
}

type signer struct {
	b      *Backend
	serial uint32
	slot   byte
	k      hsm.Key
	auth   hsm.Auth

	mu     sync.Mutex
	c      *card // nil after the card was pulled out, until the next Sign
	info   slotInfo
	closed bool
}

func (s *signer) Public() crypto.PublicKey { return s.k.Public }
func (s *signer) Key() hsm.Key             { return s.k }

func (s *signer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.c.Close()
	s.c, s.closed = nil, true
	return err
}

// reopen finds the YubiKey again after it was pulled out, and checks that
// the slot still holds the same key: a different YubiKey with the same
// serial cannot exist, but a reset one can.
func (s *signer) reopen() error {
	c, err := openOne(&URI{Serial: s.serial, HasSerial: true})
	if err != nil {
		return err
	}
	info, err := c.slot(s.slot)
	if err != nil {
		c.Close()
		return err
	}
	if !samePublic(info.pub, s.k.Public) {
		c.Close()
		return fmt.Errorf("%s: %s now holds a different key than when signing began: refusing to sign with it: %w", c.dev, slotLabel(s.slot), hsm.ErrNotFound)
	}
	s.c, s.info = c, info
	return nil
}

func samePublic(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// Sign implements crypto.Signer (see hsm.Signer for the conventions). It
// logs in as the slot's PIN policy requires, tells the user to touch the
// YubiKey when its touch policy asks for it, and verifies the signature in
// software before returning it.
func (s *signer) Sign(rand io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	opts, err := hsm.SignOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.k.Device, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("%s: signer used after Close (a bug: please report it)", s.k.Device)
	}
	if s.c == nil {
		if err := s.reopen(); err != nil {
			return nil, err
		}
	}
	c := s.c
	ps, _ := pivSlot(s.slot)
	ka := gopiv.KeyAuth{PINPolicy: s.info.pinPolicy}
	switch s.info.pinPolicy {
	case gopiv.PINPolicyNever:
	case gopiv.PINPolicyAlways:
		pin, err := c.login(s.auth, true)
		if err != nil {
			return nil, s.fail(err)
		}
		defer hsm.Wipe(pin)
		ka.PIN = hsm.PINString(pin)
	default:
		if _, err := c.login(s.auth, false); err != nil {
			return nil, s.fail(err)
		}
		// Logged in: go-piv only checks that it still is.
		ka.PINPolicy = gopiv.PINPolicyOnce
	}
	priv, err := c.yk.PrivateKey(ps, s.k.Public, ka)
	if err != nil {
		return nil, s.fail(classify(c, "use "+slotLabel(s.slot), err))
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %s holds a key that cannot sign: %w", c.dev, slotLabel(s.slot), hsm.ErrUnsupported)
	}
	switch s.info.touchPolicy {
	case gopiv.TouchPolicyAlways:
		fmt.Fprintf(s.b.out(), "Touch YubiKey #%d now: it is waiting, its light blinks (%s).\n", s.serial, slotLabel(s.slot))
	case gopiv.TouchPolicyCached:
		fmt.Fprintf(s.b.out(), "Touch YubiKey #%d if its light blinks (%s; a touch counts for 15 seconds).\n", s.serial, slotLabel(s.slot))
	}
	sig, err := signer.Sign(rand, msg, opts)
	if err != nil {
		var ae gopiv.AuthErr
		if errors.As(err, &ae) {
			return nil, s.fail(pinError(hsm.PINError{Device: c.dev, Err: hsm.ErrWrongPIN, TriesLeft: ae.Retries}))
		}
		cerr := classify(c, "sign with "+slotLabel(s.slot), err)
		if errors.Is(cerr, hsm.ErrNotLoggedIn) && s.info.touchPolicy != gopiv.TouchPolicyNever {
			cerr = fmt.Errorf("%s: the YubiKey was not touched in time, or the PIN was not accepted: sign again and touch it while it blinks: %w", c.dev, hsm.ErrNotLoggedIn)
		}
		return nil, s.fail(cerr)
	}
	if pub, ok := s.k.Public.(*ecdsa.PublicKey); ok {
		if sig, err = hsm.LowS(pub, sig); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", c.dev, slotLabel(s.slot), err)
		}
	}
	if err := hsm.Verify(s.k.Public, msg, sig, opts); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", c.dev, slotLabel(s.slot), err)
	}
	return sig, nil
}

// fail closes a card that went away, so that the next Sign finds it again
// once it is plugged back in.
func (s *signer) fail(err error) error {
	if errors.Is(err, hsm.ErrRemoved) {
		s.c.Close()
		s.c = nil
	}
	return err
}
