package roles

import (
	"fmt"
	"slices"
	"strings"
)

// CustomPrefix starts the names of the custom top-level members of a
// signed part that SetCustom writes: TUF lets metadata carry members it
// does not define, and Repository Service for TUF keeps those named so.
const CustomPrefix = "x-"

// Custom returns the canonical JSON of root's custom member name, or nil
// when it has none.
func (r *Root) Custom(name string) []byte { return r.extra.get(name) }

// SetCustom sets root's custom member name (which starts with "x-") to
// the JSON value, in its canonical form; a nil value removes the member.
// Call Touched on the metadata afterwards: its signed bytes change.
func (r *Root) SetCustom(name string, value []byte) error { return r.extra.set(name, value) }

// Custom returns the canonical JSON of the targets role's custom member
// name, or nil when it has none.
func (t *Targets) Custom(name string) []byte { return t.extra.get(name) }

// SetCustom sets the targets role's custom member name (which starts
// with "x-") to the JSON value, in its canonical form; a nil value
// removes the member. Call Touched on the metadata afterwards.
func (t *Targets) SetCustom(name string, value []byte) error { return t.extra.set(name, value) }

func (fs *fields) get(name string) []byte {
	for _, f := range *fs {
		if f.Name == name {
			if b, err := Canonicalize(f.Value); err == nil {
				return b
			}
			return slices.Clone(f.Value)
		}
	}
	return nil
}

func (fs *fields) set(name string, value []byte) error {
	if !strings.HasPrefix(name, CustomPrefix) || len(name) == len(CustomPrefix) {
		return fmt.Errorf("custom member %q: its name must start with %q", name, CustomPrefix)
	}
	*fs = slices.DeleteFunc(*fs, func(f field) bool { return f.Name == name })
	if value == nil {
		return nil
	}
	canon, err := Canonicalize(value)
	if err != nil {
		return fmt.Errorf("custom member %q: %w", name, err)
	}
	*fs = append(*fs, field{Name: name, Value: rawValue(canon)})
	return nil
}
