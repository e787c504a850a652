package softhsmtests

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// runbookStep is one numbered step of docs/RUNBOOK.md.
type runbookStep struct {
	n        int
	title    string
	commands []string // "ceremony publish", "ldd": what its sh blocks run
	byHand   bool     // marked *By hand only*: no scenario can run it
}

var stepHeading = regexp.MustCompile(`^### Step (\d+)\. (.+)$`)

// readRunbook returns the RUNBOOK's steps in order, with the commands of
// their sh code blocks.
func readRunbook(t *testing.T) []runbookStep {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []runbookStep
	inSh, cont := false, ""
	for _, line := range strings.Split(string(b), "\n") {
		if m := stepHeading.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			steps = append(steps, runbookStep{n: n, title: m[2]})
			continue
		}
		if len(steps) == 0 {
			continue
		}
		s := &steps[len(steps)-1]
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh = true
		case strings.HasPrefix(line, "```"):
			inSh = false
		case inSh:
			line = cont + line
			if l, ok := strings.CutSuffix(strings.TrimSpace(line), `\`); ok {
				cont = l + " "
				continue
			}
			cont = ""
			if c := commandOf(line); c != "" {
				s.commands = append(s.commands, c)
			}
		case strings.Contains(line, "*By hand only*"):
			s.byHand = true
		}
	}
	return steps
}

// commandOf names what a shell line runs: the program's base name, and
// for ceremony its subcommand ("ceremony keys generate").
func commandOf(line string) string {
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) == 0 || strings.HasPrefix(f[0], "#") {
		return ""
	}
	words := []string{filepath.Base(f[0])}
	if words[0] == "ceremony" {
		for _, w := range f[1:] {
			if !regexp.MustCompile(`^[a-z][a-z-]*$`).MatchString(w) {
				break
			}
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}

var (
	scriptMarker = regexp.MustCompile(`^# RUNBOOK step (\d+)\b`)
	goMarker     = regexp.MustCompile(`RUNBOOK steps? (\d+)`)
	scriptRun    = regexp.MustCompile(`^(?:! )?(?:exec|exits [0-9]+) (.*)$`)
)

// TestScenariosFollowTheRunbook: every numbered step of docs/RUNBOOK.md
// that runs a command is exercised by the suite, or marked *By hand only*
// there. A scenario marks where it follows step N with a line
// "# RUNBOOK step N", and every command the step shows must run between
// that line and the next marker; a Go test of this package that runs a
// step names it ("RUNBOOK step 1") in its comment. A marker that names no
// step is an error too, so renumbering the RUNBOOK cannot go unnoticed.
func TestScenariosFollowTheRunbook(t *testing.T) {
	steps := readRunbook(t)
	for i, s := range steps {
		if s.n != i+1 {
			t.Fatalf("RUNBOOK step %q is numbered %d; steps count 1, 2, 3, ...", s.title, s.n)
		}
	}
	ran := map[int][]string{}   // step -> what scenario lines under its marker run
	vouched := map[int]string{} // step -> a Go test file that runs it
	scripts, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range scripts {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		step := 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "-- ") {
				break // the script's files
			}
			if m := scriptMarker.FindStringSubmatch(line); m != nil {
				step, _ = strconv.Atoi(m[1])
				if step < 1 || step > len(steps) {
					t.Errorf("%s: %q names no RUNBOOK step", name, line)
				}
				ran[step] = append(ran[step], "")
			} else if m := scriptRun.FindStringSubmatch(line); m != nil && step > 0 {
				ran[step] = append(ran[step], m[1])
			}
		}
		f.Close()
	}
	gofiles, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range gofiles {
		if name == "runbook_test.go" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goMarker.FindAllStringSubmatch(string(b), -1) {
			n, _ := strconv.Atoi(m[1])
			if n < 1 || n > len(steps) {
				t.Errorf("%s: %q names no RUNBOOK step", name, m[0])
			}
			vouched[n] = name
		}
	}
	for _, s := range steps {
		if len(s.commands) == 0 || s.byHand || vouched[s.n] != "" {
			continue
		}
		if ran[s.n] == nil {
			t.Errorf("RUNBOOK step %d (%s) runs %q, but no scenario follows it (# RUNBOOK step %d) and it is not marked *By hand only*", s.n, s.title, s.commands, s.n)
			continue
		}
		for _, c := range s.commands {
			if !runsCommand(ran[s.n], c) {
				t.Errorf("RUNBOOK step %d (%s) runs %q, which no scenario runs under # RUNBOOK step %d", s.n, s.title, c, s.n)
			}
		}
	}
}

// runsCommand reports whether one of the script lines runs command c.
func runsCommand(lines []string, c string) bool {
	for _, l := range lines {
		if l == c || strings.HasPrefix(l, c+" ") {
			return true
		}
	}
	return false
}
