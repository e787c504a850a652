package pkcs11

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"

	p11 "github.com/miekg/pkcs11"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// parse parses a URI for the hsm.Backend methods, which take strings.
func parse(uri string) (*URI, error) {
	return ParseURI(uri)
}

// authFor applies the URI's pin-source over the caller's PIN source: a
// URI that says where its PIN is wins over the terminal.
func authFor(u *URI, a hsm.Auth) (hsm.Auth, error) {
	if u.PINSource == "" {
		return a, nil
	}
	path := u.PINSource
	switch {
	case strings.HasPrefix(path, "file://"):
		path = strings.TrimPrefix(path, "file://")
	case strings.HasPrefix(path, "file:"):
		path = strings.TrimPrefix(path, "file:")
	case strings.Contains(path, ":") && !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "."):
		return a, fmt.Errorf("PKCS#11 URI pin-source is not a file: give a path or a file: URI: %w", hsm.ErrBadURI)
	}
	if path == "" {
		return a, fmt.Errorf("PKCS#11 URI pin-source names no file: %w", hsm.ErrBadURI)
	}
	a.PINs = hsm.FilePIN{Path: filepath.Clean(path)}
	return a, nil
}

// Devices implements hsm.Backend: every initialised token of every module
// found, with the keys whose public halves can be read without a PIN.
func (b *Backend) Devices(ctx context.Context) ([]hsm.DeviceKeys, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.rescan(); err != nil {
		return nil, err
	}
	toks, _, err := b.findTokens(&URI{})
	if err != nil {
		return nil, err
	}
	var out []hsm.DeviceKeys
	for _, t := range toks {
		dk := hsm.DeviceKeys{Device: t.dev, Keys: []hsm.Key{}}
		t.mu.Lock()
		err := t.sessionLocked()
		var keys []keyObject
		var skipped int
		if err == nil {
			keys, skipped, err = t.publicKeysLocked(&URI{})
		}
		t.mu.Unlock()
		if err != nil {
			dk.Note = "keys not listed: " + err.Error()
		}
		for _, k := range keys {
			dk.Keys = append(dk.Keys, k.key)
		}
		if skipped > 0 {
			dk.Note = strings.TrimSpace(dk.Note + fmt.Sprintf(" %d key(s) of types ceremony does not sign with are not shown.", skipped))
		}
		out = append(out, dk)
	}
	return out, nil
}

// Keys implements hsm.Backend. Keys are found by their public key objects,
// which need no login.
func (b *Backend) Keys(ctx context.Context, uri string, auth hsm.Auth) ([]hsm.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := parse(uri)
	if err != nil {
		return nil, err
	}
	toks, seen, err := b.findTokens(u)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, noToken(u, seen)
	}
	found, err := keysOn(toks, u)
	if err != nil {
		return nil, err
	}
	var out []hsm.Key
	for _, c := range found {
		out = append(out, c.k.key)
	}
	return out, nil
}

// objectPart describes the key-selecting attributes of u for messages.
func objectPart(u *URI) string {
	var parts []string
	if u.Object != "" {
		parts = append(parts, "object="+escape(u.Object, false))
	}
	if u.HasID {
		parts = append(parts, "id="+strings.TrimPrefix((&URI{ID: u.ID, HasID: true}).String(), "pkcs11:id="))
	}
	if len(parts) == 0 {
		return "any key"
	}
	return strings.Join(parts, ";")
}

// Signer implements hsm.Backend. The URI must select exactly one key pair;
// the token is logged in (once for the process) to reach the private key.
func (b *Backend) Signer(ctx context.Context, uri string, auth hsm.Auth) (hsm.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := parse(uri)
	if err != nil {
		return nil, err
	}
	switch u.Type {
	case "", "private", "public":
	default:
		return nil, fmt.Errorf("key URI has type=%s, but signing needs a key pair: drop type= or use type=private: %w", u.Type, hsm.ErrBadURI)
	}
	auth, err = authFor(u, auth)
	if err != nil {
		return nil, err
	}
	toks, seen, err := b.findTokens(u)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, noToken(u, seen)
	}
	// Find the key by its public half first, without logging in, so that a
	// URI naming no token never logs in to tokens that do not hold the key.
	cands, err := keysOn(toks, u)
	if err != nil {
		return nil, err
	}
	if len(cands) > 1 {
		uris := make([]string, len(cands))
		for i, c := range cands {
			uris[i] = c.k.key.URI
		}
		return nil, fmt.Errorf("%s matches %d keys, and ceremony will not guess: use one of\n  %s\n%w",
			u, len(cands), strings.Join(uris, "\n  "), hsm.ErrAmbiguous)
	}
	var t *token
	switch {
	case len(cands) == 1:
		t = cands[0].t
	case len(toks) == 1:
		t = toks[0] // the key may have no public object: look for the private one
	default:
		return nil, fmt.Errorf("no key matching %s on any of %d tokens: check object= and id=, or add token= to look on one token only: %w",
			objectPart(u), len(toks), hsm.ErrNotFound)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.loginLocked(auth); err != nil {
		return nil, err
	}
	var pub *keyObject
	priv := objectTemplate(p11.CKO_PRIVATE_KEY, u)
	if len(cands) == 1 {
		pub = &cands[0].k
		// The private half is the one with the public half's id (or label
		// when it has none): a pair shares CKA_ID by convention.
		priv = []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY)}
		if len(pub.id) > 0 {
			priv = append(priv, p11.NewAttribute(p11.CKA_ID, pub.id))
		} else {
			priv = append(priv, p11.NewAttribute(p11.CKA_LABEL, pub.label))
		}
	}
	hs, err := t.findLocked(priv)
	if err != nil {
		return nil, err
	}
	switch {
	case len(hs) == 0 && pub != nil:
		return nil, fmt.Errorf("%s: key %s has a public half but no private key with its id on the token; it cannot sign: %w", t.dev, pub.key.URI, hsm.ErrNotFound)
	case len(hs) == 0:
		return nil, fmt.Errorf("%s: no key matching %s: run 'ceremony devices' to see the keys on it: %w", t.dev, objectPart(u), hsm.ErrNotFound)
	case len(hs) > 1:
		return nil, fmt.Errorf("%s: %s matches %d private keys, and ceremony will not guess: give object= and id= of one: %w", t.dev, objectPart(u), len(hs), hsm.ErrAmbiguous)
	}
	if pub == nil {
		k, err := t.pairOfPrivateLocked(hs[0])
		if err != nil {
			return nil, err
		}
		pub = &k
	}
	sg := newSigner(t, hs[0], priv, auth, pub.key)
	// Modules that do not know the attribute say so; then it is false.
	if a, err := t.mod.ctx.GetAttributeValue(t.sess, hs[0], []*p11.Attribute{p11.NewAttribute(p11.CKA_ALWAYS_AUTHENTICATE, nil)}); err == nil &&
		len(a) == 1 && len(a[0].Value) == 1 && a[0].Value[0] != 0 {
		sg.alwaysAuth = true
	}
	return sg, nil
}

// pairOfPrivateLocked finds the public half of a private key that was found
// without one: by CKA_ID among public key objects, or, for RSA, from the
// private key's own modulus and exponent.
func (t *token) pairOfPrivateLocked(h p11.ObjectHandle) (keyObject, error) {
	attrs, err := t.mod.ctx.GetAttributeValue(t.sess, h, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_LABEL, nil), p11.NewAttribute(p11.CKA_ID, nil),
	})
	if err != nil {
		return keyObject{}, t.errLocked("read the private key's label and id", err)
	}
	label, id := string(attrs[0].Value), attrs[1].Value
	if len(id) > 0 {
		hs, err := t.findLocked([]*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY), p11.NewAttribute(p11.CKA_ID, id)})
		if err != nil {
			return keyObject{}, err
		}
		if len(hs) == 1 {
			return t.readPublicLocked(hs[0])
		}
	}
	if k, err := t.readPublicLocked(h); err == nil {
		return k, nil
	}
	return keyObject{}, fmt.Errorf("%s: private key %q has no public key object, so its signatures cannot be checked: import the public key with the same id: %w", t.dev, label, hsm.ErrNotFound)
}

// Generate implements hsm.Backend: a new key pair on the token the URI
// names, labelled by object= (or opts.Label), with id= or a random id. It
// refuses when an object with that label or id exists already.
func (b *Backend) Generate(ctx context.Context, uri string, kt hsm.KeyType, opts hsm.GenerateOptions, auth hsm.Auth) (hsm.Key, error) {
	if err := ctx.Err(); err != nil {
		return hsm.Key{}, err
	}
	u, err := parse(uri)
	if err != nil {
		return hsm.Key{}, err
	}
	if opts.PINPolicy != "" || opts.TouchPolicy != "" {
		return hsm.Key{}, fmt.Errorf("PIN and touch policies are PIV settings; a PKCS#11 token has its own: drop them: %w", hsm.ErrUnsupported)
	}
	label := u.Object
	if opts.Label != "" {
		if label != "" && label != opts.Label {
			return hsm.Key{}, fmt.Errorf("the URI says object=%s but the label asked for is %q: give one: %w", u.Object, opts.Label, hsm.ErrBadURI)
		}
		label = opts.Label
	}
	if label == "" {
		return hsm.Key{}, fmt.Errorf("name the new key with object=LABEL in the URI, e.g. pkcs11:token=alice;object=root-2026: %w", hsm.ErrBadURI)
	}
	if u.Type != "" && u.Type != "private" && u.Type != "public" {
		return hsm.Key{}, fmt.Errorf("key URI has type=%s; a generated key is a key pair: drop type=: %w", u.Type, hsm.ErrBadURI)
	}
	id := u.ID
	if !u.HasID || len(id) == 0 {
		id = make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return hsm.Key{}, fmt.Errorf("make a key id: %w", err)
		}
	}
	mech, pubT, privT, err := generateTemplates(kt)
	if err != nil {
		return hsm.Key{}, err
	}
	common := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_LABEL, label),
		p11.NewAttribute(p11.CKA_ID, id),
	}
	// A ceremony key signs and does nothing else: a token's defaults may
	// let it decrypt, unwrap or derive too (SoftHSM's do), which no role
	// needs and an attacker at the token could use.
	pubT = append(append(pubT, common...),
		p11.NewAttribute(p11.CKA_PRIVATE, false),
		p11.NewAttribute(p11.CKA_VERIFY, true),
		p11.NewAttribute(p11.CKA_ENCRYPT, false),
		p11.NewAttribute(p11.CKA_WRAP, false))
	privT = append(append(privT, common...),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_SIGN, true),
		p11.NewAttribute(p11.CKA_DECRYPT, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
		p11.NewAttribute(p11.CKA_DERIVE, false))

	auth, err = authFor(u, auth)
	if err != nil {
		return hsm.Key{}, err
	}
	t, err := b.oneToken(u)
	if err != nil {
		return hsm.Key{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.sessionLocked(); err != nil {
		return hsm.Key{}, err
	}
	if !t.hasMechanismLocked(mech) {
		return hsm.Key{}, fmt.Errorf("%s cannot generate %s keys; it can do %s: %w", t.dev, kt, t.capabilitiesLocked(), hsm.ErrUnsupported)
	}
	if err := t.loginLocked(auth); err != nil {
		return hsm.Key{}, err
	}
	// Logged in, the search sees private objects too.
	if hs, err := t.findLocked([]*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, label)}); err != nil {
		return hsm.Key{}, err
	} else if len(hs) > 0 {
		return hsm.Key{}, fmt.Errorf("%s already holds an object labelled %q; ceremony never overwrites a key: choose another object= label: %w", t.dev, label, hsm.ErrExists)
	}
	if hs, err := t.findLocked([]*p11.Attribute{p11.NewAttribute(p11.CKA_ID, id)}); err != nil {
		return hsm.Key{}, err
	} else if len(hs) > 0 {
		return hsm.Key{}, fmt.Errorf("%s already holds an object with id %x; choose another id= or leave it out for a random one: %w", t.dev, id, hsm.ErrExists)
	}
	pubH, _, err := t.mod.ctx.GenerateKeyPair(t.sess, []*p11.Mechanism{p11.NewMechanism(mech, nil)}, pubT, privT)
	if err != nil {
		return hsm.Key{}, t.errLocked("generate a "+string(kt)+" key pair", err)
	}
	k, err := t.readPublicLocked(pubH)
	if err != nil {
		return hsm.Key{}, fmt.Errorf("the key was generated but its public half cannot be read back: %w", err)
	}
	if k.key.Type != kt {
		return hsm.Key{}, fmt.Errorf("%s generated a %s key when %s was asked for; do not use it: %w", t.dev, k.key.Type, kt, hsm.ErrUnsupported)
	}
	return k.key, nil
}

// generateTemplates returns the mechanism and the type-specific attributes
// of the public and private templates for kt.
func generateTemplates(kt hsm.KeyType) (mech uint, pub, priv []*p11.Attribute, err error) {
	switch kt {
	case hsm.Ed25519:
		return ckmECEdwardsKeyPairGen,
			[]*p11.Attribute{p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards), p11.NewAttribute(p11.CKA_EC_PARAMS, oidEd25519)},
			[]*p11.Attribute{p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards)}, nil
	case hsm.ECDSAP256, hsm.ECDSAP384:
		oid := oidP256
		if kt == hsm.ECDSAP384 {
			oid = oidP384
		}
		return p11.CKM_EC_KEY_PAIR_GEN,
			[]*p11.Attribute{p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC), p11.NewAttribute(p11.CKA_EC_PARAMS, oid)},
			[]*p11.Attribute{p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC)}, nil
	case hsm.RSA2048, hsm.RSA3072, hsm.RSA4096:
		bits := map[hsm.KeyType]int{hsm.RSA2048: 2048, hsm.RSA3072: 3072, hsm.RSA4096: 4096}[kt]
		return p11.CKM_RSA_PKCS_KEY_PAIR_GEN,
			[]*p11.Attribute{
				p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA),
				p11.NewAttribute(p11.CKA_MODULUS_BITS, bits),
				p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
			},
			[]*p11.Attribute{p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA)}, nil
	}
	return 0, nil, nil, fmt.Errorf("key type %q: %w", kt, hsm.ErrUnsupported)
}

// tokenKey is a key found on a token.
type tokenKey struct {
	t *token
	k keyObject
}

// keysOn finds the public keys u matches on each token, opening each
// token's session as needed.
func keysOn(toks []*token, u *URI) ([]tokenKey, error) {
	var out []tokenKey
	for _, t := range toks {
		t.mu.Lock()
		err := t.sessionLocked()
		var keys []keyObject
		if err == nil {
			keys, _, err = t.publicKeysLocked(u)
		}
		t.mu.Unlock()
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			out = append(out, tokenKey{t, k})
		}
	}
	return out, nil
}
