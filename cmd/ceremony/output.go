package main

import (
	"encoding/json"
	"io"
	"time"
)

// writeJSON writes v as indented JSON and a newline: the --json form of
// every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// atFlag is the time an --at flag gives (RFC 3339), or now when it is
// empty.
func atFlag(value string) (time.Time, error) {
	if value == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, usageErrorf("--at %q is not an RFC 3339 time such as 2027-01-15T00:00:00Z", value)
	}
	return t.UTC(), nil
}
