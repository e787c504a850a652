// Package roles is the TUF model for a repository laid out as PyPI lays it
// out (PEP 458, PEP 480): root, targets and its delegations (claimed,
// recently-claimed, hash-binned unclaimed, projects), snapshot, timestamp,
// and this project's revocation list. It parses strictly, writes canonical
// JSON straight from the parsed document, verifies signatures and
// thresholds, walks root chains, and runs the named policy checks a
// ceremony passes before anyone signs.
//
// roles does no I/O beyond bytes in and bytes out, and knows nothing of
// devices: any crypto.Signer signs through Sign.
package roles

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Role types, as they stand in "_type".
const (
	TypeRoot        = "root"
	TypeTargets     = "targets"
	TypeSnapshot    = "snapshot"
	TypeTimestamp   = "timestamp"
	TypeRevocations = "revocations"
)

// SpecVersion is the TUF specification version this package writes.
const SpecVersion = "1.0.31"

// TimeFormat is the one form TUF metadata gives times in.
const TimeFormat = "2006-01-02T15:04:05Z"

// Header holds the members every role's signed part has.
type Header struct {
	Type        string // "_type"
	SpecVersion string
	Version     int64
	Expires     time.Time
}

// IsExpired reports whether the role has expired at t.
func (h *Header) IsExpired(t time.Time) bool { return !t.Before(h.Expires) }

func (h *Header) hdr() *Header { return h }

// HeaderOf returns the members every role's signed part has, for code
// that holds a role only by its type parameter.
func HeaderOf[R Role](r R) *Header { return r.hdr() }

// decodeMember reads a header member; known is false for other names.
func (h *Header) decodeMember(d *decoder, name string, have *uint8) (known bool, err error) {
	switch name {
	case "_type":
		*have |= 1
		h.Type, err = d.str()
	case "spec_version":
		*have |= 2
		if h.SpecVersion, err = d.str(); err == nil {
			major, _, _ := strings.Cut(h.SpecVersion, ".")
			if major != "1" {
				err = d.refuse(ErrSpecVersion, "spec version %q is not 1.x: this tool reads TUF 1.x metadata only", h.SpecVersion)
			}
		}
	case "version":
		*have |= 4
		if h.Version, err = d.int(); err == nil && h.Version < 1 {
			err = d.refuse(ErrVersionBelowOne, "version must be 1 or more, not %d", h.Version)
		}
	case "expires":
		*have |= 8
		var s string
		if s, err = d.str(); err == nil {
			h.Expires, err = time.Parse(TimeFormat, s)
			if _, rerr := time.Parse(time.RFC3339Nano, s); err != nil && rerr == nil {
				err = d.refuse(ErrTimeNotUTC, "expires %q is not a time of the form 2030-01-02T15:04:05Z: TUF 1.0 gives times in UTC, to the second (metadata written before it, as sigstore's roots 1 to 4, has an offset): verify from a later root", s)
			} else if err != nil || h.Expires.Format(TimeFormat) != s {
				err = d.errorf("expires %q is not a time of the form 2030-01-02T15:04:05Z", s)
			}
		}
	default:
		return false, nil
	}
	return true, at(name, err)
}

func (h *Header) checkComplete(d *decoder, have uint8, want string) error {
	for bit, name := range []string{"_type", "spec_version", "version", "expires"} {
		if have&(1<<bit) == 0 {
			return d.errorf("missing %q", name)
		}
	}
	if h.Type != want {
		return &SyntaxError{Path: "_type", Msg: fmt.Sprintf("_type is %q, want %q", h.Type, want)}
	}
	return nil
}

func (h *Header) members(c *cwriter) []knownMember {
	return []knownMember{
		member("_type", true, func() { c.quote(h.Type) }),
		member("expires", true, func() { c.quote(h.Expires.UTC().Format(TimeFormat)) }),
		member("spec_version", true, func() { c.quote(h.SpecVersion) }),
		member("version", true, func() { c.int(h.Version) }),
	}
}

// Role is the signed part of a metadata file: *Root, *Targets, *Snapshot,
// *Timestamp or *Revocations.
type Role interface {
	hdr() *Header
	typeName() string
	decode(d *decoder) error
	write(c *cwriter) error
}

// Metadata is a signed envelope: {"signed": ..., "signatures": [...]}.
type Metadata[R Role] struct {
	Signed     R
	Signatures []Signature

	extra fields
	// raw is the "signed" value as read; rawCanonical says whether those
	// bytes were already canonical, so that they are the signed message.
	raw          []byte
	rawCanonical bool
}

// Parse parses a metadata file strictly: duplicate member names, numbers
// that are not integers or out of range, invalid UTF-8, an unexpected
// _type, a spec version other than 1.x, versions and thresholds below 1,
// roles naming keyids that are not in keys, and trailing data are errors
// that name the field. Members this package does not know are kept and
// written back unchanged.
//
// Parse keeps references into data: the caller must not modify data
// afterwards.
func Parse[R Role](data []byte) (*Metadata[R], error) {
	return parseInto(data, newRole[R]())
}

// ParseSnapshotEach parses snapshot metadata as Parse does, but hands
// each meta entry to each, once and in the order the file lists them,
// instead of keeping it in Signed.Meta; an error from each stops the
// parse. At PyPI's scale the map and its entries take three times the
// file's 18 MB, and a caller that indexes the entries its own way (a
// verifier) need not hold both; such metadata cannot be written again
// (MarshalJSON fails), only read. Signed.Meta stays empty unless the
// signed part is not canonical JSON already (a file another tool
// wrote): its canonical form, which signatures cover, is then made from
// the entries, so they are kept as Parse keeps them.
func ParseSnapshotEach(data []byte, each func(file string, mf *MetaFile) error) (*Metadata[*Snapshot], error) {
	m, err := parseInto(data, &Snapshot{metaRole{each: each}})
	if err != nil || m.rawCanonical {
		if m != nil {
			m.Signed.each, m.Signed.handedOver = nil, true
		}
		return m, err
	}
	return Parse[*Snapshot](data)
}

// parseInto is Parse, decoding the signed part into signed.
func parseInto[R Role](data []byte, signed R) (*Metadata[R], error) {
	m := &Metadata[R]{}
	m.Signed = signed
	d := &decoder{data: data}
	var have uint8
	err := d.object(func(name string) error {
		switch name {
		case "signed":
			have |= 1
			d.ws()
			start := d.pos
			d.canonical = true
			if err := m.Signed.decode(d); err != nil {
				return at("signed", err)
			}
			m.raw, m.rawCanonical = data[start:d.pos], d.canonical
		case "signatures":
			have |= 2
			return at("signatures", d.array(func(i int) error {
				s, err := decodeSignature(d)
				if err == nil && slices.ContainsFunc(m.Signatures, func(o Signature) bool { return o.KeyID == s.KeyID }) {
					// Stock clients refuse such a file: refuse it first.
					err = d.errorf("keyid %s signs twice", ShortID(s.KeyID))
				}
				m.Signatures = append(m.Signatures, s)
				return at(index(i), err)
			}))
		default:
			return at(name, m.extra.unknown(d, name))
		}
		return nil
	})
	if err == nil {
		err = d.end()
	}
	if err == nil && have != 3 {
		err = d.errorf("metadata must have both \"signed\" and \"signatures\"")
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s metadata: %w", m.Signed.typeName(), err)
	}
	return m, nil
}

func newRole[R Role]() R {
	var r R
	switch any(r).(type) {
	case *Root:
		return any(&Root{}).(R)
	case *Targets:
		return any(&Targets{}).(R)
	case *Snapshot:
		return any(&Snapshot{}).(R)
	case *Timestamp:
		return any(&Timestamp{}).(R)
	case *Revocations:
		return any(&Revocations{}).(R)
	}
	return r
}

// New wraps a role in an envelope with no signatures.
func New[R Role](signed R) *Metadata[R] {
	return &Metadata[R]{Signed: signed}
}

// Touched forgets the bytes the role was read from. Call it after changing
// Signed, so that the signed message is written anew from the model.
func (m *Metadata[R]) Touched() { m.raw, m.rawCanonical = nil, false }

// WriteSigned streams the canonical JSON of the signed part to w: the
// bytes that signatures cover.
func (m *Metadata[R]) WriteSigned(w io.Writer) error {
	if m.rawCanonical {
		_, err := w.Write(m.raw)
		return err
	}
	c := &cwriter{dst: w, buf: make([]byte, 0, cwriterFlush+4096)}
	if err := m.Signed.write(c); err != nil {
		return err
	}
	c.flush()
	return c.err
}

// CanonicalSigned returns the canonical JSON of the signed part.
func (m *Metadata[R]) CanonicalSigned() []byte {
	if m.rawCanonical {
		return slices.Clone(m.raw)
	}
	return m.CanonicalSignedView()
}

// CanonicalSignedView is CanonicalSigned without the copy where the
// signed part was read canonical, as a published file's is: the result is
// then a view of the data Parse was given, which nobody may change. A
// staged 18 MB snapshot is so held once, not twice.
func (m *Metadata[R]) CanonicalSignedView() []byte {
	if m.rawCanonical {
		return slices.Clip(m.raw)
	}
	c := &cwriter{}
	m.Signed.write(c)
	return c.bytes()
}

// MarshalJSON returns the file as it is published: sorted, compact JSON in
// which, unlike canonical JSON, control characters in strings are escaped
// so that every JSON parser reads it.
func (m *Metadata[R]) MarshalJSON() ([]byte, error) {
	c := &cwriter{escape: true}
	err := writeMerged(c, m.extra,
		memberErr("signatures", true, func() error {
			c.byte('[')
			for i := range m.Signatures {
				if i > 0 {
					c.byte(',')
				}
				if err := m.Signatures[i].write(c); err != nil {
					return err
				}
			}
			c.byte(']')
			return nil
		}),
		memberErr("signed", true, func() error { return m.Signed.write(c) }),
	)
	return c.bytes(), err
}

// ReplaceSignatures returns file with sigs as its signatures: the bytes
// MarshalJSON writes for file parsed, its Signatures set to sigs. It does
// not parse the signed part (at PyPI's scale a snapshot of 600,000
// entries), so it takes only a file as MarshalJSON writes one whose
// signed part is canonical, the bytes signatures cover:
// {"signatures":[...],"signed":CANONICAL}, nothing else, no string with
// a control character (which MarshalJSON escapes and canonical JSON does
// not). ok is false for any other file: parse it then.
func ReplaceSignatures(file, canonical []byte, sigs []Signature) (out []byte, ok bool) {
	const head = `{"signatures":`
	if SignedView(file, canonical) == nil || !bytes.HasPrefix(file, []byte(head)) {
		return nil, false
	}
	for _, b := range canonical {
		if b < 0x20 {
			return nil, false
		}
	}
	// Between them, the old signatures: one array, and nothing else.
	end := len(file) - 1 - len(canonical) - len(signedMember)
	if end < len(head) {
		return nil, false
	}
	d := &decoder{data: file[len(head):end]}
	if d.array(func(int) error { _, err := decodeSignature(d); return err }) != nil || d.end() != nil {
		return nil, false
	}
	c := &cwriter{escape: true, buf: make([]byte, 0, len(file)+len(sigs)*256)}
	c.raw(head)
	c.byte('[')
	for i := range sigs {
		if i > 0 {
			c.byte(',')
		}
		if err := sigs[i].write(c); err != nil {
			return nil, false
		}
	}
	c.byte(']')
	c.raw(signedMember)
	c.buf = append(c.buf, canonical...)
	c.byte('}')
	return c.bytes(), c.err == nil
}

// signedMember starts the last member of a file as MarshalJSON writes it
// when nothing sorts after "signed".
const signedMember = `,"signed":`

// SignedView returns the part of file, metadata as MarshalJSON writes it,
// that is canonical byte for byte: its signed part, when that is the
// last member and equal to canonical; else nil. The view's capacity ends
// with it, so appending to it never writes into file.
func SignedView(file, canonical []byte) []byte {
	end := len(file) - 1 // the closing brace
	start := end - len(canonical)
	if start < len(signedMember)+1 || file[end] != '}' || string(file[start-len(signedMember):start]) != signedMember ||
		!bytes.Equal(file[start:end], canonical) {
		return nil
	}
	return file[start:end:end]
}

// AddSignature adds sig, replacing any earlier signature by the same keyid.
func (m *Metadata[R]) AddSignature(sig Signature) {
	for i := range m.Signatures {
		if m.Signatures[i].KeyID == sig.KeyID {
			m.Signatures[i] = sig
			return
		}
	}
	m.Signatures = append(m.Signatures, sig)
}

func decodeSignature(d *decoder) (Signature, error) {
	var s Signature
	var have uint8
	err := d.object(func(name string) error {
		switch name {
		case "keyid":
			have |= 1
			id, err := d.str()
			s.KeyID = id
			return at(name, err)
		case "sig":
			have |= 2
			h, err := d.str()
			if err == nil {
				s.Sig, err = hex.DecodeString(h)
				if err != nil {
					err = d.errorf("sig is not hex")
				}
			}
			return at(name, err)
		}
		return at(name, s.extra.unknown(d, name))
	})
	if err == nil && have != 3 {
		err = d.errorf("a signature needs both keyid and sig")
	}
	return s, err
}

func (s *Signature) write(c *cwriter) error {
	return writeMerged(c, s.extra,
		member("keyid", true, func() { c.quote(s.KeyID) }),
		member("sig", true, func() { c.quote(hex.EncodeToString(s.Sig)) }),
	)
}

// keyOrder is a keys map as it was read: its keyids sorted, and the keys
// in that order. When it still describes the map, writeKeys walks it
// instead of sorting and looking up a hundred thousand keyids again.
type keyOrder struct {
	ids  []string
	keys []*Key
}

// matches reports whether ko lists exactly the entries of m: a walk over
// the map (cheap, in memory order) with a binary search into ko per
// entry, so that a key added, removed or replaced since is noticed.
func (ko keyOrder) matches(m map[string]*Key) bool {
	if len(ko.ids) == 0 || len(ko.ids) != len(m) {
		return false
	}
	for id, k := range m {
		i, found := slices.BinarySearch(ko.ids, id)
		if !found || ko.keys[i] != k {
			return false
		}
	}
	return true
}

// writeKeys writes a keyid → key map in canonical order.
func writeKeys(c *cwriter, keys map[string]*Key, ko keyOrder) error {
	if !ko.matches(keys) {
		ko.ids = make([]string, 0, len(keys))
		for id := range keys {
			ko.ids = append(ko.ids, id)
		}
		slices.Sort(ko.ids)
		ko.keys = make([]*Key, len(ko.ids))
		for i, id := range ko.ids {
			ko.keys[i] = keys[id]
		}
	}
	c.byte('{')
	first := true
	for i, id := range ko.ids {
		c.name(&first, id)
		if err := ko.keys[i].write(c); err != nil {
			return err
		}
		c.maybeFlush()
	}
	c.byte('}')
	return c.err
}

// decodeKeys reads a keyid → key map, and, when the keyids were read in
// sorted order, that order (for writeKeys). The keys are gathered first
// so that the map is made at its final size: growing it a step at a time
// would leave as much garbage as the map itself.
func decodeKeys(d *decoder) (map[string]*Key, keyOrder, error) {
	n := d.countAhead(`"keytype"`)
	ko := keyOrder{ids: make([]string, 0, n), keys: make([]*Key, 0, n)}
	it := d.members()
	for it.next() {
		k, err := decodeKey(d)
		if err != nil {
			return nil, keyOrder{}, at(it.name, err)
		}
		ko.ids = append(ko.ids, it.name)
		ko.keys = append(ko.keys, k)
	}
	if it.err != nil {
		return nil, keyOrder{}, it.err
	}
	keys := make(map[string]*Key, len(ko.keys))
	for i, k := range ko.keys {
		keys[ko.ids[i]] = k
	}
	if it.seen != nil {
		ko = keyOrder{}
	}
	return keys, ko, nil
}

func writeStringMap(c *cwriter, m map[string]string) {
	c.byte('{')
	first := true
	for _, k := range slices.Sorted(maps.Keys(m)) {
		c.name(&first, k)
		c.quote(m[k])
	}
	c.byte('}')
}

func decodeStringMap(d *decoder) (map[string]string, error) {
	m := map[string]string{}
	err := d.object(func(k string) error {
		v, err := d.str()
		m[k] = v
		return at(k, err)
	})
	return m, err
}
