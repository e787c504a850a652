package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/internal/softhsmtest"
)

// killEnv names the event after which the ceremony process kills itself.
const killEnv = "CEREMONY_TEST_KILL_AFTER_EVENT"

// installKillHook makes this process, when it runs as 'ceremony' under a
// test, SIGKILL itself right after the given event is on disk: a real
// death at an exact event boundary, which nothing outside the process can
// time. Only the test binary has it; the product never reads killEnv.
func installKillHook() {
	at, err := strconv.ParseInt(os.Getenv(killEnv), 10, 64)
	if err != nil {
		return
	}
	afterAppend = func(seq int64) error {
		if seq == at {
			syscall.Kill(syscall.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
		return nil
	}
}

// TestKillAtEveryEventBoundary runs a bootstrap through the CLI on SoftHSM
// once uninterrupted, then once per event with the process killed right
// after that event, each time going on with 'ceremony resume' and the
// remaining steps; every run must publish the same files, byte for byte.
func TestKillAtEveryEventBoundary(t *testing.T) {
	dir := t.TempDir()
	hsmEnv, err := softhsmtest.New(filepath.Join(dir, "softhsm"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"alice", "bob", "carol", "dave", "erin", "online"}
	for _, n := range names {
		if _, err := hsmEnv.InitToken(n, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	pin := filepath.Join(dir, "pin")
	os.WriteFile(pin, []byte(softhsmtest.UserPIN+"\n"), 0o600)
	env := append(os.Environ(), hsmEnv.Environ()...)
	env = append(env, "PCSCLITE_CSOCK_NAME="+filepath.Join(dir, "no-pcscd.comm"))
	uri := func(n string) string { return "pkcs11:token=" + n + ";object=k?pin-source=" + pin }
	run := func(kill int64, stdin string, args ...string) (int, string) {
		cmd := exec.Command("ceremony", args...)
		cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader(stdin)
		if kill > 0 {
			cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", killEnv, kill))
		}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return -1, string(out)
			}
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	var parts strings.Builder
	for _, n := range names {
		// Ed25519 signatures are deterministic, so every run must publish
		// the same bytes.
		code, out := run(0, "", "keys", "generate", "--json", "--type", "ed25519", uri(n))
		if code != 0 {
			t.Fatalf("keys generate %s: %s", n, out)
		}
		var kf struct{ KeyID string }
		json.Unmarshal([]byte(out), &kf)
		os.WriteFile(filepath.Join(dir, n+".json"), []byte(out), 0o644)
		fmt.Fprintf(&parts, "  - {name: %s, key_file: %s.json, keyid: %s}\n", n, n, kf.KeyID)
	}
	// The reference time is the clock's, as start asks; every run of the
	// test publishes from this one plan.
	os.WriteFile(filepath.Join(dir, "plan.yaml"), []byte(`ceremony: kill-test
reference_time: `+time.Now().UTC().Truncate(time.Minute).Format(time.RFC3339)+`
allow_network: true
root: {add: [alice, bob, carol], threshold: 2}
targets: {add: [alice, bob, carol], threshold: 2, claimed: {add: [dave, erin], threshold: 2}}
online: {participant: online, unclaimed_bin_bits: 1}
participants:
`+parts.String()), 0o644)

	steps := func(ws string) [][]string {
		s := [][]string{{"start", "plan.yaml", "--workspace", ws}}
		for _, n := range []string{"alice", "bob", "dave", "erin"} {
			s = append(s, []string{"sign", "--workspace", ws, "--key", uri(n)})
		}
		return append(s, []string{"publish", "--workspace", ws, "--online-key", uri("online")})
	}
	// ceremony runs the steps; with kill > 0 the first process to record
	// event kill dies there, and the rest go on after a resume.
	ceremonyRun := func(ws string, kill int64) (killed bool) {
		for _, step := range steps(ws) {
			code, out := run(kill, "yes\n", step...)
			if code == -1 {
				// What a person does after a crash: resume; and start again
				// only when resume says the plan was never recorded.
				killed, kill = true, 0
				c, o := run(0, "", "resume", "--workspace", ws)
				switch {
				case c == 0 && step[0] == "start":
					continue
				case c == 0:
				case strings.Contains(o, "cut short before its plan"):
				default:
					t.Fatalf("resume after a kill during %v: exit %d: %s", step, c, o)
				}
				code, out = run(0, "yes\n", step...)
			}
			// After a kill a step may find its work done already.
			if code != 0 && !(killed && (strings.Contains(out, "nothing left to sign") || strings.Contains(out, "already published"))) {
				t.Fatalf("%v: exit %d: %s", step, code, out)
			}
		}
		return killed
	}
	ceremonyRun("ref", 0)
	want := dirDigests(t, filepath.Join(dir, "ref", "metadata"))
	tb, _ := os.ReadFile(filepath.Join(dir, "ref", "transcript.jsonl"))
	total := int64(bytes.Count(tb, []byte("\n")))
	t.Logf("uninterrupted: %d events, %d files published", total, len(want))
	for at := int64(2); at <= total; at++ {
		ws := fmt.Sprintf("ws%02d", at)
		if !ceremonyRun(ws, at) {
			t.Fatalf("no process was killed at event %d", at)
		}
		got := dirDigests(t, filepath.Join(dir, ws, "metadata"))
		if len(got) != len(want) {
			t.Fatalf("killed at event %d: %d files published, want %d", at, len(got), len(want))
		}
		for name, d := range want {
			if got[name] != d {
				t.Errorf("killed at event %d: %s differs from the uninterrupted run's", at, name)
			}
		}
		if c, o := run(0, "", "transcript", "replay", filepath.Join(ws, "transcript.jsonl"), "--against", filepath.Join(ws, "metadata")); c != 0 {
			t.Errorf("killed at event %d: replay: %s", at, o)
		}
	}
}

func dirDigests(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a temporary file was left behind: %s", e.Name())
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = string(b)
	}
	return out
}
