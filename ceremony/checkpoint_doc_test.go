package ceremony

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocCheckpointVerifier runs docs/TRANSCRIPT.md's checkpoint verifier
// (section 13.6) over signed, unsigned, rewritten and aborted ceremonies,
// under the right root and another, and checks that it agrees with
// VerifySigned each time.
func TestDocCheckpointVerifier(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("section 13.6's verifier needs python3 with the cryptography package: run scripts/install-deps.sh")
	}
	doc, err := os.ReadFile("../docs/TRANSCRIPT.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- python-checkpoint-verifier -->\n```python\n")
	prog, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/TRANSCRIPT.md has no python-checkpoint-verifier block")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "checkpoint.py")
	writeFile(t, script, []byte(prog))

	// A bootstrap signed with Ed25519 and ECDSA keys, its checkpoint
	// signed; one closed, unsigned; one rewritten after its close.
	mixed := filepath.Join(dir, "mixed")
	e, ps, mixedRoot := mixedBootstrap(t, mixed)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	unsignedMixed := filepath.Join(dir, "unsigned")
	copyTree(t, filepath.Join(mixed, "ws"), unsignedMixed)
	signCheckpointAs(t, e, ps, "alice", "bob", "dave", "erin")
	e.Release()
	via := rewriteEvents(t, filepath.Join(mixed, "ws"), filepath.Join(dir, "via"), func(typ string, data []byte) []byte {
		if typ != eventSigned {
			return data
		}
		return []byte(strings.Replace(string(data), `"via":"device"`, `"via":"response"`, 1))
	})
	if err := os.MkdirAll(filepath.Join(dir, "aborted"), 0o755); err != nil {
		t.Fatal(err)
	}
	aborted, _, _ := signedBootstrap(t, filepath.Join(dir, "aborted"), Options{})
	if err := aborted.Abort("the plan was wrong"); err != nil {
		t.Fatal(err)
	}
	// A rotation: root v1 to v2, its checkpoint signed under both.
	rot := filepath.Join(dir, "rotation")
	b, bps := closedBootstrap(t, rot)
	signCheckpointAs(t, b, bps, "alice", "bob", "dave", "erin")
	plan, err := LoadPlan(writeQuarterly(t, rot, bps))
	if err != nil {
		t.Fatal(err)
	}
	q, err := Begin(filepath.Join(rot, "q"), plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	signAllAs(t, q, bps, "alice", "bob", "frank", "dave")
	if _, err := q.Publish(bps["online"], nil); err != nil {
		t.Fatal(err)
	}
	if err := q.End(); err != nil {
		t.Fatal(err)
	}
	signCheckpointAs(t, q, bps, "alice", "bob", "frank", "dave")
	for _, c := range []struct {
		name, transcript string
		root             []byte
	}{
		{"signed", filepath.Join(mixed, "ws", TranscriptName), mixedRoot},
		{"a rotation, from root v1", q.TranscriptPath(), mustRead(t, filepath.Join(rot, "trusted.json"))},
		{"a rotation, from root v2", q.TranscriptPath(), mustRead(t, filepath.Join(rot, "ws", "metadata", "2.root.json"))},
		{"closed, unsigned", filepath.Join(unsignedMixed, TranscriptName), mixedRoot},
		{"rewritten", via, mixedRoot},
		{"aborted", aborted.TranscriptPath(), mixedRoot},
		{"under another root", filepath.Join(mixed, "ws", TranscriptName), otherRoot(t, filepath.Join(dir, "another"))},
	} {
		rootFile := filepath.Join(dir, "pinned.json")
		writeFile(t, rootFile, c.root)
		rep, goErr := VerifySigned(c.transcript, c.root)
		out, pyErr := exec.Command(python, script, c.transcript, rootFile).CombinedOutput()
		var exit *exec.ExitError
		if pyErr != nil && !errors.As(pyErr, &exit) {
			t.Fatalf("%s: python3: %v\n%s", c.name, pyErr, out)
		}
		if (goErr == nil) != (pyErr == nil) {
			t.Errorf("%s: VerifySigned says %v, the document's verifier says %v: %s", c.name, goErr, pyErr, out)
			continue
		}
		if goErr == nil && strings.TrimSpace(string(out)) != rep.Status {
			t.Errorf("%s: the document's verifier prints %q, VerifySigned %q", c.name, out, rep.Status)
		}
		t.Logf("%s: %s", c.name, strings.TrimSpace(string(out)))
	}
}
