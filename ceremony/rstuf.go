package ceremony

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/rstuf"
)

// RSTUFPayload is a body for RSTUF's API that a ceremony made, with how
// far root's signatures reach.
type RSTUFPayload struct {
	// Body is the file to send: a bootstrap (POST /api/v1/bootstrap/) or
	// a root update (POST /api/v1/metadata/).
	Body []byte
	// Bootstrap says Body is a bootstrap payload (the plan has no
	// start:); otherwise it is a root update.
	Bootstrap bool
	Version   int64
	// Progress is root's thresholds: its own, and for an update the old
	// root's.
	Progress []Progress
	// Complete says every threshold holds; otherwise RSTUF waits for
	// the missing signatures (`ceremony rstuf sign`, `rstuf admin
	// metadata sign`).
	Complete bool
}

// RSTUFPayload makes the payload RSTUF's API takes from an RSTUF
// ceremony's root, with the signatures it has so far (at least one): a
// bootstrap payload for a bootstrap (with the plan's settings), an update
// payload for a rotation. The payload is read back as RSTUF's API reads
// it before it is returned.
func (s *State) RSTUFPayload() (*RSTUFPayload, error) {
	if s.Plan == nil || s.Plan.Layout != LayoutRSTUF {
		return nil, fmt.Errorf("%w: this ceremony's plan is not layout: rstuf; RSTUF payloads come from RSTUF ceremonies (docs/RSTUF.md)", ErrState)
	}
	if err := s.ended(); err != nil && !s.Closed {
		return nil, err
	}
	r := s.Role(RoleRoot)
	if r == nil {
		return nil, fmt.Errorf("%w: root is not staged yet: run 'ceremony resume'", ErrState)
	}
	if len(r.Signatures) == 0 {
		return nil, fmt.Errorf("%w: nobody has signed root v%d yet: sign it first ('ceremony sign --key URI'); RSTUF takes a root with at least one signature", ErrNotSigned, r.Version)
	}
	root, err := r.published()
	if err != nil {
		return nil, err
	}
	out := &RSTUFPayload{Version: r.Version, Complete: true, Bootstrap: s.Plan.Start == nil}
	for _, p := range s.Progress() {
		if p.Role == RoleRoot {
			out.Progress = append(out.Progress, p)
			out.Complete = out.Complete && p.Reached
		}
	}
	if out.Bootstrap { // nothing trusted to start from
		out.Body, err = rstuf.Marshal(rstuf.Bootstrap{Settings: s.Plan.rstufSettings(), Metadata: rstuf.Root{Root: root}, Timeout: s.Plan.rstufTimeout()})
		if err == nil {
			_, _, err = rstuf.ParseBootstrap(out.Body)
		}
	} else {
		out.Body, err = rstuf.Marshal(rstuf.Update{Metadata: rstuf.Root{Root: root}})
		if err == nil {
			_, _, err = rstuf.ParseUpdate(out.Body)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the payload made does not read back as RSTUF reads it: %w", err)
	}
	return out, nil
}

// rstufSent says an RSTUF ceremony may close unpublished: its product is
// the payload RSTUF's API takes (RSTUFPayload), which RSTUF publishes,
// and which needs at least one signature on root; RSTUF collects the
// rest of a threshold itself. Publishing it (N.root.json and root.json,
// for the record and the next rotation's chain) needs every threshold.
func (s *State) rstufSent() bool {
	r := s.Role(RoleRoot)
	return s.Plan != nil && s.Plan.Layout == LayoutRSTUF && s.publishing == nil && r != nil && len(r.Signatures) > 0
}

func (p *Plan) rstufTimeout() int {
	if p.RSTUF != nil && p.RSTUF.TimeoutSeconds > 0 {
		return p.RSTUF.TimeoutSeconds
	}
	return rstuf.DefaultTimeout
}

// PendingRoot is a root RSTUF holds pending, waiting for signatures, read
// from the body of GET /api/v1/metadata/sign: what a signer is shown and
// signs, with no workspace.
type PendingRoot struct {
	Pending *roles.Metadata[*roles.Root]
	// Trusted is the root RSTUF trusts now; nil while a bootstrap waits.
	Trusted *roles.Metadata[*roles.Root]
	// Signed is the canonical JSON of the pending root's signed part: the
	// bytes a signature covers.
	Signed []byte
	// Review is what the pending bytes say, against the trusted root.
	Review *Summary
	// Thresholds are where the pending root stands: under the trusted
	// root (the rotation rule) and under its own keys.
	Thresholds []PendingThreshold
}

// PendingThreshold is where a pending root stands under one delegation.
type PendingThreshold struct {
	Under     string
	Threshold int64
	// Signed and Missing name keys: by x-rstuf-key-name where the trusted
	// root gives one, and by keyid.
	Signed, Missing []string
}

// ReadPendingRoot reads the body of GET /api/v1/metadata/sign. It refuses
// a pending root that RSTUF would not keep as signed (rstuf.Kept), that
// lists a key under another key's keyid, that is not the trusted root's
// next version, or that is not a root RSTUF runs on.
func ReadPendingRoot(b []byte) (*PendingRoot, error) {
	pending, trusted, err := rstuf.ParsePending(b)
	if err != nil {
		return nil, err
	}
	if err := rstufRootChecks("the pending root", pending.Signed); err != nil {
		return nil, fmt.Errorf("%w: %w", rstuf.ErrInvalid, err)
	}
	p := &PendingRoot{Pending: pending, Trusted: trusted, Signed: pending.CanonicalSigned()}
	var prev []byte
	names := func(string) string { return "" }
	if trusted != nil {
		if prev, err = trusted.MarshalJSON(); err != nil {
			return nil, err
		}
		names = func(id string) string {
			if k := trusted.Signed.Keys[id]; k != nil {
				return rstuf.KeyName(k)
			}
			return ""
		}
	}
	if p.Review, err = Summarize(RoleRoot, p.Signed, prev, names); err != nil {
		return nil, err
	}
	var dels []roles.Delegation
	if trusted != nil {
		d, err := trusted.Signed.Delegation(roles.TypeRoot)
		if err != nil {
			return nil, err
		}
		d.Role = fmt.Sprintf("root v%d (trusted)", trusted.Signed.Version)
		dels = append(dels, d)
	}
	own, err := pending.Signed.Delegation(roles.TypeRoot)
	if err != nil {
		return nil, err
	}
	own.Role = fmt.Sprintf("root v%d (its own keys)", pending.Signed.Version)
	dels = append(dels, own)
	who := func(id string) string {
		if n := names(id); n != "" {
			return fmt.Sprintf("%s (%s)", shownName(n), roles.ShortID(id))
		}
		return roles.ShortID(id)
	}
	for _, d := range dels {
		rep, _ := roles.VerifyCanonical(p.Signed, pending.Signatures, d)
		t := PendingThreshold{Under: d.Role, Threshold: d.Threshold}
		for _, id := range rep.Signed {
			t.Signed = append(t.Signed, who(id))
		}
		for _, id := range rep.Missing {
			t.Missing = append(t.Missing, who(id))
		}
		p.Thresholds = append(p.Thresholds, t)
	}
	return p, nil
}

// VerifyTrusted checks the pending body's trusted root against the root
// the signer pins (pinned, a root metadata file): its signed part must be
// the pinned root's. It returns the pinned root's version.
func (p *PendingRoot) VerifyTrusted(pinned []byte) (int64, error) {
	m, err := roles.Parse[*roles.Root](pinned)
	if err != nil {
		return 0, fmt.Errorf("%w: the pinned root: %w", ErrRequestInvalid, err)
	}
	v := m.Signed.Version
	if p.Trusted == nil {
		return v, fmt.Errorf("%w: the pending body carries no trusted root to compare with your pinned root v%d", ErrUntrusted, v)
	}
	if !bytes.Equal(m.CanonicalSigned(), p.Trusted.CanonicalSigned()) {
		return v, fmt.Errorf("%w: the trusted root the pending body carries (v%d) is not your pinned root v%d: do not sign; ask which root RSTUF trusts", ErrUntrusted, p.Trusted.Signed.Version, v)
	}
	return v, nil
}

// Key returns the keyid and key object under which the pending root (or
// the trusted root) lists pub as a root key, or ErrUntrustedKey. Keys are
// matched by the public key itself, so a key RSTUF's CLI listed under its
// keyid without x-rstuf- members is found too.
func (p *PendingRoot) Key(pub crypto.PublicKey) (string, *roles.Key, error) {
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return "", nil, fmt.Errorf("%w: the key's type is not one TUF signs with", ErrUntrustedKey)
	}
	sources := []*roles.Root{p.Pending.Signed}
	if p.Trusted != nil {
		sources = append(sources, p.Trusted.Signed)
	}
	for _, r := range sources {
		for _, id := range r.Roles[roles.TypeRoot].KeyIDs {
			k := r.Keys[id]
			if kp, err := k.PublicKey(); err == nil && eq.Equal(kp) {
				return id, k, nil
			}
		}
	}
	return "", nil, fmt.Errorf("%w: the key is none of the root keys of the pending root v%d or the trusted root: check you plugged in the right device and gave the right key URI; nothing was signed", ErrUntrustedKey, p.Pending.Signed.Version)
}

// Sign signs the pending root with signer, whose key must be a root key
// of the pending or the trusted root, and returns the body for POST
// /api/v1/metadata/sign/. The signature is made over the key object as
// the root lists it, under the keyid it lists it by, and verified in
// software before it is returned. A key that has signed already is
// refused.
func (p *PendingRoot) Sign(signer crypto.Signer) (*rstuf.Signature, error) {
	id, key, err := p.Key(signer.Public())
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(p.Pending.Signatures, func(s roles.Signature) bool { return s.KeyID == id && key.Verify(p.Signed, s.Sig) == nil }) {
		return nil, fmt.Errorf("%w: key %s has signed pending root v%d already", ErrDuplicate, roles.ShortID(id), p.Pending.Signed.Version)
	}
	sig, err := roles.Sign(signer, key, p.Signed)
	if err != nil {
		return nil, fmt.Errorf("sign root v%d: %w", p.Pending.Signed.Version, err)
	}
	if err := key.Verify(p.Signed, sig.Sig); err != nil {
		return nil, fmt.Errorf("the signature just made does not verify with key %s: %w", roles.ShortID(id), err)
	}
	return &rstuf.Signature{Role: RoleRoot, Signature: rstuf.KeySig{KeyID: id, Sig: hex.EncodeToString(sig.Sig)}}, nil
}
