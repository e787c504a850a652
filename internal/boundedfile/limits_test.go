package boundedfile

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0:           "0 bytes",
		1:           "1 byte",
		1023:        "1023 bytes",
		1024:        "1 KiB",
		1536:        "1.5 KiB (1536 bytes)",
		256 * MiB:   "256 MiB",
		256*MiB + 1: "256.0 MiB (268435457 bytes)",
		3 * GiB:     "3 GiB",
		1288490189:  "1.2 GiB (1288490189 bytes)",
		2 * TiB:     "2 TiB",
	} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{
		"0": 0, "4096": 4096, "300MiB": 300 * MiB, "1 GiB": GiB, " 2TiB ": 2 * TiB, "4KiB": 4 * KiB,
	} {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v, want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "MiB", "-1", "1.5GiB", "300MB", "1 GB", "0x10", "9999999999TiB", "12 bytes"} {
		if got, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", s, got)
		}
	}
}

// The request limit has room for what a request carries: the role and its
// previous version in base64, and the envelope.
func TestRequestLimitHoldsTwoRoles(t *testing.T) {
	base64 := (Metadata.Max + 2) / 3 * 4
	if need := 2*base64 + MiB; Request.Max < need {
		t.Errorf("Request.Max is %s; two base64 copies of %s and their envelope need %s", FormatSize(Request.Max), FormatSize(Metadata.Max), FormatSize(need))
	}
}

// docs/LIMITS.md lists every default limit as it is.
func TestLimitsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/LIMITS.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| file ") {
			rows++
		}
	}
	if rows != len(Defaults()) {
		t.Errorf("docs/LIMITS.md has %d rows, the package %d limits", rows, len(Defaults()))
	}
	for _, l := range Defaults() {
		kind := strings.TrimPrefix(strings.TrimPrefix(l.What, "a "), "an ")
		flag := "nothing"
		if l.Flag != "" {
			flag = "`" + l.Flag + "`"
		}
		row := fmt.Sprintf("| %s | %s | %s | ", kind, FormatSize(l.Max), flag)
		if !strings.Contains(string(doc), row+"3 |\n") && !strings.Contains(string(doc), row+"4 |\n") {
			t.Errorf("docs/LIMITS.md lacks the row\n%s", row)
		}
	}
}
