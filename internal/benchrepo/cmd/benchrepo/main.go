// Command benchrepo is the whole-command benchmark's helper
// (scripts/bench.sh): it generates the synthetic repositories and plans,
// runs the two yardsticks `ceremony verify` is compared with, and prints
// the table.
//
//	benchrepo generate -projects N -out DIR -hsm DIR   # prints shell assignments
//	benchrepo floor -metadata DIR -size N -runs 5 -o raw.jsonl
//	benchrepo gotuf -metadata DIR -root FILE
//	benchrepo table -raw raw.jsonl -repos DIR
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/benchrepo"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "generate":
		err = generate(args)
	case "floor":
		err = floor(args)
	case "gotuf":
		err = gotuf(args)
	case "table":
		err = table(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchrepo %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchrepo generate|floor|gotuf|table FLAGS (see the package doc)")
	os.Exit(2)
}

// generate makes (or finds in its cache) the repository of N projects and
// writes today's plans, then prints what bench.sh needs as shell
// assignments.
func generate(args []string) error {
	fs := flag.NewFlagSet("generate", flag.ExitOnError)
	n := fs.Int("projects", 1000, "number of projects")
	out := fs.String("out", "", "the repository's folder (a cache: reused when complete)")
	hsmDir := fs.String("hsm", "", "the SoftHSM tokens' folder (a cache: reused when complete)")
	fs.Parse(args)
	if *out == "" || *hsmDir == "" {
		return fmt.Errorf("-out and -hsm are required")
	}
	ctx := context.Background()
	a, err := benchrepo.OpenAdmins(ctx, *hsmDir)
	if err != nil {
		return err
	}
	m, err := benchrepo.Generate(ctx, benchrepo.Options{Projects: *n, Dir: *out, Admins: a})
	if err != nil {
		return err
	}
	if err := benchrepo.Plans(*out, m, a, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchrepo: %d projects in %s: %d files, %.0f MB, largest %s (%.1f MB), made in %.1f s\n",
		m.Projects, m.Metadata, m.Files, float64(m.Bytes)/1e6, m.LargestFile, float64(m.LargestBytes)/1e6, m.Seconds)
	dir, _ := filepath.Abs(*out)
	vars := [][2]string{
		{"META", m.Metadata}, {"ROOT", m.TrustedRoot},
		{"RR_PLAN", filepath.Join(dir, "plans", benchrepo.RootRotationPlan)},
		{"CU_PLAN", filepath.Join(dir, "plans", benchrepo.ClaimedUpdatePlan)},
	}
	for _, e := range a.Environ() {
		k, v, _ := strings.Cut(e, "=")
		vars = append(vars, [2]string{k, v})
	}
	for name, k := range a.Keys {
		vars = append(vars, [2]string{"KEY_" + strings.ReplaceAll(name, "-", "_"), k.URI})
	}
	for _, v := range vars {
		fmt.Printf("%s=%s\n", v[0], shellQuote(v[1]))
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// floor times the floor's walk runs times in this process, after one
// untimed preparation, and appends each run to the raw file.
func floor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	meta := fs.String("metadata", "", "the repository's metadata folder")
	size := fs.Int("size", 0, "its number of projects, for the table")
	runs := fs.Int("runs", 5, "how many timed runs")
	out := fs.String("o", "", "the raw JSON Lines file to append to")
	fs.Parse(args)
	f, err := benchrepo.PrepareFloor(*meta)
	if err != nil {
		return err
	}
	w, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer w.Close()
	enc := json.NewEncoder(w)
	for i := 1; i <= *runs; i++ {
		r := benchrepo.Run{Command: "floor", Size: *size, Run: i, Load1: load1()}
		start, cpu := time.Now(), cpuTime()
		err := f.Run()
		r.Seconds, r.CPUSeconds = time.Since(start).Seconds(), cpuTime()-cpu
		if err != nil {
			r.Exit, r.Error = 1, err.Error()
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
		fmt.Printf("ok %.3f\n", r.Seconds)
	}
	return nil
}

// cpuTime is this process's user and system time so far.
func cpuTime() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func load1() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}

// gotuf runs go-tuf v2's walk once; benchtime times the process.
func gotuf(args []string) error {
	fs := flag.NewFlagSet("gotuf", flag.ExitOnError)
	meta := fs.String("metadata", "", "the repository's metadata folder")
	rootPath := fs.String("root", "", "the trusted root")
	fs.Parse(args)
	root, err := os.ReadFile(*rootPath)
	if err != nil {
		return err
	}
	n, err := benchrepo.GoTUFWalk(*meta, root)
	if err != nil {
		return err
	}
	fmt.Printf("go-tuf v2 loaded %d roles\n", n)
	return nil
}

// table prints the markdown table of a raw file.
func table(args []string) error {
	fs := flag.NewFlagSet("table", flag.ExitOnError)
	raw := fs.String("raw", "", "the raw JSON Lines file")
	repos := fs.String("repos", "", "the folder of the repositories, one sub-folder per size")
	fs.Parse(args)
	f, err := os.Open(*raw)
	if err != nil {
		return err
	}
	defer f.Close()
	runs, err := benchrepo.ReadRuns(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *raw, err)
	}
	ms := map[int]*benchrepo.Manifest{}
	for _, r := range runs {
		if ms[r.Size] == nil {
			if m, ok := benchrepo.ReadManifest(filepath.Join(*repos, strconv.Itoa(r.Size)), r.Size); ok {
				ms[r.Size] = m
			}
		}
	}
	benchrepo.Table(os.Stdout, runs, ms)
	return nil
}
