package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// The faces of the engine: each command opens the workspace (which folds
// its transcript), submits one command, and prints the state.

// ceremonyError maps the engine's and the hsm's errors onto exit codes.
func ceremonyError(err error) error {
	if err == nil {
		return nil
	}
	var se *roles.SyntaxError
	switch {
	case errors.As(err, &se), errors.Is(err, ceremony.ErrPlan), errors.Is(err, repoverify.ErrBadInput):
		return withCode(exitInput, err)
	case errors.Is(err, ceremony.ErrUntrusted), errors.Is(err, roles.ErrPolicy), errors.Is(err, roles.ErrSignature),
		errors.Is(err, roles.ErrThreshold), errors.Is(err, ceremony.ErrWrongKey), errors.Is(err, ceremony.ErrNotSigned),
		errors.Is(err, transcripts.ErrIntegrity):
		return withCode(exitVerify, err)
	case errors.Is(err, transcripts.ErrInUse), errors.Is(err, ceremony.ErrConflict):
		return withCode(exitConflict, err)
	case errors.Is(err, ceremony.ErrNetwork), errors.Is(err, ceremony.ErrState):
		return withCode(exitUsage, err)
	}
	return err
}

// openWorkspace resumes the ceremony in a workspace (folding its
// transcript), with the ways that fails mapped to exit codes. The caller
// closes it.
func openWorkspace(ws string) (*ceremony.Engine, error) {
	if _, err := os.Stat(filepath.Join(ws, ceremony.TranscriptName)); errors.Is(err, fs.ErrNotExist) {
		return nil, withCode(exitInput, fmt.Errorf("no ceremony in %s (no %s there): run in the ceremony's workspace or name it with --workspace", ws, ceremony.TranscriptName))
	}
	eng, err := ceremony.Resume(ws)
	if err != nil {
		return nil, ceremonyError(err)
	}
	return eng, nil
}

func workspaceFlag(fs *flag.FlagSet) *string {
	return fs.String("workspace", ".", "the ceremony's workspace folder")
}

// confirm asks the person to type "yes" and says what for.
func confirm(e *env, what string) error {
	fmt.Fprintf(e.stderr, "Type \"yes\" to %s: ", what)
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if strings.TrimSpace(line) != "yes" {
		return withCode(exitDeclined, fmt.Errorf("not confirmed (typed %q, not \"yes\"): nothing was signed", strings.TrimSpace(line)))
	}
	return nil
}

// printReview shows each staged role: what changes, the checks it passed
// by name, and the digest to read aloud.
func printReview(w io.Writer, st *ceremony.State) {
	fmt.Fprintf(w, "Ceremony %s, reference time %s\n", st.Plan.Ceremony, st.Plan.ReferenceTime.Format(roles.TimeFormat))
	for _, r := range st.Roles {
		fmt.Fprintf(w, "\n%s v%d\n", r.Role, r.Version)
		for _, s := range r.Summary {
			fmt.Fprintf(w, "  - %s\n", s)
		}
		for _, c := range r.Checks {
			status := "ok"
			if !c.Passed {
				status = string(c.Severity)
			}
			fmt.Fprintf(w, "  check %-36s %-7s %s\n", c.Check, status, c.Message)
		}
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
	for _, p := range st.Progress() {
		mark := "missing"
		if p.Reached {
			mark = "reached"
		}
		fmt.Fprintf(w, "  %-18s under %-12s %d of %d needed, %s; signed: %s; may still sign: %s\n",
			p.Role, p.Under, len(p.Signed), p.Threshold, mark, listOrNone(p.Signed), listOrNone(p.Missing))
	}
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
	Head      transcripts.Digest        `json:"transcript_head"`
	Checks    map[string]roles.Findings `json:"checks,omitempty"`
}

type roleJSON struct {
	Role    string   `json:"role"`
	Version int64    `json:"version"`
	Online  bool     `json:"online,omitempty"`
	Digest  string   `json:"signed_sha256"`
	Summary []string `json:"summary"`
}

func statusOf(eng *ceremony.Engine) statusJSON {
	st := eng.State()
	out := statusJSON{Ceremony: st.Plan.Ceremony, Progress: st.Progress(), Done: st.Done(), Published: st.Published,
		Closed: st.Closed, Head: eng.Head(), Checks: map[string]roles.Findings{}}
	for _, r := range st.Roles {
		out.Roles = append(out.Roles, roleJSON{Role: r.Role, Version: r.Version, Online: r.Online, Digest: r.Digest, Summary: r.Summary})
		out.Checks[r.Role] = r.Checks
	}
	return out
}

func init() {
	register(&command{
		name:    "start",
		summary: "open a ceremony from a plan: load, verify, stage, review",
		usage:   "PLAN [--workspace DIR] [--publish-dir DIR] [--json]",
		help: `Opens a new ceremony in the workspace (created if missing; it must hold no
transcript yet). It records the plan, the tool and the host in the
transcript, verifies the trusted repository from the pinned root, stages
every change the plan makes, runs the policy checks, and prints the review:
per role, the change in plain words, the checks by name, and the digest of
the bytes to be signed in hex and PGP words. A plan that fails a check, or a
repository that does not verify, leaves no workspace behind.

The machine must be off every network unless the plan says allow_network.

Example:
  ceremony start plans/2026-q4.yaml --workspace ws-2026-q4`,
		setup: func(fs *flag.FlagSet) runFunc {
			ws := workspaceFlag(fs)
			pub := fs.String("publish-dir", "", "where publish writes metadata (default: the plan's start.metadata, or WORKSPACE/metadata for a bootstrap)")
			asJSON := fs.Bool("json", false, "print JSON for scripts")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("start takes one plan file")
				}
				plan, err := ceremony.LoadPlan(args[0])
				if err != nil {
					return ceremonyError(err)
				}
				facts, _ := readBuildFacts()
				eng, err := ceremony.Begin(*ws, plan, ceremony.Tool{Version: facts.Version, Commit: facts.Commit, Binary: facts.Binary}, *pub)
				if err != nil {
					return ceremonyError(err)
				}
				defer eng.Close()
				if *asJSON {
					return writeJSON(e.stdout, statusOf(eng))
				}
				printReview(e.stdout, eng.State())
				printProgress(e.stdout, eng.State())
				fmt.Fprintf(e.stdout, "\nNext: each key holder runs `ceremony sign --workspace %s --key URI`,\nor `ceremony request export` for signers who are elsewhere.\n", *ws)
				return nil
			}
		},
	})

	register(&command{
		name:    "sign",
		summary: "sign the staged roles with a device key, or an air-gapped request",
		usage:   "--key URI [--workspace DIR] [--allow-last-pin-try] | REQUEST [--key URI] --out RESPONSE",
		help: `In the ceremony room: signs every staged role the key may sign and has not
signed yet, after showing the review and asking you to type "yes". The key
must be one the plan names; any other is refused before anything is signed.
The PIN is asked once per device, without echo (or read from the key URI's
pin-source), and every signature is verified in software at once.

On an air-gapped machine, with no workspace: given a signing request file,
shows what it signs, asks for "yes", signs and writes the response file.
Without --key, in a terminal, a focused one-signer view lists the devices
plugged in and walks the signer through it.

Examples:
  ceremony sign --workspace ws-2026-q4 --key 'pkcs11:token=alice;object=root'
  ceremony sign claimed-v8.request.json --key 'piv:serial=12345678;slot=9c' --out claimed-v8.alice.response.json`,
		setup: func(fs *flag.FlagSet) runFunc {
			ws := workspaceFlag(fs)
			key := fs.String("key", "", "the key URI (pkcs11: or piv:)")
			out := fs.String("out", "", "with REQUEST: the response file to write")
			allowLast := fs.Bool("allow-last-pin-try", false, "let the login spend the device's last PIN try")
			return func(ctx context.Context, e *env, args []string) error {
				if *key == "" && len(args) == 1 && isTerminal(e.stdin) && isTerminal(e.stdout) {
					// A request and no key, in a terminal: the one-signer
					// view, which lists the devices and lets the signer choose.
					return runRequestTUI(ctx, e, args[0], *out, *allowLast)
				}
				if *key == "" {
					return usageErrorf("--key is required: name the device key with a pkcs11: or piv: URI")
				}
				auth := terminalAuth(e, *allowLast)
				if len(args) == 1 {
					if *out == "" {
						return usageErrorf("--out is required with a request file")
					}
					return signRequestFile(ctx, e, args[0], *key, *out, auth)
				}
				if len(args) > 1 {
					return usageErrorf("sign takes at most one request file")
				}
				eng, err := openWorkspace(*ws)
				if err != nil {
					return err
				}
				defer eng.Close()
				signer, err := hsm.Open(ctx, *key, auth)
				if err != nil {
					return err
				}
				defer signer.Close()
				printReview(e.stderr, eng.State())
				if err := confirm(e, "sign these with "+signer.Key().Device.String()); err != nil {
					return err
				}
				dev := signer.Key().Device
				res, err := eng.Sign(signer, &dev)
				for _, r := range res {
					fmt.Fprintf(e.stdout, "signed %s with key %s, verified\n", r.Role, r.KeyID[:8])
				}
				if err != nil {
					return ceremonyError(err)
				}
				printProgress(e.stdout, eng.State())
				return nil
			}
		},
	})

	register(&command{
		name:    "status",
		summary: "who has signed, who is missing, per role and threshold",
		usage:   "[--workspace DIR] [--json]",
		help: `Prints, per staged role, who has signed and who may still sign, against
each threshold the role must reach (for a new root, the old root's and its
own), and whether the ceremony is ready to publish.

Example:
  ceremony status --workspace ws-2026-q4 --json`,
		setup: func(fs *flag.FlagSet) runFunc {
			ws := workspaceFlag(fs)
			asJSON := fs.Bool("json", false, "print JSON for scripts")
			return func(ctx context.Context, e *env, args []string) error {
				eng, err := openWorkspace(*ws)
				if err != nil {
					return err
				}
				defer eng.Close()
				if *asJSON {
					return writeJSON(e.stdout, statusOf(eng))
				}
				printReview(e.stdout, eng.State())
				printProgress(e.stdout, eng.State())
				return nil
			}
		},
	})

	register(&command{
		name:    "publish",
		summary: "write the signed metadata once every threshold holds",
		usage:   "[--workspace DIR] [--online-key URI]",
		help: `Once every staged role reaches every threshold, writes the metadata
atomically (temporary file, fsync, rename) with consistent-snapshot names,
never over an existing version. With --online-key it first makes and signs
the online roles (snapshot, timestamp; for a bootstrap recently-claimed and
the unclaimed bins) so the result is complete for a stock TUF client.
A publish cut short is finished by running publish (or resume) again.

Example:
  ceremony publish --workspace ws-2026-q4 --online-key 'pkcs11:token=online;object=online'`,
		setup: func(fs *flag.FlagSet) runFunc {
			ws := workspaceFlag(fs)
			online := fs.String("online-key", "", "the online key's URI (default: the plan's online.key_uri)")
			allowLast := fs.Bool("allow-last-pin-try", false, "let the login spend the device's last PIN try")
			return func(ctx context.Context, e *env, args []string) error {
				eng, err := openWorkspace(*ws)
				if err != nil {
					return err
				}
				defer eng.Close()
				uri := *online
				if p := eng.State().Plan; uri == "" && p.Online != nil {
					uri = p.Online.KeyURI
				}
				var signer hsm.Signer
				var dev *hsm.Device
				if uri != "" && eng.State().Publishing == nil {
					if signer, err = hsm.Open(ctx, uri, terminalAuth(e, *allowLast)); err != nil {
						return err
					}
					defer signer.Close()
					d := signer.Key().Device
					dev = &d
				}
				var res *ceremony.PublishResult
				if signer != nil {
					res, err = eng.Publish(signer, dev)
				} else {
					res, err = eng.Publish(nil, nil)
				}
				if err != nil {
					return ceremonyError(err)
				}
				fmt.Fprintf(e.stdout, "published %d files into %s\n", len(res.Files), res.Dir)
				return nil
			}
		},
	})

	register(&command{
		name:    "resume",
		summary: "rebuild the state from the transcript after a crash, and go on",
		usage:   "[--workspace DIR]",
		help: `Folds the workspace's transcript (repairing a torn last line, which a crash
in the middle of a write leaves, and recording the repair), finishes a
publish that was cut short, and prints where the ceremony stands.

Example:
  ceremony resume --workspace ws-2026-q4`,
		setup: func(fs *flag.FlagSet) runFunc {
			ws := workspaceFlag(fs)
			return func(ctx context.Context, e *env, args []string) error {
				eng, err := openWorkspace(*ws)
				if err != nil {
					return err
				}
				defer eng.Close()
				st := eng.State()
				if st.Publishing != nil && !st.Published {
					res, err := eng.Publish(nil, nil)
					if err != nil {
						return ceremonyError(err)
					}
					fmt.Fprintf(e.stdout, "finished publishing %d files into %s\n", len(res.Files), res.Dir)
				}
				printProgress(e.stdout, st)
				fmt.Fprintf(e.stdout, "published: %v\n", st.Published)
				return nil
			}
		},
	})

	register(&command{
		name:    "close",
		summary: "end the ceremony and print the transcript's head for witnesses",
		usage:   "[--workspace DIR] [--json]",
		help: `Records the end of the ceremony; nothing can be added after it. Prints the
transcript's head digest in hex and PGP words, for witnesses to write
down: 'ceremony transcript verify --head' checks a transcript against it.

Example:
  ceremony close --workspace ws-2026-q4`,
		setup: func(fs *flag.FlagSet) runFunc {
			ws := workspaceFlag(fs)
			asJSON := fs.Bool("json", false, "print JSON for scripts")
			return func(ctx context.Context, e *env, args []string) error {
				eng, err := openWorkspace(*ws)
				if err != nil {
					return err
				}
				defer eng.Close()
				if err := eng.CloseCeremony(); err != nil {
					return ceremonyError(err)
				}
				h := eng.Head()
				if *asJSON {
					return writeJSON(e.stdout, map[string]string{"head": h.String(), "head_words": h.Words()})
				}
				fmt.Fprintf(e.stdout, "transcript head: %s\nin words: %s\n", h, h.Words())
				return nil
			}
		},
	})
}
