// Package rstuf is the wire format of Repository Service for TUF (RSTUF),
// PyPI's chosen TUF service: the bodies its API takes for a bootstrap
// (POST /api/v1/bootstrap/), a root update (POST /api/v1/metadata/) and a
// signature for pending metadata (POST /api/v1/metadata/sign/), and the
// body it returns for pending metadata (GET /api/v1/metadata/sign). It
// also holds RSTUF's rules for what it keeps of metadata: its API drops
// members of keys and roles it does not model, so a signature over them
// is invalid once RSTUF stores the metadata (Kept).
//
// The shapes follow repository-service-tuf-cli's payload dataclasses
// (helpers.py) and repository-service-tuf-api's models (bootstrap.py,
// common_models.py); testdata/ holds the CLI's own vectors. The package
// reads and writes bytes only.
package rstuf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"regexp"

	"github.com/ceremony-tuf/ceremony/roles"
)

// ErrInvalid is wrapped by every error about a payload's content.
var ErrInvalid = errors.New("not an RSTUF payload")

func invalidf(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// DefaultTimeout is the seconds RSTUF's CLI gives a bootstrap to finish.
const DefaultTimeout = 300

// Bins bounds: RSTUF's API takes 2 to 16,384 hash bins, a power of two.
const (
	MinBins = 2
	MaxBins = 16384
)

// BinsPrefix is the name prefix of RSTUF's succinct hash bins.
const BinsPrefix = "bins"

// Bootstrap is the body of POST /api/v1/bootstrap/, as `rstuf admin
// ceremony` writes it.
type Bootstrap struct {
	Settings Settings `json:"settings"`
	Metadata Root     `json:"metadata"`
	// Timeout is the seconds RSTUF's API waits for the bootstrap; 0 when
	// left out.
	Timeout int `json:"timeout"`
}

// Settings are the online roles' settings a bootstrap carries.
type Settings struct {
	Roles RoleSettings `json:"roles"`
}

// RoleSettings give each role's expiration policy in days, and either the
// hash bins or custom delegations (exactly one of the two).
type RoleSettings struct {
	Root      Expiration `json:"root"`
	Timestamp Expiration `json:"timestamp"`
	Snapshot  Expiration `json:"snapshot"`
	Targets   Expiration `json:"targets"`
	Bins      *Bins      `json:"bins"`
	// Delegations is {"keys": {…}, "roles": [{name, terminating, keyids,
	// threshold, paths, "x-rstuf-expire-policy"}]}, or null.
	Delegations json.RawMessage `json:"delegations"`
}

// Expiration is a role's expiration policy: RSTUF bumps the role to
// expire this many days ahead.
type Expiration struct {
	Expiration int `json:"expiration"`
}

// Bins is the succinct hash bins' policy.
type Bins struct {
	Expiration int `json:"expiration"`
	Number     int `json:"number_of_delegated_bins"`
}

// Root is {"root": <root metadata>}, the "metadata" member of a bootstrap
// and an update.
type Root struct {
	Root json.RawMessage `json:"root"`
}

// Update is the body of POST /api/v1/metadata/: a new root.
type Update struct {
	Metadata Root `json:"metadata"`
}

// Signature is the body of POST /api/v1/metadata/sign/: one signature
// for pending metadata.
type Signature struct {
	Signature KeySig `json:"signature"`
	Role      string `json:"role"`
}

// KeySig is a signature as metadata lists it: the keyid, and the
// signature in hex.
type KeySig struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Pending is the body of GET /api/v1/metadata/sign: metadata waiting for
// signatures, with the trusted version each is judged against.
type Pending struct {
	Data struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	} `json:"data"`
}

// BitLength is the succinct delegation's bit length for n bins, or an
// error naming the field when n is not a power of two RSTUF takes.
func BitLength(field string, n int) (int64, error) {
	if n < MinBins || n > MaxBins || bits.OnesCount(uint(n)) != 1 {
		return 0, invalidf(field, "%d bins: RSTUF takes a power of two from %d to %d (2, 4, …, 16384)", n, MinBins, MaxBins)
	}
	return int64(bits.TrailingZeros(uint(n))), nil
}

// Marshal returns v as RSTUF's CLI writes its payloads (json.dump with
// indent=2), with a final newline. Metadata inside is written member by
// member as it stands, so the bytes signatures cover are unchanged.
func Marshal(v any) ([]byte, error) { return encodeJSON(v, "  ") }

// encodeJSON is v in JSON with no HTML escaping, indented by indent
// unless it is empty, and a final newline.
func encodeJSON(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeStrict decodes one JSON value into v, refusing unknown members
// and anything after it.
func decodeStrict(what string, b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: trailing data after the JSON value", ErrInvalid, what)
	}
	return nil
}

// ParseBootstrap parses a bootstrap payload strictly and checks it as
// RSTUF's API does: every expiration at least a day, exactly one of bins
// and delegations, the bins count, and a root that RSTUF keeps as signed.
func ParseBootstrap(b []byte) (*Bootstrap, *roles.Metadata[*roles.Root], error) {
	var p Bootstrap
	if err := decodeStrict("bootstrap payload", b, &p); err != nil {
		return nil, nil, err
	}
	r := p.Settings.Roles
	for field, e := range map[string]int{"settings.roles.root.expiration": r.Root.Expiration, "settings.roles.timestamp.expiration": r.Timestamp.Expiration,
		"settings.roles.snapshot.expiration": r.Snapshot.Expiration, "settings.roles.targets.expiration": r.Targets.Expiration} {
		if e < 1 {
			return nil, nil, invalidf(field, "%d: give 1 day or more", e)
		}
	}
	hasDel := len(r.Delegations) > 0 && !bytes.Equal(r.Delegations, []byte("null"))
	switch {
	case r.Bins == nil && !hasDel, r.Bins != nil && hasDel:
		return nil, nil, invalidf("settings.roles", "give exactly one of bins and delegations")
	case r.Bins != nil:
		if r.Bins.Expiration < 1 {
			return nil, nil, invalidf("settings.roles.bins.expiration", "%d: give 1 day or more", r.Bins.Expiration)
		}
		if _, err := BitLength("settings.roles.bins.number_of_delegated_bins", r.Bins.Number); err != nil {
			return nil, nil, err
		}
	default:
		if err := CheckDelegations(r.Delegations); err != nil {
			return nil, nil, err
		}
	}
	if p.Timeout < 0 {
		return nil, nil, invalidf("timeout", "%d: give the seconds to wait, e.g. %d, or leave it out", p.Timeout, DefaultTimeout)
	}
	root, err := ParseRoot("metadata.root", p.Metadata.Root)
	if err != nil {
		return nil, nil, err
	}
	return &p, root, nil
}

// ParseUpdate parses a root update payload strictly.
func ParseUpdate(b []byte) (*Update, *roles.Metadata[*roles.Root], error) {
	var p Update
	if err := decodeStrict("update payload", b, &p); err != nil {
		return nil, nil, err
	}
	root, err := ParseRoot("metadata.root", p.Metadata.Root)
	if err != nil {
		return nil, nil, err
	}
	return &p, root, nil
}

// ParseSignature parses a signature payload strictly.
func ParseSignature(b []byte) (*Signature, error) {
	var p Signature
	if err := decodeStrict("signature payload", b, &p); err != nil {
		return nil, err
	}
	if !roleName.MatchString(p.Role) {
		return nil, invalidf("role", "%q is not a role name", p.Role)
	}
	if !hexKeyID.MatchString(p.Signature.KeyID) {
		return nil, invalidf("signature.keyid", "%q is not a keyid (64 lower-case hex digits)", p.Signature.KeyID)
	}
	if !hexString.MatchString(p.Signature.Sig) {
		return nil, invalidf("signature.sig", "not a signature in lower-case hex")
	}
	return &p, nil
}

var (
	roleName  = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	hexKeyID  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hexString = regexp.MustCompile(`^([0-9a-f]{2})+$`)
)

// ParsePending parses the body of GET /api/v1/metadata/sign and returns
// the pending root and the trusted root it is judged against (nil before
// a bootstrap finishes, when the pending root is version 1). Only root is
// read: a pending delegated role (with trusted_targets) is refused, named.
func ParsePending(b []byte) (pending, trusted *roles.Metadata[*roles.Root], err error) {
	var p Pending
	if err := decodeStrict("pending metadata (the body of GET /api/v1/metadata/sign)", b, &p); err != nil {
		return nil, nil, err
	}
	md := p.Data.Metadata
	for name := range md {
		switch name {
		case "root", "trusted_root":
		default:
			return nil, nil, invalidf("data.metadata."+name, "this tool signs pending root only; sign the role %q with 'rstuf admin metadata sign'", name)
		}
	}
	if md["root"] == nil {
		return nil, nil, invalidf("data.metadata.root", "missing: nothing pending to sign (RSTUF lists root there while it waits for signatures)")
	}
	if pending, err = ParseRoot("data.metadata.root", md["root"]); err != nil {
		return nil, nil, err
	}
	if t := md["trusted_root"]; t != nil && !bytes.Equal(bytes.TrimSpace(t), []byte("null")) {
		if trusted, err = ParseRoot("data.metadata.trusted_root", t); err != nil {
			return nil, nil, err
		}
	}
	if trusted == nil && pending.Signed.Version != 1 {
		return nil, nil, invalidf("data.metadata.trusted_root", "missing for root v%d: save the whole body of GET /api/v1/metadata/sign, which carries the trusted root", pending.Signed.Version)
	}
	if trusted != nil && pending.Signed.Version != trusted.Signed.Version+1 {
		return nil, nil, invalidf("data.metadata.root", "pending root v%d does not follow the trusted root v%d: a client only takes version N+1", pending.Signed.Version, trusted.Signed.Version)
	}
	return pending, trusted, nil
}

// ParseRoot parses root metadata found at field of a payload and checks
// that RSTUF keeps it as signed (Kept).
func ParseRoot(field string, b []byte) (*roles.Metadata[*roles.Root], error) {
	m, err := roles.Parse[*roles.Root](b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, field, err)
	}
	if err := Kept(field+".signed", m.Signed); err != nil {
		return nil, err
	}
	return m, nil
}
