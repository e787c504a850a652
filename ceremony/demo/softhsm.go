package demo

import (
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/ceremony-tuf/ceremony/hsm/pkcs11/modules"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	p11 "github.com/miekg/pkcs11"

	"github.com/ceremony-tuf/ceremony/hsm/pkcs11"
)

// ErrNoSoftHSM is wrapped when SoftHSM is not installed.
var ErrNoSoftHSM = modules.ErrNoSoftHSM

// softHSM is a SoftHSM configuration of the demo's own: a softhsm2.conf
// whose token directory is inside dir, and a PIN file per token. It
// touches none of the machine's tokens.
type softHSM struct {
	dir    string // holds softhsm2.conf, tokens/ and pins/
	conf   string
	module string
	tokens []string // labels, in the order they were made
}

func findSoftHSM() (string, error) {
	mod, err := modules.SoftHSM()
	if err != nil {
		return "", fmt.Errorf("%w, then run the demo again", err)
	}
	return mod, nil
}

// newSoftHSM writes the configuration into dir. Nothing is loaded yet.
func newSoftHSM(dir string) (*softHSM, error) {
	mod, err := findSoftHSM()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	h := &softHSM{dir: dir, conf: filepath.Join(dir, "softhsm2.conf"), module: mod}
	for _, d := range []string{h.tokenDir(), h.pinDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	conf := fmt.Sprintf("# SoftHSM configuration of one `ceremony demo` run: its tokens only.\ndirectories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", h.tokenDir())
	if err := os.WriteFile(h.conf, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", h.conf, err)
	}
	return h, nil
}

func (h *softHSM) tokenDir() string { return filepath.Join(h.dir, "tokens") }
func (h *softHSM) pinDir() string   { return filepath.Join(h.dir, "pins") }

// pinFile is the file holding a token's user PIN.
func (h *softHSM) pinFile(label string) string { return filepath.Join(h.pinDir(), label+".pin") }

// keyURI names a key on one of the demo's tokens, with the module to load.
// The PIN is not in it: signers get it from the token's PIN file.
func (h *softHSM) keyURI(token, object string) string {
	u := pkcs11.URI{Token: token, Object: object, ModulePath: h.module}
	return u.String()
}

// initTokens initialises one token per label with random SO and user PINs,
// which go into files of mode 0600 in the PIN folder and nowhere else (not
// on any command line: the tokens are initialised in this process through
// PKCS#11, not with softhsm2-util). SoftHSM reads its configuration once,
// at C_Initialize, so the module is loaded here for the initialisation
// and unloaded again; the backend in hsm/pkcs11 then loads it afresh and
// finds every token. Call it before anything in the process loads SoftHSM.
func (h *softHSM) initTokens(labels []string) (err error) {
	ctx := p11.New(h.module)
	if ctx == nil {
		return fmt.Errorf("cannot load %s as a PKCS#11 module: reinstall the Debian package softhsm2", h.module)
	}
	defer ctx.Destroy()
	if err := ctx.Initialize(); err != nil {
		if e, ok := err.(p11.Error); ok && e == p11.CKR_CRYPTOKI_ALREADY_INITIALIZED {
			return fmt.Errorf("SoftHSM is already loaded in this process with another configuration, and SoftHSM reads its configuration only once: run the demo in a process of its own (`ceremony demo`)")
		}
		return fmt.Errorf("SoftHSM failed to start with %s (%v): check that %s is writable", h.conf, err, h.tokenDir())
	}
	defer func() {
		if ferr := ctx.Finalize(); ferr != nil && err == nil {
			err = fmt.Errorf("unload SoftHSM after initialising tokens: %v", ferr)
		}
	}()
	for _, label := range labels {
		so, err := randomPIN()
		if err != nil {
			return err
		}
		user, err := randomPIN()
		if err != nil {
			return err
		}
		if err := h.initToken(ctx, label, so, user); err != nil {
			return fmt.Errorf("initialise SoftHSM token %s in %s: %w", label, h.tokenDir(), err)
		}
		if err := os.WriteFile(filepath.Join(h.pinDir(), label+".so-pin"), []byte(so+"\n"), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(h.pinFile(label), []byte(user+"\n"), 0o600); err != nil {
			return err
		}
		h.tokens = append(h.tokens, label)
	}
	return nil
}

func (h *softHSM) initToken(ctx *p11.Ctx, label, so, user string) error {
	free, err := freeSlot(ctx)
	if err != nil {
		return err
	}
	if err := ctx.InitToken(free, so, label); err != nil {
		return fmt.Errorf("C_InitToken: %v", err)
	}
	// SoftHSM moves an initialised token to a new slot: find it by label.
	slot, err := slotOf(ctx, label)
	if err != nil {
		return err
	}
	sess, err := ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return fmt.Errorf("C_OpenSession: %v", err)
	}
	defer ctx.CloseSession(sess)
	if err := ctx.Login(sess, p11.CKU_SO, so); err != nil {
		return fmt.Errorf("C_Login as SO: %v", err)
	}
	defer ctx.Logout(sess)
	if err := ctx.InitPIN(sess, user); err != nil {
		return fmt.Errorf("C_InitPIN: %v", err)
	}
	return nil
}

func freeSlot(ctx *p11.Ctx) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("C_GetSlotList: %v", err)
	}
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err == nil && ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			return s, nil
		}
	}
	return 0, errors.New("SoftHSM offers no free slot")
}

func slotOf(ctx *p11.Ctx, label string) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("C_GetSlotList: %v", err)
	}
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err == nil && ti.Flags&p11.CKF_TOKEN_INITIALIZED != 0 && strings.TrimRight(ti.Label, " ") == label {
			return s, nil
		}
	}
	return 0, fmt.Errorf("token %s was initialised but is in no slot", label)
}

// randomPIN is eight random decimal digits.
func randomPIN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", fmt.Errorf("make a PIN: %w", err)
	}
	return fmt.Sprintf("%08d", n), nil
}
