package rstuftest

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

var keyidLike = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Shape describes a JSON document's shape: its members, in order, and
// the kind of every value, with the values themselves left out. Objects
// keyed by keyids and arrays are described by the union of their
// members' shapes, so that two payloads with other keys, other keyids
// and other numbers of signatures have one shape when RSTUF would read
// them alike. Members are listed sorted: JSON readers do not see their
// order.
func Shape(b []byte) (string, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// shape is one value's shape: a kind, or an object's members in order.
type shape struct {
	kind    string // "string", "number", "bool", "null", "object", "array"
	names   []string
	members map[string]*shape
	elem    *shape // an array's elements, or a keyid map's values
}

func (s *shape) String() string {
	switch s.kind {
	case "object":
		if s.elem != nil {
			return "{KEYID: " + s.elem.String() + "}"
		}
		var parts []string
		for _, n := range s.names {
			parts = append(parts, fmt.Sprintf("%q: %s", n, s.members[n]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case "array":
		if s.elem == nil {
			return "[]"
		}
		return "[" + s.elem.String() + "]"
	}
	return s.kind
}

// union merges b into a: objects take the members of both.
func union(a, b *shape) *shape {
	if a == nil {
		return b
	}
	if b == nil || a.kind != b.kind || a.kind != "object" && a.kind != "array" {
		return a
	}
	a.elem = union(a.elem, b.elem)
	for _, n := range b.names {
		if a.members[n] == nil {
			a.names = append(a.names, n)
		}
		a.members[n] = union(a.members[n], b.members[n])
	}
	slices.Sort(a.names)
	return a
}

func decodeOrdered(dec *json.Decoder) (*shape, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			s := &shape{kind: "array"}
			for dec.More() {
				e, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				s.elem = union(s.elem, e)
			}
			_, err := dec.Token()
			return s, err
		}
		s := &shape{kind: "object", members: map[string]*shape{}}
		allKeyIDs := true
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			name := k.(string)
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			allKeyIDs = allKeyIDs && keyidLike.MatchString(name)
			s.names = append(s.names, name)
			s.members[name] = v
		}
		slices.Sort(s.names)
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		if allKeyIDs && len(s.names) > 0 {
			var elem *shape
			for _, n := range slices.Sorted(maps.Keys(s.members)) {
				elem = union(elem, s.members[n])
			}
			return &shape{kind: "object", elem: elem}, nil
		}
		return s, nil
	case string:
		return &shape{kind: "string"}, nil
	case json.Number:
		return &shape{kind: "number"}, nil
	case bool:
		return &shape{kind: "bool"}, nil
	}
	return &shape{kind: "null"}, nil
}
