package ceremony

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ceremony-tuf/ceremony/roles"
)

// decodeStrict parses a file ceremony writes and another machine reads
// back (a signing request or response, a maintainer's enrollment) into v,
// refusing anything ceremony would not have written: JSON that is not
// well-formed (duplicate member names, trailing data: roles.Canonicalize
// checks that), unknown fields, and a field whose name differs in case or
// whose value decodes but re-encodes differently (the file's canonical
// form must equal that of v written again). encoding/json alone accepts
// all of these. Files over limit bytes are refused unread. Every error wraps
// kind and names the file as what.
func decodeStrict(kind error, what string, limit int, b []byte, v any) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return refuse("the %s file is empty: copy it again from the original", what)
	}
	if len(b) > limit {
		return refuse("the %s file is %d bytes, more than the %d a %s can be", what, len(b), limit, what)
	}
	canon, err := roles.Canonicalize(b)
	if err != nil {
		return refuse("the %s file is not well-formed JSON (%v); it was truncated or damaged on the way: copy it again from the original", what, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return refuse("the %s file does not have the %s form (%v): it was changed, or made by another tool", what, what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return refuse("the %s file has data after its end: copy it again from the original", what)
	}
	again, err := json.Marshal(v)
	if err != nil {
		return refuse("the %s file: %v", what, err)
	}
	if c2, err := roles.Canonicalize(again); err != nil || !bytes.Equal(c2, canon) {
		return refuse("the %s file is not as ceremony writes it (a field is missing, spelled differently, or encoded differently): it was changed; copy it again from the original", what)
	}
	return nil
}
