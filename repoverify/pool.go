package repoverify

import (
	"iter"
	"runtime"
	"sync"
)

// workers is how many roles a walk checks at once: one per core. Tests
// change it to compare a walk on one core with a walk on many.
var workers = func() int { return runtime.GOMAXPROCS(0) }

// inOrder runs check on every item, on up to workers goroutines at once,
// and hands each result to adopt on the calling goroutine in the order of
// items, whatever order the checks finish in. At most a few results per
// worker wait for adopt, so a level of a hundred thousand roles is never
// held parsed all at once.
func inOrder[T, R any](items iter.Seq[T], workers int, check func(T) R, adopt func(R)) {
	if workers <= 1 {
		for it := range items {
			adopt(check(it))
		}
		return
	}
	type job struct {
		item T
		out  chan R
	}
	jobs := make(chan job)
	pending := make(chan chan R, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				j.out <- check(j.item)
			}
		})
	}
	go func() {
		for it := range items {
			out := make(chan R, 1)
			pending <- out // waits while adopt is 4×workers results behind
			jobs <- job{it, out}
		}
		close(jobs)
		close(pending)
	}()
	for out := range pending {
		adopt(<-out)
	}
	wg.Wait()
}

// each yields the items of every group in turn, and lets each group go
// once its items are yielded.
func each[T any](groups [][]T) iter.Seq[T] {
	return func(yield func(T) bool) {
		for i := range groups {
			for _, it := range groups[i] {
				if !yield(it) {
					return
				}
			}
			groups[i] = nil
		}
	}
}

// fork returns a walker that checks one role on another goroutine: it
// reads what w has verified so far and records into a report of its own,
// which join adds to w's. It has none of the walk's bookkeeping maps, so
// that a fork that tried to change them would fail at once.
func (w *walker) fork() *walker {
	f := &walker{src: w.src, where: w.where, at: w.at, opts: w.opts, lim: w.lim, vopts: w.vopts,
		rep: &Report{}, root: w.root, snap: w.snap, keep: w.keep}
	if w.keep {
		f.got.Files = map[string][]byte{}
	}
	return f
}

// join adds what fork f recorded to w, after everything w recorded.
func (w *walker) join(f *walker) {
	w.rep.Passed += f.rep.Passed
	w.rep.Checks = append(w.rep.Checks, f.rep.Checks...)
	w.rep.Failures = append(w.rep.Failures, f.rep.Failures...)
	w.rep.Warnings = append(w.rep.Warnings, f.rep.Warnings...)
	w.rep.Roles = append(w.rep.Roles, f.rep.Roles...)
	if w.first == nil {
		w.first = f.first
	}
	for name, b := range f.got.Files {
		w.got.Files[name] = b
	}
}

// keepFile keeps a file's bytes for Load's result.
func (w *walker) keepFile(name string, b []byte) {
	if w.keep {
		w.got.Files[name] = b
	}
}

// progressed counts n more roles verified and tells Options.Progress.
func (w *walker) progressed(n int) {
	w.done += n
	if w.opts.Progress != nil {
		w.opts.Progress(min(w.done, w.total), w.total)
	}
}
