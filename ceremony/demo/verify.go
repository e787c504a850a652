package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/ceremony/report"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
	"github.com/ceremony-tuf/ceremony/repoverify"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// verify checks the published repository from the pinned root v1 twice:
// ceremony.LoadRepo, which the next ceremony starts from (the root chain,
// timestamp, snapshot, targets, claimed and the revocation list, each
// under its delegator's keys and threshold), and repoverify.Verify
// as of now, as a client would and more strictly: every delegated role
// reachable from targets (the projects and the unclaimed bins included),
// listed in snapshot with its length and hashes, signed by a threshold of
// distinct keys, not expired, and no revoked key trusted.
func (d *run) verify(root1 []byte) (*ceremony.Repo, error) {
	repo, err := ceremony.LoadRepo(d.dirs.metadata, root1)
	if err != nil {
		return nil, fmt.Errorf("the published repository does not load from %s: %w", d.res.TrustedRoot, err)
	}
	rep, err := repoverify.Verify(d.dirs.metadata, root1, time.Now())
	if err != nil {
		return nil, fmt.Errorf("the published repository does not verify from %s: %w", d.res.TrustedRoot, err)
	}
	dl := repo.Claimed.Signed.Delegations
	projects := 0
	if dl != nil {
		projects = len(dl.Roles)
	}
	d.logf("Verified %s from the pinned root v1 as of now: root v%d, timestamp v%d, snapshot v%d (%d files listed), targets v%d, claimed v%d (%d projects), revocations v%d (%d revoked keys); %d roles reached from targets, %d checks passed.\n",
		d.dirs.metadata, repo.Root.Signed.Version, repo.Timestamp.Signed.Version, repo.SnapshotEntries.Version(), repo.SnapshotEntries.Len(),
		repo.Targets.Signed.Version, repo.Claimed.Signed.Version, projects, repo.Revocations.Signed.Version, len(repo.Revocations.Signed.Revoked),
		len(rep.Roles), len(rep.Checks))
	return repo, nil
}

// replay checks a ceremony's transcript as an auditor would: its hash
// chain and artifacts, against the head witnesses wrote down at the
// close (only checkpoint signatures follow it), then
// ceremony.Replay, which folds its events with the engine's own code
// (re-deriving every staged role, re-verifying every signature and
// rerunning every policy check) and compares every file the fold
// produces with the one in metadata/, byte for byte; and its checkpoint
// is signed by the keys the pinned root v1 trusts (VerifySigned).
func (d *run) replay(c *Ceremony) error {
	rep, err := transcripts.VerifyWith(c.Transcript, transcripts.VerifyOptions{Head: c.CheckpointHead.String(), After: ceremony.AfterClose()})
	if err != nil {
		return fmt.Errorf("transcript of %s does not verify: %w", c.ID, err)
	}
	rr, err := ceremony.Replay(c.Transcript, d.dirs.metadata)
	if err != nil {
		return fmt.Errorf("replay of %s: %w", c.ID, err)
	}
	// Its history is signed by the keys the pinned root v1 trusts.
	root1, err := os.ReadFile(d.res.TrustedRoot)
	if err != nil {
		return err
	}
	if _, err := ceremony.VerifySigned(c.Transcript, root1); err != nil {
		return fmt.Errorf("checkpoint of %s: %w", c.ID, err)
	}
	same, superseded := 0, []string{}
	for _, f := range rr.Files {
		switch {
		case f.OnDisk == "same":
			same++
		case strings.HasSuffix(f.OnDisk, "(superseded)"):
			superseded = append(superseded, f.Name)
		}
	}
	d.logf("  %s: %d events and %d artifacts verified, against the witnesses' head %s… (the close's; %d checkpoint signatures follow it); the fold reproduces %d roles and %d signatures, %d published files are on disk byte for byte, and its checkpoint is signed under root v1",
		c.ID, rep.Events, rep.Artifacts, c.CheckpointHead.String()[:16], rep.Witnessed.Following, rr.Roles, rr.Signatures, same)
	if len(superseded) > 0 {
		d.logf(" (%s since moved on by the next ceremony)", strings.Join(superseded, ", "))
	}
	d.logf("\n")
	return nil
}

// report writes the ceremony's audit report, from its transcript alone,
// into reports/ID: what an auditor gets from 'ceremony transcript report'.
func (d *run) report(c *Ceremony) error {
	s, err := report.Build(c.Transcript, report.Options{Generator: "ceremony " + d.opts.Tool.Version})
	if err != nil {
		return fmt.Errorf("report of %s: %w", c.ID, err)
	}
	dir := filepath.Join(d.dirs.reports, c.ID)
	names, err := s.Write(dir, true)
	if err != nil {
		return fmt.Errorf("report of %s: %w", c.ID, err)
	}
	c.Report = filepath.Join(dir, report.HTMLName)
	d.logf("  %s: %s\n", c.ID, strings.Join(names, ", "))
	return nil
}

// logHeads logs a closed ceremony's heads, each line after indent: the
// close's, which the witnesses write down and compare and the checkpoint
// signs, in hex and PGP words; then the last, after the checkpoint's
// signatures, which 'transcript verify --head' accepts as well.
func (d *run) logHeads(c *Ceremony, indent string) {
	d.logf("%switnesses' head (the close's, which the checkpoint signs; compare this one):\n", indent)
	d.logf("%s  %s\n%s  %s\n", indent, c.CheckpointHead, indent, headWords(c.CheckpointHead))
	d.logf("%slast head, after the checkpoint's signatures: %s\n", indent, c.Head)
}

// headWords spells a head digest in PGP words, for reading aloud.
func headWords(h transcripts.Digest) string {
	return pgpwords.String(h[:])
}

// where says where everything is and how to look at it.
func (d *run) where() {
	r := d.res
	d.logf("\nWhat the demo did:\n")
	for _, c := range r.Ceremonies {
		d.logf("  %s:\n", c.ID)
		for _, rr := range c.Roles {
			if rr.Online {
				continue
			}
			d.logf("    %s v%d signed by %s\n", rr.Role, rr.Version, strings.Join(rr.Signers, "; "))
		}
		d.logf("    checkpoint signed by %s\n", strings.Join(c.CheckpointSigners, "; "))
		d.logHeads(c, "    ")
	}
	d.logf("  in the end: root v%d; claimed delegates to %s.\n", r.RootVersion, strings.Join(r.Projects, ", "))
	d.logf(`
Where everything is:
  %-18s the published repository (consistent-snapshot files, root.json, timestamp.json)
  %-18s root v1: the pin a client starts from
  %-18s one workspace per ceremony: transcript.jsonl and its artifacts
  %-18s the plans the ceremonies ran, with their projects files
  %-18s every public key, as 'ceremony keys show --json' writes it
  %-18s the projects' files (plain and hash-prefixed names)
  %-18s the signing requests the air-gapped signer got, and their responses
  %-18s each ceremony's audit report (report.html: open it in a browser, print it to PDF)
  %s
      the SoftHSM tokens (SOFTHSM2_CONF=%s); PINs in %s
`, rel(r, r.Metadata)+"/", rel(r, r.TrustedRoot), rel(r, r.Transcripts)+"/", rel(r, r.Plans)+"/", rel(r, r.Keys)+"/", rel(r, r.Targets)+"/", rel(r, r.Requests)+"/", rel(r, r.Reports)+"/",
		r.HSMDir+"/", r.SoftHSMConf, r.PINDir)
	d.logf("under %s\n", r.Dir)
	d.logf("\nThe demo took %s.\n", r.Elapsed.Round(1e6))
}

func rel(r *Result, p string) string {
	if x, err := filepath.Rel(r.Dir, p); err == nil {
		return x
	}
	return p
}
