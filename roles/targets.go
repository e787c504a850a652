package roles

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Targets is the signed part of targets metadata and of every delegated
// targets role (claimed, recently-claimed, the unclaimed bins, projects).
type Targets struct {
	Header
	Targets     map[string]*TargetFile
	Delegations *Delegations // nil when the role delegates nothing

	extra fields
}

// NewTargets returns targets metadata of version 1 with nothing in it.
func NewTargets(expires time.Time) *Targets {
	return &Targets{
		Header:  Header{Type: TypeTargets, SpecVersion: SpecVersion, Version: 1, Expires: expires.UTC().Truncate(time.Second)},
		Targets: map[string]*TargetFile{},
	}
}

// TargetFile describes one target: its length and hashes.
type TargetFile struct {
	Length int64
	Hashes map[string]string // algorithm → hex digest

	extra fields // "custom" among them
}

// Delegations are the keys and roles a targets role delegates to. A role
// uses Roles or SuccinctRoles, never both.
type Delegations struct {
	Keys          map[string]*Key
	Roles         []*DelegatedRole // in order of trust: the first match wins
	SuccinctRoles *SuccinctRoles

	extra    fields
	keyOrder keyOrder                  // the keys as read, for writeKeys
	names    atomic.Pointer[nameIndex] // Roles by name, for Role (index.go)
}

// DelegatedRole is one entry of delegations.roles.
type DelegatedRole struct {
	Name             string
	KeyIDs           []string
	Threshold        int64
	Terminating      bool
	Paths            []string // nil when the role uses PathHashPrefixes
	PathHashPrefixes []string

	extra *fields                   // nil when the role has no unknown members
	paths atomic.Pointer[pathIndex] // Paths by literal prefix, for Matches (index.go)
}

// SuccinctRoles delegate to 2^BitLength hash bins named NamePrefix-XX
// (TAP 15), as PEP 458's unclaimed bins are.
type SuccinctRoles struct {
	KeyIDs     []string
	Threshold  int64
	BitLength  int64
	NamePrefix string

	extra fields
}

func (t *Targets) typeName() string { return TypeTargets }

func (t *Targets) decode(d *decoder) error {
	var have uint8
	var haveTargets bool
	err := d.object(func(name string) error {
		if known, err := t.Header.decodeMember(d, name, &have); known {
			return err
		}
		var err error
		switch name {
		case "targets":
			haveTargets = true
			t.Targets = map[string]*TargetFile{}
			err = d.object(func(p string) error {
				tf, err := decodeTargetFile(d)
				t.Targets[p] = tf
				return at(p, err)
			})
		case "delegations":
			t.Delegations, err = decodeDelegations(d)
		default:
			err = t.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err != nil {
		return err
	}
	if err := t.Header.checkComplete(d, have, TypeTargets); err != nil {
		return err
	}
	if !haveTargets {
		return d.errorf("missing \"targets\"")
	}
	return nil
}

func (t *Targets) write(c *cwriter) error {
	h := t.Header.members(c)
	return writeMerged(c, t.extra,
		h[0],
		memberErr("delegations", t.Delegations != nil, func() error { return t.Delegations.write(c) }),
		h[1], h[2],
		memberErr("targets", true, func() error {
			c.byte('{')
			first := true
			for _, p := range slices.Sorted(maps.Keys(t.Targets)) {
				c.name(&first, p)
				if err := t.Targets[p].write(c); err != nil {
					return err
				}
			}
			c.byte('}')
			return nil
		}),
		h[3],
	)
}

func decodeTargetFile(d *decoder) (*TargetFile, error) {
	tf := &TargetFile{}
	var have uint8
	err := d.object(func(name string) error {
		var err error
		switch name {
		case "length":
			have |= 1
			tf.Length, err = d.uint()
		case "hashes":
			have |= 2
			tf.Hashes, err = decodeStringMap(d)
		default:
			err = tf.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err == nil && have != 3 {
		err = d.errorf("a target needs both length and hashes")
	}
	return tf, err
}

func (tf *TargetFile) write(c *cwriter) error {
	return writeMerged(c, tf.extra,
		member("hashes", true, func() { writeStringMap(c, tf.Hashes) }),
		member("length", true, func() { c.int(tf.Length) }),
	)
}

func decodeDelegations(d *decoder) (*Delegations, error) {
	dl := &Delegations{}
	var haveKeys, haveRoles bool
	err := d.object(func(name string) error {
		var err error
		switch name {
		case "keys":
			haveKeys = true
			dl.Keys, dl.keyOrder, err = decodeKeys(d)
		case "roles":
			haveRoles = true
			dl.Roles = make([]*DelegatedRole, 0, d.countAhead(`"terminating"`))
			it := d.elems()
			for it.next() {
				var r *DelegatedRole
				if r, err = decodeDelegatedRole(d); err != nil {
					err = at(index(it.i), err)
					break
				}
				dl.Roles = append(dl.Roles, r)
			}
			if err == nil {
				err = it.err
			}
		case "succinct_roles":
			dl.SuccinctRoles, err = decodeSuccinctRoles(d)
		default:
			err = dl.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err != nil {
		return nil, err
	}
	if !haveKeys {
		return nil, d.errorf("delegations has no \"keys\"")
	}
	if haveRoles == (dl.SuccinctRoles != nil) {
		return nil, d.errorf("delegations must have exactly one of \"roles\" and \"succinct_roles\"")
	}
	names := make(map[string]bool, len(dl.Roles))
	for i, r := range dl.Roles {
		p := "roles" + index(i)
		if names[r.Name] {
			return nil, &SyntaxError{Path: p + ".name", Msg: fmt.Sprintf("role name %q is delegated twice", r.Name), Kind: ErrRoleDelegatedTwice}
		}
		names[r.Name] = true
		if slices.Contains(TopLevelRoles, r.Name) {
			return nil, &SyntaxError{Path: p + ".name", Msg: fmt.Sprintf("top-level role name %q cannot be delegated", r.Name), Kind: ErrTopLevelDelegated}
		}
		if err := checkKeyIDs(r.KeyIDs, dl.Keys); err != nil {
			return nil, &SyntaxError{Path: p + ".keyids", Msg: err.Error()}
		}
	}
	if s := dl.SuccinctRoles; s != nil {
		if err := checkKeyIDs(s.KeyIDs, dl.Keys); err != nil {
			return nil, &SyntaxError{Path: "succinct_roles.keyids", Msg: err.Error()}
		}
	}
	return dl, nil
}

func (dl *Delegations) write(c *cwriter) error {
	return writeMerged(c, dl.extra,
		memberErr("keys", true, func() error { return writeKeys(c, dl.Keys, dl.keyOrder) }),
		memberErr("roles", dl.SuccinctRoles == nil, func() error {
			c.byte('[')
			for i, r := range dl.Roles {
				if i > 0 {
					c.byte(',')
				}
				if err := r.write(c); err != nil {
					return err
				}
			}
			c.byte(']')
			return c.err
		}),
		memberErr("succinct_roles", dl.SuccinctRoles != nil, func() error { return dl.SuccinctRoles.write(c) }),
	)
}

func decodeDelegatedRole(d *decoder) (*DelegatedRole, error) {
	r := &DelegatedRole{}
	var have uint8
	it := d.members()
	for it.next() {
		var err error
		switch it.name {
		case "name":
			have |= 1
			r.Name, err = d.str()
		case "keyids":
			have |= 2
			r.KeyIDs, err = d.strings()
		case "threshold":
			have |= 4
			r.Threshold, err = decodeThreshold(d)
		case "terminating":
			have |= 8
			r.Terminating, err = d.bool()
		case "paths":
			have |= 16
			r.Paths, err = d.strings()
		case "path_hash_prefixes":
			have |= 32
			r.PathHashPrefixes, err = d.strings()
		default:
			if r.extra == nil {
				r.extra = &fields{}
			}
			err = r.extra.unknown(d, it.name)
		}
		if err != nil {
			return nil, at(it.name, err)
		}
	}
	if it.err != nil {
		return nil, it.err
	}
	for bit, name := range []string{"name", "keyids", "threshold", "terminating"} {
		if have&(1<<bit) == 0 {
			return nil, d.errorf("delegated role %q has no %q", r.Name, name)
		}
	}
	if have&48 == 48 {
		return nil, d.errorf("delegated role %q has both paths and path_hash_prefixes", r.Name)
	}
	return r, nil
}

func (r *DelegatedRole) write(c *cwriter) error {
	if r.extra == nil && r.PathHashPrefixes == nil && r.Paths != nil {
		// The common case at PyPI's scale, written without the general
		// merge: a claimed role has a hundred thousand of these.
		c.raw(`{"keyids":`)
		c.strings(r.KeyIDs)
		c.raw(`,"name":`)
		c.quote(r.Name)
		c.raw(`,"paths":`)
		c.strings(r.Paths)
		c.raw(`,"terminating":`)
		c.bool(r.Terminating)
		c.raw(`,"threshold":`)
		c.int(r.Threshold)
		c.byte('}')
		return c.err
	}
	var extra fields
	if r.extra != nil {
		extra = *r.extra
	}
	return writeMerged(c, extra,
		member("keyids", true, func() { c.strings(r.KeyIDs) }),
		member("name", true, func() { c.quote(r.Name) }),
		member("path_hash_prefixes", r.PathHashPrefixes != nil, func() { c.strings(r.PathHashPrefixes) }),
		member("paths", r.Paths != nil, func() { c.strings(r.Paths) }),
		member("terminating", true, func() { c.bool(r.Terminating) }),
		member("threshold", true, func() { c.int(r.Threshold) }),
	)
}

// Matches reports whether the role is trusted for targetPath: one of its
// path patterns matches, or the hex SHA-256 of the path starts with one of
// its prefixes.
func (r *DelegatedRole) Matches(targetPath string) bool {
	if len(r.Paths) >= indexMin && r.matchesIndexed(targetPath) {
		return true
	}
	for _, p := range r.Paths {
		if matchPattern(p, targetPath) {
			return true
		}
	}
	if len(r.PathHashPrefixes) > 0 {
		sum := sha256.Sum256([]byte(targetPath))
		h := hex.EncodeToString(sum[:])
		for _, p := range r.PathHashPrefixes {
			if strings.HasPrefix(h, p) {
				return true
			}
		}
	}
	return false
}

// matchPattern is the TUF spec's path matching, as python-tuf and go-tuf
// do it: the pattern and the path must have the same number of
// "/"-separated parts, and each part matches as a shell glob on its own, so
// nothing in a pattern (not "*", not a class, not an escape) ever matches a
// "/".
func matchPattern(pattern, targetPath string) bool {
	if strings.Count(pattern, "/") != strings.Count(targetPath, "/") {
		return false
	}
	for more := true; more; {
		var p, t string
		p, pattern, more = strings.Cut(pattern, "/")
		t, targetPath, _ = strings.Cut(targetPath, "/")
		if ok, err := path.Match(p, t); err != nil || !ok {
			return false
		}
	}
	return true
}

func decodeSuccinctRoles(d *decoder) (*SuccinctRoles, error) {
	s := &SuccinctRoles{}
	var have uint8
	err := d.object(func(name string) error {
		var err error
		switch name {
		case "keyids":
			have |= 1
			s.KeyIDs, err = d.strings()
		case "threshold":
			have |= 2
			s.Threshold, err = decodeThreshold(d)
		case "bit_length":
			have |= 4
			if s.BitLength, err = d.int(); err == nil && (s.BitLength < 1 || s.BitLength > 32) {
				err = d.errorf("bit_length must be from 1 to 32, not %d", s.BitLength)
			}
		case "name_prefix":
			have |= 8
			s.NamePrefix, err = d.str()
		default:
			err = s.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err == nil && have != 15 {
		err = d.errorf("succinct_roles needs keyids, threshold, bit_length and name_prefix")
	}
	return s, err
}

func (s *SuccinctRoles) write(c *cwriter) error {
	return writeMerged(c, s.extra,
		member("bit_length", true, func() { c.int(s.BitLength) }),
		member("keyids", true, func() { c.strings(s.KeyIDs) }),
		member("name_prefix", true, func() { c.quote(s.NamePrefix) }),
		member("threshold", true, func() { c.int(s.Threshold) }),
	)
}

// BinCount is the number of bins.
func (s *SuccinctRoles) BinCount() int { return 1 << s.BitLength }

// BinName returns the name of bin i: the prefix, "-", and i in lower-case
// hex padded to the width the largest bin needs.
func (s *SuccinctRoles) BinName(i int) string {
	width := int((s.BitLength + 3) / 4)
	h := strconv.FormatUint(uint64(i), 16)
	return s.NamePrefix + "-" + strings.Repeat("0", width-len(h)) + h
}

// BinFor returns the name of the bin that targetPath falls in: the first
// BitLength bits of the path's SHA-256.
func (s *SuccinctRoles) BinFor(targetPath string) string {
	sum := sha256.Sum256([]byte(targetPath))
	n := binary.BigEndian.Uint32(sum[:4]) >> (32 - s.BitLength)
	return s.BinName(int(n))
}

// IsBin reports whether name is one of the bins.
func (s *SuccinctRoles) IsBin(name string) bool {
	rest, ok := strings.CutPrefix(name, s.NamePrefix+"-")
	if !ok || len(rest) != int((s.BitLength+3)/4) {
		return false
	}
	n, err := strconv.ParseUint(rest, 16, 32)
	return err == nil && n < uint64(s.BinCount()) && s.BinName(int(n)) == name
}

// Delegation returns the keys and threshold dl gives to the role named
// name, whether listed in roles or one of the succinct bins.
func (dl *Delegations) Delegation(name string) (Delegation, error) {
	if dl == nil {
		return Delegation{}, fmt.Errorf("no delegations, so no role %q", name)
	}
	if s := dl.SuccinctRoles; s != nil {
		if !s.IsBin(name) {
			return Delegation{}, fmt.Errorf("role %q is not one of the %s-* bins", name, s.NamePrefix)
		}
		return Delegation{Role: name, Keys: dl.Keys, KeyIDs: s.KeyIDs, Threshold: s.Threshold}, nil
	}
	r := dl.Role(name)
	if r == nil {
		return Delegation{}, fmt.Errorf("role %q is not delegated", name)
	}
	return Delegation{Role: name, Keys: dl.Keys, KeyIDs: r.KeyIDs, Threshold: r.Threshold}, nil
}

// RolesFor returns the delegated roles a client consults for targetPath,
// in order: every matching role up to and including the first terminating
// one (TUF's preorder search, one level). For succinct roles it is the one
// bin the path hashes into.
func (dl *Delegations) RolesFor(targetPath string) []string {
	if dl == nil {
		return nil
	}
	if s := dl.SuccinctRoles; s != nil {
		return []string{s.BinFor(targetPath)}
	}
	var out []string
	for _, r := range dl.Roles {
		if !r.Matches(targetPath) {
			continue
		}
		out = append(out, r.Name)
		if r.Terminating {
			break
		}
	}
	return out
}
