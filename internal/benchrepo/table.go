package benchrepo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Run is one timed run, as cmd/benchtime records it (and the floor, and
// bench.sh for a command it skipped).
type Run struct {
	Command string  `json:"command"`
	Size    int     `json:"size"`
	Run     int     `json:"run"`
	Seconds float64 `json:"seconds"`
	// CPUSeconds is user and system time: on a busy machine, what the
	// command itself cost.
	CPUSeconds float64 `json:"cpu_seconds"`
	MaxRSSKB   int64   `json:"maxrss_kb"`
	Exit       int     `json:"exit"`
	TimedOut   bool    `json:"timed_out,omitempty"`
	Error      string  `json:"error,omitempty"`
	Skipped    string  `json:"skipped,omitempty"`
	Load1      float64 `json:"load1"`
}

// ReadRuns reads a raw JSON Lines file.
func ReadRuns(r io.Reader) ([]Run, error) {
	var out []Run
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var run Run
		if err := json.Unmarshal(sc.Bytes(), &run); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, run)
	}
	return out, sc.Err()
}

// command is a row of the table.
type command struct {
	id, name string
	// noClaimed marks the commands issue 13 says must cost the same at
	// 600,000 projects as at 1,000: those that do not touch claimed.
	noClaimed bool
}

// commands are the table's rows, in order. The ids are bench.sh's.
var commands = []command{
	{"verify", "`verify` (whole repository)", false},
	{"start.rr", "`start` root rotation", false},
	{"start.cu", "`start` claimed update", false},
	{"sign.rr", "`sign` root, 1 signer", true},
	{"sign.cu", "`sign` claimed, 1 signer", false},
	{"status.rr", "`status` root rotation", true},
	{"status.cu", "`status` claimed update", true},
	{"publish.rr", "`publish` root rotation", false},
	{"publish.cu", "`publish` claimed update", false},
	{"resume.rr", "`resume` root rotation", false},
	{"resume.cu", "`resume` claimed update", false},
	{"close.rr", "`close` root rotation", true},
	{"close.cu", "`close` claimed update", true},
	{"tverify.rr", "`transcript verify` root rotation", false},
	{"tverify.cu", "`transcript verify` claimed update", false},
	{"replay.rr", "`transcript replay` root rotation", false},
	{"replay.cu", "`transcript replay` claimed update", false},
}

// cell is what the runs of one command at one size came to.
type cell struct {
	runs    int
	median  float64
	cpu     float64 // the median CPU time
	peakKB  int64
	failure string // the first failure, when any run failed
	skipped string
}

func (c *cell) ok() bool { return c != nil && c.runs > 0 && c.failure == "" && c.skipped == "" }

func (c *cell) String() string {
	switch {
	case c == nil:
		return "—"
	case c.skipped != "":
		return "skipped"
	case c.failure != "":
		return "**fails**"
	}
	s := fmt.Sprintf("%s s (%s cpu)", seconds(c.median), seconds(c.cpu))
	if c.peakKB > 0 {
		s += fmt.Sprintf(", %s", megabytes(c.peakKB*1024))
	}
	if c.runs == 1 {
		s += " (1 run)"
	}
	return s
}

func seconds(s float64) string {
	switch {
	case s < 0.1:
		return fmt.Sprintf("%.3f", s)
	case s < 10:
		return fmt.Sprintf("%.2f", s)
	}
	return fmt.Sprintf("%.1f", s)
}

func megabytes(b int64) string {
	if b < 100e3 {
		return fmt.Sprintf("%.1f kB", float64(b)/1e3)
	}
	if b < 10e6 {
		return fmt.Sprintf("%.1f MB", float64(b)/1e6)
	}
	return fmt.Sprintf("%.0f MB", float64(b)/1e6)
}

func cells(runs []Run) map[string]map[int]*cell {
	byKey := map[string]map[int][]Run{}
	for _, r := range runs {
		if byKey[r.Command] == nil {
			byKey[r.Command] = map[int][]Run{}
		}
		byKey[r.Command][r.Size] = append(byKey[r.Command][r.Size], r)
	}
	out := map[string]map[int]*cell{}
	for cmd, bySize := range byKey {
		out[cmd] = map[int]*cell{}
		for size, rs := range bySize {
			c := &cell{}
			var times, cpu []float64
			for _, r := range rs {
				switch {
				case r.Skipped != "":
					c.skipped = r.Skipped
				case r.TimedOut:
					c.failure = fmt.Sprintf("timed out after %s s", seconds(r.Seconds))
				case r.Exit != 0:
					c.failure = fmt.Sprintf("exit %d after %s s: %s", r.Exit, seconds(r.Seconds), lastLines(r.Error, 3))
				default:
					times = append(times, r.Seconds)
					cpu = append(cpu, r.CPUSeconds)
					c.peakKB = max(c.peakKB, r.MaxRSSKB)
				}
			}
			c.runs = len(times)
			c.median, c.cpu = median(times), median(cpu)
			out[cmd][size] = c
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// ratio is a goal "t(a)/t(b) ≤ limit" checked on two cells' wall times,
// with the same quotient of CPU times beside it: on a shared machine the
// load can differ between the runs of two sizes. With an infinite limit,
// just the quotient.
func ratio(a, b *cell, limit float64) string {
	s, _ := judge(a, b, limit)
	return s
}

// judge is ratio, and whether the goal failed.
func judge(a, b *cell, limit float64) (string, bool) {
	if !a.ok() || !b.ok() {
		return "—", false
	}
	r := a.median / b.median
	if math.IsInf(limit, 1) {
		return fmt.Sprintf("%.1f", r), false
	}
	verdict := "holds"
	if r > limit {
		verdict = "**fails**"
	}
	return fmt.Sprintf("%.1f %s (cpu %.1f)", r, verdict, a.cpu/b.cpu), r > limit
}

// Table writes the markdown table of the runs: each command's median time
// and peak RSS at each size, and issue 13's goals, each marked holds or
// fails, with a last column that sums a command up (pass, or fail naming
// the goals it misses); then the repositories themselves. repos are the manifests of the
// repositories by size: the memory goal counts from each one's largest
// metadata file.
func Table(w io.Writer, runs []Run, repos map[int]*Manifest) {
	largest := map[int]int64{}
	for n, m := range repos {
		largest[n] = m.LargestBytes
	}
	cs := cells(runs)
	var sizes []int
	for _, r := range runs {
		if !slices.Contains(sizes, r.Size) {
			sizes = append(sizes, r.Size)
		}
	}
	slices.Sort(sizes)
	has := func(n int) bool { return slices.Contains(sizes, n) }
	top := 0
	if len(sizes) > 0 {
		top = sizes[len(sizes)-1]
	}

	// The scale goals, where both sizes were run.
	type goal struct {
		head, short string
		a, b        int
		limit       float64
		onlyNoCl    bool
	}
	var goals []goal
	if has(100_000) && has(10_000) {
		goals = append(goals, goal{"t(100k)/t(10k) ≤ 11", "100k/10k", 100_000, 10_000, 11, false})
	}
	if has(600_000) && has(100_000) {
		goals = append(goals, goal{"t(600k)/t(100k) ≤ 6.5", "600k/100k", 600_000, 100_000, 6.5, false})
	}
	if has(1000) && top > 1000 {
		head := "t(600k)/t(1k) ≤ 2, not touching claimed"
		if top != 600_000 {
			head = fmt.Sprintf("t(%s)/t(1k) ≤ 2, not touching claimed (600k not run)", short(top))
		}
		goals = append(goals, goal{head, short(top) + "/1k", top, 1000, 2, true})
	}

	fmt.Fprint(w, "| command |")
	for _, n := range sizes {
		fmt.Fprintf(w, " %s projects |", thousands(n))
	}
	for _, g := range goals {
		fmt.Fprintf(w, " %s |", g.head)
	}
	fmt.Fprintf(w, " peak RSS at %s ≤ 2 × largest file + 200 MB | goals |\n|---|", short(top))
	for range len(sizes) + len(goals) + 2 {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	budget := 2*largest[top] + 200e6
	for _, c := range commands {
		row := cs[c.id]
		if row == nil {
			continue
		}
		fmt.Fprintf(w, "| %s |", c.name)
		for _, n := range sizes {
			fmt.Fprintf(w, " %s |", row[n])
		}
		var failed []string
		for _, g := range goals {
			if g.onlyNoCl && !c.noClaimed {
				fmt.Fprint(w, " |")
				continue
			}
			s, fails := judge(row[g.a], row[g.b], g.limit)
			if fails {
				failed = append(failed, g.short)
			}
			fmt.Fprintf(w, " %s |", s)
		}
		if tc := row[top]; tc.ok() && largest[top] > 0 {
			verdict := "holds"
			if tc.peakKB*1024 > budget {
				verdict = "**fails**"
				failed = append(failed, "RSS")
			}
			fmt.Fprintf(w, " %s ≤ %s %s |", megabytes(tc.peakKB*1024), megabytes(budget), verdict)
		} else {
			fmt.Fprint(w, " — |")
		}
		if _, fails := judge(row[100_000], cs["floor"][100_000], 2); c.id == "verify" && fails {
			failed = append(failed, "verify/floor at 100k")
		}
		for _, n := range sizes {
			if x := row[n]; x != nil && !x.ok() {
				failed = append(failed, "ran at "+short(n))
			}
		}
		if len(failed) == 0 {
			fmt.Fprint(w, " pass |\n")
		} else {
			fmt.Fprintf(w, " **fail**: %s |\n", strings.Join(failed, ", "))
		}
	}

	// verify beside its yardsticks.
	fmt.Fprint(w, "\n| projects | `ceremony verify` | floor (2 cores) | go-tuf v2 trustedmetadata | verify / floor (≤ 2 at 100k) | go-tuf / verify |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range sizes {
		v, f, g := cs["verify"][n], cs["floor"][n], cs["gotuf"][n]
		limit := math.Inf(1)
		if n == 100_000 {
			limit = 2
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", thousands(n), v, f, g, ratio(v, f, limit), ratio(g, v, math.Inf(1)))
	}

	// Failures, each with the end of what the command said.
	var failed []string
	for _, c := range append(commands, command{id: "gotuf", name: "go-tuf walk"}, command{id: "floor", name: "floor"}) {
		for _, n := range sizes {
			if x := cs[c.id][n]; x != nil && (x.failure != "" || x.skipped != "") {
				why := x.failure
				if why == "" {
					why = "skipped: " + x.skipped
				}
				failed = append(failed, fmt.Sprintf("- %s at %s projects: %s", c.name, thousands(n), why))
			}
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "\nFailures:\n\n%s\n", strings.Join(failed, "\n"))
	}

	fmt.Fprint(w, "\n| projects | metadata files | bytes | largest file | claimed | claimed bins | largest bin | snapshot | generated in |\n|---:|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for _, n := range sizes {
		if m := repos[n]; m != nil {
			fmt.Fprintf(w, "| %s | %s | %s | %s (%s) | %s | %d | %s | %s | %s s |\n", thousands(n), thousands(m.Files), megabytes(m.Bytes),
				m.LargestFile, megabytes(m.LargestBytes), megabytes(m.ClaimedBytes), m.ClaimedBins, megabytes(m.LargestBinBytes), megabytes(m.SnapshotBytes), seconds(m.Seconds))
		}
	}

	lo, hi := math.Inf(1), 0.0
	for _, r := range runs {
		if r.Load1 > 0 {
			lo, hi = min(lo, r.Load1), max(hi, r.Load1)
		}
	}
	if hi > 0 {
		fmt.Fprintf(w, "\nOne-minute load average during the runs: %.1f to %.1f.\n", lo, hi)
	}
}

func short(n int) string {
	if n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
