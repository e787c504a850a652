package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// What the faces of the engine share: each command in the ceremony room
// opens the workspace (which folds its transcript), submits one command,
// and prints the state. Commands that read open it with viewWorkspace,
// which needs no lock and changes nothing; commands that append with
// openWorkspace, which takes the writer's lock before anything is asked;
// resume alone mends what a crash left (ceremony.Resume).

// afterAppend is the engine's Options.AfterAppend: nil in the product. The
// kill test sets it, in the test binary only, to die at an exact event
// boundary.
var afterAppend func(seq int64) error

// openWorkspace opens the ceremony in a workspace to append to it: its
// transcript folded and its writer's lock taken, so that a second writer
// is refused before anyone is asked for a PIN. It never repairs: a torn
// tail is ceremony.ErrNeedsResume. The caller releases it.
func openWorkspace(ws string) (*ceremony.Engine, error) {
	return openWorkspaceShowing(ws, nil)
}

// viewWorkspace opens the ceremony in a workspace to read it: folded
// without the writer's lock and without changing a byte, so that status
// works while a signer sits at a PIN or "yes" prompt. The engine takes
// the lock if it later appends (the TUI's first action). The caller
// releases it.
func viewWorkspace(ws string) (*ceremony.Engine, error) {
	return viewWorkspaceShowing(ws, nil)
}

// hasCeremony refuses a folder that holds no transcript, naming the flag
// that names the workspace.
func hasCeremony(ws string) error {
	if _, err := os.Stat(filepath.Join(ws, ceremony.TranscriptName)); errors.Is(err, fs.ErrNotExist) {
		return exitcode.Errorf(exitcode.ErrInput, "no ceremony in %s (no %s there): run in the ceremony's workspace or name it with --workspace", ws, ceremony.TranscriptName)
	}
	return nil
}

// workspaceFlags declares --workspace, the flag of every command on a
// ceremony's workspace.
func workspaceFlags(fs *flag.FlagSet) *string {
	return fs.String("workspace", ".", "the ceremony's workspace folder")
}

// workspaceJSONOptions are the flags of a command that reads a workspace
// and can print JSON.
type workspaceJSONOptions struct {
	workspace *string
	json      *bool
}

func workspaceJSONFlags(fs *flag.FlagSet) *workspaceJSONOptions {
	return &workspaceJSONOptions{workspace: workspaceFlags(fs), json: fs.Bool("json", false, "print JSON for scripts")}
}

// confirm asks the person to type "yes" and says what for.
func confirm(e *env, what string) error {
	return askYes(e.stderr, e.stdin, fmt.Sprintf("Type \"yes\" to %s: ", what))
}

// notConfirmed is what every face says when the answer to "Type yes"
// is anything else. It never repeats the answer: a signer who typed the
// PIN there by mistake must not see it printed, or logged.
const notConfirmed = `not confirmed (the answer was not "yes"): nothing was signed or written`

// askYes writes prompt to w and reads one line from r, bounded (stdin may
// be a file): anything but "yes" refuses, exit 7, and nothing is signed.
// Every signature the tool makes is preceded by it, after the review and
// before the PIN.
func askYes(w io.Writer, r io.Reader, prompt string) error {
	fmt.Fprint(w, prompt)
	line, err := reqReadLine(r)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the answer: %w", err)
	}
	if answer := strings.TrimSpace(line); answer != "yes" {
		return exitcode.Errorf(exitcode.ErrDeclined, "%s", notConfirmed)
	}
	return nil
}

// printReview shows each staged role: what changes, the checks it passed
// by name, and the digest to read aloud.
func printReview(w io.Writer, st *ceremony.State) {
	fmt.Fprintf(w, "Ceremony %s, reference time %s\n", st.Plan.Ceremony, st.Plan.ReferenceTime.Format(roles.TimeFormat))
	if st.ReferenceTimeAllowed {
		fmt.Fprintf(w, "  NOTE: the reference time is more than a day from the machine's clock at start (%s): allowed with --allow-reference-time\n", st.StartClock.Format(roles.TimeFormat))
	}
	if st.Aborted {
		fmt.Fprintf(w, "  ABORTED: %s. Nothing is published; nothing can be added.\n", untrusted.Line(st.AbortReason))
	}
	for _, r := range st.Roles {
		printRole(w, r)
		printSummary(w, "  ", st.ProjectReview(r.Role))
		fmt.Fprintf(w, "  signed bytes sha256 %s\n", r.Digest)
		fmt.Fprintf(w, "  in words: %s\n", digestWords(r.Digest))
	}
}

func digestWords(hexDigest string) string {
	var b []byte
	fmt.Sscanf(hexDigest, "%x", &b)
	return pgpwords.String(b)
}

func printProgress(w io.Writer, st *ceremony.State) {
	fmt.Fprintln(w, "\nThresholds:")
	printThresholds(w, st.Progress())
	printCheckpointProgress(w, st)
	fmt.Fprintln(w, standing(st))
}

// standing says in one line where the ceremony stands and what comes next.
func standing(st *ceremony.State) string {
	switch {
	case st.Aborted:
		return "Aborted: nothing will be published."
	case st.Closed && st.Checkpointed():
		return "Closed, and its checkpoint signed: nothing more can be added."
	case st.Closed:
		return "Closed: its checkpoint still needs signatures ('ceremony sign --key URI', or a request and response); nothing else can be added."
	case st.Published:
		return "Published: close the ceremony with 'ceremony close' and write down its head."
	case st.Publishing():
		return "Publishing was cut short: run 'ceremony publish' (or 'ceremony resume') to finish it."
	case st.Done():
		return "Ready to publish: every threshold holds; run 'ceremony publish'."
	}
	return "Not ready to publish: the thresholds above marked missing need more signatures."
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// statusJSON is the --json form of status.
type statusJSON struct {
	Ceremony  string                    `json:"ceremony"`
	Roles     []roleJSON                `json:"roles"`
	Progress  []ceremony.Progress       `json:"thresholds"`
	Done      bool                      `json:"ready_to_publish"`
	Published bool                      `json:"published"`
	Closed    bool                      `json:"closed"`
	Aborted   bool                      `json:"aborted"`
	Reason    string                    `json:"abort_reason,omitempty"`
	Head      transcripts.Digest        `json:"transcript_head"`
	CloseHead *transcripts.Digest       `json:"close_head,omitempty"` // the witnesses' head, which the checkpoint signs; Head moves on with each signature
	Checks    map[string]roles.Findings `json:"checks,omitempty"`
	// PassedOver, from start only, are the project metadata files it
	// passed over in the trusted folder.
	PassedOver []ceremony.PassedOver `json:"passed_over,omitempty"`
	// Checkpoint is the closed ceremony's checkpoint thresholds.
	Checkpoint   []ceremony.Progress `json:"checkpoint_thresholds,omitempty"`
	Checkpointed bool                `json:"checkpointed,omitempty"`
}

type roleJSON struct {
	Role    string   `json:"role"`
	Version int64    `json:"version"`
	Online  bool     `json:"online,omitempty"`
	Digest  string   `json:"signed_sha256"`
	Summary []string `json:"summary"`
	// Projects are every project claimed (or its bin) adds, removes or
	// re-keys, which the summary counts.
	Projects []ceremony.ProjectChange `json:"projects,omitempty"`
}

// printStatus prints the review and the thresholds, or with asJSON the
// status as JSON.
func printStatus(e *env, eng *ceremony.Engine, asJSON bool) error {
	if asJSON {
		return writeJSON(e.stdout, statusOf(eng))
	}
	printReview(e.stdout, eng.State())
	printProgress(e.stdout, eng.State())
	printWitnessHeads(e.stdout, eng.State(), eng.Head())
	return nil
}

// signWith signs every staged role signer's key may sign, and prints
// what it signed and the thresholds.
func signWith(e *env, eng *ceremony.Engine, signer hsm.Signer) error {
	dev := signer.Key().Device
	res, err := eng.Sign(signer, &dev)
	for _, r := range res {
		fmt.Fprintf(e.stdout, "signed %s with key %s, verified\n", r.Role, r.KeyID[:8])
	}
	if err != nil {
		return err
	}
	printProgress(e.stdout, eng.State())
	return nil
}

func statusOf(eng *ceremony.Engine) statusJSON {
	st := eng.State()
	out := statusJSON{Ceremony: st.Plan.Ceremony, Progress: st.Progress(), Done: st.Done(), Published: st.Published,
		Closed: st.Closed, Aborted: st.Aborted, Reason: st.AbortReason, Head: eng.Head(), Checks: map[string]roles.Findings{}, PassedOver: eng.PassedOver(),
		Checkpoint: st.CheckpointProgress(), Checkpointed: st.Checkpointed()}
	if st.Checkpoint != nil {
		out.CloseHead = &st.Checkpoint.Head
	}
	for _, r := range st.Roles {
		out.Roles = append(out.Roles, roleJSON{Role: r.Role, Version: r.Version, Online: r.Online, Digest: r.Digest, Summary: r.Summary,
			Projects: st.ProjectChanges(r.Role)})
		out.Checks[r.Role] = r.Checks
	}
	return out
}
