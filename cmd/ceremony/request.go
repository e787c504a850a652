package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
)

const requestExportHelp = `Writes a self-contained signing request for every staged offline role that
has not reached its thresholds yet, one file per role, named
CEREMONY-ROLE-vVERSION.request.json, into the folder --out names (created
if missing): what the role is, the plain-words summary of what changes, the
policy checks it passed, the canonical bytes to sign, their SHA-256, and
the keys that may sign with who holds them. Carry the folder to the
air-gapped signers; each runs 'ceremony sign REQUEST --key URI --out
RESPONSE' on their own machine, with no workspace, and brings the response
back for 'ceremony collect'. docs/FORMATS.md specifies the format.

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
not signed that role yet. Every response given is checked before any is
recorded: if one is refused, none is taken and nothing on disk changes.
Afterwards the threshold progress of every role is shown.

Exit status 3 means that a response file is malformed, truncated or was
changed (its signature does not verify), or there is no ceremony in the
workspace; 4 that a response is for another ceremony, for another version
or other bytes of the role, or by a key the role does not trust; 6 that a
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
			return fmt.Errorf("the request just written to %s does not read back: %w", p, err)
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
		fmt.Fprintf(e.stdout, "%s v%d  sha256 %s\n  %s\n  may sign: %s\n", x.Role, x.Version, x.Digest, x.Path, strings.Join(x.Signers, ", "))
	}
	fmt.Fprintf(e.stdout, "Wrote %d signing request(s) into %s. Each signer runs:\n  ceremony sign REQUEST --key URI --out RESPONSE\n", len(rep.Requests), *o.out)
	return nil
}

// reqWho names a signer for people: "alice (YubiKey 5 #123)" or the
// keyid's first 8 hex digits.
func reqWho(s ceremony.RequestSigner) string {
	who := s.Name
	if who == "" {
		who = s.KeyID[:8]
	} else {
		who += " (key " + s.KeyID[:8]
		if s.Device != "" {
			who += ", " + s.Device
		}
		who += ")"
	}
	return who
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
		return nil, exitcode.Errorf(exitcode.ErrInput, "read the %s %s: %w", what, path, err)
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
		return nil, fmt.Errorf("%s: %w", path, err)
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

// reqPrintRequest shows what a signer is asked to sign.
func reqPrintRequest(w io.Writer, path string, req *ceremony.Request) {
	raw, _ := hex.DecodeString(req.Digest)
	fmt.Fprintf(w, "Signing request %s\n\n", path)
	fmt.Fprintf(w, "ceremony   %s\n", req.Ceremony)
	fmt.Fprintf(w, "role       %s, version %d\n", req.Role, req.Version)
	fmt.Fprintf(w, "\nWhat changes:\n")
	for _, s := range req.Summary {
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintf(w, "\nPolicy checks passed:\n")
	if len(req.ChecksPassed) == 0 {
		fmt.Fprintf(w, "  (none recorded)\n")
	}
	for _, c := range req.ChecksPassed {
		fmt.Fprintf(w, "  %s\n", c)
	}
	fmt.Fprintf(w, "\nThresholds:\n")
	for _, t := range req.Thresholds {
		fmt.Fprintf(w, "  under %s: %d of %d keys\n", t.Under, t.Threshold, len(t.KeyIDs))
	}
	fmt.Fprintf(w, "\nKeys that may sign:\n")
	for _, s := range req.Signers {
		fmt.Fprintf(w, "  %s\n", reqWho(s))
	}
	fmt.Fprintf(w, "\nSHA-256 of the %d bytes to sign, to compare with the one read out in the ceremony:\n", len(req.Signed))
	fmt.Fprintf(w, "  hex        %s\n", req.Digest)
	words := pgpwords.Encode(raw)
	for i := 0; i < len(words); i += 8 {
		label := "           "
		if i == 0 {
			label = "pgp words  "
		}
		fmt.Fprintf(w, "  %s%s\n", label, strings.Join(words[i:min(i+8, len(words))], " "))
	}
}

// signRequestFile is `ceremony sign REQUEST --key URI --out RESPONSE`: an
// air-gapped signer's side, with no workspace. It reads and checks the
// request, shows what it asks in plain words with the digest in hex and
// PGP words, refuses a key the request does not list (before any PIN is
// asked when the device shows its public keys without one), asks the
// signer to type "yes", signs, verifies, and writes the response
// atomically. It never overwrites a file.
func signRequestFile(ctx context.Context, e *env, request, keyURI, out string, auth hsm.Auth) error {
	if out == "" {
		return usageErrorf("name the response file to write with --out, e.g. --out /media/usb/alice-root.response.json")
	}
	if keyURI == "" {
		return usageErrorf("name the key to sign with with --key URI (see 'ceremony devices')")
	}
	req, err := readRequest(request)
	if err != nil {
		return err
	}
	if err := reqRefuseExisting(out); err != nil {
		return err
	}
	reqPrintRequest(e.stdout, request, req)

	// Learn the key from its public half first: a wrong device is refused
	// before a PIN try is spent.
	backend, err := hsm.BackendFor(keyURI)
	if err != nil {
		return err
	}
	keys, err := backend.Keys(ctx, keyURI, hsm.Auth{})
	if err != nil {
		return err
	}
	if len(keys) == 1 {
		tk, err := tufKey(keys[0])
		if err != nil {
			return err
		}
		id := tk.ID()
		if req.Signer(id) == nil {
			return fmt.Errorf("%w: the key %s names (keyid %s, on %s) is none of the keys that may sign %s v%d: check you plugged in the right device and gave the right key URI; nothing was signed",
				ceremony.ErrUntrustedKey, keyURI, id[:8], keys[0].Device, req.Role, req.Version)
		}
		fmt.Fprintf(e.stdout, "\nSigning with %s on %s.\n", reqWho(*req.Signer(id)), keys[0].Device)
	}

	fmt.Fprintf(e.stdout, "\nCompare the digest with the one read out in the ceremony. Type yes to sign %s v%d: ", req.Role, req.Version)
	answer, err := reqReadLine(e.stdin)
	fmt.Fprintln(e.stdout)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the answer: %w", err)
	}
	if !strings.EqualFold(answer, "yes") {
		return exitcode.Errorf(exitcode.ErrDeclined, "not signed: the answer was %q, not \"yes\"; nothing was signed or written", answer)
	}

	signer, err := hsm.Open(ctx, keyURI, auth)
	if err != nil {
		return err
	}
	defer signer.Close()
	dev := signer.Key().Device
	resp, err := ceremony.SignRequest(req, signer, &dev)
	if err != nil {
		return err
	}
	rb, err := resp.Marshal()
	if err != nil {
		return err
	}
	if err := reqRefuseExisting(out); err != nil {
		return err
	}
	if err := ceremony.WriteFileAtomic(out, rb, 0o644); err != nil {
		return exitcode.Mark(exitcode.ErrInput, err)
	}
	fmt.Fprintf(e.stdout, "Signed %s v%d with key %s on %s.\nWrote %s: carry it back to the ceremony for 'ceremony collect'.\n", req.Role, req.Version, resp.KeyID[:8], dev, out)
	return nil
}

// reqRefuseExisting refuses an output path that already exists.
func reqRefuseExisting(out string) error {
	if _, err := os.Lstat(out); err == nil {
		return exitcode.Errorf(ceremony.ErrConflict, "%s already exists: ceremony never overwrites a file; name another response file with --out", out)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return exitcode.Errorf(exitcode.ErrInput, "check %s: %w", out, err)
	}
	return nil
}
