package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
)

// holder is one key of the demo: who holds it, the token it lives on and
// its TUF key.
type holder struct {
	name   string // the plan's participant name
	token  string // SoftHSM token label
	object string // the key's CKA_LABEL on the token
	kt     hsm.KeyType

	uri     string // the key URI, without a PIN
	key     *roles.Key
	keyFile string // as `ceremony keys show --json` writes it
	device  hsm.Device
}

// keyFileJSON is the form of `ceremony keys show --json`.
type keyFileJSON struct {
	KeyID string     `json:"keyid"`
	Key   *roles.Key `json:"key"`
}

// auth logs in to a token with the PIN from its file.
func (d *run) auth(token string) hsm.Auth {
	return hsm.Auth{PINs: hsm.FilePIN{Path: d.hsm.pinFile(token)}}
}

// generateAll makes the keys, each on its token, and lists them. Tokens
// work in parallel (the backend serialises calls per token, and SoftHSM
// spends most of a generation writing its token files); the keys of one
// token are made one after the other.
func (d *run) generateAll(ctx context.Context, keys []holder) error {
	hs := make([]*holder, len(keys))
	byToken := map[string][]*holder{}
	for i := range keys {
		h := keys[i]
		hs[i] = &h
		byToken[h.token] = append(byToken[h.token], hs[i])
	}
	errs := make(chan error, len(byToken))
	for _, list := range byToken {
		go func() {
			for _, h := range list {
				if err := ctx.Err(); err != nil {
					errs <- err
					return
				}
				if err := d.generate(ctx, h); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range byToken {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	for _, h := range hs {
		d.holders[h.name] = h
		d.keyOrder = append(d.keyOrder, h.name)
		d.logKey(h)
	}
	return nil
}

// generate makes a key pair on the holder's token and writes its key
// file under keys/. It touches nothing shared, so that tokens can work in
// parallel.
func (d *run) generate(ctx context.Context, h *holder) error {
	h.uri = d.hsm.keyURI(h.token, h.object)
	b, err := hsm.BackendFor(h.uri)
	if err != nil {
		return err
	}
	k, err := b.Generate(ctx, h.uri, h.kt, hsm.GenerateOptions{}, d.auth(h.token))
	if err != nil {
		return fmt.Errorf("generate %s's %s key on SoftHSM token %s: %w", h.name, h.kt, h.token, err)
	}
	if h.key, err = roles.KeyFromPublic(k.Public); err != nil {
		return err
	}
	h.device = k.Device
	h.keyFile = filepath.Join(d.dirs.keys, h.name+".json")
	out, err := json.MarshalIndent(keyFileJSON{KeyID: h.key.ID(), Key: h.key}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(h.keyFile, append(out, '\n'), 0o644); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	return nil
}

// open returns a signer for the holder's key, logged in with the PIN
// from the token's PIN file.
func (d *run) open(ctx context.Context, name string) (hsm.Signer, *holder, error) {
	h := d.holders[name]
	if h == nil {
		return nil, nil, fmt.Errorf("the demo has no key named %s", name)
	}
	s, err := hsm.Open(ctx, h.uri, d.auth(h.token))
	if err != nil {
		return nil, nil, fmt.Errorf("open %s's key on SoftHSM token %s: %w", name, h.token, err)
	}
	return s, h, nil
}
