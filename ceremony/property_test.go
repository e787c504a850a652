package ceremony

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ceremony-tuf/ceremony/roles"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCommandsNeverBreakTheTranscript is the engine's property test:
// random sequences of commands, valid and invalid, in any order and
// repeated (signing by any key, air-gapped responses good, tampered and
// replayed, project metadata signed by the right key or another, publish
// with the online key, a wrong one or none and into another folder,
// close, abort, signing the checkpoint on a device or through a request
// and response, reopening, a crash at the next event), against a
// bootstrap and against a ceremony on a published repository. After each
// command the transcript folds to the state the engine holds and replays;
// after each refused command not one byte of the workspace (transcript,
// artifacts) nor of the publish folders changed. Seeded, so a failure
// repeats: the log names the seed and the commands.
func TestCommandsNeverBreakTheTranscript(t *testing.T) {
	dir := t.TempDir()
	ps := seededPeople(t, dir, "alice", "bob", "carol", "dave", "erin", "online", "frank", "maint1", "mallory")
	writeProjects(t, filepath.Join(dir, "projects.json"), people{"maint": ps["maint1"]}, "sampleproject")
	boot := writePlan(t, dir, "b.yaml", bootstrapPlan+"claimed: {projects_file: projects.json}\n"+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))

	// A published repository for the ceremonies that start from one.
	base := filepath.Join(dir, "base")
	e, err := Begin(base, boot, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Include("sampleproject", projectMetadata(t, ps["maint1"], "sampleproject", boot.ReferenceTime.AddDate(0, 1, 0))); err != nil {
		t.Fatal(err)
	}
	signAllAs(t, e, ps, "alice", "bob", "dave", "erin")
	if _, err := e.Publish(ps["online"], nil); err != nil {
		t.Fatal(err)
	}
	e.Release()
	writeFile(t, filepath.Join(dir, "trusted.json"), mustRead(t, filepath.Join(base, "metadata", "1.root.json")))
	quarterly := `ceremony: quarterly-test
reference_time: 2026-11-02T00:00:00Z
allow_network: true
start: {trusted_root: trusted.json, metadata: %s}
root: {add: [frank], remove: [carol], threshold: 3}
targets:
  claimed: {add: [frank], remove: [erin], threshold: 2}
online: {participant: online}
` + ps.participants("alice", "bob", "carol", "dave", "erin", "online", "frank")

	const sequences, steps = 12, 20
	outcomes := map[string]int{}
	ok := func(refused bool) string {
		if refused {
			return " (refused)"
		}
		return ""
	}
	defer func() {
		var lines []string
		for k, n := range outcomes {
			lines = append(lines, fmt.Sprintf("%3d %s", n, k))
		}
		slices.Sort(lines)
		t.Logf("commands run:\n%s", strings.Join(lines, "\n"))
	}()
	for seq := range sequences {
		seed := uint64(seq) + 1
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		sdir := filepath.Join(dir, fmt.Sprintf("seq%02d", seq))
		var plan *Plan
		if seq%2 == 0 {
			plan = writePlan(t, dir, "b.yaml", bootstrapPlan+"claimed: {projects_file: projects.json}\n"+ps.participants("alice", "bob", "carol", "dave", "erin", "online"))
		} else {
			copyTree(t, filepath.Join(base, "metadata"), filepath.Join(sdir, "repo"))
			plan = writePlan(t, dir, "q.yaml", fmt.Sprintf(quarterly, filepath.Join(filepath.Base(sdir), "repo")))
		}
		p := &propertyRun{t: t, r: r, ps: ps, plan: plan, ws: filepath.Join(sdir, "ws"), other: filepath.Join(sdir, "elsewhere"), dir: sdir,
			projectExpiry: boot.ReferenceTime.AddDate(0, 1, 0)}
		p.run(seed, steps)
		for _, l := range p.log {
			outcomes[strings.SplitN(l, ": ", 2)[0]+ok(!strings.HasSuffix(l, ": <nil>"))]++
		}
	}
}

// propertyRun is one random sequence of commands on one ceremony.
type propertyRun struct {
	t         *testing.T
	r         *rand.Rand
	ps        people
	plan      *Plan
	ws, other string // the workspace, and a folder to publish into instead
	dir       string
	// projectExpiry is that of the project metadata a base repository
	// published, so that including it again gives the same bytes.
	projectExpiry time.Time
	e             *Engine
	responses     [][]byte // responses signed so far, to collect again
	log           []string
}

func (p *propertyRun) run(seed uint64, steps int) {
	t := p.t
	e, err := Begin(p.ws, p.plan, Options{Tool: Tool{Version: "test"}})
	if err != nil {
		t.Fatalf("seed %d: begin: %v", seed, err)
	}
	p.e = e
	defer func() { p.e.Release() }()
	for range steps {
		before := p.snapshot()
		name, err := p.step()
		p.log = append(p.log, fmt.Sprintf("%s: %v", name, err))
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d, after %s:\n%s\n%s", seed, strings.Join(p.log, "\n"), p.e.TranscriptPath(), fmt.Sprintf(format, args...))
		}
		if errors.Is(err, errCrash) {
			// Killed: take the ceremony up again, as resume does.
			if p.e, err = Resume(p.ws, Options{}); err != nil {
				fail("resume after a crash: %v", err)
			}
		} else if err != nil {
			if diff := diffSnapshots(before, p.snapshot()); diff != "" {
				fail("a refused command changed files: %s", diff)
			}
		}
		st, err := Fold(p.e.TranscriptPath())
		if err != nil {
			fail("the transcript does not fold: %v", err)
		}
		if got, want := stateSummary(st), stateSummary(p.e.State()); got != want {
			fail("the fold gives\n%s\nthe engine holds\n%s", got, want)
		}
	}
	if _, err := Replay(p.e.TranscriptPath(), ""); err != nil {
		t.Fatalf("seed %d, after %s:\nreplay: %v", seed, strings.Join(p.log, "\n"), err)
	}
	if testing.Verbose() {
		t.Logf("seed %d:\n  %s", seed, strings.Join(p.log, "\n  "))
	}
}

// step runs one random command and names it: half the time the one that
// moves the ceremony on, so that sequences reach publishing and beyond.
func (p *propertyRun) step() (string, error) {
	t, r, e := p.t, p.r, p.e
	if r.IntN(2) == 0 {
		st := e.State()
		for _, pr := range st.Progress() {
			if !pr.Reached && len(pr.Missing) > 0 && !st.Role(pr.Role).Online {
				who := pr.Missing[r.IntN(len(pr.Missing))]
				_, err := e.Sign(p.ps[who], nil)
				return "sign " + who + " (needed)", err
			}
		}
		if st.Role("sampleproject") == nil && !st.Publishing() {
			return "include sampleproject (needed)", e.Include("sampleproject", projectMetadata(t, p.ps["maint1"], "sampleproject", p.projectExpiry))
		}
		if !st.Published {
			_, err := e.Publish(p.ps["online"], nil)
			return "publish with the online key (needed)", err
		}
		if !st.Closed && r.IntN(2) == 0 {
			return "close (needed)", e.End()
		}
		for _, pr := range st.CheckpointProgress() {
			if !pr.Reached && len(pr.Missing) > 0 {
				who := pr.Missing[r.IntN(len(pr.Missing))]
				return "sign the checkpoint " + who + " (needed)", e.SignCheckpoint(p.ps[who], nil)
			}
		}
	}
	anyone := []string{"alice", "bob", "carol", "dave", "erin", "frank", "online", "maint1", "mallory"}
	who := anyone[r.IntN(len(anyone))]
	if r.IntN(4) > 0 {
		who = anyone[r.IntN(6)] // mostly the keys the ceremonies ask for
	}
	k := r.IntN(18)
	if e.State().Checkpoint != nil && r.IntN(2) == 0 {
		k = 15 + r.IntN(2) // once closed, mostly the checkpoint
	}
	switch k {
	case 0, 1, 2, 3, 11, 12:
		_, err := e.Sign(p.ps[who], nil)
		return "sign " + who, err
	case 4, 13:
		// An air-gapped signer answers a request; some responses are
		// damaged on the way.
		reqDir := filepath.Join(p.dir, "requests")
		paths, err := e.ExportRequests(reqDir)
		if err != nil || len(paths) == 0 {
			return "export requests", err
		}
		path := paths[r.IntN(len(paths))]
		req, err := ParseRequest(mustRead(t, path))
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(4) > 0 {
			who = req.Signers[r.IntN(len(req.Signers))].Name
		}
		resp, err := SignRequest(req, p.ps[who], nil)
		if err != nil {
			return "sign request by " + who, nil // a key the request names not: refused before any workspace
		}
		if r.IntN(4) == 0 {
			sig := []byte(resp.Sig)
			sig[r.IntN(len(sig))] ^= 1
			resp.Sig = string(sig)
		}
		b, _ := resp.Marshal()
		p.responses = append(p.responses, b)
		return p.collect(b, "collect "+filepath.Base(path)+" signed by "+who)
	case 5:
		if len(p.responses) == 0 {
			return "collect nothing", nil
		}
		return p.collect(p.responses[r.IntN(len(p.responses))], "collect an earlier response again")
	case 6:
		// The bytes the bootstrap published, or another key's.
		signer := []string{"maint1", "maint1", "mallory"}[r.IntN(3)]
		return "include sampleproject signed by " + signer, e.Include("sampleproject", projectMetadata(t, p.ps[signer], "sampleproject", p.projectExpiry))
	case 7, 8, 14:
		var online crypto.Signer
		what := "publish"
		switch r.IntN(4) {
		case 0:
		case 1:
			online, what = p.ps[who], "publish with "+who+"'s key as the online key"
		default:
			online, what = p.ps["online"], "publish with the online key"
		}
		into := ""
		if r.IntN(3) == 0 {
			into, what = p.other, what+" into another folder"
		}
		_, err := e.PublishInto(into, online, nil)
		return what, err
	case 9:
		if r.IntN(3) > 0 {
			return "close", e.End()
		}
		reason := []string{"alice's token was lost", "alice's token was lost", "", "  ", "bad\x1b[31m"}[r.IntN(5)]
		return fmt.Sprintf("abort %q", reason), e.Abort(reason)
	case 15:
		return "sign the checkpoint " + who, e.SignCheckpoint(p.ps[who], nil)
	case 16:
		// An air-gapped signer answers the checkpoint's request; some
		// responses are damaged on the way.
		path, err := e.ExportCheckpointRequest(filepath.Join(p.dir, "requests"))
		if err != nil {
			return "export the checkpoint request", err
		}
		req, err := ParseCheckpointRequest(mustRead(t, path))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := SignCheckpointRequest(req, p.ps[who], nil)
		if err != nil {
			return "sign the checkpoint request by " + who, nil // refused before any workspace
		}
		if r.IntN(4) == 0 {
			sig := []byte(resp.Sig)
			sig[r.IntN(len(sig))] ^= 1
			resp.Sig = string(sig)
		}
		b, _ := resp.Marshal()
		if resp, err = ParseCheckpointResponse(b); err != nil {
			return "collect a checkpoint response (unparsable)", err
		}
		return "collect the checkpoint signed by " + who, e.CollectCheckpoint(resp)
	case 10:
		if err := e.Release(); err != nil {
			t.Fatal(err)
		}
		var err error
		if p.e, err = Resume(p.ws, Options{}); err != nil {
			t.Fatalf("reopen: %v", err)
		}
		return "reopen", nil
	}
	// The process dies right after the next event is on disk.
	e.afterAppend = func(int64) error { return errCrash }
	_, err := e.PublishInto("", p.ps["online"], nil)
	if !errors.Is(err, errCrash) {
		e.afterAppend = nil
		return "publish (to crash, but nothing was recorded)", err
	}
	e.Release() // the kernel drops a dead process's lock
	return "crash while publishing", err
}

func (p *propertyRun) collect(b []byte, what string) (string, error) {
	resp, err := ParseResponse(b)
	if err != nil {
		return what + " (unparsable)", err
	}
	return what, p.e.Collect(resp)
}

// snapshot is every file of the workspace and the publish folders, by
// path.
func (p *propertyRun) snapshot() map[string]string {
	out := map[string]string{}
	for _, root := range []string{p.ws, p.other, filepath.Join(p.dir, "repo")} {
		maps.Copy(out, snapshotDir(p.t, root))
	}
	return out
}

func diffSnapshots(a, b map[string]string) string {
	var diff []string
	for path, d := range b {
		if a[path] != d {
			diff = append(diff, path)
		}
	}
	for path := range a {
		if _, ok := b[path]; !ok {
			diff = append(diff, path+" (removed)")
		}
	}
	slices.Sort(diff)
	return strings.Join(diff, ", ")
}

// stateSummary is what the property compares between the fold and the
// live engine: every role with its signatures, and where publishing and
// the ceremony stand.
func stateSummary(st *State) string {
	var b strings.Builder
	for _, r := range st.Roles {
		var sigs []string
		for _, s := range r.Signatures {
			sigs = append(sigs, roles.ShortID(s.KeyID)+"/"+s.Via)
		}
		fmt.Fprintf(&b, "%s v%d %s [%s]\n", r.Role, r.Version, roles.ShortID(r.Digest), strings.Join(sigs, " "))
	}
	var dir string
	if st.publishing != nil {
		dir = st.publishing.Dir
	}
	if cp := st.Checkpoint; cp != nil {
		var sigs []string
		for _, s := range cp.Signatures {
			sigs = append(sigs, roles.ShortID(s.KeyID)+"/"+s.Via)
		}
		fmt.Fprintf(&b, "checkpoint %d %s [%s] %v\n", cp.Seq, cp.Head, strings.Join(sigs, " "), st.Checkpointed())
	}
	j, _ := json.Marshal(map[string]any{"publishing": dir, "published": st.Published, "closed": st.Closed, "aborted": st.Aborted, "reason": st.AbortReason})
	b.Write(j)
	return b.String()
}

// seededPeople are Ed25519 keys seeded by their names: their signatures
// are deterministic, so a seeded run repeats exactly, and a run cut short
// and resumed must publish the very bytes an uninterrupted run publishes.
func seededPeople(t *testing.T, dir string, names ...string) people {
	ps := people{}
	for _, n := range names {
		seed := sha256.Sum256([]byte("ceremony test key " + n))
		ps[n] = ed25519.NewKeyFromSeed(seed[:])
		writeKeyFile(t, filepath.Join(dir, n+".json"), ps[n].Public())
	}
	return ps
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}
