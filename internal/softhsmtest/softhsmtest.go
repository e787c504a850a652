// Package softhsmtest makes throwaway SoftHSM tokens for tests: a
// softhsm2.conf whose tokendir is a temporary directory, and tokens
// initialised in it with softhsm2-util, so that no test touches the
// machine's own tokens.
//
// SoftHSM reads its configuration and its token directory once, at
// C_Initialize, and a process initialises a module once. So a test binary
// that loads SoftHSM itself should make one Env in TestMain, create every
// token it needs there (with distinct labels), and only then load the
// module. Tests that run the ceremony binary as a child process can make an
// Env per test: each child loads SoftHSM afresh.
package softhsmtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/ceremony-tuf/ceremony/hsm/pkcs11/modules"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// Default PINs of the tokens InitToken makes when given none.
const (
	SOPIN   = "12345678"
	UserPIN = "123456"
)

// Module returns the path of SoftHSM's module, or an error saying how to
// install it.
func Module() (string, error) {
	return modules.SoftHSM()
}

// Token is one initialised token.
type Token struct {
	Label   string
	Serial  string // as C_GetTokenInfo reports it
	Slot    uint   // the slot id SoftHSM gave it after initialisation
	SOPIN   string
	UserPIN string
	Dir     string // the token's directory under TokenDir
}

// Env is a SoftHSM configuration in a directory of its own.
type Env struct {
	Dir      string // holds softhsm2.conf and tokens/
	Conf     string // the softhsm2.conf path: SOFTHSM2_CONF
	TokenDir string
	Module   string // libsofthsm2.so
	Tokens   map[string]*Token
}

// New writes a softhsm2.conf in dir with its tokendir under dir.
func New(dir string) (*Env, error) {
	mod, err := Module()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		return nil, errors.New("softhsm2-util is not on PATH: run scripts/install-deps.sh (Debian package softhsm2)")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, Conf: filepath.Join(dir, "softhsm2.conf"), TokenDir: filepath.Join(dir, "tokens"), Module: mod, Tokens: map[string]*Token{}}
	if err := os.MkdirAll(e.TokenDir, 0o700); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", e.TokenDir)
	if err := os.WriteFile(e.Conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return e, nil
}

// Setup is New in t.TempDir() with the named tokens initialised (default
// PINs), failing the test on error. It does not touch the environment:
// pass Environ to child processes, or call Setenv.
func Setup(t testing.TB, labels ...string) *Env {
	t.Helper()
	e, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range labels {
		if _, err := e.InitToken(l, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// Environ returns the variables that point SoftHSM and ceremony at this
// Env: SOFTHSM2_CONF and CEREMONY_PKCS11_MODULE.
func (e *Env) Environ() []string {
	return []string{"SOFTHSM2_CONF=" + e.Conf, "CEREMONY_PKCS11_MODULE=" + e.Module}
}

// Setenv sets Environ's variables in this process.
func (e *Env) Setenv() error {
	if err := os.Setenv("SOFTHSM2_CONF", e.Conf); err != nil {
		return err
	}
	return os.Setenv("CEREMONY_PKCS11_MODULE", e.Module)
}

var slotRE = regexp.MustCompile(`reassigned to slot (\d+)`)

// InitToken initialises a new token labelled label in the first free slot,
// with the given SO and user PINs (SOPIN and UserPIN when empty). The PINs
// are test fixtures and go to softhsm2-util on its command line.
func (e *Env) InitToken(label, soPIN, userPIN string) (*Token, error) {
	if soPIN == "" {
		soPIN = SOPIN
	}
	if userPIN == "" {
		userPIN = UserPIN
	}
	if _, dup := e.Tokens[label]; dup {
		return nil, fmt.Errorf("softhsmtest: token %q exists already in %s", label, e.TokenDir)
	}
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", soPIN, "--pin", userPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+e.Conf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("softhsm2-util --init-token %s: %v\n%s", label, err, out)
	}
	m := slotRE.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("softhsm2-util --init-token %s: no slot in its output:\n%s", label, out)
	}
	slot, _ := strconv.ParseUint(string(m[1]), 10, 64)
	tok := &Token{Label: label, Slot: uint(slot), SOPIN: soPIN, UserPIN: userPIN}
	dirs, err := os.ReadDir(e.TokenDir)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		f, err := readTokenFile(filepath.Join(e.TokenDir, d.Name(), "token.object"))
		if err != nil {
			continue
		}
		if string(bytes.TrimRight(f.attrs[attrLabel], " ")) == label {
			tok.Serial = string(f.attrs[attrSerial])
			tok.Dir = filepath.Join(e.TokenDir, d.Name())
		}
	}
	if tok.Dir == "" {
		return nil, fmt.Errorf("softhsmtest: token %q initialised but not found in %s", label, e.TokenDir)
	}
	e.Tokens[label] = tok
	return tok, nil
}

// SoftHSM's own attributes in a token's token.object file (vendor-defined
// CKA_VENDOR_DEFINED + 0x5348 + n).
const (
	attrLabel  = 0x80005349
	attrSerial = 0x8000534a
	attrFlags  = 0x8000534b
)

// tokenFile is a parsed token.object: a generation counter, then
// attributes as big-endian (type, kind, value) with kind 1 a boolean, 2 a
// 64-bit unsigned integer, 3 a length-prefixed byte string.
type tokenFile struct {
	raw     []byte
	attrs   map[uint64][]byte
	offsets map[uint64]int // where each attribute's value starts
}

func readTokenFile(path string) (*tokenFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &tokenFile{raw: raw, attrs: map[uint64][]byte{}, offsets: map[uint64]int{}}
	p := 8
	for p+16 <= len(raw) {
		typ := binary.BigEndian.Uint64(raw[p:])
		kind := binary.BigEndian.Uint64(raw[p+8:])
		p += 16
		var n int
		switch kind {
		case 1:
			n = 1
		case 2:
			n = 8
		case 3:
			if p+8 > len(raw) {
				return nil, fmt.Errorf("%s: truncated", path)
			}
			n = int(binary.BigEndian.Uint64(raw[p:]))
			p += 8
		default:
			return f, nil // a kind this reader does not need; what it has is enough
		}
		if n < 0 || p+n > len(raw) {
			return nil, fmt.Errorf("%s: truncated", path)
		}
		f.attrs[typ], f.offsets[typ] = raw[p:p+n], p
		p += n
	}
	return f, nil
}

// SetTokenFlags sets and clears bits in a token's stored flags, the ones
// C_GetTokenInfo reports. SoftHSM keeps no PIN retry counter, so this is how
// a test shows ceremony a token whose PIN is locked (CKF_USER_PIN_LOCKED)
// or on its final try (CKF_USER_PIN_FINAL_TRY). Call it before the process
// loads SoftHSM.
func (e *Env) SetTokenFlags(label string, set, clear uint64) error {
	tok := e.Tokens[label]
	if tok == nil {
		return fmt.Errorf("softhsmtest: no token %q", label)
	}
	path := filepath.Join(tok.Dir, "token.object")
	f, err := readTokenFile(path)
	if err != nil {
		return err
	}
	off, ok := f.offsets[attrFlags]
	if !ok || len(f.attrs[attrFlags]) != 8 {
		return fmt.Errorf("softhsmtest: %s has no token flags", path)
	}
	v := binary.BigEndian.Uint64(f.raw[off:])
	binary.BigEndian.PutUint64(f.raw[off:], (v|set)&^clear)
	return os.WriteFile(path, f.raw, 0o600)
}
