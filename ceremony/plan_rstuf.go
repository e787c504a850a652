package ceremony

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ceremony-tuf/ceremony/roles"
	"github.com/ceremony-tuf/ceremony/rstuf"
)

// Layouts a plan names with layout:. The default ("") is PEP 480's.
const (
	// LayoutRSTUF is Repository Service for TUF's: only root is offline;
	// targets, snapshot, timestamp and the hash bins (or custom
	// delegations) share one online key that RSTUF's worker holds. A
	// ceremony stages root alone and ends with the payload RSTUF's API
	// takes (docs/RSTUF.md).
	LayoutRSTUF = "rstuf"
)

// RSTUFPlan is what an RSTUF plan gives besides root's keys: the online
// key, and for a bootstrap the settings RSTUF's API takes with the root.
type RSTUFPlan struct {
	// OnlineParticipant names the participant whose key is the online
	// key. Its key file must carry x-rstuf-online-key-uri (`ceremony keys
	// import --rstuf-online-key-uri`): RSTUF's worker finds its signer by
	// it, and the keyid covers it. Required for a bootstrap; in a
	// rotation it replaces the online key.
	OnlineParticipant string `yaml:"online_participant,omitempty" json:"online_participant,omitempty"`
	// Expiration is each online role's expiration policy, in days.
	Expiration *RSTUFExpiration `yaml:"expiration,omitempty" json:"expiration,omitempty"`
	// Bins is the number of succinct hash bins (2 to 16384, a power of
	// two); DelegationsFile names custom delegations instead, a JSON
	// file {"keys": {…}, "roles": [{name, terminating, keyids,
	// threshold, paths, "x-rstuf-expire-policy"}]}. A bootstrap gives
	// exactly one of the two.
	Bins            int    `yaml:"bins,omitempty" json:"bins,omitempty"`
	DelegationsFile string `yaml:"delegations_file,omitempty" json:"-"`
	// TimeoutSeconds is how long RSTUF waits for the bootstrap to finish
	// (default 300).
	TimeoutSeconds int `yaml:"timeout_seconds,omitempty" json:"timeout_seconds,omitempty"`

	// Delegations is the delegations file, read in.
	Delegations json.RawMessage `yaml:"-" json:"delegations,omitempty"`
}

// RSTUFExpiration is the online roles' expiration policies, in days
// (RSTUF's CLI proposes these defaults). Root's is root.expires_days.
type RSTUFExpiration struct {
	Targets   int `yaml:"targets,omitempty" json:"targets,omitempty"`
	Snapshot  int `yaml:"snapshot,omitempty" json:"snapshot,omitempty"`
	Timestamp int `yaml:"timestamp,omitempty" json:"timestamp,omitempty"`
	Bins      int `yaml:"bins,omitempty" json:"bins,omitempty"`
}

// RSTUF's CLI's default expiration policies, in days.
const (
	rstufTargetsDays   = 365
	rstufSnapshotDays  = 1
	rstufTimestampDays = 1
	rstufBinsDays      = 1
)

// validateLayout checks what a plan's layout allows; the PEP 480 layout's
// own rules follow it in validate.
func (p *Plan) validateLayout() error {
	switch p.Layout {
	case "":
		if p.RSTUF != nil {
			return planErrorf("rstuf", "only a plan with layout: rstuf takes an rstuf: section")
		}
		return nil
	case LayoutRSTUF:
	default:
		return planErrorf("layout", "%q is no layout: leave layout out for PEP 480's, or give rstuf", p.Layout)
	}
	for field, set := range map[string]bool{"targets": p.Targets != nil, "claimed": p.Claimed != nil, "revocations": p.Revocations != nil, "online": p.Online != nil} {
		if set {
			return planErrorf(field, "an RSTUF deployment signs %s online, not in a ceremony: take it out (the online key is rstuf.online_participant)", field)
		}
	}
	x := p.RSTUF
	if x == nil {
		x = &RSTUFPlan{}
	}
	if err := checkFields(ErrPlan, map[string]string{"rstuf.online_participant": x.OnlineParticipant, "rstuf.delegations_file": x.DelegationsFile}); err != nil {
		return err
	}
	if p.Root == nil {
		return planErrorf("root", "missing: an RSTUF ceremony changes root (give root.add, root.remove, root.threshold or root.expires_days)")
	}
	if x.OnlineParticipant != "" && p.participantIndex(x.OnlineParticipant) < 0 {
		return planErrorf("rstuf.online_participant", "%q is not a participant: add it with the key file `ceremony keys import --rstuf-online-key-uri` wrote", x.OnlineParticipant)
	}
	if x.TimeoutSeconds < 0 {
		return planErrorf("rstuf.timeout_seconds", "must not be negative")
	}
	if e := x.Expiration; e != nil {
		for field, d := range map[string]int{"targets": e.Targets, "snapshot": e.Snapshot, "timestamp": e.Timestamp, "bins": e.Bins} {
			if d < 0 {
				return planErrorf("rstuf.expiration."+field, "must not be negative")
			}
		}
	}
	if p.Start != nil {
		if x.Bins != 0 || x.DelegationsFile != "" || x.Delegations != nil || x.Expiration != nil || x.TimeoutSeconds != 0 {
			return planErrorf("rstuf", "bins, delegations_file, expiration and timeout_seconds are bootstrap settings; a rotation (start:) changes root only: take them out, and change RSTUF's settings with its own API")
		}
		return nil
	}
	switch {
	case len(p.Root.Add) == 0:
		return planErrorf("root.add", "a bootstrap (no start:) needs the root keys")
	case len(p.Root.Remove) > 0:
		return planErrorf("root.remove", "a bootstrap has no keys to remove")
	case x.OnlineParticipant == "":
		return planErrorf("rstuf.online_participant", "missing: a bootstrap needs the online key (targets, snapshot, timestamp and the bins share it)")
	case (x.Bins != 0) == (x.DelegationsFile != "" || x.Delegations != nil):
		return planErrorf("rstuf.bins", "give exactly one of rstuf.bins (the number of hash bins) and rstuf.delegations_file")
	}
	if x.Bins != 0 {
		if _, err := rstuf.BitLength("rstuf.bins", x.Bins); err != nil {
			return fmt.Errorf("%w: %w", ErrPlan, err)
		}
	}
	if x.Delegations != nil {
		if err := rstuf.CheckDelegations(x.Delegations); err != nil {
			return planErrorf("rstuf.delegations_file", "%v", err)
		}
	}
	return nil
}

func (p *Plan) participantIndex(name string) int {
	for i := range p.Participants {
		if p.Participants[i].Name == name {
			return i
		}
	}
	return -1
}

// resolveLayout reads the files an RSTUF plan names into it.
func (p *Plan) resolveLayout() error {
	x := p.RSTUF
	if p.Layout != LayoutRSTUF || x == nil {
		return nil
	}
	if x.OnlineParticipant != "" {
		_, k := p.participant(x.OnlineParticipant)
		if rstuf.OnlineKeyURI(k) == "" {
			return planErrorf("rstuf.online_participant", "%s's key carries no %s: RSTUF's worker finds the online key's signer by it; make the key file with `ceremony keys import PEM --rstuf-online-key-uri URI --out KEY.json`", x.OnlineParticipant, rstuf.OnlineKeyURIField)
		}
	}
	if x.DelegationsFile == "" {
		return nil
	}
	b, err := os.ReadFile(p.path(x.DelegationsFile))
	if err != nil {
		return planErrorf("rstuf.delegations_file", "%v", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return planErrorf("rstuf.delegations_file", "%s is not JSON: %v", x.DelegationsFile, err)
	}
	if err := rstuf.CheckDelegations(buf.Bytes()); err != nil {
		return planErrorf("rstuf.delegations_file", "%s: %v", x.DelegationsFile, err)
	}
	x.Delegations = buf.Bytes()
	return nil
}

// rstufSettings are the settings a bootstrap payload carries, from the
// plan.
func (p *Plan) rstufSettings() rstuf.Settings {
	x := p.RSTUF
	e := RSTUFExpiration{}
	if x.Expiration != nil {
		e = *x.Expiration
	}
	days := func(d, def int) rstuf.Expiration {
		if d == 0 {
			d = def
		}
		return rstuf.Expiration{Expiration: d}
	}
	rs := rstuf.RoleSettings{
		Root:      days(p.Root.ExpiresDays, defaultRootDays),
		Timestamp: days(e.Timestamp, rstufTimestampDays),
		Snapshot:  days(e.Snapshot, rstufSnapshotDays),
		Targets:   days(e.Targets, rstufTargetsDays),
	}
	if x.Bins != 0 {
		rs.Bins = &rstuf.Bins{Expiration: days(e.Bins, rstufBinsDays).Expiration, Number: x.Bins}
	} else {
		rs.Delegations = x.Delegations
	}
	return rstuf.Settings{Roles: rs}
}

// loadTrusted reads and verifies the trusted state a plan starts from:
// the whole repository for PEP 480's layout (LoadRepo), the root chain
// for RSTUF's, whose online roles the ceremony does not touch.
func loadTrusted(p *Plan, dir string, trustedRoot []byte, maxMetadata int64, progress func(done, total int)) (*Repo, error) {
	if p.Layout == LayoutRSTUF {
		return loadRootChain(dir, trustedRoot, maxMetadata)
	}
	return loadRepo(dir, trustedRoot, maxMetadata, progress)
}

// trustedFromFiles is loadTrusted over the files a transcript recorded.
// The files, names, are read one at a time through read.
func trustedFromFiles(p *Plan, trustedRoot []byte, names []string, read func(name string) ([]byte, error), progress func(done, total int)) (*Repo, error) {
	if p.Layout == LayoutRSTUF {
		// The root chain alone: a few files.
		files := map[string][]byte{}
		for _, name := range names {
			b, err := read(name)
			if err != nil {
				return nil, err
			}
			files[name] = b
		}
		return rootChainFromFiles(trustedRoot, files)
	}
	return repoFromFiles(trustedRoot, names, read, progress)
}

// rstufOnlineKey is the online key a plan names, as root will list it.
func (p *Plan) rstufOnlineKey() *roles.Key {
	if p.RSTUF == nil || p.RSTUF.OnlineParticipant == "" {
		return nil
	}
	_, k := p.participant(p.RSTUF.OnlineParticipant)
	return k
}
