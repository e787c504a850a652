package roles

import (
	"crypto"
	"crypto/sha256"
	_ "crypto/sha512" // sha384 and sha512 for MetaFile.Check
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"
)

// MetaFile is an entry of snapshot's or timestamp's "meta": the version of
// a metadata file, and optionally its length and hashes.
type MetaFile struct {
	Version int64
	Length  int64             // 0: not given
	Hashes  map[string]string // nil: not given

	extra fields
}

// MetaFileFor describes a published file's bytes: its version, length and
// SHA-256.
func MetaFileFor(version int64, published []byte) *MetaFile {
	sum := sha256.Sum256(published)
	return &MetaFile{Version: version, Length: int64(len(published)), Hashes: map[string]string{"sha256": hex.EncodeToString(sum[:])}}
}

// Check reports whether published bytes agree with the entry's length and
// hashes (an entry without them agrees with any bytes).
func (mf *MetaFile) Check(published []byte) error {
	if mf.Length != 0 && int64(len(published)) != mf.Length {
		return fmt.Errorf("length is %d bytes, meta says %d", len(published), mf.Length)
	}
	for _, alg := range slices.Sorted(maps.Keys(mf.Hashes)) {
		h, ok := metaHashes[alg]
		if !ok {
			// An unknown algorithm would let any bytes through: refuse, as
			// python-tuf does.
			return fmt.Errorf("hash algorithm %q is not one this tool checks (sha224, sha256, sha384, sha512)", alg)
		}
		hh := h.New()
		hh.Write(published)
		if got, want := hex.EncodeToString(hh.Sum(nil)), mf.Hashes[alg]; got != want {
			return fmt.Errorf("%s is %s, meta says %s", alg, got, want)
		}
	}
	return nil
}

// metaHashes are the hash algorithms MetaFile.Check verifies.
var metaHashes = map[string]crypto.Hash{"sha224": crypto.SHA224, "sha256": crypto.SHA256, "sha384": crypto.SHA384, "sha512": crypto.SHA512}

func decodeMetaFile(d *decoder) (*MetaFile, error) {
	mf := &MetaFile{}
	var haveVersion bool
	err := d.object(func(name string) error {
		var err error
		switch name {
		case "version":
			haveVersion = true
			if mf.Version, err = d.int(); err == nil && mf.Version < 1 {
				err = d.refuse(ErrVersionBelowOne, "version must be 1 or more, not %d", mf.Version)
			}
		case "length":
			if mf.Length, err = d.uint(); err == nil && mf.Length == 0 {
				err = d.errorf("length must be 1 or more")
			}
		case "hashes":
			mf.Hashes, err = decodeStringMap(d)
		default:
			err = mf.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err == nil && !haveVersion {
		err = d.errorf("meta entry has no version")
	}
	return mf, err
}

func (mf *MetaFile) write(c *cwriter) error {
	return writeMerged(c, mf.extra,
		member("hashes", mf.Hashes != nil, func() { writeStringMap(c, mf.Hashes) }),
		member("length", mf.Length != 0, func() { c.int(mf.Length) }),
		member("version", true, func() { c.int(mf.Version) }),
	)
}

// metaRole is the shared shape of snapshot and timestamp.
type metaRole struct {
	Header
	Meta map[string]*MetaFile
	// each, when set, is handed the entries that Meta would hold
	// (ParseSnapshotEach); listed, when set, yields the entries written
	// instead of Meta's (Snapshot.ListEach).
	each   func(file string, mf *MetaFile) error
	listed iter.Seq2[string, *MetaFile]
	// handedOver is set when each was handed the entries and Meta holds
	// none of them: such a snapshot is never written.
	handedOver bool

	extra fields
}

func (r *metaRole) decodeAs(d *decoder, typ string) error {
	var have uint8
	var haveMeta bool
	err := d.object(func(name string) error {
		if known, err := r.Header.decodeMember(d, name, &have); known {
			return err
		}
		var err error
		if name == "meta" {
			haveMeta = true
			r.Meta = map[string]*MetaFile{}
			err = d.object(func(file string) error {
				mf, err := decodeMetaFile(d)
				switch {
				case err != nil:
				case r.each != nil:
					err = r.each(file, mf)
				default:
					r.Meta[file] = mf
				}
				return at(file, err)
			})
		} else {
			err = r.extra.unknown(d, name)
		}
		return at(name, err)
	})
	if err != nil {
		return err
	}
	if err := r.Header.checkComplete(d, have, typ); err != nil {
		return err
	}
	if !haveMeta {
		return d.errorf("missing \"meta\"")
	}
	return nil
}

func (r *metaRole) write(c *cwriter) error {
	if r.handedOver {
		return errors.New("a snapshot whose entries were handed over as parsed (ParseSnapshotEach) cannot be written: parse it with Parse")
	}
	h := r.Header.members(c)
	return writeMerged(c, r.extra,
		h[0], h[1],
		memberErr("meta", true, func() error {
			c.byte('{')
			if err := r.writeEntries(c); err != nil {
				return err
			}
			c.byte('}')
			return nil
		}),
		h[2], h[3],
	)
}

// writeEntries writes the entries, Meta's by name or those listed
// yields, refusing names out of order or given twice.
func (r *metaRole) writeEntries(c *cwriter) error {
	entries := r.listed
	if entries == nil {
		entries = func(yield func(string, *MetaFile) bool) {
			for _, f := range slices.Sorted(maps.Keys(r.Meta)) {
				if !yield(f, r.Meta[f]) {
					return
				}
			}
		}
	}
	first, last := true, ""
	var err error
	for f, mf := range entries {
		if !first && f <= last {
			err = fmt.Errorf("meta entries must come in increasing order of name, once each: %q after %q", f, last)
		} else {
			c.name(&first, f)
			err = mf.write(c)
		}
		if err != nil {
			return err
		}
		last = f
	}
	return nil
}

// Snapshot lists the version of every targets metadata file.
type Snapshot struct{ metaRole }

// ListEach makes the snapshot, when written (MarshalJSON, the canonical
// bytes), list the entries entries yields instead of Meta's: by name in
// increasing byte order, once each (writing fails otherwise), each entry
// read only while it is handed over. At PyPI's scale the next snapshot
// is so written from the trusted one's index, without a map of 600,000
// entries.
func (s *Snapshot) ListEach(entries iter.Seq2[string, *MetaFile]) { s.listed = entries }

// NewSnapshot returns snapshot metadata of version 1 listing nothing.
func NewSnapshot(expires time.Time) *Snapshot {
	return &Snapshot{metaRole{Header: Header{Type: TypeSnapshot, SpecVersion: SpecVersion, Version: 1, Expires: expires.UTC().Truncate(time.Second)}, Meta: map[string]*MetaFile{}}}
}

func (s *Snapshot) typeName() string        { return TypeSnapshot }
func (s *Snapshot) decode(d *decoder) error { return s.decodeAs(d, TypeSnapshot) }

// Timestamp names the current snapshot.
type Timestamp struct{ metaRole }

// NewTimestamp returns timestamp metadata of version 1 listing nothing.
func NewTimestamp(expires time.Time) *Timestamp {
	return &Timestamp{metaRole{Header: Header{Type: TypeTimestamp, SpecVersion: SpecVersion, Version: 1, Expires: expires.UTC().Truncate(time.Second)}, Meta: map[string]*MetaFile{}}}
}

func (t *Timestamp) typeName() string { return TypeTimestamp }
func (t *Timestamp) decode(d *decoder) error {
	if err := t.decodeAs(d, TypeTimestamp); err != nil {
		return err
	}
	if len(t.Meta) != 1 || t.Meta["snapshot.json"] == nil {
		return &SyntaxError{Path: "meta", Msg: "timestamp must list snapshot.json and nothing else"}
	}
	return nil
}
