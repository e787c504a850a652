package progress

import (
	"strings"
	"testing"
	"time"
)

// clock is a clock the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)} }
func lines(s string) []string            { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestPlainLines: away from a terminal, nothing in the first second, then
// one line every Every, each with the count, rate and estimate; Finish
// adds nothing.
func TestPlainLines(t *testing.T) {
	c := newClock()
	var out strings.Builder
	m := New(&out, "verify", "roles", Options{Now: c.now})
	c.advance(500 * time.Millisecond)
	m.Update(500, 10000)
	if out.Len() != 0 {
		t.Fatalf("shown within the first second: %q", out.String())
	}
	c.advance(1500 * time.Millisecond) // 2 s in
	m.Update(2000, 10000)
	for i := 0; i < 4; i++ { // 3, 4, 5, 6 s in: within Every of the last line
		c.advance(time.Second)
		m.Update(2000+1000*(i+1), 10000)
	}
	c.advance(time.Second) // 7 s in, 5 s after the first line
	m.Update(7000, 10000)
	m.Finish()
	got := lines(out.String())
	want := []string{
		"verify: 2,000 of 10,000 roles (20%), 1,000 roles/s, about 8s left",
		"verify: 7,000 of 10,000 roles (70%), 1,000 roles/s, about 3s left",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("wrote\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(out.String(), "\r") || strings.Contains(out.String(), "\x1b") {
		t.Errorf("plain output has terminal controls: %q", out.String())
	}
}

// TestTerminalBar: on a terminal, a bar redrawn in place on one line,
// which Finish ends with the final count.
func TestTerminalBar(t *testing.T) {
	c := newClock()
	var out strings.Builder
	m := New(&out, "sign", "roles", Options{Terminal: true, Now: c.now, Width: 10})
	c.advance(2 * time.Second)
	m.Update(1, 4)
	c.advance(50 * time.Millisecond) // within Every: not redrawn
	m.Update(2, 4)
	c.advance(2 * time.Second)
	m.Update(3, 4)
	m.Update(4, 4)
	m.Finish()
	s := out.String()
	draws := strings.Split(s, "\r")[1:]
	if len(draws) != 3 {
		t.Fatalf("drew %d times, want 3 (two updates, then Finish): %q", len(draws), s)
	}
	if !contains(draws[0], "[##--------] sign: 1 of 4 roles (25%)", "\x1b[K") {
		t.Errorf("first draw %q", draws[0])
	}
	if !contains(draws[1], "[#######---] sign: 3 of 4 roles (75%)", "about 1s left") {
		t.Errorf("second draw %q", draws[1])
	}
	if !strings.HasSuffix(s, "[##########] sign: 4 of 4 roles (100%), 1 roles/s\x1b[K\n") {
		t.Errorf("Finish drew %q", draws[2])
	}
	if strings.Count(s, "\n") != 1 {
		t.Errorf("a bar takes one line, ended by Finish: %q", s)
	}
}

// TestQuiet: a task done within its first second shows nothing, and a
// nil Meter (--json) nothing ever.
func TestQuiet(t *testing.T) {
	c := newClock()
	var out strings.Builder
	m := New(&out, "sign", "roles", Options{Terminal: true, Now: c.now})
	m.Update(1, 1)
	m.Finish()
	var off *Meter
	off.Update(1, 2)
	off.Finish()
	if NewFor(&out, true, "x", "y") != nil {
		t.Error("NewFor with off set made a Meter")
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q", out.String())
	}
}

// TestSteps: each step gets its own Meter; a report for a new step ends
// the last one's bar on its own line first.
func TestSteps(t *testing.T) {
	c := newClock()
	var out strings.Builder
	s := NewStepsWith(&out, Options{Terminal: true, Now: c.now, Width: 4})
	s.Update("reading", 0, 2)
	c.advance(2 * time.Second)
	s.Update("reading", 2, 2)
	s.Update("signing", 0, 1)
	c.advance(2 * time.Second)
	s.Update("signing", 1, 1)
	s.Finish()
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != 2 || !strings.Contains(got[0], "[####] reading: 2 of 2 (100%), 1/s") || !strings.Contains(got[1], "[####] signing: 1 of 1 (100%)") {
		t.Errorf("wrote %q", out.String())
	}
}
