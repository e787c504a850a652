package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
)

// collectJSON is the --json form of 'ceremony collect'.
type collectJSON struct {
	Collected []collected         `json:"collected"`
	Progress  []ceremony.Progress `json:"progress"`
	Done      bool                `json:"done"`
}

type collected struct {
	File    string `json:"file"`
	Role    string `json:"role"`
	Version int64  `json:"version"`
	KeyID   string `json:"keyid"`
	// Signer is the participant whose key made the signature.
	Signer string `json:"signer"`
	// ClaimedDevice is the device the response says signed: the signer's
	// claim, not verified.
	ClaimedDevice *hsm.Device `json:"device_claimed_by_signer,omitempty"`
}

type collectOptions struct {
	workspace *string
	json      *bool
}

func collectFlags(fs *flag.FlagSet) *collectOptions {
	return &collectOptions{
		workspace: workspaceFlags(fs),
		json:      fs.Bool("json", false, "print what was collected and the threshold progress as JSON"),
	}
}

// runCollect is 'ceremony collect RESPONSE...'.
func runCollect(ctx context.Context, e *env, o *collectOptions, args []string) error {
	if len(args) == 0 {
		return usageErrorf("name the response files to collect, e.g. ceremony collect /media/usb/*.response.json")
	}
	if b, err := reqReadFile(args[0], "response"); err == nil && ceremony.IsCheckpointFile(b) {
		return collectCheckpoint(e, *o.workspace, *o.json, args)
	}
	// Parse every file before the workspace is touched.
	resps := make([]*ceremony.Response, len(args))
	for i, path := range args {
		b, err := reqReadFile(path, "response")
		if err != nil {
			return err
		}
		if resps[i], err = ceremony.ParseResponse(b); err != nil {
			return fmt.Errorf("%s: %w", safe(path), err)
		}
	}
	eng, err := openWorkspace(*o.workspace)
	if err != nil {
		return err
	}
	defer eng.Release()
	// Check them all before recording any: one bad response
	// leaves the transcript as it was.
	seen := map[string]string{}
	for i, r := range resps {
		if err := eng.CheckResponse(r); err != nil {
			return fmt.Errorf("%s: %w", safe(args[i]), err)
		}
		k := r.Role + " " + r.KeyID
		if prev, dup := seen[k]; dup {
			return fmt.Errorf("%s: %w: %s holds a signature over %s by the same key %s; give one of them", safe(args[i]), ceremony.ErrDuplicate, safe(prev), r.Role, r.KeyID[:8])
		}
		seen[k] = args[i]
	}
	rep := collectJSON{Collected: []collected{}}
	for i, r := range resps {
		if err := eng.Collect(r); err != nil {
			return fmt.Errorf("%s: %w", safe(args[i]), err)
		}
		// Who signed is who the ceremony recorded: the key's holder.
		sigs := eng.State().Role(r.Role).Signatures
		rec := sigs[slices.IndexFunc(sigs, func(s ceremony.SignatureRecord) bool { return s.KeyID == r.KeyID })]
		rep.Collected = append(rep.Collected, collected{File: args[i], Role: r.Role, Version: r.Version, KeyID: r.KeyID, Signer: rec.Signer, ClaimedDevice: rec.ClaimedDevice})
	}
	st := eng.State()
	rep.Progress, rep.Done = st.Progress(), st.Done()
	if rep.Progress == nil {
		rep.Progress = []ceremony.Progress{}
	}
	if *o.json {
		return writeJSON(e.stdout, rep)
	}
	for _, c := range rep.Collected {
		fmt.Fprintf(e.stdout, "collected %s's signature over %s v%d (%s)\n", safe(c.Signer), safe(c.Role), c.Version, safe(c.File))
		if c.ClaimedDevice != nil {
			fmt.Fprintf(e.stdout, "  the device, as the signer's response claims (not verified): %s\n", safe(c.ClaimedDevice.String()))
		}
	}
	fmt.Fprintln(e.stdout, "\nThresholds:")
	for _, p := range rep.Progress {
		mark := "missing"
		if p.Reached {
			mark = "reached"
		}
		fmt.Fprintf(e.stdout, "  %-20s under %-12s %d of %d  %s  signed: %s\n", safe(p.Role), safe(p.Under), len(p.Signed), p.Threshold, mark, strings.Join(safeAll(p.Signed), ", "))
	}
	if rep.Done {
		fmt.Fprintln(e.stdout, "\nEvery threshold is reached: the ceremony can publish.")
	}
	return nil
}
