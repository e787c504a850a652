package roles

import (
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func TestPathPatternSlashInClassOrEscape(t *testing.T) {
	for _, c := range [][2]string{{"a[/]b", "a/b"}, {`a\/b`, "a/b"}, {"x/[/]", "x//"}} {
		ours := (&DelegatedRole{Paths: []string{c[0]}}).Matches(c[1])
		theirs, _ := (&metadata.DelegatedRole{Paths: []string{c[0]}}).IsDelegatedPath(c[1])
		if ours != theirs {
			t.Errorf("pattern %q, path %q: roles matches %v, go-tuf %v", c[0], c[1], ours, theirs)
		}
	}
}
