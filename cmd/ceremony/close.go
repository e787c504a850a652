package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

const closeHelp = `Records the end of the ceremony; afterwards nothing but the checkpoint's
signatures can be added. Prints the transcript's head digest in hex and PGP
words, for witnesses to write down ('ceremony transcript verify --head'
checks a transcript against it), and the checkpoint the participants now
sign: a document of its own type ("_type": "ceremony-checkpoint", the
ceremony's id, the sequence number of the close and the head), so that a
rewritten history is caught without a witness ('ceremony transcript
verify --root'). For every role the ceremony signed, a threshold of the
keys its delegation trusts (for a new root, the old root's and its own)
signs it, with the same devices as the metadata, and every participant
the plan's checkpoint_signers names:

  in the room:   ceremony sign --key URI     (review, "yes", then the PIN)
  air-gapped:    ceremony request export --out DIR, then 'ceremony sign
                 REQUEST --key URI --out RESPONSE' on the signer's machine,
                 then 'ceremony collect RESPONSE'

'ceremony status' shows who has signed the checkpoint and who is missing.

A ceremony that has not published is refused (abort it instead, if it
will not go on), as is one already closed or aborted (exit status 8);
nothing is recorded then.

Example:
  ceremony close --workspace ws-2026-q4`

// runClose is 'ceremony close'.
func runClose(ctx context.Context, e *env, o *workspaceJSONOptions, args []string) error {
	eng, err := openWorkspace(*o.workspace)
	if err != nil {
		return err
	}
	defer eng.Release()
	if err := eng.End(); err != nil {
		return err
	}
	if err := printHead(e, eng, *o.json); err != nil || *o.json {
		return err
	}
	st := eng.State()
	fmt.Fprintln(e.stdout)
	printCheckpointReview(e.stdout, st)
	printCheckpointProgress(e.stdout, st)
	return nil
}

// printHead prints the transcript's head for the witnesses, in hex and in
// PGP words.
func printHead(e *env, eng *ceremony.Engine, asJSON bool) error {
	h := eng.Head()
	if asJSON {
		return writeJSON(e.stdout, map[string]string{"head": h.String(), "head_words": h.Words()})
	}
	fmt.Fprintf(e.stdout, "transcript head: %s\nin words: %s\n", h, h.Words())
	return nil
}

// printCheckpointReview shows what a checkpoint signature covers: the
// events up to the close, the roles the ceremony published, and, last,
// the head in hex and PGP words, to compare with the one the witnesses
// wrote down.
func printCheckpointReview(w io.Writer, st *ceremony.State) {
	cp := st.Checkpoint
	fmt.Fprintf(w, "Checkpoint of ceremony %s: the transcript's events 1 to %d, up to and including its close.\n", safe(cp.Ceremony), cp.Seq)
	var published []string
	for _, r := range st.Roles {
		published = append(published, fmt.Sprintf("%s v%d", safe(r.Role), r.Version))
	}
	fmt.Fprintf(w, "  published: %s\n", listOrNone(published))
	printHexWords(w, "head", "in words", cp.Head[:])
}

// printWitnessHeads shows, for a closed ceremony, the head the witnesses
// wrote down at the close, which the checkpoint signs, and then the
// transcript's last head, labelled, once checkpoint signatures follow.
func printWitnessHeads(w io.Writer, st *ceremony.State, last transcripts.Digest) {
	cp := st.Checkpoint
	if cp == nil {
		return
	}
	fmt.Fprintf(w, "\nHead of the close (event %d), which the witnesses wrote down and the checkpoint signs:\n", cp.Seq)
	printHexWords(w, "head", "in words", cp.Head[:])
	if last != cp.Head {
		fmt.Fprintf(w, "The transcript's last head, after the checkpoint's signatures: %s ('transcript verify --head' accepts either).\n", last)
	}
}

// printCheckpointProgress shows, once the ceremony is closed, who has
// signed the checkpoint under each threshold it needs, and what is next.
func printCheckpointProgress(w io.Writer, st *ceremony.State) {
	if st.Checkpoint == nil {
		return
	}
	fmt.Fprintln(w, "\nCheckpoint thresholds:")
	printThresholds(w, st.CheckpointProgress())
	if st.Checkpointed() {
		fmt.Fprintln(w, "The checkpoint is signed: 'ceremony transcript verify --root' checks this history from the root you trust.")
		return
	}
	fmt.Fprintln(w, "Each signer still needed signs the checkpoint: 'ceremony sign --key URI' here, or through 'ceremony request export' and 'ceremony collect'.")
}

// printThresholds prints one line per threshold: who signed, who may
// still.
func printThresholds(w io.Writer, ps []ceremony.Progress) {
	for _, p := range ps {
		mark := "missing"
		if p.Reached {
			mark = "reached"
		}
		fmt.Fprintf(w, "  %-18s under %-12s %d of %d needed, %s; signed: %s; may still sign: %s\n",
			safe(p.Role), safe(p.Under), len(p.Signed), p.Threshold, mark, listOrNone(safeAll(p.Signed)), listOrNone(safeAll(p.Missing)))
	}
}

// signingFor returns how 'ceremony sign' and the plain TUI review and
// sign with a key in the room: the staged roles, or once the ceremony is
// closed, its checkpoint. The order is the same: the review, "yes", then
// the PIN.
func signingFor(st *ceremony.State) (
	review func(ctx context.Context, w io.Writer, eng *ceremony.Engine, uri string) (*roles.Key, string, error),
	sign func(e *env, eng *ceremony.Engine, signer hsm.Signer) error,
) {
	if st.Checkpoint != nil {
		return reviewCheckpoint, signCheckpointWith
	}
	return reviewToSign, signWith
}

// reviewCheckpoint refuses first: the key the URI names, found without a
// PIN, must be one the checkpoint still needs. Then it shows what the
// checkpoint covers, the head last, and says who signs, for the prompt.
func reviewCheckpoint(ctx context.Context, w io.Writer, eng *ceremony.Engine, uri string) (*roles.Key, string, error) {
	key, tk, err := lookupKey(ctx, uri)
	if err != nil {
		return nil, "", err
	}
	st := eng.State()
	if err := st.CheckpointToSign(tk.ID()); err != nil {
		return nil, "", err
	}
	who := fmt.Sprintf("key %s on %s", tk.ID()[:16], safe(key.Device.String()))
	fmt.Fprintf(w, "Signing the checkpoint with %s.\n", who)
	printCheckpointReview(w, st)
	return tk, who, nil
}

// signCheckpointWith signs the checkpoint with signer, and prints who
// has signed it and who is still needed.
func signCheckpointWith(e *env, eng *ceremony.Engine, signer hsm.Signer) error {
	dev := signer.Key().Device
	if err := eng.SignCheckpoint(signer, &dev); err != nil {
		return err
	}
	k, err := roles.KeyFromPublic(signer.Public())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "signed the checkpoint with key %s, verified\n", k.ID()[:8])
	printCheckpointProgress(e.stdout, eng.State())
	return nil
}

// signCheckpointRequestFile is 'ceremony sign REQUEST' for a checkpoint
// request, on the air-gapped signer's machine: the checkpoint read from
// the bytes to sign (the head last, to compare with the one read out),
// the requester's words apart; a key the request does not list refused
// before any PIN; "yes", then the PIN; the response written atomically,
// never over a file.
func signCheckpointRequestFile(ctx context.Context, e *env, b []byte, request, keyURI, out string, auth hsm.Auth) error {
	req, err := ceremony.ParseCheckpointRequest(b)
	if err != nil {
		return fmt.Errorf("%s: %w", safe(request), err)
	}
	if err := reqRefuseExisting(out); err != nil {
		return err
	}
	key, tk, err := lookupKey(ctx, keyURI)
	if err != nil {
		return err
	}
	id := tk.ID()
	if req.Signer(id) == nil {
		return fmt.Errorf("%w: the key the URI names (keyid %s, on %s) is none of the keys that may sign the checkpoint of %s: check you plugged in the right device and gave the right key URI; nothing was signed",
			ceremony.ErrUntrustedKey, id[:16], safe(key.Device.String()), safe(req.Ceremony))
	}
	fmt.Fprintf(e.stdout, "Checkpoint request %s, to sign with key %s on %s.\n", safe(request), id[:16], safe(key.Device.String()))
	fmt.Fprintln(e.stdout, "What the request says (the requester's words, not checked here):")
	for _, c := range req.Claims() {
		fmt.Fprintf(e.stdout, "  %s\n", c)
	}
	cp := req.Checkpoint()
	fmt.Fprintln(e.stdout, "\nWhat you sign, read from its bytes:")
	fmt.Fprintf(e.stdout, "Checkpoint of ceremony %s: the transcript's events 1 to %d, up to and including its close.\n", safe(cp.Ceremony), cp.Seq)
	printHexWords(e.stdout, "head", "in words", cp.Head[:])
	if err := confirm(e, "sign this checkpoint (compare the head with the one read out in the ceremony)"); err != nil {
		return err
	}
	dev, err := writeResponse(ctx, keyURI, tk, auth, out, func(signer hsm.Signer, dev *hsm.Device) ([]byte, error) {
		resp, err := ceremony.SignCheckpointRequest(req, signer, dev)
		if err != nil {
			return nil, err
		}
		return resp.Marshal()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Signed the checkpoint of %s with key %s on %s.\nWrote %s: carry it back to the ceremony for 'ceremony collect'.\n", safe(req.Ceremony), id[:16], safe(dev.String()), safe(out))
	return nil
}

// exportCheckpointRequest is 'ceremony request export' in a closed
// ceremony: it writes the checkpoint's request.
func exportCheckpointRequest(e *env, eng *ceremony.Engine, dir string, asJSON bool) error {
	path, err := eng.ExportCheckpointRequest(dir)
	if err != nil {
		return err
	}
	cp := eng.State().Checkpoint
	if asJSON {
		return writeJSON(e.stdout, map[string]any{"checkpoint_request": path, "seq": cp.Seq, "head": cp.Head.String()})
	}
	fmt.Fprintf(e.stdout, "Wrote the checkpoint request %s (head %s). Each signer runs:\n  ceremony sign REQUEST --key URI --out RESPONSE\n", safe(path), cp.Head)
	return nil
}

// collectCheckpoint is 'ceremony collect' given checkpoint responses:
// every one is parsed and checked before any is recorded.
func collectCheckpoint(e *env, workspace string, asJSON bool, args []string) error {
	resps := make([]*ceremony.CheckpointResponse, len(args))
	for i, path := range args {
		b, err := reqReadFile(path, "response")
		if err != nil {
			return err
		}
		if !ceremony.IsCheckpointFile(b) {
			return usageErrorf("%s is not a checkpoint response: collect checkpoint responses apart from signing responses", safe(path))
		}
		if resps[i], err = ceremony.ParseCheckpointResponse(b); err != nil {
			return fmt.Errorf("%s: %w", safe(path), err)
		}
	}
	eng, err := openWorkspace(workspace)
	if err != nil {
		return err
	}
	defer eng.Release()
	seen := map[string]string{}
	for i, r := range resps {
		if err := eng.CheckCheckpointResponse(r); err != nil {
			return fmt.Errorf("%s: %w", safe(args[i]), err)
		}
		if prev, dup := seen[r.KeyID]; dup {
			return fmt.Errorf("%s: %w: %s holds a checkpoint signature by the same key %s; give one of them", safe(args[i]), ceremony.ErrDuplicate, safe(prev), r.KeyID[:8])
		}
		seen[r.KeyID] = args[i]
	}
	for i, r := range resps {
		if err := eng.CollectCheckpoint(r); err != nil {
			return fmt.Errorf("%s: %w", safe(args[i]), err)
		}
	}
	st := eng.State()
	if asJSON {
		return writeJSON(e.stdout, map[string]any{"collected": len(resps), "checkpoint_thresholds": st.CheckpointProgress(), "checkpointed": st.Checkpointed()})
	}
	for i, r := range resps {
		fmt.Fprintf(e.stdout, "collected the checkpoint signature by key %s (%s)\n", r.KeyID[:8], safe(args[i]))
	}
	printCheckpointProgress(e.stdout, st)
	return nil
}
