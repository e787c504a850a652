package ceremony

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParsePlan: no input panics the plan parser, and a plan it accepts
// passes validate again (parsing is not lenient where validate is strict).
func FuzzParsePlan(f *testing.F) {
	files, _ := filepath.Glob("../docs/plans/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("ceremony: x\nreference_time: 2026-01-01T00:00:00Z\n---\n"))
	f.Add([]byte("{ceremony: [1, 2], reference_time: !!binary AAAA}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePlan(b)
		if err != nil {
			return
		}
		if err := p.validate(); err != nil {
			t.Fatalf("parsePlan accepted a plan validate refuses: %v", err)
		}
	})
}
