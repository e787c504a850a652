package boundedfile

import (
	"fmt"
	"strconv"
	"strings"
)

// Binary size units.
const (
	KiB int64 = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

// The default limits, one per kind of file. A command copies the one it
// needs and sets Max from its flag. docs/LIMITS.md lists them; a test
// keeps the two in step.
var (
	// Metadata is a TUF metadata file: a repository's role, or a pinned
	// root. PyPI's largest offline role, claimed, holds a delegation per
	// project: about 57–70 MB at 100,000 projects today. 256 MiB leaves
	// room for several times that. Where snapshot or timestamp lists a
	// file's length, the verifier reads it with that length as Max.
	Metadata = Limit{What: "a metadata file", Max: 256 * MiB, Flag: "--max-metadata-size"}
	// Projects is a plan's projects file: the projects to add to claimed
	// with their maintainers' keys, as large as claimed itself.
	Projects = Limit{What: "a projects file", Max: 256 * MiB, Flag: "--max-metadata-size"}
	// Request is a signing request: the role's bytes in base64 (4/3 of
	// them), room for its previous version likewise, and the envelope.
	// Two base64 copies of Metadata.Max and 1 MiB of envelope come to
	// 684 MiB; 768 MiB rounds that up.
	Request = Limit{What: "a signing request", Max: 768 * MiB, Flag: "--max-request-size"}
	// Response is a signer's response: one signature and a description of
	// the device, well under a KiB.
	Response = Limit{What: "a signing response", Max: 1 * MiB, Flag: "--max-response-size"}
	// Plan is a ceremony plan. It names its bulky inputs (key files,
	// projects files) rather than holding them, but may list projects to
	// remove by name.
	Plan = Limit{What: "a plan", Max: 16 * MiB, Flag: "--max-input-size"}
	// KeyFile is a public key as `ceremony keys show --json` writes it
	// (a few hundred bytes for RSA-4096).
	KeyFile = Limit{What: "a key file", Max: 1 * MiB, Flag: "--max-input-size"}
	// Enrollment is a maintainer's enrollment: a public key, an
	// attestation certificate chain and a proof of possession.
	Enrollment = Limit{What: "an enrollment", Max: 1 * MiB, Flag: "--max-input-size"}
	// Roots is a PEM file of attestation root certificates.
	Roots = Limit{What: "a roots file", Max: 1 * MiB, Flag: "--max-input-size"}
	// PINSource is a pin-source file (RFC 7512). A PIN is at most a few
	// hundred bytes (PIV: 8), and nothing raises the limit: a larger file
	// is the wrong file, and reading it would put its contents where a
	// PIN goes.
	PINSource = Limit{What: "a pin-source file", Max: 4 * KiB}
	// Transcript is a ceremony's transcript, read a line at a time (a
	// line is at most 1 MiB): a thousand lines of that size. A ceremony's
	// events are small, its bulk is in artifacts; nothing raises the
	// limit, since a command never needs more than the file's lines.
	Transcript = Limit{What: "a transcript", Max: 1 * GiB}
	// Artifact is a file of a transcript's artifact store: at most one
	// metadata file, a plan, or the torn tail of a line. A ceremony never
	// stores a larger one, so nothing raises the limit, and any reader of
	// the transcript can read what the ceremony stored: four times the
	// metadata default leaves a ceremony that raised --max-metadata-size
	// that much room.
	Artifact = Limit{What: "a transcript artifact", Max: 4 * Metadata.Max}
)

// Defaults returns the default limits in the order docs/LIMITS.md lists
// them, for a command that prints them.
func Defaults() []Limit {
	return []Limit{Metadata, Projects, Request, Response, Plan, KeyFile, Enrollment, Roots, PINSource, Transcript, Artifact}
}

var units = []struct {
	name string
	size int64
}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}}

// FormatSize writes n bytes for people: "256 MiB" when the unit divides
// it, "3.0 GiB (3221225473 bytes)" when not, "812 bytes" below a KiB.
func FormatSize(n int64) string {
	for _, u := range units {
		if n >= u.size {
			if n%u.size == 0 {
				return fmt.Sprintf("%d %s", n/u.size, u.name)
			}
			return fmt.Sprintf("%.1f %s (%d bytes)", float64(n)/float64(u.size), u.name, n)
		}
	}
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// ParseSize reads a size as a flag gives it: a number of bytes, or a
// whole number of KiB, MiB, GiB or TiB ("300MiB", "1 GiB"). Decimal units
// (MB) are refused, so that no one gets 5% less than they asked for.
func ParseSize(s string) (int64, error) {
	num, unit := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.name); ok {
			num, unit = strings.TrimSpace(rest), u.size
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/unit {
		return 0, fmt.Errorf("size %q: give a number of bytes, or of KiB, MiB, GiB or TiB (\"300MiB\")", s)
	}
	return n * unit, nil
}
