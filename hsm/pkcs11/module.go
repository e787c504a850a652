// Package pkcs11 is the hsm backend for PKCS#11 tokens: SoftHSM, YubiHSM 2,
// Nitrokey HSM, network HSMs and YubiKeys through ykcs11. Keys are named by
// RFC 7512 "pkcs11:" URIs.
//
// A module is loaded and initialised once per process. Each token gets one
// session and one login for the whole process, shared by every signer on
// it, so a ceremony that signs several roles with one token asks for the PIN
// once; a mutex per token serialises every call on that session, because a
// PKCS#11 session is not safe for concurrent operations.
//
// URIS.md in this directory documents the URI attributes, how the module is
// chosen, and the PIN rules.
package pkcs11

import (
	"errors"
	"fmt"
	"github.com/ceremony-tuf/ceremony/hsm/pkcs11/modules"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	p11 "github.com/miekg/pkcs11"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// ModuleEnv names the environment variable that selects the PKCS#11 module
// when a URI has no module-path. When it is set, no other module is tried.
const ModuleEnv = "CEREMONY_PKCS11_MODULE"

// PKCS#11 3.0 EdDSA values that miekg/pkcs11 v1.1.2 does not define.
const (
	ckkECEdwards           = 0x40
	ckmECEdwardsKeyPairGen = 0x1055
	ckmEdDSA               = 0x1057
)

// ModuleCandidates returns the module files tried, in order, when neither
// the URI nor ModuleEnv names one (package modules holds the list).
func ModuleCandidates() []string { return modules.Candidates() }

// Backend is the PKCS#11 hsm.Backend. The zero value is ready to use; the
// package registers one with hsm.Register.
type Backend struct {
	mu      sync.Mutex
	modules map[string]*module // by resolved path
}

var defaultBackend = &Backend{}

func init() { hsm.Register(defaultBackend) }

// Default returns the backend registered with hsm, so that callers share
// its modules, sessions and logins.
func Default() *Backend { return defaultBackend }

// Scheme implements hsm.Backend.
func (b *Backend) Scheme() string { return "pkcs11" }

// module is one loaded, initialised PKCS#11 library.
type module struct {
	path string
	ctx  *p11.Ctx
	info p11.Info

	// mu guards tokens, and the slot list against a rescan.
	mu     sync.Mutex
	tokens map[uint]*token // by slot id
	// signers counts the signers open on the module's tokens: a rescan
	// waits until none is.
	signers atomic.Int64
}

// modulePaths says which modules a URI may be served by. explicit is true
// when the user named the module, so that failing to load it is an error
// rather than a candidate to skip.
func modulePaths(u *URI) (paths []string, explicit bool, err error) {
	switch {
	case u != nil && u.ModulePath != "":
		return []string{u.ModulePath}, true, nil
	case u != nil && u.ModuleName != "":
		for _, c := range ModuleCandidates() {
			base := filepath.Base(c)
			if base == u.ModuleName || base == "lib"+u.ModuleName+".so" || base == u.ModuleName+".so" ||
				base == u.ModuleName+"-pkcs11.so" || base == u.ModuleName+"_pkcs11.so" {
				if _, err := os.Stat(c); err == nil {
					return []string{c}, true, nil
				}
			}
		}
		return nil, true, fmt.Errorf("PKCS#11 module %q is not installed in the usual places; give its file with module-path=: %w", u.ModuleName, hsm.ErrNotFound)
	}
	if p := os.Getenv(ModuleEnv); p != "" {
		return []string{p}, true, nil
	}
	seen := map[string]bool{}
	for _, c := range ModuleCandidates() {
		real, err := filepath.EvalSymlinks(c)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		paths = append(paths, c)
	}
	return paths, false, nil
}

// load returns the module at path, loading and initialising it the first
// time. PKCS#11 allows one C_Initialize per process, and SoftHSM reads its
// configuration then, so a module stays loaded until Close.
func (b *Backend) load(path string) (*module, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module %s does not exist: install it, or name the right file with module-path= in the URI or %s: %w", path, ModuleEnv, hsm.ErrNotFound)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := b.modules[real]; m != nil {
		return m, nil
	}
	ctx := p11.New(real)
	if ctx == nil {
		return nil, fmt.Errorf("cannot load %s as a PKCS#11 module (not a shared library with C_GetFunctionList?): name the right file with module-path= or %s: %w", path, ModuleEnv, hsm.ErrNotFound)
	}
	if err := ctx.Initialize(); err != nil && !isCode(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		ctx.Destroy()
		return nil, fmt.Errorf("PKCS#11 module %s failed to start (%s): check its configuration (for SoftHSM, SOFTHSM2_CONF and its tokendir)", path, ckrName(err))
	}
	info, err := ctx.GetInfo()
	if err != nil {
		info = p11.Info{}
	}
	m := &module{path: real, ctx: ctx, info: info, tokens: map[uint]*token{}}
	if b.modules == nil {
		b.modules = map[string]*module{}
	}
	b.modules[real] = m
	return m, nil
}

// Close logs out of every token, closes every session and unloads every
// module. Signers from this backend stop working. Programs need not call it
// before exiting; tests do, to prove sessions are released.
func (b *Backend) Close() error {
	b.mu.Lock()
	mods := b.modules
	b.modules = nil
	b.mu.Unlock()
	var errs []error
	for _, m := range mods {
		m.mu.Lock()
		for _, t := range m.tokens {
			t.mu.Lock()
			if t.hasSess {
				if t.loggedIn {
					_ = m.ctx.Logout(t.sess)
				}
				if err := m.ctx.CloseSession(t.sess); err != nil {
					errs = append(errs, err)
				}
			}
			t.hasSess, t.loggedIn, t.dead = false, false, true
			t.mu.Unlock()
		}
		m.tokens = nil
		m.mu.Unlock()
		if err := m.ctx.Finalize(); err != nil {
			errs = append(errs, fmt.Errorf("finalize %s: %w", m.path, err))
		}
		m.ctx.Destroy()
	}
	return errors.Join(errs...)
}

// slotFacts is what one present token says about itself.
type slotFacts struct {
	mod  *module
	slot uint
	ti   p11.TokenInfo
	si   p11.SlotInfo
}

func (f slotFacts) device() hsm.Device {
	return hsm.Device{
		Backend:      "pkcs11",
		URI:          (&URI{Token: f.ti.Label, Manufacturer: f.ti.ManufacturerID, Model: f.ti.Model, Serial: f.ti.SerialNumber}).String(),
		Model:        f.ti.Model,
		Manufacturer: f.ti.ManufacturerID,
		Serial:       f.ti.SerialNumber,
		Label:        f.ti.Label,
		Firmware:     fmt.Sprintf("%d.%d", f.ti.FirmwareVersion.Major, f.ti.FirmwareVersion.Minor),
	}
}

// matches says whether the token and slot fit the URI's path attributes.
func (f slotFacts) matches(u *URI) bool {
	eq := func(want, have string) bool { return want == "" || want == strings.TrimRight(have, " ") }
	lib := fmt.Sprintf("%d.%d", f.mod.info.LibraryVersion.Major, f.mod.info.LibraryVersion.Minor)
	libOK := u.LibraryVersion == "" || u.LibraryVersion == lib ||
		(!strings.Contains(u.LibraryVersion, ".") && u.LibraryVersion+".0" == lib)
	return eq(u.Token, f.ti.Label) && eq(u.Manufacturer, f.ti.ManufacturerID) &&
		eq(u.Serial, f.ti.SerialNumber) && eq(u.Model, f.ti.Model) &&
		eq(u.SlotDescription, f.si.SlotDescription) && eq(u.SlotManufacturer, f.si.ManufacturerID) &&
		eq(u.LibraryManufacturer, f.mod.info.ManufacturerID) && eq(u.LibraryDescription, f.mod.info.LibraryDescription) &&
		libOK && (!u.HasSlotID || u.SlotID == f.slot)
}

// present lists the initialised tokens a module sees now.
func (m *module) present() ([]slotFacts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module %s cannot list its slots (%s)", m.path, ckrName(err))
	}
	var out []slotFacts
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err != nil || ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			// A token pulled out between the two calls, or SoftHSM's spare
			// uninitialised slot: nothing to sign with either way.
			continue
		}
		si, _ := m.ctx.GetSlotInfo(s)
		si.SlotDescription = strings.TrimRight(si.SlotDescription, " ")
		si.ManufacturerID = strings.TrimRight(si.ManufacturerID, " ")
		out = append(out, slotFacts{mod: m, slot: s, ti: ti, si: si})
	}
	return out, nil
}

// token returns the shared token for a slot, replacing a stale one when a
// different token now sits in the slot.
func (m *module) token(f slotFacts) *token {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens = map[uint]*token{}
	}
	if t := m.tokens[f.slot]; t != nil && !t.isDead() && t.dev.Serial == f.ti.SerialNumber && t.dev.Label == f.ti.Label {
		return t
	}
	t := &token{mod: m, slot: f.slot, dev: f.device()}
	m.tokens[f.slot] = t
	return t
}

// findTokens returns the tokens the URI selects, over every module it may
// be served by, and a description of every token seen, for errors.
func (b *Backend) findTokens(u *URI) (found []*token, seen []string, err error) {
	paths, explicit, err := modulePaths(u)
	if err != nil {
		return nil, nil, err
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no PKCS#11 module found in the usual places: install SoftHSM, OpenSC, ykcs11 or your HSM's module, or name it with module-path= in the URI or %s: %w", ModuleEnv, hsm.ErrNotFound)
	}
	for _, p := range paths {
		m, err := b.load(p)
		if err != nil {
			if explicit {
				return nil, nil, err
			}
			continue
		}
		facts, err := m.present()
		if err != nil {
			if explicit {
				return nil, nil, err
			}
			continue
		}
		for _, f := range facts {
			seen = append(seen, f.device().String())
			if f.matches(u) {
				found = append(found, m.token(f))
			}
		}
	}
	return found, seen, nil
}

// oneToken returns the single token a URI selects, or an error naming what
// was asked for and what is present.
func (b *Backend) oneToken(u *URI) (*token, error) {
	toks, seen, err := b.findTokens(u)
	if err != nil {
		return nil, err
	}
	switch len(toks) {
	case 0:
		return nil, noToken(u, seen)
	case 1:
		return toks[0], nil
	}
	names := make([]string, len(toks))
	for i, t := range toks {
		names[i] = t.dev.String()
	}
	return nil, fmt.Errorf("%s matches %d tokens (%s): add token= or serial= to choose one: %w",
		tokenPart(u), len(toks), strings.Join(names, "; "), hsm.ErrAmbiguous)
}

func noToken(u *URI, seen []string) error {
	present := "no initialised token is present"
	if len(seen) > 0 {
		sort.Strings(seen)
		present = "present: " + strings.Join(seen, "; ")
	}
	return fmt.Errorf("no token matches %s (%s): plug the token in, or correct token=/serial= in the URI: %w",
		tokenPart(u), present, hsm.ErrNotFound)
}

// tokenPart describes the token-selecting attributes of u for messages.
func tokenPart(u *URI) string {
	t := &URI{Token: u.Token, Manufacturer: u.Manufacturer, Serial: u.Serial, Model: u.Model,
		SlotID: u.SlotID, HasSlotID: u.HasSlotID, SlotDescription: u.SlotDescription,
		SlotManufacturer: u.SlotManufacturer, LibraryManufacturer: u.LibraryManufacturer,
		LibraryDescription: u.LibraryDescription, LibraryVersion: u.LibraryVersion}
	s := t.String()
	if s == "pkcs11:" {
		return "the URI (it names no token)"
	}
	return s
}

// isCode reports whether err is the PKCS#11 return value code.
func isCode(err error, code uint) bool {
	var e p11.Error
	return errors.As(err, &e) && uint(e) == code
}
