// Package softhsmtests is the end-to-end suite of the built binary: it
// builds ceremony once with the Makefile's flags, makes SoftHSM tokens (and
// the virtual PIV card behind a private pcscd where a scenario needs one),
// and runs the admin's flows as docs/RUNBOOK.md tells a person to run them,
// one testscript scenario per file in testdata/, marked with the RUNBOOK
// steps it follows (TestScenariosFollowTheRunbook holds the two
// together). Every repository a scenario publishes is refreshed by two
// TUF clients we did not write, go-tuf v2 and tuf-js, from the pinned root
// alone. The scripts of the CLI's commands that need a token run here too,
// against the same binary (testdata/cli/*.txtar, TestCLIScripts). The TUI
// is driven in tmux, and the build is checked to be reproducible.
//
// The package holds tests only; the product never imports it.
package softhsmtests
