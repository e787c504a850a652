package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
)

// TestAskYesNeverRepeatsTheAnswer: only "yes" signs, and a refusal never
// echoes what was typed, which may be a PIN typed at the wrong prompt.
func TestAskYesNeverRepeatsTheAnswer(t *testing.T) {
	for _, in := range []string{"yes\n", " yes \n", "yes"} {
		if err := askYes(&bytes.Buffer{}, strings.NewReader(in), "Type yes: "); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
	for _, in := range []string{"73195082\n", "YES\n", "nope\n", "\n", ""} {
		var out bytes.Buffer
		err := askYes(&out, strings.NewReader(in), "Type yes: ")
		if !errors.Is(err, exitcode.ErrDeclined) {
			t.Errorf("%q: %v, want declined", in, err)
		}
		if a := strings.TrimSpace(in); a != "" && (strings.Contains(err.Error(), a) || strings.Contains(out.String(), a)) {
			t.Errorf("%q is repeated: %v / %q", in, err, out.String())
		}
	}
}
