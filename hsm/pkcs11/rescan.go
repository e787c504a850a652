package pkcs11

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	p11 "github.com/miekg/pkcs11"
)

// SoftHSM reads its token folder once, when it is initialised: a token
// whose folder comes back after it was moved away (SoftHSM's way of
// unplugging) is never listed again until the module is initialised
// anew, which PKCS#11 allows only after C_Finalize. So a listing of
// devices, which faces repeat to follow plugging (the TUI's device
// panel), starts SoftHSM afresh first, when that harms no one: no signer
// is open on it and no token of it is in use. Hardware modules see
// plugging through C_GetSlotList, and are left alone.

// rescan initialises every loaded SoftHSM module anew that is idle.
func (b *Backend) rescan() error {
	b.mu.Lock()
	mods := slices.Collect(maps.Values(b.modules))
	b.mu.Unlock()
	for _, m := range mods {
		if err := m.rescanIfIdle(); err != nil {
			return err
		}
	}
	return nil
}

// isSoftHSM reports whether the module is SoftHSM, by what it says it is.
func (m *module) isSoftHSM() bool {
	return strings.HasPrefix(strings.TrimSpace(m.info.ManufacturerID), "SoftHSM")
}

// rescanIfIdle finalises and initialises a SoftHSM module again, unless
// a signer is open on it or one of its tokens is in use (a login waiting
// for its PIN holds the token). Every token value it had is then dead:
// sessions and logins end with C_Finalize, and the next lookup makes new
// ones.
func (m *module) rescanIfIdle() error {
	if !m.isSoftHSM() || m.signers.Load() > 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	toks := slices.Collect(maps.Values(m.tokens))
	var held []*token
	defer func() {
		for _, t := range held {
			t.mu.Unlock()
		}
	}()
	for _, t := range toks {
		if !t.mu.TryLock() {
			return nil // in use: next time
		}
		held = append(held, t)
	}
	if m.signers.Load() > 0 {
		return nil // a signer opened while the tokens were taken
	}
	for _, t := range held {
		t.dead, t.hasSess, t.loggedIn = true, false, false
	}
	m.tokens = map[uint]*token{}
	// Not initialised: a start again that failed before (its token
	// folder was away); try again.
	if err := m.ctx.Finalize(); err != nil && !isCode(err, p11.CKR_CRYPTOKI_NOT_INITIALIZED) {
		return fmt.Errorf("PKCS#11 module %s could not be stopped to look for tokens plugged in (%s)", m.path, ckrName(err))
	}
	if err := m.ctx.Initialize(); err != nil {
		return fmt.Errorf("PKCS#11 module %s failed to start again (%s): check its configuration (for SoftHSM, SOFTHSM2_CONF and its tokendir)", m.path, ckrName(err))
	}
	return nil
}
