package pkcs11

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// URI is a parsed RFC 7512 PKCS#11 URI. Empty fields are absent from the
// URI and match anything; HasID and HasSlotID tell an absent id or slot-id
// from an empty or zero one.
type URI struct {
	// Path attributes: they select tokens and objects.
	Token               string // token label (CKA_LABEL of the token)
	Manufacturer        string // token manufacturerID
	Serial              string // token serialNumber
	Model               string // token model
	LibraryManufacturer string
	LibraryDescription  string
	LibraryVersion      string // "M" or "M.m"
	SlotDescription     string
	SlotManufacturer    string
	SlotID              uint
	HasSlotID           bool
	Object              string // CKA_LABEL of the object
	ID                  []byte // CKA_ID of the object
	HasID               bool
	Type                string // "public", "private", "cert", "secret-key" or "data"

	// Query attributes: how to reach and log in to the token. There is
	// no pin-value: a PIN never stands in a URI (hsm.URISyntax.Split).
	PINSource  string // file holding the PIN (file: URIs and plain paths)
	ModuleName string // module name, looked up in the usual directories
	ModulePath string // module file

	// Vendor holds "x-" attributes, which the RFC allows and this package
	// ignores.
	Vendor map[string]string
}

// syntax is RFC 7512's attributes, in the order String writes them.
var syntax = hsm.URISyntax{
	Scheme: "pkcs11",
	Name:   "PKCS#11 URI",
	Path: []string{"library-manufacturer", "library-description", "library-version",
		"slot-manufacturer", "slot-description", "slot-id",
		"manufacturer", "model", "serial", "token", "object", "id", "type"},
	Query:  []string{"module-name", "module-path", "pin-source"},
	Vendor: true,
}

func badURI(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), hsm.ErrBadURI)
}

// ParseURI parses an RFC 7512 "pkcs11:" URI. It is strict: an unknown
// attribute (other than an "x-" one), a repeated attribute, a bad percent
// escape or an invalid value is an error wrapping hsm.ErrBadURI, because a
// typo in a key URI must not quietly select a different key. pin-value is
// refused: PINs come from the terminal or a pin-source file. Errors name
// the attribute at fault, never its value.
func ParseURI(s string) (*URI, error) {
	attrs, err := syntax.Split(s)
	if err != nil {
		return nil, err
	}
	u := &URI{}
	for _, a := range attrs {
		if err := u.set(a.Name, a.Value); err != nil {
			return nil, err
		}
	}
	if u.ModuleName != "" && u.ModulePath != "" {
		return nil, badURI("PKCS#11 URI has both module-name and module-path: give one")
	}
	return u, nil
}

func (u *URI) set(name, raw string) error {
	val, err := unescape(raw)
	if err != nil {
		return badURI("PKCS#11 URI attribute %s %v", name, err)
	}
	if name != "id" && !utf8.Valid(val) {
		return badURI("PKCS#11 URI attribute %s is not valid UTF-8 once decoded", name)
	}
	v := string(val)
	switch name {
	case "token":
		u.Token = v
	case "manufacturer":
		u.Manufacturer = v
	case "serial":
		u.Serial = v
	case "model":
		u.Model = v
	case "library-manufacturer":
		u.LibraryManufacturer = v
	case "library-description":
		u.LibraryDescription = v
	case "library-version":
		if !validLibVersion(v) {
			return badURI("PKCS#11 URI library-version is not M or M.m with decimal numbers")
		}
		u.LibraryVersion = v
	case "slot-description":
		u.SlotDescription = v
	case "slot-manufacturer":
		u.SlotManufacturer = v
	case "slot-id":
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return badURI("PKCS#11 URI slot-id is not a decimal number below 2^32")
		}
		u.SlotID, u.HasSlotID = uint(n), true
	case "object":
		u.Object = v
	case "id":
		u.ID, u.HasID = val, true
	case "type":
		switch v {
		case "public", "private", "cert", "secret-key", "data":
		default:
			return badURI("PKCS#11 URI type is not one of public, private, cert, secret-key, data")
		}
		u.Type = v
	case "pin-source":
		if v == "" {
			return badURI("PKCS#11 URI pin-source is empty: name the file holding the PIN")
		}
		u.PINSource = v
	case "module-name":
		if v == "" || strings.ContainsAny(v, "/\\") {
			return badURI("PKCS#11 URI module-name must be a bare name such as softhsm2; use module-path for a file")
		}
		u.ModuleName = v
	case "module-path":
		if v == "" {
			return badURI("PKCS#11 URI module-path is empty")
		}
		u.ModulePath = v
	default: // x-
		if u.Vendor == nil {
			u.Vendor = map[string]string{}
		}
		u.Vendor[name] = v
	}
	return nil
}

func validLibVersion(v string) bool {
	major, minor, hasMinor := strings.Cut(v, ".")
	if _, err := strconv.ParseUint(major, 10, 8); err != nil {
		return false
	}
	if hasMinor {
		if _, err := strconv.ParseUint(minor, 10, 8); err != nil {
			return false
		}
	}
	return true
}

// unescape decodes RFC 3986 percent-encoding. Unlike url.PathUnescape it
// leaves '+' alone and rejects characters a URI cannot hold unescaped.
func unescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return nil, errors.New("ends in an incomplete percent escape ('%' needs two hex digits)")
			}
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, errors.New("has a bad percent escape ('%' must be followed by two hex digits)")
			}
			out = append(out, h<<4|l)
			i += 2
		case c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\^{|}`+"`", c) >= 0:
			return nil, errors.New("holds a space, a control or non-ASCII byte, or one of \"<>\\^`{|}, which must be percent-encoded")
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String formats the URI with attributes in a fixed order and values
// percent-encoded where RFC 7512 requires it; id is always fully encoded.
// pin-value is never written: a URI printed for a transcript or a listing
// must not carry a PIN.
func (u *URI) String() string {
	var path, query []string
	add := func(list *[]string, name, v string) {
		if v != "" {
			*list = append(*list, name+"="+escape(v, list == &query))
		}
	}
	add(&path, "library-manufacturer", u.LibraryManufacturer)
	add(&path, "library-description", u.LibraryDescription)
	add(&path, "library-version", u.LibraryVersion)
	add(&path, "slot-manufacturer", u.SlotManufacturer)
	add(&path, "slot-description", u.SlotDescription)
	if u.HasSlotID {
		path = append(path, "slot-id="+strconv.FormatUint(uint64(u.SlotID), 10))
	}
	add(&path, "manufacturer", u.Manufacturer)
	add(&path, "model", u.Model)
	add(&path, "serial", u.Serial)
	add(&path, "token", u.Token)
	add(&path, "object", u.Object)
	if u.HasID {
		var b strings.Builder
		for _, c := range u.ID {
			fmt.Fprintf(&b, "%%%02x", c)
		}
		path = append(path, "id="+b.String())
	}
	add(&path, "type", u.Type)
	add(&query, "module-name", u.ModuleName)
	add(&query, "module-path", u.ModulePath)
	add(&query, "pin-source", u.PINSource)
	s := "pkcs11:" + strings.Join(path, ";")
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

// escape percent-encodes everything but RFC 3986 unreserved characters and
// the characters RFC 7512 allows unencoded in every attribute value; ';',
// '?', '&', '=', '%' and '#' are always encoded so the result parses back.
func escape(v string, inQuery bool) string {
	allowed := "-._~:[]@!$'()*+,"
	if inQuery {
		allowed += "/|" // file paths stay readable in module-path and pin-source
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte(allowed, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
