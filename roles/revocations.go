package roles

import (
	"fmt"
	"time"
)

// Revocations is this project's extension to TUF (PEP 480 has none): a
// signed, append-only list of revoked keys. It uses TUF's envelope,
// canonical JSON, keyids and schemes, so any TUF signature verifier checks
// it, and it is signed under the keys and threshold that targets delegates
// to claimed. docs/REVOCATIONS.md specifies it.
//
//	{"_type": "revocations", "spec_version": "1.0.31", "version": 3,
//	 "expires": "2027-06-01T00:00:00Z",
//	 "revoked": [{"keyid": "…", "key": {…TUF key…}, "role": "claimed/sampleproject",
//	              "reason": "…", "revoked_at": "2026-11-01T12:00:00Z"}]}
type Revocations struct {
	Header
	Revoked []*Revocation

	extra fields
}

// Revocation is one revoked key.
type Revocation struct {
	KeyID     string
	Key       *Key
	Role      string // where the key was trusted: a role name
	Reason    string
	RevokedAt time.Time

	extra fields
}

// NewRevocations returns an empty revocation list of version 1.
func NewRevocations(expires time.Time) *Revocations {
	return &Revocations{Header: Header{Type: TypeRevocations, SpecVersion: SpecVersion, Version: 1, Expires: expires.UTC().Truncate(time.Second)}, Revoked: []*Revocation{}}
}

// IsRevoked reports whether the list revokes keyid, or the public key of
// key under any keyid.
func (r *Revocations) IsRevoked(keyid string, key *Key) *Revocation {
	var ident string
	if key != nil {
		ident, _ = key.identity()
	}
	for _, rv := range r.Revoked {
		if rv.KeyID == keyid {
			return rv
		}
		if ident != "" {
			if ri, err := rv.Key.identity(); err == nil && ri == ident {
				return rv
			}
		}
	}
	return nil
}

func (r *Revocations) typeName() string { return TypeRevocations }

func (r *Revocations) decode(d *decoder) error {
	var have uint8
	var haveRevoked bool
	err := d.object(func(name string) error {
		if known, err := r.Header.decodeMember(d, name, &have); known {
			return err
		}
		var err error
		if name == "revoked" {
			haveRevoked = true
			r.Revoked = []*Revocation{}
			err = d.array(func(i int) error {
				rv, err := decodeRevocation(d)
				r.Revoked = append(r.Revoked, rv)
				return at(index(i), err)
			})
		} else {
			err = r.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err != nil {
		return err
	}
	if err := r.Header.checkComplete(d, have, TypeRevocations); err != nil {
		return err
	}
	if !haveRevoked {
		return d.errorf("missing \"revoked\"")
	}
	seen := map[string]bool{}
	for i, rv := range r.Revoked {
		if seen[rv.KeyID] {
			return &SyntaxError{Path: "revoked" + index(i) + ".keyid", Msg: fmt.Sprintf("keyid %s is revoked twice", short(rv.KeyID))}
		}
		seen[rv.KeyID] = true
	}
	return nil
}

func decodeRevocation(d *decoder) (*Revocation, error) {
	rv := &Revocation{}
	var have uint8
	err := d.object(func(name string) error {
		var err error
		switch name {
		case "keyid":
			have |= 1
			rv.KeyID, err = d.str()
		case "key":
			have |= 2
			rv.Key, err = decodeKey(d)
		case "role":
			have |= 4
			rv.Role, err = d.str()
		case "reason":
			have |= 8
			rv.Reason, err = d.str()
		case "revoked_at":
			have |= 16
			var s string
			if s, err = d.str(); err == nil {
				rv.RevokedAt, err = time.Parse(TimeFormat, s)
				if err != nil || rv.RevokedAt.Format(TimeFormat) != s {
					err = d.errorf("revoked_at %q is not a time of the form 2030-01-02T15:04:05Z", s)
				}
			}
		default:
			err = rv.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err != nil {
		return nil, err
	}
	for bit, name := range []string{"keyid", "key", "role", "reason", "revoked_at"} {
		if have&(1<<bit) == 0 {
			return nil, d.errorf("revocation has no %q", name)
		}
	}
	if rv.Key.ID() != rv.KeyID {
		return nil, &SyntaxError{Path: "keyid", Msg: fmt.Sprintf("keyid %s is not the keyid of the key given (%s)", short(rv.KeyID), short(rv.Key.ID())), Kind: ErrKeyIDMismatch}
	}
	return rv, nil
}

func (r *Revocations) write(c *cwriter) error {
	h := r.Header.members(c)
	return writeMerged(c, r.extra,
		h[0], h[1],
		memberErr("revoked", true, func() error {
			c.byte('[')
			for i, rv := range r.Revoked {
				if i > 0 {
					c.byte(',')
				}
				if err := rv.write(c); err != nil {
					return err
				}
			}
			c.byte(']')
			return nil
		}),
		h[2], h[3],
	)
}

func (rv *Revocation) write(c *cwriter) error {
	return writeMerged(c, rv.extra,
		memberErr("key", true, func() error { return rv.Key.write(c) }),
		member("keyid", true, func() { c.quote(rv.KeyID) }),
		member("reason", true, func() { c.quote(rv.Reason) }),
		member("revoked_at", true, func() { c.quote(rv.RevokedAt.UTC().Format(TimeFormat)) }),
		member("role", true, func() { c.quote(rv.Role) }),
	)
}
