package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// Exit codes, by class of failure. They are part of the interface: scripts
// depend on them, and the README documents them.
const (
	exitOK       = 0 // success
	exitInternal = 1 // a bug: please report it
	exitUsage    = 2 // bad flags or arguments
	exitInput    = 3 // a file or plan is malformed or names something unknown
	exitVerify   = 4 // a signature, threshold, chain or policy check failed
	exitDevice   = 5 // a token or card is missing, locked, or refused the PIN
	exitConflict = 6 // an output already exists or the workspace is in use
	exitDeclined = 7 // the person at the keyboard did not confirm
)

// exitCodeDoc is printed by 'ceremony help exit-codes'.
const exitCodeDoc = `Exit codes:
  0  success
  1  internal error (a bug: please report it with the command and its output)
  2  usage: bad flags or arguments
  3  bad input: a file, plan or URI is malformed or names something unknown
  4  verification failed: a signature, threshold, root chain or policy check
  5  device: a token or card is missing, removed, locked, or refused the PIN
  6  conflict: an output already exists, or the workspace is in use
  7  declined: the signer did not type "yes"
`

// codedError carries an exit code with an error.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// withCode marks err with an exit code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return codedError{code: code, err: err}
}

// usageErrorf is a usage error (exit 2).
func usageErrorf(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// exitCode chooses the exit code for err: the one it was marked with, or
// the class of a known error.
func exitCode(err error) int {
	var ce codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	if errors.Is(err, hsm.ErrBadURI) {
		return exitInput
	}
	for _, de := range []error{hsm.ErrNotFound, hsm.ErrAmbiguous, hsm.ErrWrongPIN, hsm.ErrPINLocked,
		hsm.ErrLastTry, hsm.ErrRemoved, hsm.ErrNotLoggedIn, hsm.ErrUnsupported, hsm.ErrBadSignature, hsm.ErrDevice} {
		if errors.Is(err, de) {
			return exitDevice
		}
	}
	if errors.Is(err, hsm.ErrExists) || errors.Is(err, transcripts.ErrInUse) {
		return exitConflict
	}
	return exitInternal
}

func init() {
	register(&command{
		name:    "exit-codes",
		summary: "list the exit codes and what each means",
		usage:   "",
		help:    exitCodeDoc + "\nExample:\n  ceremony exit-codes",
		setup: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, e *env, args []string) error {
				fmt.Fprint(e.stdout, exitCodeDoc)
				return nil
			}
		},
	})
}
