package report

import (
	"bytes"
	_ "embed"
	"html/template"
	"strings"
	"time"
)

// How the report shows a time: UTC, to the second, and an event's to the
// millisecond.
const (
	timeFormat  = "2006-01-02 15:04:05 UTC"
	stampFormat = "2006-01-02 15:04:05.000 UTC"
)

//go:embed report.html.tmpl
var pageText string

// page is the report's HTML: one file, its stylesheet inline, no script,
// no image, nothing fetched (its Content-Security-Policy forbids it, so a
// browser would refuse even what slipped in). html/template escapes every
// value for where it stands.
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "not recorded"
		}
		return t.UTC().Format(timeFormat)
	},
	// stamp is an event's time, to the millisecond: events come fast.
	"stamp": func(t time.Time) string { return t.UTC().Format(stampFormat) },
	// groups cuts a hex digest into groups of 8 digits, for reading.
	"groups": func(h string) []string {
		var out []string
		for len(h) > 8 {
			out = append(out, h[:8])
			h = h[8:]
		}
		return append(out, h)
	},
	"join": strings.Join,
	// short is a keyid's first 16 hex digits, as reviews name keys.
	"short": func(id string) string { r := []rune(id); return string(r[:min(16, len(r))]) },
}).Parse(pageText))

// HTML renders the summary as the report's HTML page.
func (s *Summary) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
