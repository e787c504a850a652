package benchrepo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/pkcs11"
	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
	"github.com/ceremony-tuf/ceremony/roles"
)

// The admins' keys, each generated on a SoftHSM token of its own (erin's
// 2027 key beside her 2026 one, for the root rotation). The repository's
// offline roles are signed with them through package hsm, as a ceremony
// signs them, and the benchmark's `ceremony sign` uses them the same way.
// All are Ed25519, SoftHSM's fastest: the benchmark measures the tool, not
// the token.
var adminKeys = []struct{ name, token, object string }{
	{"alice", "alice", "root-2026"},
	{"bob", "bob", "root-2026"},
	{"carol", "carol", "root-2026"},
	{"dave", "dave", "root-2026"},
	{"erin", "erin", "root-2026"},
	{"erin-2027", "erin", "root-2027"},
	{"claims-1", "claims-1", "claimed-2026"},
	{"claims-2", "claims-2", "claimed-2026"},
	{"claims-3", "claims-3", "claimed-2026"},
	{"online", "online", "online-2026"},
}

// Roles and thresholds of the repository, by participant name.
var (
	rootKeys    = []string{"alice", "bob", "carol", "dave", "erin"}
	targetsKeys = []string{"alice", "bob", "carol"}
	claimedKeys = []string{"claims-1", "claims-2", "claims-3"}
)

const (
	rootThreshold    = 3
	targetsThreshold = 2
	claimedThreshold = 2
)

// Admins are the SoftHSM tokens and the keys on them.
type Admins struct {
	Dir  string // holds softhsm2.conf, tokens/, pins/, keys/ and admins.json
	Conf string // SOFTHSM2_CONF
	// Module is SoftHSM's PKCS#11 module (CEREMONY_PKCS11_MODULE).
	Module string
	Keys   map[string]*AdminKey // by participant name
}

// AdminKey is one key on a token.
type AdminKey struct {
	Name   string `json:"name"`
	Token  string `json:"token"`
	Object string `json:"object"`
	// URI names the key with the module to load and the file holding the
	// token's PIN, so that `ceremony sign --key URI` asks nothing.
	URI string `json:"uri"`
	// KeyFile is the key as `ceremony keys show --json` writes it.
	KeyFile string     `json:"key_file"`
	Key     *roles.Key `json:"-"`
}

// keyFile is the form of `ceremony keys show --json`, which plans name.
type keyFile struct {
	KeyID string          `json:"keyid"`
	Key   json.RawMessage `json:"key"`
}

// OpenAdmins returns the tokens and keys in dir, making them first if dir
// holds none yet. It points this process at the tokens (SOFTHSM2_CONF),
// so it must run before anything in the process loads SoftHSM.
func OpenAdmins(ctx context.Context, dir string) (*Admins, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	manifest := filepath.Join(dir, "admins.json")
	a := &Admins{Dir: dir, Conf: filepath.Join(dir, "softhsm2.conf"), Keys: map[string]*AdminKey{}}
	if a.Module, err = softhsmtest.Module(); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(manifest); err == nil {
		var keys []*AdminKey
		if err := json.Unmarshal(b, &keys); err != nil {
			return nil, fmt.Errorf("%s: %w; delete %s to make the tokens again", manifest, err, dir)
		}
		for _, k := range keys {
			kb, err := os.ReadFile(k.KeyFile)
			if err != nil {
				return nil, err
			}
			var kf keyFile
			if err := json.Unmarshal(kb, &kf); err != nil {
				return nil, fmt.Errorf("%s: %w", k.KeyFile, err)
			}
			if k.Key, err = roles.ParseKey(kf.Key); err != nil {
				return nil, fmt.Errorf("%s: %w", k.KeyFile, err)
			}
			a.Keys[k.Name] = k
		}
		return a, a.setenv()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := a.make(ctx); err != nil {
		return nil, fmt.Errorf("make the admins' SoftHSM tokens in %s: %w", dir, err)
	}
	keys := make([]*AdminKey, 0, len(adminKeys))
	for _, k := range adminKeys {
		keys = append(keys, a.Keys[k.name])
	}
	b, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return nil, err
	}
	return a, os.WriteFile(manifest, append(b, '\n'), 0o644)
}

// make initialises the tokens and generates every key on its token.
func (a *Admins) make(ctx context.Context) error {
	if err := os.RemoveAll(a.Dir); err != nil {
		return err
	}
	env, err := softhsmtest.New(a.Dir)
	if err != nil {
		return err
	}
	for _, d := range []string{"pins", "keys"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o700); err != nil {
			return err
		}
	}
	for _, k := range adminKeys {
		if env.Tokens[k.token] != nil {
			continue
		}
		tok, err := env.InitToken(k.token, "", "")
		if err != nil {
			return err
		}
		if err := os.WriteFile(a.pinFile(k.token), []byte(tok.UserPIN+"\n"), 0o600); err != nil {
			return err
		}
	}
	if err := a.setenv(); err != nil {
		return err
	}
	for _, k := range adminKeys {
		ak := &AdminKey{Name: k.name, Token: k.token, Object: k.object, KeyFile: filepath.Join(a.Dir, "keys", k.name+".json")}
		ak.URI = (&pkcs11.URI{Token: k.token, Object: k.object, ModulePath: a.Module, PINSource: a.pinFile(k.token)}).String()
		b, err := hsm.BackendFor(ak.URI)
		if err != nil {
			return err
		}
		hk, err := b.Generate(ctx, ak.URI, hsm.Ed25519, hsm.GenerateOptions{}, a.auth(k.token))
		if err != nil {
			return fmt.Errorf("generate %s's key on token %s: %w", k.name, k.token, err)
		}
		if ak.Key, err = roles.KeyFromPublic(hk.Public); err != nil {
			return err
		}
		kb, err := ak.Key.MarshalJSON()
		if err != nil {
			return err
		}
		out, err := json.MarshalIndent(keyFile{KeyID: ak.Key.ID(), Key: kb}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(ak.KeyFile, append(out, '\n'), 0o644); err != nil {
			return err
		}
		a.Keys[k.name] = ak
	}
	return nil
}

func (a *Admins) pinFile(token string) string { return filepath.Join(a.Dir, "pins", token+".pin") }

func (a *Admins) auth(token string) hsm.Auth {
	return hsm.Auth{PINs: hsm.FilePIN{Path: a.pinFile(token)}}
}

// Environ is what a child process needs to reach the tokens.
func (a *Admins) Environ() []string {
	return []string{"SOFTHSM2_CONF=" + a.Conf, "CEREMONY_PKCS11_MODULE=" + a.Module}
}

func (a *Admins) setenv() error {
	if err := os.Setenv("SOFTHSM2_CONF", a.Conf); err != nil {
		return err
	}
	return os.Setenv("CEREMONY_PKCS11_MODULE", a.Module)
}

// signers opens a signer for each named key; the caller closes them.
func (a *Admins) signers(ctx context.Context, names []string) ([]keySigner, error) {
	var out []keySigner
	for _, n := range names {
		k := a.Keys[n]
		s, err := hsm.Open(ctx, k.URI, a.auth(k.Token))
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("open %s's key: %w", n, err)
		}
		out = append(out, keySigner{key: k.Key, signer: s})
	}
	return out, nil
}

func closeAll(ss []keySigner) {
	for _, s := range ss {
		if c, ok := s.signer.(interface{ Close() error }); ok {
			c.Close()
		}
	}
}
