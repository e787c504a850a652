// Package exitcode is the one table from kinds of failure to the exit
// codes of the ceremony command and to a hint for the person at the
// keyboard. Every command, and the TUI, classifies an error here and
// nowhere else: the packages below say what went wrong with sentinel
// errors and types (hsm.ErrWrongPIN, *roles.SyntaxError), the faces wrap
// them with %w, and Of finds the first row of Table the error matches.
//
// The codes are part of the interface: scripts depend on them, and the
// README, 'ceremony exit-codes' and each command's help document them
// (a test checks the README against Classes).
package exitcode

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/ceremony/demo"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/piv"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// Code is a process exit status.
type Code int

// The classes of failure, one exit code each.
const (
	OK       Code = 0 // success
	Internal Code = 1 // a bug: please report it
	Usage    Code = 2 // bad flags or arguments
	Input    Code = 3 // a file, plan or URI is malformed or names something unknown
	Verify   Code = 4 // a signature, threshold, chain or policy check failed
	Device   Code = 5 // a token or card is missing, locked, or refused the PIN
	Conflict Code = 6 // an output already exists or the workspace is in use
	Declined Code = 7 // the person at the keyboard did not go on
	State    Code = 8 // not possible in this state of the ceremony or the machine
	IO       Code = 9 // a folder or file could not be written
)

// Class is what an exit code means, in the words the documentation uses.
type Class struct {
	Code    Code
	Meaning string
}

// Classes lists every exit code, for 'ceremony exit-codes' and the README.
var Classes = []Class{
	{OK, "success"},
	{Internal, "internal error (a bug: please report it with the command and its output)"},
	{Usage, "usage: bad flags or arguments"},
	{Input, "bad input: a file, plan or URI is malformed, cannot be read, or names something unknown"},
	{Verify, "verification failed: a signature, threshold, root chain or policy check"},
	{Device, "device: a token or card is missing, removed, locked, or refused the PIN"},
	{Conflict, "conflict: an output already exists, or the workspace is in use"},
	{Declined, "declined: the signer did not type \"yes\", or left without signing"},
	{State, "state: not possible in this state (the ceremony is closed, aborted or publishing, a network is up that the plan does not allow, or the reference time is far from the clock)"},
	{IO, "i/o: a folder or file could not be written (read-only, full, or immutable); fix it and run the command again"},
}

// Doc is the list of exit codes as 'ceremony exit-codes' prints it.
func Doc() string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, c := range Classes {
		fmt.Fprintf(&b, "  %d  %s\n", c.Code, c.Meaning)
	}
	return b.String()
}

// Kinds of failure the faces find themselves, before any package below
// is asked: they have no sentinel of their own elsewhere.
var (
	// ErrUsage marks bad flags or arguments.
	ErrUsage = errors.New("usage error")
	// ErrInput marks input the command itself found wrong or unreadable:
	// a file it read, a flag's value.
	ErrInput = errors.New("bad input")
	// ErrDeclined marks a person's choice not to go on: they did not type
	// "yes", or left the signing view without signing.
	ErrDeclined = errors.New("declined")
)

// Row is one line of the table: the errors it matches, their exit code,
// and what the person at the keyboard can do about them.
type Row struct {
	// Kind is a sentinel error matched with errors.Is; nil when Match is
	// set instead.
	Kind error
	// Match matches an error type (with errors.As) or a condition on it.
	// Name says what it matches, for tests and documentation.
	Match func(error) bool
	Name  string
	Code  Code
	// Hint says what to do, in words that suit every face.
	Hint string
}

// matches reports whether err is of the row's kind.
func (r Row) matches(err error) bool {
	if r.Match != nil {
		return r.Match(err)
	}
	return errors.Is(err, r.Kind)
}

func is(kind error, code Code, hint string) Row { return Row{Kind: kind, Code: code, Hint: hint} }

// as matches an error of type T, as errors.As finds it.
func as[T error](err error) bool {
	var t T
	return errors.As(err, &t)
}

// Hints shared by several rows.
const (
	hintPlug     = "Plug the device in (see 'ceremony devices' or the device panel) and try again."
	hintOverlap  = "Ceremony never writes over a file or shares a workspace: name another output, or wait for the other process to finish."
	hintTrust    = "Do not sign or publish from it: find out why with 'ceremony verify' or 'ceremony transcript verify', and compare with another copy."
	hintResponse = "Ask the signer for a response to this ceremony's current request (export the requests again if more signatures came in)."
)

// Table maps kinds of failure to exit codes, first match first: an error
// that wraps kinds of two rows gets the earlier row's code. So bad input
// comes before the checks it fails (a malformed trusted repository is bad
// input, not an untrusted one), while a file a repository lists but lacks
// (fs.ErrNotExist under ErrUntrusted or repoverify.ErrFailed) is a failed
// check, not a missing argument.
var Table = []Row{
	is(ErrUsage, Usage, "See the command's help: 'ceremony help COMMAND'."),
	is(ErrDeclined, Declined, "Nothing was signed. Start again when you are ready."),
	is(ceremony.ErrState, State, "The ceremony is past that step: see where it stands with 'ceremony status' (or on the TUI's step rail)."),
	is(ceremony.ErrNetwork, State, "Take the machine off every network, or set allow_network: true in the plan if this is not an air-gapped ceremony."),
	is(ceremony.ErrNeedsResume, State, "Run 'ceremony resume' in the workspace: it mends what a crash left in the transcript and says what it kept or dropped; nothing else changes it."),
	is(ceremony.ErrClock, State, "Compare the machine's clock with a time source the witnesses trust, and the plan's reference_time; if both are right, start with --allow-reference-time."),
	is(ceremony.ErrReason, Usage, "Give the reason in words, on one line or a few: --reason 'carol's token was lost'."),
	is(ceremony.ErrWrite, IO, "Make the folder writable (remount it read-write, free space, clear an immutable flag), then run the command again: it goes on where it stopped."),

	is(ErrInput, Input, "Check the file or value named, and give it again."),
	is(hsm.ErrBadURI, Input, "Check the key URI: see 'ceremony devices' for the URI of every key."),
	{Match: as[*roles.SyntaxError], Name: "*roles.SyntaxError", Code: Input, Hint: "The file is not well-formed TUF metadata: check that it is the file you meant, unchanged."},
	is(repoverify.ErrBadInput, Input, "Give the folder that holds timestamp.json and the N.root.json files, and the root you trust."),
	is(ceremony.ErrPlan, Input, "Correct the plan where the message says (docs/PLANS.md lists every field), and start again."),
	is(ceremony.ErrNotDelegated, Input, "Include metadata only for projects the ceremony's claimed role delegates to, named VERSION.PROJECT.json as maintainers publish it."),
	is(ceremony.ErrRequestInvalid, Input, "The file is not a whole, unchanged request or response: copy it again from the ceremony."),
	is(boundedfile.ErrNotRegular, Input, "Name a regular file: not a folder, a pipe or a device."),
	is(boundedfile.ErrTooLarge, Input, "Check it is the file you meant; if it is, raise the limit with the flag the message names (docs/LIMITS.md)."),
	is(untrusted.ErrForbiddenChar, Input, "Remove the control or invisible character from the field named, and give the file again."),

	is(hsm.ErrPINLocked, Device, "The PIN is locked: unblock it with the PUK or SO PIN, away from this ceremony, then sign again."),
	is(hsm.ErrLastTry, Device, "Only one PIN try is left: make sure of the PIN, then run again with --allow-last-pin-try."),
	is(hsm.ErrWrongPIN, Device, "Check the PIN and try again: each wrong PIN spends one of the device's tries."),
	is(hsm.ErrNotLoggedIn, Device, "Give the PIN (on a terminal, or in the key URI's pin-source file) and touch the device if it blinks."),
	is(hsm.ErrRemoved, Device, hintPlug),
	is(hsm.ErrNotFound, Device, hintPlug),
	is(hsm.ErrAmbiguous, Device, "The URI matches several keys or devices: name one (see 'ceremony devices')."),
	is(hsm.ErrUnsupported, Device, "This device cannot do that: use a device and key type the plan names."),
	is(hsm.ErrBadSignature, Device, "The device signed wrongly and nothing was kept: try again, and if it repeats, use another device."),
	is(hsm.ErrDevice, Device, "The device or its driver failed: plug it in again and retry, or try another reader or port."),
	is(demo.ErrNoSoftHSM, Device, "Install SoftHSM (the Debian package softhsm2) and run the demo again."),

	is(hsm.ErrExists, Conflict, "A key with that label or id is on the device already: ceremony never overwrites a key; choose another."),
	is(transcripts.ErrInUse, Conflict, hintOverlap),
	is(ceremony.ErrConflict, Conflict, hintOverlap),
	is(demo.ErrNotEmpty, Conflict, "Give the demo an empty or new folder."),
	is(ceremony.ErrDuplicate, Conflict, "That signature is already in: leave the response out."),
	is(fs.ErrExist, Conflict, hintOverlap),

	is(ceremony.ErrWrongKey, Verify, "This key is not one the plan expects: use the device the plan names for you."),
	is(ceremony.ErrUntrustedKey, Verify, "This key may not sign this role: check you plugged in the right device and gave the right key URI."),
	is(ceremony.ErrNotSigned, Verify, "More signatures are needed first: see who is missing with 'ceremony status' (or on the threshold board)."),
	is(ceremony.ErrOtherCeremony, Verify, hintResponse),
	is(ceremony.ErrStale, Verify, hintResponse),
	is(ceremony.ErrUntrusted, Verify, "The repository the plan starts from does not verify from the pinned root: check both with 'ceremony verify'."),
	is(repoverify.ErrFailed, Verify, "The repository does not verify: the failed check is named above."),
	is(ceremony.ErrReplay, Verify, hintTrust),
	is(ceremony.ErrUnsigned, Verify, hintTrust),
	is(ceremony.ErrLink, Verify, "Put every ceremony's transcript folder, with its artifacts, in the folder --transcripts names; a transcript that does not verify is not as it was written."),
	is(transcripts.ErrIntegrity, Verify, hintTrust),
	is(ceremony.ErrEnrollment, Verify, "Refuse the enrollment, or ask the maintainer for a new one with a fresh nonce."),
	is(piv.ErrAttestation, Verify, "The key cannot be shown to have been made on a YubiKey: do not enroll or trust it."),
	is(roles.ErrPolicy, Verify, "A policy check failed: the check is named above; change the plan so it passes."),
	is(roles.ErrThreshold, Verify, "Not enough valid signatures: see who is missing with 'ceremony status'."),
	is(roles.ErrSignature, Verify, hintTrust),
	is(roles.ErrExpired, Verify, "The metadata has expired: a ceremony must refresh it."),
	is(roles.ErrRollback, Verify, hintTrust),

	is(fs.ErrNotExist, Input, "Check the path: the file or folder is not there."),
	{Match: as[*fs.PathError], Name: "*fs.PathError", Code: Input, Hint: "Check the path and its permissions, or give another path."},
}

// Of is the exit code for err: OK for nil, the code of the first row of
// Table that err matches, Internal for an error of no known kind.
func Of(err error) Code {
	if err == nil {
		return OK
	}
	if r := rowOf(err); r != nil {
		return r.Code
	}
	return Internal
}

// Hint says what to do about err, or "" when it is of no known kind.
func Hint(err error) string {
	if r := rowOf(err); r != nil {
		return r.Hint
	}
	return ""
}

func rowOf(err error) *Row {
	for i := range Table {
		if Table[i].matches(err) {
			return &Table[i]
		}
	}
	return nil
}

// Mark makes err one of kind, for errors.Is and so for Of, without
// changing its message: for failures whose kind the caller knows and the
// error does not carry (a plan file that cannot be read is bad input).
func Mark(kind, err error) error {
	if err == nil {
		return nil
	}
	return &marked{kind: kind, err: err}
}

// Errorf formats an error of kind: Mark(kind, fmt.Errorf(format, a...)).
func Errorf(kind error, format string, a ...any) error {
	return Mark(kind, fmt.Errorf(format, a...))
}

type marked struct{ kind, err error }

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.kind, m.err} }
