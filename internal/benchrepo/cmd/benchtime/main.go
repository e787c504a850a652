// Command benchtime runs a command once as a child process and appends
// its wall time and peak resident set to a JSON Lines file, for the
// whole-command benchmark (scripts/bench.sh).
//
// CPU time (user and system) is recorded beside wall time: on a machine
// shared with other work, it says what the command itself cost.
//
// Peak RSS is the child's own ru_maxrss from wait4, read from the
// process state after it exits. Linux starts a child's high-water mark at
// the RSS of the process that started it (exec keeps the larger of the
// two), so benchtime is kept small, with nothing but the standard
// library, and records its own peak (self_maxrss_kb) beside the child's:
// a child's figure is never below it.
//
// Usage:
//
//	benchtime -o raw.jsonl -command ID -size N -run I [-stdin TEXT] [-timeout D] [-log FILE] -- PROGRAM ARGS...
//
// It prints "ok SECONDS" or "fail SECONDS" and exits 0 whatever the child
// did; it exits 2 when it cannot run or record at all.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// record is one line of the raw file; internal/benchrepo's table reads it.
type record struct {
	Command     string  `json:"command"`
	Size        int     `json:"size"`
	Run         int     `json:"run"`
	Seconds     float64 `json:"seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"` // user + system
	MaxRSSKB    int64   `json:"maxrss_kb"`
	SelfMaxRSS  int64   `json:"self_maxrss_kb"`
	Exit        int     `json:"exit"`
	TimedOut    bool    `json:"timed_out,omitempty"`
	Error       string  `json:"error,omitempty"`
	Load1       float64 `json:"load1"`
	CommandLine string  `json:"command_line"`
}

func main() {
	out := flag.String("o", "", "the JSON Lines file to append the record to")
	id := flag.String("command", "", "the command's id in the table")
	size := flag.Int("size", 0, "the repository's number of projects")
	run := flag.Int("run", 1, "the run's number")
	stdin := flag.String("stdin", "", "text given to the child on stdin (\\n for a newline); empty: /dev/null")
	timeout := flag.Duration("timeout", 20*time.Minute, "kill the child after this long")
	logPath := flag.String("log", "", "append the child's stdout and stderr to this file")
	flag.Parse()
	if *out == "" || *id == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchtime -o FILE -command ID -size N -run I [-stdin TEXT] [-timeout D] [-log FILE] -- PROGRAM ARGS...")
		os.Exit(2)
	}
	rec := record{Command: *id, Size: *size, Run: *run, Load1: load1(), CommandLine: strings.Join(flag.Args(), " ")}

	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	if *stdin != "" {
		cmd.Stdin = strings.NewReader(strings.ReplaceAll(*stdin, `\n`, "\n"))
	}
	var tail tailBuffer
	var logw io.Writer = io.Discard
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtime:", err)
			os.Exit(2)
		}
		defer f.Close()
		fmt.Fprintf(f, "\n== run %d: %s\n", *run, rec.CommandLine)
		logw = f
	}
	cmd.Stdout = logw
	cmd.Stderr = io.MultiWriter(logw, &tail)

	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "benchtime:", err)
		os.Exit(2)
	}
	timer := time.AfterFunc(*timeout, func() {
		rec.TimedOut = true
		cmd.Process.Kill()
	})
	err := cmd.Wait()
	rec.Seconds = time.Since(start).Seconds()
	timer.Stop()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rec.MaxRSSKB = ru.Maxrss // kilobytes on Linux
		rec.CPUSeconds = seconds(ru.Utime) + seconds(ru.Stime)
	}
	var self syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
		rec.SelfMaxRSS = self.Maxrss
	}
	rec.Exit = cmd.ProcessState.ExitCode()
	if err != nil {
		rec.Error = strings.TrimSpace(tail.String())
		if rec.Error == "" {
			rec.Error = err.Error()
		}
	}

	b, _ := json.Marshal(rec)
	f, ferr := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if ferr == nil {
		_, ferr = f.Write(append(b, '\n'))
		if cerr := f.Close(); ferr == nil {
			ferr = cerr
		}
	}
	if ferr != nil {
		fmt.Fprintln(os.Stderr, "benchtime:", ferr)
		os.Exit(2)
	}
	status := "ok"
	if err != nil {
		status = "fail"
	}
	fmt.Printf("%s %.3f\n", status, rec.Seconds)
}

func seconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// load1 is the one-minute load average, to show how busy the machine was.
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}

// tailBuffer keeps the last 2 KB written to it: the end of stderr, where
// a failed command says why.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2048 {
		t.b = t.b[len(t.b)-2048:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.ToValidUTF8(t.b, nil)) }
