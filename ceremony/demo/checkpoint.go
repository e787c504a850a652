package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/roles"
)

// signCheckpoint has the ceremony's signers sign its checkpoint once it
// is closed, with the same keys they signed the metadata with: those in
// the room on their tokens (ceremony.SignCheckpoint, as 'ceremony sign'
// does in a closed ceremony), the air-gapped ones through a checkpoint
// request and response (as 'ceremony request export', 'ceremony sign
// REQUEST' and 'ceremony collect' do). A signer whose key the checkpoint
// does not need, or needs no more, is passed over. The checkpoint must
// then reach every threshold.
func (d *run) signCheckpoint(ctx context.Context, e *ceremony.Engine, c *Ceremony, devices, airGapped []string) error {
	cp := e.State().Checkpoint
	c.CheckpointHead = cp.Head
	d.logf("Checkpoint: the signers sign the head of the close (event %d), %s…, in a %q document:\n", cp.Seq, cp.Head.String()[:16], ceremony.CheckpointType)
	for _, name := range devices {
		if e.State().Checkpointed() {
			break
		}
		if h := d.holders[name]; h == nil || e.State().CheckpointToSign(h.key.ID()) != nil {
			continue
		}
		s, h, err := d.open(ctx, name)
		if err != nil {
			return err
		}
		dev := s.Key().Device
		err = e.SignCheckpoint(s, &dev)
		s.Close()
		if err != nil {
			return fmt.Errorf("%s signs the checkpoint of %s: %w", name, c.ID, err)
		}
		d.logf("  %-14s signed it with key %s on %s\n", name, roles.ShortID(h.key.ID()), dev)
	}
	if len(airGapped) > 0 {
		path, err := e.ExportCheckpointRequest(filepath.Join(d.dirs.requests, c.ID))
		if err != nil {
			return fmt.Errorf("export the checkpoint request of %s: %w", c.ID, err)
		}
		for _, name := range airGapped {
			if err := d.signCheckpointAirGapped(ctx, e, name, path); err != nil {
				return err
			}
		}
	}
	st := e.State()
	if !st.Checkpointed() {
		var missing []string
		for _, p := range st.CheckpointProgress() {
			if !p.Reached {
				missing = append(missing, p.Role+" under "+p.Under)
			}
		}
		return fmt.Errorf("the checkpoint of %s lacks signatures: %s", c.ID, strings.Join(missing, ", "))
	}
	for _, s := range st.Checkpoint.Signatures {
		c.CheckpointSigners = append(c.CheckpointSigners, d.name(s.Signer)+" via "+s.Via)
	}
	return nil
}

// signCheckpointAirGapped has name sign the checkpoint request at path
// on their own machine, with no workspace, and the response collected.
func (d *run) signCheckpointAirGapped(ctx context.Context, e *ceremony.Engine, name, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	req, err := ceremony.ParseCheckpointRequest(b)
	if err != nil {
		return fmt.Errorf("%s reads %s: %w", name, path, err)
	}
	s, h, err := d.open(ctx, name)
	if err != nil {
		return err
	}
	defer s.Close()
	if req.Signer(h.key.ID()) == nil || e.State().CheckpointToSign(h.key.ID()) != nil {
		return nil
	}
	dev := s.Key().Device
	resp, err := ceremony.SignCheckpointRequest(req, s, &dev)
	if err != nil {
		return fmt.Errorf("%s signs %s: %w", name, path, err)
	}
	rpath, back, err := carryBack(path, name, resp)
	if err != nil {
		return err
	}
	got, err := ceremony.ParseCheckpointResponse(back)
	if err == nil {
		err = e.CollectCheckpoint(got)
	}
	if err != nil {
		return fmt.Errorf("collect %s's checkpoint response %s: %w", name, rpath, err)
	}
	d.logf("  %-14s air-gapped: signed checkpoint request %s with key %s on %s; response %s collected\n", name, filepath.Base(path), roles.ShortID(h.key.ID()), dev, filepath.Base(rpath))
	return nil
}

// carryBack writes name's response to the request at path beside it, as
// the signer's machine does, and reads it back, as the room does; it
// returns the response file's path and bytes.
func carryBack(path, name string, resp interface{ Marshal() ([]byte, error) }) (string, []byte, error) {
	out, err := resp.Marshal()
	if err != nil {
		return "", nil, err
	}
	rpath := strings.TrimSuffix(path, ".request.json") + "." + name + ".response.json"
	if err := ceremony.WriteFileAtomic(rpath, out, 0o644); err != nil {
		return "", nil, err
	}
	back, err := os.ReadFile(rpath)
	return rpath, back, err
}
