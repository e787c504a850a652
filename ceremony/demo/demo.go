// Package demo runs `ceremony demo`: two real ceremonies on SoftHSM
// tokens made for the occasion, with nothing needed but the Debian
// softhsm2 package.
//
// Run makes SoftHSM tokens in a folder of their own for five admins
// (alice, bob, carol, dave, erin), two holders of claimed's keys, the
// online key and the projects' maintainers, and generates every key on its
// token. It bootstraps a PEP 458/480 repository, then runs a quarterly
// ceremony from what was published: erin's root key replaced and the root
// threshold raised from 3 to 4, claimed's keys rotated, three projects
// moved into claimed, and a maintainer key revoked, with dave signing as an
// air-gapped signer does. Each project's metadata is signed by its
// maintainer's key and included in the ceremony, so that snapshot lists
// every role any metadata delegates to. It publishes, verifies the result
// from the pinned root, replays both transcripts and says what it did and
// where everything is.
package demo

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/ceremony-tuf/ceremony/roles"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/pkcs11"
	"github.com/ceremony-tuf/ceremony/internal/pgpwords"
	"github.com/ceremony-tuf/ceremony/transcripts"
)

// Options says where the demo writes and what it reports to.
type Options struct {
	// Dir is the output folder. It must be empty or not exist yet.
	Dir string
	// HSMDir holds the SoftHSM configuration, the tokens and the PIN
	// files. Empty: a new temporary folder, left in place so that the
	// tokens can be looked at afterwards (the report says where).
	HSMDir string
	// Out receives the report as the demo goes; nil discards it.
	Out io.Writer
	// Tool is the running tool, for the transcripts.
	Tool ceremony.Tool
	// Interactive, when set, takes over the quarterly ceremony once it is
	// staged, the air-gapped signer has signed and the projects' metadata
	// is in: the people in the room sign, publish and close through it
	// (the TUI, for 'ceremony demo --tui'). pins are the tokens' PINs by
	// token label, for it to show. If the ceremony is not published when
	// it returns, the demo stops there; the workspace can be resumed.
	Interactive func(ctx context.Context, e *ceremony.Engine, pins map[string]string) error
	// ReferenceTime is the time every expiry is counted from. Zero: now,
	// truncated to the hour, so that a TUF client checking expiry against
	// its own clock accepts the result.
	ReferenceTime time.Time
}

// Result says what the demo made and where.
type Result struct {
	Dir         string // the output folder
	Metadata    string // Dir/metadata: the published repository
	TrustedRoot string // Dir/trusted-root.json: root v1, the pin
	Transcripts string // Dir/transcripts: one folder per ceremony
	Plans       string // Dir/plans: the plans the ceremonies ran
	Keys        string // Dir/keys: every key file
	Targets     string // Dir/targets: the projects' files
	Requests    string // Dir/requests: signing requests and responses
	Reports     string // Dir/reports: each ceremony's audit report (report.html, report.json)

	HSMDir      string // SoftHSM configuration, tokens and PIN files
	SoftHSMConf string // the SOFTHSM2_CONF that reaches the tokens
	PINDir      string // one file per token: <label>.pin

	ReferenceTime time.Time
	Ceremonies    []*Ceremony
	// RootVersion is the newest root version published.
	RootVersion int64
	// Projects are the projects claimed delegates to in the end.
	Projects []string
	Elapsed  time.Duration
}

// Ceremony is what one of the demo's ceremonies did.
type Ceremony struct {
	ID         string
	Plan       string // the plan file
	Workspace  string // holds the transcript and its artifacts
	Transcript string
	// Head is the transcript's last head; CheckpointHead the head of its
	// close, which CheckpointSigners signed.
	Head              transcripts.Digest
	CheckpointHead    transcripts.Digest
	CheckpointSigners []string // "alice via device", …
	Report            string   // its audit report, reports/ID/report.html
	Roles             []RoleReport
	Published         []string // file names written into Metadata
	Targets           []string // target paths of the projects' releases included
}

// RoleReport is one role a ceremony published, with who signed it.
type RoleReport struct {
	Role     string
	Version  int64
	Online   bool
	Included bool // signed elsewhere (a project's maintainers) and included
	Summary  []string
	Signers  []string // "alice via device (SoftHSM …)", …
}

// ErrNotEmpty is wrapped when the output folder exists and holds files.
var ErrNotEmpty = errors.New("output folder is not empty")

// run is one demo run's state.
type run struct {
	opts Options
	out  io.Writer
	ref  time.Time
	hsm  *softHSM
	dirs struct {
		root, metadata, transcripts, plans, keys, targets, requests, reports string
	}
	holders  map[string]*holder
	keyOrder []string
	res      *Result
	// interactive is opts.Interactive while the quarterly ceremony runs.
	interactive func(ctx context.Context, e *ceremony.Engine, pins map[string]string) error
}

func (d *run) logf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

// The demo's tokens: five admins, two holders of claimed's keys, the
// online key, and one token holding the projects' maintainer keys.
var tokens = []string{"alice", "bob", "carol", "dave", "erin", "claims-1", "claims-2", "online", "maintainers"}

// The keys made before the bootstrap; key types alternate between Ed25519
// and ECDSA P-256.
var bootstrapKeys = []holder{
	{name: "alice", token: "alice", object: "root-2026", kt: hsm.Ed25519},
	{name: "bob", token: "bob", object: "root-2026", kt: hsm.ECDSAP256},
	{name: "carol", token: "carol", object: "root-2026", kt: hsm.Ed25519},
	{name: "dave", token: "dave", object: "root-2026", kt: hsm.ECDSAP256},
	{name: "erin", token: "erin", object: "root-2026", kt: hsm.Ed25519},
	{name: "claims-1-2026", token: "claims-1", object: "claimed-2026", kt: hsm.ECDSAP256},
	{name: "claims-2-2026", token: "claims-2", object: "claimed-2026", kt: hsm.Ed25519},
	{name: "online", token: "online", object: "online-2026", kt: hsm.Ed25519},
	{name: "sampleproject-2026", token: "maintainers", object: "sampleproject-2026", kt: hsm.ECDSAP256},
}

// The keys the quarterly ceremony brings in.
var quarterlyKeys = []holder{
	{name: "erin-2027", token: "erin", object: "root-2027", kt: hsm.ECDSAP256},
	{name: "claims-1-2027", token: "claims-1", object: "claimed-2027", kt: hsm.Ed25519},
	{name: "claims-2-2027", token: "claims-2", object: "claimed-2027", kt: hsm.ECDSAP256},
	{name: "sampleproject-2027", token: "maintainers", object: "sampleproject-2027", kt: hsm.Ed25519},
	{name: "requests-2027", token: "maintainers", object: "requests-2027", kt: hsm.ECDSAP256},
	{name: "attrs-2027", token: "maintainers", object: "attrs-2027", kt: hsm.Ed25519},
	{name: "urllib3-2027", token: "maintainers", object: "urllib3-2027", kt: hsm.ECDSAP256},
}

// Run runs the demo into opts.Dir. It sets SOFTHSM2_CONF for its
// duration and restores it after. SoftHSM reads its configuration when it
// is loaded, and the backend keeps it loaded, so a second Run in one
// process needs pkcs11.Default().Close() in between; without it, Run says
// so and changes nothing on any token.
func Run(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	d := &run{opts: opts, out: opts.Out, holders: map[string]*holder{}}
	if d.out == nil {
		d.out = io.Discard
	}
	d.ref = opts.ReferenceTime
	if d.ref.IsZero() {
		d.ref = time.Now().UTC().Truncate(time.Hour)
	}
	d.ref = d.ref.UTC().Truncate(time.Second)
	if err := d.prepare(); err != nil {
		return nil, err
	}
	restore, err := d.startHSM()
	if err != nil {
		return nil, err
	}
	defer restore()

	d.logf("Keys, each generated on its SoftHSM token:\n")
	if err := d.generateAll(ctx, bootstrapKeys); err != nil {
		return nil, err
	}

	// Ceremony 1: the bootstrap.
	plan, err := d.writeBootstrapPlan()
	if err != nil {
		return nil, err
	}
	bootstrap, err := d.runCeremony(ctx, bootstrapID, plan, d.dirs.metadata,
		[]string{"alice", "bob", "carol", "claims-1-2026"}, nil,
		[]projectRelease{{name: "sampleproject", version: 1, signer: "sampleproject-2026",
			releases: []release{{"sampleproject", "sampleproject-1.0.0.txt"}}}})
	if err != nil {
		return nil, err
	}
	// The pin every client and the next ceremony start from: root v1.
	root1, err := os.ReadFile(filepath.Join(d.dirs.metadata, "1.root.json"))
	if err != nil {
		return nil, err
	}
	if err := ceremony.WriteFileAtomic(d.res.TrustedRoot, root1, 0o644); err != nil {
		return nil, err
	}
	if _, err := d.verify(root1); err != nil {
		return nil, err
	}

	// Ceremony 2: the quarterly, from what the bootstrap published.
	d.logf("\nNew keys for the quarterly ceremony, each generated on its token:\n")
	if err := d.generateAll(ctx, quarterlyKeys); err != nil {
		return nil, err
	}
	plan, err = d.writeQuarterlyPlan()
	if err != nil {
		return nil, err
	}
	d.interactive = d.opts.Interactive
	quarterly, err := d.runCeremony(ctx, quarterlyID, plan, "",
		[]string{"alice", "bob", "carol", "erin-2027", "claims-1-2027", "claims-2-2027"}, []string{"dave"},
		[]projectRelease{
			{name: "sampleproject", version: 2, signer: "sampleproject-2027", releases: []release{
				{"sampleproject", "sampleproject-1.0.0.txt"}, {"sampleproject", "sampleproject-1.1.0.txt"}}},
			{name: "requests", version: 1, signer: "requests-2027", releases: []release{{"requests", "requests-2.32.0.txt"}}},
			{name: "attrs", version: 1, signer: "attrs-2027", releases: []release{{"attrs", "attrs-24.2.0.txt"}}},
			{name: "urllib3", version: 1, signer: "urllib3-2027", releases: []release{{"urllib3", "urllib3-2.2.3.txt"}}},
		})
	if err != nil {
		return nil, err
	}

	// Check the result: the repository from the pin, then each transcript.
	repo, err := d.verify(root1)
	if err != nil {
		return nil, err
	}
	d.res.RootVersion = repo.Root.Signed.Version
	for _, r := range repo.Claimed.Signed.Delegations.Roles {
		d.res.Projects = append(d.res.Projects, r.Name)
	}
	d.logf("\nReplaying the transcripts:\n")
	// The quarterly ceremony moved root.json and timestamp.json on; every
	// other file either ceremony published is still there.
	if err := d.replay(bootstrap); err != nil {
		return nil, err
	}
	if err := d.replay(quarterly); err != nil {
		return nil, err
	}
	d.logf("\nWriting the audit reports:\n")
	for _, c := range []*Ceremony{bootstrap, quarterly} {
		if err := d.report(c); err != nil {
			return nil, err
		}
	}
	d.res.Elapsed = time.Since(start)
	d.where()
	return d.res, nil
}

// prepare makes the output folders, refusing a folder that holds files.
func (d *run) prepare() error {
	dir := d.opts.Dir
	if dir == "" {
		return errors.New("no output folder given: name one that is empty or does not exist yet")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%w: %s is a file, not a folder: name an empty or new folder, or leave --out out for a new temporary one", ErrNotEmpty, dir)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%w: %s holds %d entries; the demo writes a new repository and overwrites nothing: name an empty or new folder, or leave --out out for a new temporary one", ErrNotEmpty, dir, len(ents))
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read output folder: %w", err)
	}
	d.dirs.root = dir
	d.dirs.metadata = filepath.Join(dir, "metadata")
	d.dirs.transcripts = filepath.Join(dir, "transcripts")
	d.dirs.plans = filepath.Join(dir, "plans")
	d.dirs.keys = filepath.Join(dir, "keys")
	d.dirs.targets = filepath.Join(dir, "targets")
	d.dirs.requests = filepath.Join(dir, "requests")
	d.dirs.reports = filepath.Join(dir, "reports")
	for _, p := range []string{d.dirs.metadata, d.dirs.transcripts, d.dirs.plans, d.dirs.keys, d.dirs.targets} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	d.res = &Result{Dir: dir, Metadata: d.dirs.metadata, TrustedRoot: filepath.Join(dir, "trusted-root.json"),
		Transcripts: d.dirs.transcripts, Plans: d.dirs.plans, Keys: d.dirs.keys, Targets: d.dirs.targets, Requests: d.dirs.requests,
		Reports: d.dirs.reports, ReferenceTime: d.ref}
	return nil
}

// startHSM writes the SoftHSM configuration, points this process at it
// and initialises the tokens. The returned func restores SOFTHSM2_CONF.
func (d *run) startHSM() (func(), error) {
	dir := d.opts.HSMDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ceremony-demo-hsm-"); err != nil {
			return nil, fmt.Errorf("make a folder for the SoftHSM tokens: %w", err)
		}
	}
	h, err := newSoftHSM(dir)
	if err != nil {
		return nil, err
	}
	d.hsm = h
	d.res.HSMDir, d.res.SoftHSMConf, d.res.PINDir = h.dir, h.conf, h.pinDir()
	old, had := os.LookupEnv("SOFTHSM2_CONF")
	restore := func() {
		if had {
			os.Setenv("SOFTHSM2_CONF", old)
		} else {
			os.Unsetenv("SOFTHSM2_CONF")
		}
	}
	if err := os.Setenv("SOFTHSM2_CONF", h.conf); err != nil {
		return nil, err
	}
	if err := h.initTokens(tokens); err != nil {
		restore()
		return nil, err
	}
	d.logf("ceremony demo: reference time %s (now, truncated to the hour)\n", d.ref.Format(time.RFC3339))
	d.logf("SoftHSM: %d tokens in %s (SOFTHSM2_CONF=%s).\n", len(tokens), h.tokenDir(), h.conf)
	d.logf("PINs are random and in files under %s, one per token; none is on a command line or in a transcript.\n\n", h.pinDir())
	return restore, nil
}

func (d *run) logKey(h *holder) {
	d.logf("  %-19s %-10s %s  token %s, key %s\n", h.name, h.kt, h.key.ID(), h.token, h.object)
}

// runCeremony runs one ceremony from its plan: it begins it, has the
// device signers sign, the air-gapped ones sign through the response
// path, includes the projects' metadata and publishes with the online key.
func (d *run) runCeremony(ctx context.Context, id, planPath, publishDir string, devices, airGapped []string, projects []projectRelease) (*Ceremony, error) {
	c := &Ceremony{ID: id, Plan: planPath, Workspace: filepath.Join(d.dirs.transcripts, id)}
	d.res.Ceremonies = append(d.res.Ceremonies, c)
	d.logf("\n== Ceremony %s (plan %s)\n", id, planPath)
	plan, err := ceremony.LoadPlan(planPath)
	if err != nil {
		return nil, err
	}
	e, err := ceremony.Begin(c.Workspace, plan, ceremony.Options{Tool: d.opts.Tool, PublishDir: publishDir})
	if err != nil {
		return nil, fmt.Errorf("begin ceremony %s: %w", id, err)
	}
	defer e.Release()
	c.Transcript = e.TranscriptPath()
	d.logf("Staged, every role passing its policy checks:\n")
	for _, r := range e.State().Roles {
		for i, line := range r.Summary {
			if i == 0 {
				d.logf("  %s\n", line)
			} else {
				d.logf("      %s\n", line)
			}
		}
	}
	var reqs []string
	if len(airGapped) > 0 {
		// The coordinator exports a signing request per role before anyone
		// signs, for the signers who are elsewhere.
		if reqs, err = e.ExportRequests(filepath.Join(d.dirs.requests, id)); err != nil {
			return nil, fmt.Errorf("export signing requests: %w", err)
		}
		d.logf("Exported %d signing requests into %s for the air-gapped signers (%s).\n", len(reqs), filepath.Join(d.dirs.requests, id), strings.Join(airGapped, ", "))
	}
	d.logf("Signing:\n")
	for _, name := range devices {
		if d.interactive != nil {
			break // the people in the room sign in the TUI
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, h, err := d.open(ctx, name)
		if err != nil {
			return nil, err
		}
		dev := s.Key().Device
		res, err := e.Sign(s, &dev)
		s.Close()
		if err != nil {
			return nil, fmt.Errorf("%s signs in ceremony %s: %w", name, id, err)
		}
		d.logf("  %-14s signed %s with key %s on %s\n", name, rolesOf(res), roles.ShortID(h.key.ID()), dev)
	}
	for _, name := range airGapped {
		if err := d.signAirGapped(ctx, e, name, reqs); err != nil {
			return nil, err
		}
	}
	if d.interactive != nil {
		d.logf("Signing in the TUI: the PIN screen shows each demo token's PIN.\n")
	}
	if err := d.includeProjects(ctx, e, projects, c); err != nil {
		return nil, err
	}
	if d.interactive != nil {
		return d.runInteractive(ctx, e, c)
	}
	d.logf("Thresholds:\n")
	for _, p := range e.State().Progress() {
		mark := "reached"
		if !p.Reached {
			mark = "NOT reached"
		}
		d.logf("  %-16s under %-12s %d needed, %d signed, %s: %s\n", p.Role, p.Under, p.Threshold, len(p.Signed), mark, strings.Join(d.names(p.Signed), ", "))
	}
	online, _, err := d.open(ctx, "online")
	if err != nil {
		return nil, err
	}
	dev := online.Key().Device
	pub, err := e.Publish(online, &dev)
	online.Close()
	if err != nil {
		return nil, fmt.Errorf("publish ceremony %s: %w", id, err)
	}
	c.Published = pub.Files
	d.logf("Published %d files into %s, snapshot and timestamp signed with the online key:\n", len(pub.Files), pub.Dir)
	for _, r := range e.State().Roles {
		if r.Online {
			d.logf("  %s\n", r.Summary[0])
		}
	}
	for _, r := range e.State().Roles {
		rr := RoleReport{Role: r.Role, Version: r.Version, Online: r.Online, Included: r.Included, Summary: r.Summary}
		for _, s := range r.Signatures {
			who := d.name(s.Signer) + " via " + s.Via
			if s.Device != nil {
				who += " (" + s.Device.String() + ")"
			}
			rr.Signers = append(rr.Signers, who)
		}
		c.Roles = append(c.Roles, rr)
	}
	if err := e.End(); err != nil {
		return nil, fmt.Errorf("close ceremony %s: %w", id, err)
	}
	if err := d.signCheckpoint(ctx, e, c, devices, airGapped); err != nil {
		return nil, err
	}
	c.Head = e.Head()
	d.logf("Transcript %s\n", c.Transcript)
	d.logHeads(c, "  ")
	return c, nil
}

// runInteractive hands the ceremony to opts.Interactive, then records what
// it did as runCeremony would.
func (d *run) runInteractive(ctx context.Context, e *ceremony.Engine, c *Ceremony) (*Ceremony, error) {
	pins := map[string]string{}
	entries, _ := os.ReadDir(d.res.PINDir)
	for _, en := range entries {
		if label, ok := strings.CutSuffix(en.Name(), ".pin"); ok {
			if b, err := os.ReadFile(filepath.Join(d.res.PINDir, en.Name())); err == nil {
				pins[label] = strings.TrimSpace(string(b))
			}
		}
	}
	// The demo logged in to every token already; log out, so that the
	// people in the TUI are asked for each PIN as in a real ceremony.
	if err := pkcs11.Default().Close(); err != nil {
		return nil, fmt.Errorf("log out of the demo tokens: %w", err)
	}
	err := d.interactive(ctx, e, pins)
	d.interactive = nil
	if err != nil {
		return nil, err
	}
	st := e.State()
	if !st.Published {
		return nil, fmt.Errorf("the quarterly ceremony was left before publishing; go on with 'ceremony tui %s' (SOFTHSM2_CONF=%s)", c.Workspace, d.res.SoftHSMConf)
	}
	for _, r := range st.Roles {
		rr := RoleReport{Role: r.Role, Version: r.Version, Online: r.Online, Included: r.Included, Summary: r.Summary}
		for _, s := range r.Signatures {
			rr.Signers = append(rr.Signers, d.name(s.Signer)+" via "+s.Via)
		}
		c.Roles = append(c.Roles, rr)
	}
	if !st.Closed {
		if err := e.End(); err != nil {
			return nil, err
		}
	}
	// The checkpoint, if the people in the TUI left it unsigned: every
	// key the demo holds that it needs, on its token.
	if !e.State().Checkpointed() {
		if err := d.signCheckpoint(ctx, e, c, d.keyOrder, nil); err != nil {
			return nil, err
		}
	}
	c.CheckpointHead = e.State().Checkpoint.Head
	c.Head = e.Head()
	d.logf("Transcript %s\n", c.Transcript)
	d.logHeads(c, "  ")
	return c, nil
}

// signAirGapped has name sign, as an air-gapped signer does, every
// request in reqs that lists their key: on the other machine there is no
// workspace, only the request file (ParseRequest, then SignRequest, as
// `ceremony sign REQUEST` does); the response file comes back and the
// ceremony checks and takes it in (ParseResponse, Collect), recording the
// signature as "via response".
func (d *run) signAirGapped(ctx context.Context, e *ceremony.Engine, name string, reqs []string) error {
	s, h, err := d.open(ctx, name)
	if err != nil {
		return err
	}
	defer s.Close()
	dev := s.Key().Device
	id := h.key.ID()
	n := 0
	for _, path := range reqs {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		req, err := ceremony.ParseRequest(b)
		if err != nil {
			return fmt.Errorf("%s reads %s: %w", name, path, err)
		}
		if req.Signer(id) == nil {
			continue
		}
		digest, _ := hex.DecodeString(req.Digest)
		resp, err := ceremony.SignRequest(req, s, &dev)
		if err != nil {
			return fmt.Errorf("%s signs %s: %w", name, path, err)
		}
		rpath, back, err := carryBack(path, name, resp)
		if err != nil {
			return err
		}
		got, err := ceremony.ParseResponse(back)
		if err != nil {
			return fmt.Errorf("read %s's response %s: %w", name, rpath, err)
		}
		if err := e.Collect(got); err != nil {
			return fmt.Errorf("collect %s's response %s: %w", name, rpath, err)
		}
		d.logf("  %-14s air-gapped: read request %s (%s v%d, SHA-256 %s…, in words %s …),\n", name, filepath.Base(path), req.Role, req.Version, req.Digest[:16], pgpwords.String(digest[:4]))
		d.logf("  %-14s signed with key %s on %s, and response %s was collected\n", "", roles.ShortID(id), dev, filepath.Base(rpath))
		n++
	}
	if n == 0 {
		return fmt.Errorf("none of the requests asks for %s's key %s", name, roles.ShortID(id))
	}
	return nil
}

// name is a signer's name: a participant's as the engine gives it, or the
// demo's name for a key the engine knows by keyid only (a maintainer's).
func (d *run) name(signer string) string {
	for _, n := range d.keyOrder {
		if id := d.holders[n].key.ID(); signer == id || (len(signer) == 8 && signer == id[:8]) {
			return n
		}
	}
	return signer
}

func (d *run) names(signers []string) []string {
	out := make([]string, len(signers))
	for i, s := range signers {
		out[i] = d.name(s)
	}
	return out
}

func rolesOf(res []ceremony.SignResult) []string {
	var out []string
	for _, r := range res {
		out = append(out, r.Role)
	}
	return out
}
