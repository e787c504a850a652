package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMECommands: the README's table of commands has a row for every
// command, and each of its rows names a command there is.
func TestREADMECommands(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, c := range commands {
		known[c.name] = true
	}
	listed := map[string]bool{}
	for line := range strings.SplitSeq(string(b), "\n") {
		cell, ok := strings.CutPrefix(line, "| `ceremony ")
		if !ok {
			continue
		}
		cell, _, _ = strings.Cut(cell, " |")
		// A cell may list several commands: "`ceremony version [--json]`, `ceremony exit-codes`".
		for _, synopsis := range strings.Split(cell, "`ceremony ") {
			words := strings.Fields(strings.Trim(synopsis, "`, "))
			switch {
			case len(words) >= 2 && known[words[0]+" "+words[1]]:
				listed[words[0]+" "+words[1]] = true
			case len(words) >= 1 && known[strings.TrimSuffix(words[0], "`")]:
				listed[strings.TrimSuffix(words[0], "`")] = true
			default:
				t.Errorf("README.md's row %q names no command", line)
			}
		}
	}
	for _, c := range commands {
		if !listed[c.name] {
			t.Errorf("README.md's table of commands has no row for 'ceremony %s' (%s)", c.name, c.summary)
		}
	}
}
