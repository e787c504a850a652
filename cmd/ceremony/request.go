package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/roles"
)

const requestExportHelp = `Writes a self-contained signing request for every staged offline role that
has not reached its thresholds yet, one file per role, named
CEREMONY-ROLE-vVERSION.request.json, into the folder --out names (created
if missing): what the role is, the plain-words summary of what changes, the
policy checks it passed, the canonical bytes to sign, their SHA-256, and
the keys that may sign with who holds them. Carry the folder to the
air-gapped signers; each runs 'ceremony sign REQUEST --key URI --out
RESPONSE' on their own machine, with no workspace, and brings the response
back for 'ceremony collect'. docs/FORMATS.md specifies the format. Once
the ceremony is closed, it writes the checkpoint's request instead,
CEREMONY-checkpoint.request.json, signed and collected the same way.

Exporting changes nothing in the workspace. A request file already in the
folder with the same bytes is left as it is; one with other bytes (an
earlier export, before more signatures came in) is refused and nothing is
written: export into an empty folder.

Exit status 3 means that there is no ceremony in the workspace; 6 that a
request file exists with other content, or that the workspace is in use
by another process; 8 that publishing has started (nothing is left to
sign).

Example:
  ceremony request export --workspace /ceremony/ws --out /media/usb/requests
  ceremony request export --out requests --json`

const collectHelp = `Checks signing responses that air-gapped signers brought back and records
their signatures in the ceremony's transcript. Each response must be for
this ceremony, for the very bytes it staged (role, version, SHA-256), by a
key the role trusts, with a signature that verifies, and by a key that has
not signed that role yet. Who signed is told by the key: a response whose
signer is not the name the plan gives that key is refused. The device a
response describes is recorded as the signer's claim, not as verified.
Every response given is checked before any is
recorded: if one is refused, none is taken and nothing on disk changes.
Afterwards the threshold progress of every role is shown. Once the
ceremony is closed, it takes checkpoint responses instead (given apart
from signing responses), checked the same way against the checkpoint.

Exit status 3 means that a response file is malformed, truncated or was
changed (its signature does not verify), or there is no ceremony in the
workspace; 4 that a response is for another ceremony, for another version
or other bytes of the role, by a key the role does not trust, or names a
signer who does not hold the key; 6 that a
signature by that key is already collected, or the workspace is in use; 8
that publishing has started and no more signatures are taken.

Example:
  ceremony collect --workspace /ceremony/ws /media/usb/*.response.json
  ceremony collect --json carol-root.response.json`

// reqExportJSON is the --json form of 'request export'.
type reqExportJSON struct {
	Requests []reqExported `json:"requests"`
}

type reqExported struct {
	Path    string   `json:"path"`
	Role    string   `json:"role"`
	Version int64    `json:"version"`
	Digest  string   `json:"signed_sha256"`
	Signers []string `json:"signers"`
}

type requestExportOptions struct {
	workspace, out *string
	json           *bool
}

func requestExportFlags(fs *flag.FlagSet) *requestExportOptions {
	return &requestExportOptions{
		workspace: workspaceFlags(fs),
		out:       fs.String("out", "", "the `folder` to write the requests into (removable media)"),
		json:      fs.Bool("json", false, "print the requests written as JSON"),
	}
}

// runRequestExport is 'ceremony request export'.
func runRequestExport(ctx context.Context, e *env, o *requestExportOptions, args []string) error {
	if len(args) > 0 {
		return usageErrorf("request export takes no arguments; name the folder with --out")
	}
	if *o.out == "" {
		return usageErrorf("name the folder to write the requests into with --out, e.g. --out /media/usb/requests")
	}
	eng, err := openWorkspace(*o.workspace)
	if err != nil {
		return err
	}
	defer eng.Release()
	if eng.State().Checkpoint != nil {
		return exportCheckpointRequest(e, eng, *o.out, *o.json)
	}
	paths, err := eng.ExportRequests(*o.out)
	if err != nil {
		return err
	}
	rep := reqExportJSON{Requests: []reqExported{}}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		req, err := ceremony.ParseRequest(b)
		if err != nil {
			return fmt.Errorf("the request just written to %s does not read back: %w", safe(p), err)
		}
		x := reqExported{Path: p, Role: req.Role, Version: req.Version, Digest: req.Digest, Signers: []string{}}
		for _, s := range req.Signers {
			x.Signers = append(x.Signers, reqWho(s))
		}
		rep.Requests = append(rep.Requests, x)
	}
	if *o.json {
		return writeJSON(e.stdout, rep)
	}
	if len(rep.Requests) == 0 {
		fmt.Fprintln(e.stdout, "Every offline role has reached its thresholds: there is nothing to export.")
		return nil
	}
	for _, x := range rep.Requests {
		fmt.Fprintf(e.stdout, "%s v%d  sha256 %s\n  %s\n  may sign: %s\n", safe(x.Role), x.Version, x.Digest, safe(x.Path), strings.Join(x.Signers, ", "))
	}
	fmt.Fprintf(e.stdout, "Wrote %d signing request(s) into %s. Each signer runs:\n  ceremony sign REQUEST --key URI --out RESPONSE [--root TRUSTED_ROOT]\n", len(rep.Requests), safe(*o.out))
	return nil
}

const requestShowHelp = `Shows what a signing request asks, as 'ceremony sign REQUEST' shows it
before asking for "yes", with no device and no workspace: what the bytes
to sign say, read from them by this tool, and what changes from the
previous version the request carries (verified under the root you trust
with --root); every project claimed (or its bin) adds, removes or
re-keys, with its maintainers' keys (the first 200; --json lists every
one); the requester's own words apart; the digest last, to compare with
the one read out in the ceremony. Nothing is signed or written.

Exit status 3 means the request is malformed, truncated or was changed;
4 that its previous version does not verify under --root.

Example:
  ceremony request show /media/usb/requests/q-claimed-v8.request.json --root 7.root.json
  ceremony request show --json q-claimed-v8.request.json`

type requestShowOptions struct {
	root *string
	json *bool
}

func requestShowFlags(fs *flag.FlagSet) *requestShowOptions {
	return &requestShowOptions{
		root: fs.String("root", "", "the repository's root `file` you trust, to verify the previous version the request carries"),
		json: fs.Bool("json", false, "print the review as JSON, every project change listed"),
	}
}

// reqShowJSON is the --json form of 'request show': the review read from
// the bytes, the requester's words apart.
type reqShowJSON struct {
	Request        string `json:"request"`
	Ceremony       string `json:"ceremony"`
	TranscriptHead string `json:"transcript_head"`
	Role           string `json:"role"`
	Version        int64  `json:"version"`
	Digest         string `json:"signed_sha256"`
	// Previous is the version the review compares with (0: none), and
	// Compared says how, as the text review does.
	Previous int64  `json:"previous_version"`
	Compared string `json:"compared"`
	// Review is the summary, a line each: the head, what the bytes hold,
	// what changes.
	Review []string `json:"review"`
	// Projects are every project change, which Review counts.
	Projects []ceremony.ProjectChange `json:"projects"`
	// RequesterSays are the request's own words, not checked.
	RequesterSays []string `json:"requester_says"`
}

// runRequestShow is 'ceremony request show REQUEST'.
func runRequestShow(ctx context.Context, e *env, o *requestShowOptions, args []string) error {
	if len(args) != 1 {
		return usageErrorf("request show takes one request file")
	}
	req, err := readRequest(args[0])
	if err != nil {
		return err
	}
	note, err := previousNote(req, *o.root)
	if err != nil {
		return err
	}
	if !*o.json {
		printRequestReview(e.stdout, args[0], req, note, "one of the keys it lists, by 'ceremony sign' (this is the review it shows)")
		return nil
	}
	rv := req.Review()
	return writeJSON(e.stdout, reqShowJSON{Request: args[0], Ceremony: req.Ceremony, TranscriptHead: req.TranscriptHead, Role: req.Role,
		Version: req.Version, Digest: req.Digest, Previous: rv.Previous, Compared: note, Review: rv.Lines(),
		Projects: slices.Concat([]ceremony.ProjectChange{}, rv.Projects), RequesterSays: req.Claims()})
}

// reqWho names a signer for people, escaped: "alice (key 3f1a2b3c,
// YubiKey 5 #123)" or the keyid's first 8 hex digits.
func reqWho(s ceremony.RequestSigner) string {
	if s.Name == "" {
		return s.KeyID[:8]
	}
	who := safe(s.Name) + " (key " + s.KeyID[:8]
	if s.Device != "" {
		who += ", " + safe(s.Device)
	}
	return who + ")"
}

// reqReadFile reads a request or response file, refusing one too large
// to be either.
func reqReadFile(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.ErrInput, "read the %s: %w", what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, ceremony.MaxRequestSize+1))
	if err != nil {
		return nil, exitcode.Errorf(exitcode.ErrInput, "read the %s %s: %w", what, safe(path), err)
	}
	return b, nil
}

// readRequest reads and parses a signing request file.
func readRequest(path string) (*ceremony.Request, error) {
	b, err := reqReadFile(path, "request")
	if err != nil {
		return nil, err
	}
	req, err := ceremony.ParseRequest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", safe(path), err)
	}
	return req, nil
}

// reqReadLine reads one line, a byte at a time so that nothing after it
// is taken from r.
func reqReadLine(r io.Reader) (string, error) {
	var line []byte
	var c [1]byte
	for len(line) < 1024 {
		n, err := r.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				break
			}
			line = append(line, c[0])
			continue
		}
		if err != nil {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				break
			}
			return string(line), err
		}
	}
	return strings.TrimSpace(string(line)), nil
}

// previousNote says how the review of req compares the bytes with the
// role's previous version: verified under the root the signer pins with
// rootFile, carried by the request but not verified, or not at hand. A
// previous version that does not verify under the pinned root is refused.
func previousNote(req *ceremony.Request, rootFile string) (string, error) {
	rv := req.Review()
	unverified := func() string {
		switch {
		case rv.Previous > 0:
			return fmt.Sprintf("Compared with v%d as the request carries it, NOT verified: give --root FILE, the repository's root you trust, to verify it.", rv.Previous)
		case req.Version == 1:
			return "New in this ceremony: there is no previous version to compare with."
		}
		return "The request carries no previous version: what changes cannot be shown, only what the bytes hold."
	}
	if rootFile == "" {
		return unverified(), nil
	}
	b, err := boundedfile.Read(rootFile, boundedfile.Metadata)
	if err != nil {
		return "", err
	}
	pinned, err := req.VerifyPrevious(b)
	switch {
	case errors.Is(err, ceremony.ErrNoPrevious):
		return unverified() + fmt.Sprintf(" (Nothing to verify under your pinned root v%d.)", pinned), nil
	case err != nil:
		return "", fmt.Errorf("%s: %w; nothing was signed", safe(rootFile), err)
	}
	return fmt.Sprintf("Compared with v%d, verified under your pinned root v%d.", rv.Previous, pinned), nil
}

// printRequestReview shows what a signing request asks, in the order a
// signer must read it: what this tool reads from the bytes to sign (and
// from the previous version, as note says), then the requester's own
// words, set apart, then the digest computed here from the bytes, last,
// right above the "yes" prompt.
func printRequestReview(w io.Writer, path string, req *ceremony.Request, note, who string) {
	rv := req.Review()
	fmt.Fprintf(w, "Signing request %s\n", safe(path))
	fmt.Fprintf(w, "  for ceremony %s, whose transcript head was %s when it was made\n", safe(req.Ceremony), req.TranscriptHead)
	fmt.Fprintf(w, "  to be signed with %s\n", who)
	fmt.Fprintf(w, "\nWhat the bytes to sign say, read from them by this tool:\n")
	printSummary(w, "  ", append([]string{rv.Head}, rv.Holds...))
	fmt.Fprintf(w, "\n%s\n", note)
	if len(rv.Changes) == 0 && rv.Previous > 0 {
		fmt.Fprintln(w, "  nothing changes but the version and expiry")
	}
	printSummary(w, "  ", rv.Changes)
	printSummary(w, "  ", rv.ProjectLines(ceremony.ReviewProjectLines))
	fmt.Fprintf(w, "\nThe requester says (their words, not checked by this tool):\n")
	printSummary(w, "  | ", req.Claims())
	fmt.Fprintln(w)
	printDigest(w, fmt.Sprintf("%s v%d", safe(req.Role), req.Version), req.Signed)
}

// signRequestFile is `ceremony sign REQUEST --key URI --out RESPONSE`: an
// air-gapped signer's side, with no workspace. It reads and checks the
// request (and, with rootFile, verifies the previous version it carries
// under that pinned root); finds the key by its public half and refuses
// one the request does not list, before any PIN is asked; shows the
// review, the digest last; asks the signer to type "yes"; only then logs
// in to the device (the PIN), signs, verifies, and writes the response
// atomically. It never overwrites a file.
func signRequestFile(ctx context.Context, e *env, request, keyURI, out, rootFile string, auth hsm.Auth) error {
	if out == "" {
		return usageErrorf("name the response file to write with --out, e.g. --out /media/usb/alice-root.response.json")
	}
	if keyURI == "" {
		return usageErrorf("name the key to sign with with --key URI (see 'ceremony devices')")
	}
	b, err := reqReadFile(request, "request")
	if err != nil {
		return err
	}
	if ceremony.IsCheckpointFile(b) {
		return signCheckpointRequestFile(ctx, e, b, request, keyURI, out, auth)
	}
	req, err := ceremony.ParseRequest(b)
	if err != nil {
		return fmt.Errorf("%s: %w", safe(request), err)
	}
	if err := reqRefuseExisting(out); err != nil {
		return err
	}
	note, err := previousNote(req, rootFile)
	if err != nil {
		return err
	}
	key, tk, err := lookupKey(ctx, keyURI)
	if err != nil {
		return err
	}
	id := tk.ID()
	if req.Signer(id) == nil {
		return fmt.Errorf("%w: the key the URI names (keyid %s, on %s) is none of the keys that may sign %s v%d: check you plugged in the right device and gave the right key URI; nothing was signed",
			ceremony.ErrUntrustedKey, id[:16], safe(key.Device.String()), safe(req.Role), req.Version)
	}
	printRequestReview(e.stdout, request, req, note, fmt.Sprintf("key %s on %s", id[:16], safe(key.Device.String())))
	if err := confirmYes(e, "Compare the digest with the one read out in the ceremony.", fmt.Sprintf("%s v%d", safe(req.Role), req.Version)); err != nil {
		return err
	}

	dev, err := writeResponse(ctx, keyURI, tk, auth, out, func(signer hsm.Signer, dev *hsm.Device) ([]byte, error) {
		resp, err := ceremony.SignRequest(req, signer, dev)
		if err != nil {
			return nil, err
		}
		return resp.Marshal()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Signed %s v%d with key %s on %s.\nWrote %s: carry it back to the ceremony for 'ceremony collect'.\n", safe(req.Role), req.Version, id[:16], safe(dev.String()), safe(out))
	return nil
}

// writeResponse opens the key the URI names, which asks for the PIN and
// must still be the key reviewed, has sign make the response with it,
// and writes the response to out atomically, never over a file. It
// returns the device that signed.
func writeResponse(ctx context.Context, keyURI string, tk *roles.Key, auth hsm.Auth, out string, sign func(hsm.Signer, *hsm.Device) ([]byte, error)) (hsm.Device, error) {
	signer, err := openLookedUp(ctx, keyURI, tk, auth)
	if err != nil {
		return hsm.Device{}, err
	}
	defer signer.Close()
	dev := signer.Key().Device
	b, err := sign(signer, &dev)
	if err != nil {
		return dev, err
	}
	if err := reqRefuseExisting(out); err != nil {
		return dev, err
	}
	if err := ceremony.WriteFileAtomic(out, b, 0o644); err != nil {
		return dev, exitcode.Mark(exitcode.ErrInput, err)
	}
	return dev, nil
}

// confirmYes asks the signer, after the review, to type "yes" to sign
// what (escaped by the caller); any other answer declines.
func confirmYes(e *env, compare, what string) error {
	err := askYes(e.stdout, e.stdin, fmt.Sprintf("\n%s Type yes to sign %s: ", compare, what))
	fmt.Fprintln(e.stdout)
	return err
}

// reqRefuseExisting refuses an output path that already exists.
func reqRefuseExisting(out string) error {
	if _, err := os.Lstat(out); err == nil {
		return exitcode.Errorf(ceremony.ErrConflict, "%s already exists: ceremony never overwrites a file; name another file with --out", safe(out))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return exitcode.Errorf(exitcode.ErrInput, "check %s: %w", safe(out), err)
	}
	return nil
}
