package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
)

// What the commands print. Every string that came from a file, a device
// or a plan is escaped with untrusted.Line (or untrusted.Text, for a
// message that quotes one) before it is printed, and --json output goes
// through untrusted.JSON: nothing a command prints holds a raw control
// character but the newlines between its lines.

// writeJSON writes v as indented JSON and a newline: the --json form of
// every command, printable ASCII (untrusted.JSON).
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(untrusted.JSON(buf.Bytes()))
	return err
}

// safe renders a string from outside for one line of output.
func safe(s string) string { return untrusted.Line(s) }

// safeAll renders each string of a list for one line.
func safeAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = untrusted.Line(x)
	}
	return out
}

// printSummary prints a role's summary, each line indented by indent.
func printSummary(w io.Writer, indent string, lines []string) {
	for _, l := range lines {
		fmt.Fprintf(w, "%s%s\n", indent, untrusted.Text(l))
	}
}

// printDigest prints the SHA-256 of the bytes to sign, computed here from
// them, in hex and in PGP words for reading aloud: the last thing a
// signer reads before typing "yes".
func printDigest(w io.Writer, what string, signed []byte) {
	sum := sha256.Sum256(signed)
	fmt.Fprintf(w, "%s: SHA-256 of the %d bytes to sign, computed here:\n", what, len(signed))
	printHexWords(w, "hex", "pgp words", sum[:])
}

// printHexWords prints a digest in hex, then in PGP words, eight a line,
// each under its label.
func printHexWords(w io.Writer, hexLabel, wordsLabel string, digest []byte) {
	fmt.Fprintf(w, "  %-11s%s\n", hexLabel, hex.EncodeToString(digest))
	words := pgpwords.Encode(digest)
	for i := 0; i < len(words); i += 8 {
		label := ""
		if i == 0 {
			label = wordsLabel
		}
		fmt.Fprintf(w, "  %-11s%s\n", label, strings.Join(words[i:min(i+8, len(words))], " "))
	}
}

// printRole prints a staged role for review: what it holds and changes,
// and the policy checks it passed by name.
func printRole(w io.Writer, r *ceremony.RoleState) {
	fmt.Fprintf(w, "\n%s v%d\n", safe(r.Role), r.Version)
	printSummary(w, "  - ", r.Summary)
	for _, c := range r.Checks {
		status := "ok"
		if !c.Passed {
			status = string(c.Severity)
		}
		fmt.Fprintf(w, "  check %-36s %-7s %s\n", safe(c.Check), status, untrusted.Text(c.Message))
	}
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
