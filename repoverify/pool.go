package repoverify

import (
	"crypto/sha256"
	"maps"
	"runtime"
	"slices"
	"sync"
)

// workers is how many roles a walk checks at once: one per core. Tests
// change it to compare a walk on one core with a walk on many.
var workers = func() int { return runtime.GOMAXPROCS(0) }

// depthFirst runs check on every item of roots and of what adopt returns
// for each, and hands each result to adopt on the calling goroutine in
// the order a TUF client searches delegations: an item, then the items
// adopt returns for it and theirs, then the item's next sibling. Checks
// run on up to workers goroutines at once, whatever order they finish in;
// on each level at most a few results per worker wait for adopt, so a
// delegating role (a bin) lives while its own delegated roles are
// checked and not until every role on its level has been.
func depthFirst[T, R any](roots []T, workers int, check func(T) R, adopt func(R) []T) {
	ahead := 4 * workers // results a level checks ahead of adopt
	jobs := make(chan func(), ahead)
	var wg sync.WaitGroup
	if workers <= 1 {
		ahead = 1 // one check at a time, each adopted before the next
	} else {
		for range workers {
			wg.Go(func() {
				for j := range jobs {
					j()
				}
			})
		}
	}
	defer wg.Wait()
	defer close(jobs)
	submit := func(it T) chan R {
		out := make(chan R, 1)
		if workers <= 1 {
			out <- check(it)
		} else {
			jobs <- func() { out <- check(it) }
		}
		return out
	}
	// A level is the items one adopt returned: those not yet submitted,
	// and the results being checked, in order.
	type level struct {
		items   []T
		pending []chan R
	}
	var zero T
	stack := []*level{{items: slices.Clone(roots)}} // the items adopt returns, it lets go
	for len(stack) > 0 {
		l := stack[len(stack)-1]
		for len(l.items) > 0 && len(l.pending) < ahead {
			l.pending = append(l.pending, submit(l.items[0]))
			l.items[0], l.items = zero, l.items[1:] // let it go once checked
		}
		if len(l.pending) == 0 {
			stack[len(stack)-1], stack = nil, stack[:len(stack)-1]
			continue
		}
		out := l.pending[0]
		l.pending[0], l.pending = nil, l.pending[1:]
		if next := adopt(<-out); len(next) > 0 {
			stack = append(stack, &level{items: next})
		}
	}
}

// fork returns a walker that checks one role on another goroutine: it
// reads what w has verified so far and records into a report of its own,
// which join adds to w's. It has none of the walk's bookkeeping maps, so
// that a fork that tried to change them would fail at once, and none of
// Options.OnRole and OnCheck: it lists its role and checks, which join
// hands on in the walk's order.
func (w *walker) fork() *walker {
	f := &walker{src: w.src, where: w.where, at: w.at, opts: w.opts, lim: w.lim, vopts: w.vopts,
		rep: &Report{}, root: w.root, snap: w.snap, keep: w.keep}
	f.opts.OnRole, f.opts.OnCheck = nil, nil
	if w.keep {
		f.got.Files, f.got.Sums = map[string][]byte{}, map[string]Sum{}
	}
	return f
}

// join adds what fork f recorded to w, after everything w recorded.
func (w *walker) join(f *walker) {
	w.rep.Passed += f.rep.Passed
	for _, c := range f.rep.Checks {
		w.listCheck(c)
	}
	w.rep.Failures = append(w.rep.Failures, f.rep.Failures...)
	w.rep.Warnings = append(w.rep.Warnings, f.rep.Warnings...)
	for _, r := range f.rep.Roles {
		w.listRole(r)
	}
	w.rep.Unlisted += f.rep.Unlisted
	if w.first == nil {
		w.first = f.first
	}
	maps.Copy(w.got.Files, f.got.Files)
	maps.Copy(w.got.Sums, f.got.Sums)
}

// keepFile keeps the bytes of role's file name for Load's result, or only
// their digest where Options.Hold lets go of the role.
func (w *walker) keepFile(role, name string, b []byte) {
	if !w.keep {
		return
	}
	w.got.Sums[name] = Sum{sha256.Sum256(b), len(b)}
	if w.holds(role) {
		w.got.Files[name] = b
	}
}

// holds reports whether a walk that keeps what it verifies keeps role's
// metadata and bytes (Options.Hold).
func (w *walker) holds(role string) bool {
	return w.opts.Hold == nil || w.opts.Hold(role)
}

// listCheck lists a check in the report, or hands it to Options.OnCheck.
func (w *walker) listCheck(c Check) {
	if w.opts.OnCheck != nil {
		w.opts.OnCheck(c)
		return
	}
	w.rep.Checks = append(w.rep.Checks, c)
}

// listRole lists a verified role in the report, or hands it to
// Options.OnRole.
func (w *walker) listRole(r Role) {
	if w.opts.OnRole != nil {
		w.opts.OnRole(r)
		return
	}
	w.rep.Roles = append(w.rep.Roles, r)
}

// progressed counts n more roles verified and tells Options.Progress.
func (w *walker) progressed(n int) {
	w.done += n
	if w.opts.Progress != nil {
		w.opts.Progress(min(w.done, w.total), w.total)
	}
}
