package transcripts

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseLine: no input panics; a line that parses is valid JSON and is
// exactly what encodeLine makes of its fields, so the grammar has one
// spelling per event; and data that scans is valid JSON to encoding/json.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(goodLine))
	f.Add([]byte(`{"seq":2,"time":"2026-11-25T09:00:00.000000001Z","type":"x","prev":"` + zeros + `","data":{"artifact":"sha256:` + zeros + `"}}` + "\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, refs, errs := parseLine(raw)
		if len(errs) > 0 {
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("accepted invalid JSON %q", raw)
		}
		if again := encodeLine(ev.Seq, ev.Time, ev.Type, ev.Prev, ev.Data); !bytes.Equal(again, raw) {
			t.Fatalf("re-encoded %q as %q", raw, again)
		}
		for _, r := range refs {
			if !validArtifactName(r) {
				t.Fatalf("bad artifact name %q returned", r)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			t.Fatalf("data %q does not decode: %v", ev.Data, err)
		}
	})
}

// FuzzVerify: no file makes Verify or Events panic, and they agree: Events
// reads every line without error exactly when Verify finds no problem other
// than with artifacts' bytes.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(goodLine))
	_, orig, _ := fixture(f)
	f.Add(orig)
	f.Add(orig[:len(orig)-7])
	f.Add(append(bytes.Clone(orig), orig...))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.jsonl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Verify(p, "")
		if err != nil && r == nil {
			t.Fatalf("no report: %v", err)
		}
		chainOK := true
		for _, pr := range r.Problems {
			// A problem with a named artifact's bytes names it; Events
			// does not read artifacts.
			if pr.Artifact == "" {
				chainOK = false
			}
			if pr.Line < 1 && pr.Artifact == "" || pr.Offset < 0 || pr.Offset > int64(len(b)) {
				t.Fatalf("problem located outside the file: %+v", pr)
			}
		}
		n := 0
		var ierr error
		for _, err := range Events(bytes.NewReader(b)) {
			if err != nil {
				ierr = err
				break
			}
			n++
		}
		if (ierr == nil) != chainOK || chainOK && n != r.Events {
			t.Fatalf("Events: %d events, %v; Verify: %d events, %+v", n, ierr, r.Events, r.Problems)
		}
	})
}

// FuzzData: data the scanner accepts is valid, compact JSON to
// encoding/json, and decodes to an object; no bytes make the artifact
// screen panic.
func FuzzData(f *testing.F) {
	f.Add([]byte(`{"k":[1,-2.5e3,true,null,"s\u00e9\n"],"o":{"artifact":"sha256:` + zeros + `"}}`))
	f.Add([]byte(`{"a":"\ud83d\ude00","b":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		screenArtifact(b)
		if _, errs := scanData(b); len(errs) > 0 {
			return
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil || !bytes.Equal(c.Bytes(), b) {
			t.Fatalf("accepted %q, which is not compact JSON (%v)", b, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil || m == nil {
			t.Fatalf("accepted %q, which is not an object: %v", b, err)
		}
	})
}
