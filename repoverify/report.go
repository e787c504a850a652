package repoverify

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/roles"
)

// Report is what a walk found: every role it verified and every check it
// ran, passed or not, each under a stable name.
type Report struct {
	Dir string    `json:"dir"`
	At  time.Time `json:"at"`
	OK  bool      `json:"ok"`
	// RootSteps are the root versions walked from the trusted root, each
	// checked under the previous root's keys and under its own.
	RootSteps []RootStep `json:"root_steps"`
	// Roles are the roles verified, in the order they were reached;
	// under Options.FailedOnly only the top-level roles, the revocation
	// list, what targets delegates to and every role that delegates
	// further (claimed and its bins), the roles below them (projects)
	// being counted in Unlisted, so that a report on 600,000 projects
	// holds no line for each. Empty when Options.OnRole was handed them.
	Roles    []Role `json:"roles"`
	Unlisted int    `json:"unlisted_roles,omitempty"`
	// Checks are every check run, in order (only those that failed under
	// Options.FailedOnly); Failures those that failed with severity error
	// (and, when Strict, warning); Warnings those that failed with
	// severity warning. Passed counts the checks that passed. Checks is
	// empty when Options.OnCheck was handed them.
	Passed   int     `json:"passed"`
	Checks   []Check `json:"checks"`
	Failures []Check `json:"failures"`
	Warnings []Check `json:"warnings"`
	// Strict is set when every warning counted as a failure.
	Strict bool `json:"strict,omitempty"`
}

// RootStep is one step of the root chain: root Version checked under root
// Version-1's keys (Old…) and under its own (New…).
type RootStep struct {
	Version      int64    `json:"version"`
	File         string   `json:"file"`
	OldSigned    []string `json:"old_signed"`
	OldThreshold int64    `json:"old_threshold"`
	NewSigned    []string `json:"new_signed"`
	NewThreshold int64    `json:"new_threshold"`
}

// Role is one verified role: the file it was read from, its version and
// expiry, who delegates it, and which keys signed it of how many needed.
type Role struct {
	Name      string    `json:"role"`
	File      string    `json:"file"`
	Version   int64     `json:"version"`
	Expires   time.Time `json:"expires"`
	Delegator string    `json:"delegator,omitempty"`
	Signed    []string  `json:"signed"`
	Threshold int64     `json:"threshold"`
	KeyIDs    int       `json:"keyids"`
}

// Check is the outcome of one named check. Name says where
// ("snapshot.meta.claimed.json.hash", "delegation.claimed.threshold");
// Reason, set when it failed, names what class of failure it was
// ("hash-mismatch", "threshold-not-reached", "duplicate-name"). Both are
// stable across releases.
type Check struct {
	Name     string         `json:"check"`
	Role     string         `json:"role,omitempty"`
	File     string         `json:"file,omitempty"`
	Passed   bool           `json:"passed"`
	Severity roles.Severity `json:"severity"`
	Reason   string         `json:"reason,omitempty"`
	Message  string         `json:"message"`
}

// Reasons a Check fails for.
const (
	ReasonMissingFile       = "missing-file"
	ReasonUnreadable        = "unreadable"
	ReasonNotRegular        = "not-a-regular-file"
	ReasonTooLarge          = "too-large"
	ReasonMalformed         = "malformed"
	ReasonDuplicateName     = "duplicate-name"
	ReasonVersionBelowOne   = "version-below-1"
	ReasonSpecVersion       = "spec-version-unsupported"
	ReasonRoleNameReused    = "role-name-reused"
	ReasonTopLevelDelegated = "top-level-role-delegated"
	ReasonKeyIDMismatch     = "keyid-mismatch"
	ReasonTimeNotUTC        = "time-not-utc"
	ReasonThreshold         = "threshold-not-reached"
	ReasonECDSANotDER       = "ecdsa-not-der"
	ReasonSomeClientsRefuse = "signature-some-clients-refuse"
	ReasonExpired           = "expired"
	ReasonVersionMismatch   = "version-mismatch"
	ReasonLengthMismatch    = "length-mismatch"
	ReasonHashMismatch      = "hash-mismatch"
	ReasonUnsupportedHash   = "unsupported-hash"
	ReasonChainRollback     = "chain-rollback"
	ReasonChainGap          = "chain-gap"
	ReasonNotListed         = "not-listed"
	ReasonNotDelegated      = "not-delegated"
	ReasonOutsidePaths      = "outside-delegated-paths"
	ReasonRevokedKeyTrusted = "revoked-key-trusted"
	ReasonNotNewest         = "not-newest-root"
	ReasonUnreached         = "unreached"
)

// advice says what to do about each reason, for error messages.
var advice = map[string]string{
	ReasonMissingFile:       "publish the file, or point at the folder that holds the repository's metadata",
	ReasonUnreadable:        "check the file's permissions and the disk",
	ReasonMalformed:         "the file is not valid TUF metadata: regenerate it with a conforming tool",
	ReasonDuplicateName:     "a JSON object names a member twice, so two readers may see two documents under one signature: regenerate the file",
	ReasonVersionBelowOne:   "TUF versions start at 1: regenerate the file",
	ReasonSpecVersion:       "only TUF 1.x metadata is understood: use a tool that writes spec_version 1.x",
	ReasonRoleNameReused:    "give every delegated role a name of its own",
	ReasonTopLevelDelegated: "root, targets, snapshot and timestamp cannot be delegated: rename the delegated role",
	ReasonKeyIDMismatch:     "list each key under the keyid the TUF spec computes (the hex SHA-256 of the key's canonical JSON) and re-sign",
	ReasonTimeNotUTC:        "metadata from before TUF 1.0 cannot be verified: trust the first root written in TUF 1.0's form and verify from it",
	ReasonThreshold:         "collect valid signatures from enough of the delegated keys, or check that the delegator names the right keys",
	ReasonECDSANotDER:       "re-sign with DER-encoded ECDSA signatures, as python-tuf and go-tuf expect",
	ReasonSomeClientsRefuse: "re-sign with an RSA-PSS salt as long as the digest (32 bytes for SHA-256), which every client accepts",
	ReasonExpired:           "re-sign it with a later expiry, or pass --at to verify as of an earlier time",
	ReasonVersionMismatch:   "publish the version the listing names, or a listing that names the version published",
	ReasonLengthMismatch:    "the file changed after it was listed: publish the listed file, or re-sign the listing",
	ReasonHashMismatch:      "the file changed after it was listed: publish the listed file, or re-sign the listing",
	ReasonUnsupportedHash:   "list a sha256 or sha512 hash",
	ReasonChainRollback:     "publish root versions 2, 3, … each signed by a threshold of the previous root's keys and its own",
	ReasonChainGap:          "publish every root version in between, each as N.root.json",
	ReasonNotListed:         "re-sign snapshot so that it lists every delegated role's metadata",
	ReasonNotDelegated:      "the role that should delegate it does not: check the repository's delegations",
	ReasonOutsidePaths:      "list targets only under the paths the role is delegated, or widen the delegation",
	ReasonRevokedKeyTrusted: "remove the revoked key from that role's keys and re-sign it",
}

// The two kinds of error a walk returns, told apart with errors.Is.
var (
	// ErrFailed: the repository does not verify (a check failed).
	ErrFailed = errors.New("repository does not verify")
	// ErrBadInput: the repository cannot be verified at all: a malformed
	// file (the error wraps a *roles.SyntaxError), one that cannot be
	// read or is refused unread (a *boundedfile.Error: not a regular
	// file, or larger than its limit), a folder with no timestamp.json
	// (no TUF repository at all), or a trusted root that does not parse.
	ErrBadInput = errors.New("repository cannot be read")
)

// Error is the first failed check of a walk. It is ErrFailed or
// ErrBadInput, and wraps the error that caused it, when there was one (a
// *roles.SyntaxError for a malformed file, an *fs.PathError for one that
// cannot be read).
type Error struct {
	Check
	Err error
}

func (e *Error) Error() string {
	where := e.File
	if where == "" {
		where = "repository"
	}
	what := "check"
	if e.Severity == roles.Warning {
		what = "warning, a failure under --strict,"
	}
	msg := fmt.Sprintf("%s: role %s: %s %s failed (%s): %s", where, e.Role, what, e.Name, e.Reason, e.Message)
	if a := advice[e.Reason]; a != "" {
		msg += "; " + a
	}
	return msg + "."
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBadInput) hold for a failure of input and
// errors.Is(err, ErrFailed) for the rest. A file that is listed but
// missing is a failure: the repository is incomplete.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadInput:
		return e.badInput()
	case ErrFailed:
		return !e.badInput()
	}
	return false
}

func (e *Error) badInput() bool {
	var se *roles.SyntaxError
	if errors.As(e.Err, &se) {
		return true
	}
	if errors.Is(e.Err, fs.ErrNotExist) {
		return e.File == "timestamp.json"
	}
	var pe *fs.PathError
	var be *boundedfile.Error
	return errors.As(e.Err, &pe) || errors.As(e.Err, &be)
}

// inputError is bad input that is no check's failure: a folder or a
// trusted root that cannot be read.
type inputError struct{ err error }

func inputErrorf(format string, args ...any) error {
	return inputError{fmt.Errorf(format, args...)}
}

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrBadInput }
