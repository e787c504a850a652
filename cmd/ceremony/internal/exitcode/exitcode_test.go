package exitcode

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
)

// typeSamples are errors of each row that matches a type, not a sentinel.
var typeSamples = map[string]error{
	"*roles.SyntaxError": &roles.SyntaxError{Path: "signed.version", Msg: "not an integer"},
	"*fs.PathError":      &fs.PathError{Op: "open", Path: "x", Err: errors.New("is a directory")},
}

// TestEveryRow: an error of each row's kind, wrapped with context, gets
// that row's code and hint: no earlier row shadows it.
func TestEveryRow(t *testing.T) {
	for i, r := range Table {
		var err error
		switch {
		case r.Kind != nil && r.Match == nil:
			err = fmt.Errorf("doing something: %w", r.Kind)
		case r.Kind == nil && r.Match != nil && r.Name != "":
			if err = typeSamples[r.Name]; err == nil {
				t.Fatalf("row %d (%s) has no sample in typeSamples", i, r.Name)
			}
			err = fmt.Errorf("doing something: %w", err)
		default:
			t.Fatalf("row %d needs a Kind, or a Match and a Name", i)
		}
		if got := Of(err); got != r.Code {
			t.Errorf("row %d (%v): Of = %d, want %d", i, err, got, r.Code)
		}
		if got := Hint(err); got != r.Hint || got == "" {
			t.Errorf("row %d (%v): Hint = %q, want the row's %q", i, err, got, r.Hint)
		}
	}
}

// TestOrder: an error that carries the kinds of several rows gets the
// class the table's order promises.
func TestOrder(t *testing.T) {
	syntax := &roles.SyntaxError{Msg: "unexpected end"}
	for _, c := range []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, OK},
		{"no known kind", errors.New("something odd"), Internal},
		// 'start' and 'verify' agree: a malformed trusted repository is
		// bad input, though start wraps it as untrusted.
		{"malformed trusted repository at start", fmt.Errorf("%w: %w", ceremony.ErrUntrusted, syntax), Input},
		{"malformed repository at verify", &repoverify.Error{Err: syntax}, Input},
		{"unreadable repository file at verify", &repoverify.Error{Err: &fs.PathError{Op: "read", Path: "x", Err: errors.New("is a directory")}}, Input},
		{"malformed trusted repository at start, as the walk says it", fmt.Errorf("%w: %w", ceremony.ErrUntrusted, &repoverify.Error{Check: repoverify.Check{File: "timestamp.json"}, Err: syntax}), Input},
		// A file the repository lists but lacks is a failed check, not a
		// missing argument.
		{"listed file missing at start", fmt.Errorf("%w: %w", ceremony.ErrUntrusted, fs.ErrNotExist), Verify},
		{"listed file missing at verify", &repoverify.Error{Check: repoverify.Check{File: "3.claimed.json"}, Err: fs.ErrNotExist}, Verify},
		{"listed file missing at start", fmt.Errorf("%w: %w", ceremony.ErrUntrusted, &repoverify.Error{Check: repoverify.Check{File: "3.claimed.json"}, Err: fs.ErrNotExist}), Verify},
		{"no timestamp.json at verify", &repoverify.Error{Check: repoverify.Check{File: "timestamp.json"}, Err: fs.ErrNotExist}, Input},
		{"missing plan", fmt.Errorf("read plan: %w", &fs.PathError{Op: "open", Path: "p.yaml", Err: fs.ErrNotExist}), Input},
		{"marked", Mark(ErrDeclined, errors.New("typed no")), Declined},
		{"marked input over a kind that would verify", Mark(ErrInput, ceremony.ErrEnrollment), Input},
		{"a state refusal is not a usage error", fmt.Errorf("%w: the ceremony is closed", ceremony.ErrState), State},
		{"network", fmt.Errorf("%w (eth0): take the machine off every network", ceremony.ErrNetwork), State},
	} {
		if got := Of(c.err); got != c.want {
			t.Errorf("%s: Of(%v) = %d, want %d", c.name, c.err, got, c.want)
		}
	}
}

// TestMark: a marked error keeps its message and what it wraps.
func TestMark(t *testing.T) {
	inner := fmt.Errorf("open x: %w", fs.ErrNotExist)
	err := Mark(ErrInput, inner)
	if err.Error() != inner.Error() || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrInput) {
		t.Errorf("Mark: %q, is not-exist %v, is input %v", err, errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrInput))
	}
	if Mark(ErrInput, nil) != nil {
		t.Error("Mark(kind, nil) is not nil")
	}
}

// TestClasses: every code the table gives is documented, once, in order.
func TestClasses(t *testing.T) {
	documented := map[Code]bool{}
	for i, c := range Classes {
		if c.Code != Code(i) || c.Meaning == "" {
			t.Errorf("Classes[%d] = %+v: want code %d with a meaning", i, c, i)
		}
		documented[c.Code] = true
	}
	for _, r := range Table {
		if !documented[r.Code] {
			t.Errorf("code %d is given but not documented", r.Code)
		}
	}
}

// TestREADME: the README's table of exit codes is Classes.
func TestREADME(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString("| code | class |\n|---:|---|\n")
	for _, c := range Classes {
		fmt.Fprintf(&want, "| %d | %s |\n", c.Code, strings.ReplaceAll(c.Meaning, "|", `\|`))
	}
	_, section, ok := strings.Cut(string(b), "### Exit codes\n\n")
	if !ok {
		t.Fatal("README.md has no '### Exit codes' section")
	}
	if !strings.HasPrefix(section, want.String()) {
		t.Errorf("README.md's exit codes are not those of exitcode.Classes; they should read:\n%s", want.String())
	}
}
