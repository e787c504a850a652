package hsm

import (
	"fmt"
	"slices"
	"strings"
)

// URISyntax describes one scheme of key URI in the style of RFC 7512:
// "scheme:" then path attributes separated by ';', then optionally '?'
// and query attributes separated by '&', each one name=value. Path
// attributes select a device and key; query attributes say how to reach
// and log in to it.
type URISyntax struct {
	Scheme string   // "pkcs11", without the colon
	Name   string   // how errors call such a URI: "PKCS#11 URI"
	Path   []string // attribute names allowed before '?'
	Query  []string // attribute names allowed after '?'
	// Vendor allows "x-" attributes anywhere, as RFC 7512 does.
	Vendor bool
}

// URIAttr is one attribute of a key URI. Split has checked that it stood
// in the part (path or query) its name belongs to.
type URIAttr struct {
	Name  string // lower case
	Value string // as written: still percent-encoded
}

// Split splits uri into its attributes, checking what every key URI
// shares: the scheme, no fragment, name=value attributes, each known and
// given once, and no pin-value. Its errors, like every key URI error in
// this module, name the attribute at fault but never quote a value: a URI
// may hold the name of a PIN file or, mistyped, a PIN. They wrap
// ErrBadURI.
func (s URISyntax) Split(uri string) ([]URIAttr, error) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || !strings.EqualFold(scheme, s.Scheme) {
		return nil, fmt.Errorf("a %s must start with %q: %w", s.Name, s.Scheme+":", ErrBadURI)
	}
	if strings.Contains(rest, "#") {
		return nil, fmt.Errorf("%s has a fragment ('#'); percent-encode '#' as %%23 in values: %w", s.Name, ErrBadURI)
	}
	path, query, _ := strings.Cut(rest, "?")
	var attrs []URIAttr
	split := func(list, sep string, inQuery bool) error {
		if list == "" {
			return nil
		}
		part, side := "path", "before '?'"
		if inQuery {
			part, side = "query", "after '?'"
		}
		for i, attr := range strings.Split(list, sep) {
			name, value, ok := strings.Cut(attr, "=")
			if !ok || name == "" {
				return fmt.Errorf("%s: %s attribute number %d (%s) is not name=value: %w", s.Name, part, i+1, side, ErrBadURI)
			}
			name = strings.ToLower(name)
			if err := checkNotPIN(name); err != nil {
				return err
			}
			allowed := s.Path
			if inQuery {
				allowed = s.Query
			}
			if !slices.Contains(allowed, name) && !(s.Vendor && strings.HasPrefix(name, "x-")) {
				return fmt.Errorf("%s has an unknown %s attribute %s (%s); %s attributes are %s: %w",
					s.Name, part, showName(name), side, part, strings.Join(allowed, ", "), ErrBadURI)
			}
			if slices.ContainsFunc(attrs, func(a URIAttr) bool { return a.Name == name }) {
				return fmt.Errorf("%s has attribute %s twice: %w", s.Name, name, ErrBadURI)
			}
			attrs = append(attrs, URIAttr{Name: name, Value: value})
		}
		return nil
	}
	if err := split(path, ";", false); err != nil {
		return nil, err
	}
	if err := split(query, "&", true); err != nil {
		return nil, err
	}
	return attrs, nil
}

// showName quotes an unknown attribute's name when it looks like one (a
// typo such as "objekt"), and withholds it otherwise.
func showName(name string) string {
	if !nameLike(name, "-") {
		return "(its name is not shown: it is not an attribute name)"
	}
	return fmt.Sprintf("%q", name)
}

// nameLike reports whether s looks like a name rather than a value: a
// letter, then letters, digits or punct, 32 bytes at most. Errors quote
// only such text: anything else may be a value, a PIN even, that lost
// its "name=".
func nameLike(s, punct string) bool {
	if s == "" || len(s) > 32 || !isLetter(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && (c < '0' || c > '9') && strings.IndexByte(punct, c) < 0 {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// CheckNoPIN refuses a key URI of any scheme that carries a pin-value
// attribute. Plans check their key URIs with it when loaded, before the
// URI reaches a transcript; the parsers of registered schemes refuse it
// too.
func CheckNoPIN(uri string) error {
	_, rest, _ := strings.Cut(uri, ":")
	for _, part := range strings.FieldsFunc(rest, func(r rune) bool { return r == ';' || r == '?' || r == '&' || r == '#' }) {
		name, _, _ := strings.Cut(part, "=")
		if err := checkNotPIN(strings.ToLower(name)); err != nil {
			return err
		}
	}
	return nil
}

func checkNotPIN(name string) error {
	if name != "pin-value" {
		return nil
	}
	return fmt.Errorf("the key URI carries a PIN (pin-value), which ceremony refuses: a PIN in a URI ends up in shell history, process lists, plans and transcripts. "+
		"Remove pin-value: the PIN is asked on the terminal, or give pin-source=FILE naming a file that holds it: %w", ErrBadURI)
}
