// Package progress shows how far a long task has gone: done of total, the
// rate, and an estimate of the time left. On a terminal it draws a bar,
// redrawn in place; elsewhere (a log, a pipe) it writes one plain line
// every few seconds, so that a log shows the task moving without a line
// per step. A task that ends within its first second shows nothing, and a
// nil *Meter shows nothing at all: the faces pass nil under --json, whose
// output a script reads.
//
// A Meter is safe for concurrent use: a task whose steps run on every
// core reports from each.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Options say how a Meter draws; New fills what is left zero.
type Options struct {
	// Terminal draws a bar redrawn in place; otherwise plain lines.
	// NewFor sets it from the writer.
	Terminal bool
	// Now is the clock; nil is time.Now. Tests inject one.
	Now func() time.Time
	// Delay is how long a task runs before anything is shown (default a
	// second); Every how often a plain line is written (default 5 s) or
	// a bar redrawn (default a tenth of a second).
	Delay, Every time.Duration
	// Width is the bar's width in cells (default 30).
	Width int
}

// A Meter reports one task's progress to a writer.
type Meter struct {
	mu    sync.Mutex
	w     io.Writer
	what  string
	unit  string
	opts  Options
	start time.Time
	last  time.Time // when it last drew; zero before the first time
	done  int
	total int
	drawn bool // a bar is on the line, to be ended by Finish
}

// NewFor returns a Meter for the task what, counted in unit ("roles",
// "events"), that writes to w: a bar when w is a terminal, plain lines
// otherwise; nil when off is set (--json).
func NewFor(w io.Writer, off bool, what, unit string) *Meter {
	if off {
		return nil
	}
	f, ok := w.(*os.File)
	return New(w, what, unit, Options{Terminal: ok && term.IsTerminal(int(f.Fd()))})
}

// New returns a Meter for the task what, counted in unit, that writes
// to w as opts say.
func New(w io.Writer, what, unit string, opts Options) *Meter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Delay == 0 {
		opts.Delay = time.Second
	}
	if opts.Every == 0 {
		opts.Every = 5 * time.Second
		if opts.Terminal {
			opts.Every = 100 * time.Millisecond
		}
	}
	if opts.Width == 0 {
		opts.Width = 30
	}
	return &Meter{w: w, what: what, unit: unit, opts: opts, start: opts.Now()}
}

// Update records that done of total steps are done, and draws if it is
// time to. It has the shape of the Progress callbacks the engine and
// repoverify take.
func (m *Meter) Update(done, total int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if done < m.done && total == m.total {
		return // a report from a slower worker, older than the last
	}
	m.done, m.total = done, total
	now := m.opts.Now()
	if now.Sub(m.start) < m.opts.Delay || !m.last.IsZero() && now.Sub(m.last) < m.opts.Every {
		return
	}
	m.last = now
	m.draw(now)
}

// Finish ends the task's display: a bar's line is completed, so that
// what is written next starts on a line of its own. It writes nothing
// for a task that showed nothing.
func (m *Meter) Finish() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.drawn {
		m.draw(m.opts.Now())
		fmt.Fprintln(m.w)
		m.drawn = false
	}
}

// draw writes the state: in place on a terminal, as a line elsewhere.
func (m *Meter) draw(now time.Time) {
	elapsed := now.Sub(m.start)
	line := Line(m.what, m.unit, m.done, m.total, elapsed)
	if !m.opts.Terminal {
		fmt.Fprintln(m.w, line)
		return
	}
	// \r back to the line's start, \x1b[K clears what a longer line left.
	fmt.Fprintf(m.w, "\r%s %s\x1b[K", bar(m.done, m.total, m.opts.Width), line)
	m.drawn = true
}

// Line says where a task stands in words: "verify: 4,200 of 10,000 roles
// (42%), 1,234 roles/s, about 5s left"; with no unit, "verify: 4,200 of
// 10,000 (42%), 1,234/s, about 5s left". Faces that draw their own (the
// TUI) show it too.
func Line(what, unit string, done, total int, elapsed time.Duration) string {
	var b strings.Builder
	sp := ""
	if unit != "" {
		sp = " "
	}
	fmt.Fprintf(&b, "%s: %s", what, count(done))
	if total > 0 {
		fmt.Fprintf(&b, " of %s%s%s (%d%%)", count(total), sp, unit, percent(done, total))
	} else {
		fmt.Fprintf(&b, "%s%s", sp, unit)
	}
	if secs := elapsed.Seconds(); secs > 0 && done > 0 {
		rate := float64(done) / secs
		fmt.Fprintf(&b, ", %s%s%s/s", count(int(rate+0.5)), sp, unit)
		if total > done {
			left := time.Duration(float64(total-done) / rate * float64(time.Second))
			fmt.Fprintf(&b, ", about %s left", roughly(left))
		}
	}
	return b.String()
}

// bar draws done of total as width cells.
func bar(done, total, width int) string {
	full := 0
	if total > 0 {
		full = min(width, done*width/total)
	}
	return "[" + strings.Repeat("#", full) + strings.Repeat("-", width-full) + "]"
}

func percent(done, total int) int {
	return min(100, done*100/total)
}

// count writes n with thousands separators, as people read counts.
func count(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// roughly says a duration to the second under a minute, to the minute
// above it: "5s", "12m", "1h5m".
func roughly(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// Steps shows a task made of steps one after the other ("verifying the
// trusted repository", then "signing"), a Meter for each: a report for a
// new step finishes the last one's. A nil *Steps shows nothing.
type Steps struct {
	mu    sync.Mutex
	meter func(step string) *Meter
	step  string
	m     *Meter
}

// NewSteps returns Steps that show each step as NewFor would on w, or nil
// when off is set (--json).
func NewSteps(w io.Writer, off bool) *Steps {
	if off {
		return nil
	}
	return &Steps{meter: func(step string) *Meter { return NewFor(w, false, step, "") }}
}

// NewStepsWith returns Steps that show each step on w as opts say.
func NewStepsWith(w io.Writer, opts Options) *Steps {
	return &Steps{meter: func(step string) *Meter { return New(w, step, "", opts) }}
}

// Update records that done of total of step are done. It has the shape of
// the engine's ceremony.ProgressFunc.
func (s *Steps) Update(step string, done, total int) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.m == nil || step != s.step {
		s.m.Finish()
		s.step, s.m = step, s.meter(step)
	}
	m := s.m
	s.mu.Unlock()
	m.Update(done, total)
}

// Finish ends the last step's display.
func (s *Steps) Finish() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.Finish()
	s.m = nil
}
