package rstuf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/roles"
)

// Members of RSTUF's metadata that carry its settings.
const (
	// KeyNameField names a key for people.
	KeyNameField = "x-rstuf-key-name"
	// OnlineKeyURIField tells RSTUF's worker where the online key is
	// ("fn:KEYID" for a file, "awskms:…", "gcpkms:…", "hv:…").
	OnlineKeyURIField = "x-rstuf-online-key-uri"
	// ExpirePolicyField is a custom delegated role's expiration in days.
	ExpirePolicyField = "x-rstuf-expire-policy"
)

// keyMembers are the members of a key RSTUF's API models (TUFKeys); any
// other is dropped. keyvalMembers are those of keyval; any other is
// refused by its API.
var (
	keyMembers    = []string{"keytype", "scheme", "keyval", "name", KeyNameField, OnlineKeyURIField}
	keyvalMembers = []string{"public", "issuer", "identity"}
	roleMembers   = []string{"keyids", "threshold"}
	rootMembers   = []string{"_type", "version", "spec_version", "expires", "keys", "consistent_snapshot", "roles"}
	// vendorField is the form RSTUF keeps a top-level unknown member in.
	vendorField = regexp.MustCompile(`^x-[^-]+-.+$`)
)

// Kept refuses a root whose signed part holds members RSTUF's API drops
// or refuses on its update and sign paths: unknown members of a key, of
// keyval, or of a role's entry, and top-level members not of the form
// x-<vendor>-<name>. A signature over such a root is invalid once RSTUF
// stores it, so nothing of the kind is signed or sent. field names where
// the root stands, for the error.
func Kept(field string, r *roles.Root) error {
	var doc map[string]json.RawMessage
	pub, err := roles.New(r).MarshalJSON()
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, field, err)
	}
	var env struct{ Signed json.RawMessage }
	if err := json.Unmarshal(pub, &env); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, field, err)
	}
	if err := json.Unmarshal(env.Signed, &doc); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, field, err)
	}
	for _, name := range slices.Sorted(maps.Keys(doc)) {
		if !slices.Contains(rootMembers, name) && !vendorField.MatchString(name) {
			return dropped(field+"."+name, "a top-level member RSTUF refuses (it keeps only x-<vendor>-<name> members)")
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.Keys)) {
		if err := keptKey(fmt.Sprintf("%s.keys[%s]", field, roles.ShortID(id)), r.Keys[id]); err != nil {
			return err
		}
	}
	var rs map[string]map[string]json.RawMessage
	if err := json.Unmarshal(doc["roles"], &rs); err != nil {
		return fmt.Errorf("%w: %s.roles: %v", ErrInvalid, field, err)
	}
	for _, role := range slices.Sorted(maps.Keys(rs)) {
		for _, m := range slices.Sorted(maps.Keys(rs[role])) {
			if !slices.Contains(roleMembers, m) {
				return dropped(fmt.Sprintf("%s.roles.%s.%s", field, role, m), "RSTUF keeps only keyids and threshold of a role")
			}
		}
	}
	return nil
}

func dropped(field, why string) error {
	return fmt.Errorf("%w: %s: %s; a signature over it would not verify once RSTUF stores the metadata: take the member out and stage it again", ErrInvalid, field, why)
}

// keptKey refuses a key member RSTUF drops.
func keptKey(field string, k *roles.Key) error {
	m, err := keyMap(k)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, field, err)
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(keyMembers, name) {
			return dropped(field+"."+name, "a key member RSTUF drops")
		}
	}
	var kv map[string]json.RawMessage
	if err := json.Unmarshal(m["keyval"], &kv); err != nil {
		return fmt.Errorf("%w: %s.keyval: %v", ErrInvalid, field, err)
	}
	for _, name := range slices.Sorted(maps.Keys(kv)) {
		if !slices.Contains(keyvalMembers, name) {
			return dropped(field+".keyval."+name, "a keyval member RSTUF refuses")
		}
	}
	return nil
}

func keyMap(k *roles.Key) (map[string]json.RawMessage, error) {
	b, err := k.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(b, &m)
}

// KeyName is the key's x-rstuf-key-name, or "".
func KeyName(k *roles.Key) string {
	return stringMember(k, KeyNameField)
}

// OnlineKeyURI is the key's x-rstuf-online-key-uri, or "".
func OnlineKeyURI(k *roles.Key) string {
	return stringMember(k, OnlineKeyURIField)
}

func stringMember(k *roles.Key, name string) string {
	m, err := keyMap(k)
	if err != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[name], &s) != nil {
		return ""
	}
	return s
}

// WithMembers returns key with the string members set (and none of
// them removed); an empty value leaves its member out. Its keyid, as
// the TUF specification computes it, covers them.
func WithMembers(k *roles.Key, members map[string]string) (*roles.Key, error) {
	m, err := keyMap(k)
	if err != nil {
		return nil, err
	}
	for name, v := range members {
		if v == "" {
			continue
		}
		b, err := marshalNoEscape(v)
		if err != nil {
			return nil, err
		}
		m[name] = b
	}
	b, err := marshalNoEscape(m)
	if err != nil {
		return nil, err
	}
	return roles.ParseKey(b)
}

// marshalNoEscape is compact JSON with no HTML escaping, as keys stand
// in metadata.
func marshalNoEscape(v any) ([]byte, error) {
	b, err := encodeJSON(v, "")
	return bytes.TrimSuffix(b, []byte("\n")), err
}

// LegacyKeyID is the keyid RSTUF's CLI lists a key under: securesystemslib
// computes it when the key is loaded, before the CLI adds
// x-rstuf-key-name and x-rstuf-online-key-uri, so it is the SHA-256 of the
// key without them. It differs from the key's own keyid (roles.Key.ID)
// whenever the key carries either.
func LegacyKeyID(k *roles.Key) (string, error) {
	m, err := keyMap(k)
	if err != nil {
		return "", err
	}
	for name := range m {
		if strings.HasPrefix(name, "x-rstuf-") || name == "name" {
			delete(m, name)
		}
	}
	b, err := marshalNoEscape(m)
	if err != nil {
		return "", err
	}
	plain, err := roles.ParseKey(b)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(plain.CanonicalJSON())
	return hex.EncodeToString(sum[:]), nil
}

// CheckKeyIDs refuses a root listing a key under a keyid that is neither
// its own (the TUF specification's) nor the one RSTUF's CLI gives it
// (LegacyKeyID).
func CheckKeyIDs(field string, r *roles.Root) error {
	for _, id := range slices.Sorted(maps.Keys(r.Keys)) {
		k := r.Keys[id]
		if k.ID() == id {
			continue
		}
		if legacy, err := LegacyKeyID(k); err == nil && legacy == id {
			continue
		}
		return fmt.Errorf("%w: %s.keys[%s]: the key's keyid is %s, and RSTUF would list it as %s: refuse metadata that lists a key under another key's id",
			ErrInvalid, field, roles.ShortID(id), roles.ShortID(k.ID()), roles.ShortID(id))
	}
	return nil
}

// CheckDelegations checks custom delegations as a bootstrap payload
// carries them, as RSTUF's API and worker need them: role names of
// [a-zA-Z0-9_-], at least one path pattern each, every keyid among keys,
// a threshold within the keys (no keys: the online key, threshold 1),
// an x-rstuf-expire-policy of a day or more, and keys RSTUF keeps.
func CheckDelegations(b json.RawMessage) error {
	var d struct {
		Keys  map[string]json.RawMessage `json:"keys"`
		Roles []map[string]json.RawMessage
	}
	const field = "settings.roles.delegations"
	if err := decodeStrict(field, b, &d); err != nil {
		return err
	}
	if len(d.Roles) == 0 {
		return invalidf(field+".roles", "no roles: give at least one delegated role, or use bins")
	}
	for id, kb := range d.Keys {
		k, err := roles.ParseKey(kb)
		if err == nil {
			_, err = k.PublicKey()
		}
		if err != nil {
			return invalidf(fmt.Sprintf("%s.keys[%s]", field, roles.ShortID(id)), "%v", err)
		}
		if err := keptKey(fmt.Sprintf("%s.keys[%s]", field, roles.ShortID(id)), k); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	for i, r := range d.Roles {
		f := fmt.Sprintf("%s.roles[%d]", field, i)
		var role struct {
			Name        string   `json:"name"`
			Terminating bool     `json:"terminating"`
			KeyIDs      []string `json:"keyids"`
			Threshold   int64    `json:"threshold"`
			Paths       []string `json:"paths"`
			Expire      int      `json:"x-rstuf-expire-policy"`
		}
		raw, _ := json.Marshal(r)
		if err := decodeStrict(f, raw, &role); err != nil {
			return err
		}
		if !roleName.MatchString(role.Name) || strings.HasPrefix(role.Name, BinsPrefix) {
			return invalidf(f+".name", "%q: use a-z, A-Z, 0-9, '-' and '_', not starting with %q (RSTUF's hash bins)", role.Name, BinsPrefix)
		}
		if names[role.Name] {
			return invalidf(f+".name", "%q is delegated twice", role.Name)
		}
		names[role.Name] = true
		if len(role.Paths) == 0 || slices.Contains(role.Paths, "") {
			return invalidf(f+".paths", "give one or more non-empty path patterns")
		}
		for _, id := range role.KeyIDs {
			if d.Keys[id] == nil {
				return invalidf(f+".keyids", "%s is not among the delegations' keys", roles.ShortID(id))
			}
		}
		if n := int64(max(len(role.KeyIDs), 1)); role.Threshold < 1 || role.Threshold > n {
			return invalidf(f+".threshold", "%d is not between 1 and the role's %d keys", role.Threshold, n)
		}
		if role.Expire < 1 {
			return invalidf(f+"."+ExpirePolicyField, "%d: give the role's expiration in days, 1 or more (RSTUF's worker needs it)", role.Expire)
		}
	}
	return nil
}
