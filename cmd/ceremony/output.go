package main

import (
	"encoding/json"
	"io"
)

// writeJSON writes v as indented JSON and a newline: the --json form of
// every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
