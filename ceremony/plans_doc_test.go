package ceremony

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDocPlansParse keeps the annotated examples in docs/plans honest:
// each parses strictly and passes validate.
func TestDocPlansParse(t *testing.T) {
	files, err := filepath.Glob("../docs/plans/*.yaml")
	if err != nil || len(files) < 6 {
		t.Fatalf("found %d example plans: %v", len(files), err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parsePlan(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
