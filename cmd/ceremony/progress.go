package main

import (
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/internal/progress"
)

// showProgress shows, on stderr, how far a command's long steps have gone
// (a bar on a terminal, a line every few seconds elsewhere), or nothing
// when off (--json: a script reads the output). The caller finishes it.
func showProgress(e *env, off bool) *progress.Steps {
	if e.progress != nil && !off {
		return progress.NewStepsWith(e.stderr, *e.progress)
	}
	return progress.NewSteps(e.stderr, off)
}

// engineProgress is what the engine's Options.Progress takes: nil when
// nothing is shown, so that the engine reports nothing.
func engineProgress(s *progress.Steps) ceremony.ProgressFunc {
	if s == nil {
		return nil
	}
	return s.Update
}

// stepProgress is what a walk's Progress (repoverify's, a transcript
// check's) takes, for step.
func stepProgress(s *progress.Steps, step string) func(done, total int) {
	if s == nil {
		return nil
	}
	return func(done, total int) { s.Update(step, done, total) }
}

// openWorkspaceShowing is openWorkspace, the engine telling s how far its
// long steps have gone (the fold of a transcript the fold cache has no
// entry for, signing, publishing).
func openWorkspaceShowing(ws string, s *progress.Steps) (*ceremony.Engine, error) {
	eng, err := viewWorkspaceShowing(ws, s)
	if err != nil {
		return nil, err
	}
	if err := eng.Lock(); err != nil {
		return nil, err
	}
	return eng, nil
}

// viewWorkspaceShowing is viewWorkspace, showing progress on s.
func viewWorkspaceShowing(ws string, s *progress.Steps) (*ceremony.Engine, error) {
	if err := hasCeremony(ws); err != nil {
		return nil, err
	}
	return ceremony.Open(ws, ceremony.Options{AfterAppend: afterAppend, Now: time.Now, Progress: engineProgress(s)})
}
