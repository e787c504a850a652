package roles

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// TopLevelRoles are the roles root assigns keys to.
var TopLevelRoles = []string{TypeRoot, TypeSnapshot, TypeTargets, TypeTimestamp}

// RoleKeys is a role's keyids and threshold, as root and delegations give
// them.
type RoleKeys struct {
	KeyIDs    []string
	Threshold int64

	extra fields
}

// Root is root metadata's signed part.
type Root struct {
	Header
	ConsistentSnapshot bool
	Keys               map[string]*Key
	Roles              map[string]*RoleKeys

	extra    fields
	keyOrder keyOrder // the keys as read, for writeKeys
}

// NewRoot returns root metadata of version 1 with no keys.
func NewRoot(expires time.Time) *Root {
	return &Root{
		Header:             Header{Type: TypeRoot, SpecVersion: SpecVersion, Version: 1, Expires: expires.UTC().Truncate(time.Second)},
		ConsistentSnapshot: true,
		Keys:               map[string]*Key{},
		Roles:              map[string]*RoleKeys{},
	}
}

func (r *Root) typeName() string { return TypeRoot }

func (r *Root) decode(d *decoder) error {
	var have uint8
	var haveCS, haveKeys, haveRoles bool
	err := d.object(func(name string) error {
		if known, err := r.Header.decodeMember(d, name, &have); known {
			return err
		}
		var err error
		switch name {
		case "consistent_snapshot":
			haveCS = true
			r.ConsistentSnapshot, err = d.bool()
		case "keys":
			haveKeys = true
			r.Keys, r.keyOrder, err = decodeKeys(d)
		case "roles":
			haveRoles = true
			r.Roles = map[string]*RoleKeys{}
			err = d.object(func(role string) error {
				rk, err := decodeRoleKeys(d)
				r.Roles[role] = rk
				return at(role, err)
			})
		default:
			err = r.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err != nil {
		return err
	}
	if err := r.Header.checkComplete(d, have, TypeRoot); err != nil {
		return err
	}
	switch {
	case !haveCS:
		return d.errorf("missing \"consistent_snapshot\"")
	case !haveKeys:
		return d.errorf("missing \"keys\"")
	case !haveRoles:
		return d.errorf("missing \"roles\"")
	}
	for _, role := range TopLevelRoles {
		if r.Roles[role] == nil {
			return &SyntaxError{Path: "roles", Msg: fmt.Sprintf("root assigns no keys to the %s role", role)}
		}
	}
	for role, rk := range r.Roles {
		if err := checkKeyIDs(rk.KeyIDs, r.Keys); err != nil {
			return &SyntaxError{Path: "roles." + role + ".keyids", Msg: err.Error()}
		}
	}
	return nil
}

func (r *Root) write(c *cwriter) error {
	h := r.Header.members(c)
	return writeMerged(c, r.extra,
		h[0], // _type
		member("consistent_snapshot", true, func() { c.bool(r.ConsistentSnapshot) }),
		h[1], // expires
		memberErr("keys", true, func() error { return writeKeys(c, r.Keys, r.keyOrder) }),
		memberErr("roles", true, func() error {
			c.byte('{')
			first := true
			for _, role := range slices.Sorted(maps.Keys(r.Roles)) {
				c.name(&first, role)
				if err := r.Roles[role].write(c); err != nil {
					return err
				}
			}
			c.byte('}')
			return nil
		}),
		h[2], h[3], // spec_version, version
	)
}

func decodeRoleKeys(d *decoder) (*RoleKeys, error) {
	rk := &RoleKeys{}
	var have uint8
	err := d.object(func(name string) error {
		var err error
		switch name {
		case "keyids":
			have |= 1
			rk.KeyIDs, err = d.strings()
		case "threshold":
			have |= 2
			rk.Threshold, err = decodeThreshold(d)
		default:
			err = rk.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err == nil && have != 3 {
		err = d.errorf("a role needs both keyids and threshold")
	}
	return rk, err
}

func decodeThreshold(d *decoder) (int64, error) {
	t, err := d.int()
	if err == nil && t < 1 {
		err = d.errorf("threshold must be 1 or more, not %d", t)
	}
	return t, err
}

func (rk *RoleKeys) write(c *cwriter) error {
	return writeMerged(c, rk.extra,
		member("keyids", true, func() { c.strings(rk.KeyIDs) }),
		member("threshold", true, func() { c.int(rk.Threshold) }),
	)
}

// checkKeyIDs checks that every keyid is in keys, once.
func checkKeyIDs(ids []string, keys map[string]*Key) error {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if keys[id] == nil {
			return fmt.Errorf("keyid %s is not in keys", ShortID(id))
		}
		if seen[id] {
			return fmt.Errorf("keyid %s is listed twice", ShortID(id))
		}
		seen[id] = true
	}
	return nil
}

// AddKey adds key to root's keys and to role's keyids.
func (r *Root) AddKey(role string, key *Key) {
	id := key.ID()
	r.Keys[id] = key
	rk := r.Roles[role]
	if rk == nil {
		rk = &RoleKeys{Threshold: 1}
		r.Roles[role] = rk
	}
	if !slices.Contains(rk.KeyIDs, id) {
		rk.KeyIDs = append(rk.KeyIDs, id)
	}
}

// RemoveKey removes keyid from role, and from keys when no role uses it.
func (r *Root) RemoveKey(role, keyid string) {
	if rk := r.Roles[role]; rk != nil {
		rk.KeyIDs = slices.DeleteFunc(rk.KeyIDs, func(id string) bool { return id == keyid })
	}
	for _, rk := range r.Roles {
		if slices.Contains(rk.KeyIDs, keyid) {
			return
		}
	}
	delete(r.Keys, keyid)
}

// Delegation returns the keys and threshold root gives a top-level role.
func (r *Root) Delegation(role string) (Delegation, error) {
	rk := r.Roles[role]
	if rk == nil {
		return Delegation{}, fmt.Errorf("root v%d assigns no keys to role %q", r.Version, role)
	}
	return Delegation{Role: role, Keys: r.Keys, KeyIDs: rk.KeyIDs, Threshold: rk.Threshold}, nil
}
