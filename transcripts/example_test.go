package transcripts_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ceremony-tuf/ceremony/transcripts"
)

// The engine's life with a transcript: create it, store an artifact, append
// events that name it, and later verify and replay it.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ceremony.jsonl")

	w, err := transcripts.Create(path, transcripts.Header{Ceremony: "pypi-2026-q4", Tool: "ceremony 0.1.0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	root, _ := w.PutArtifact(strings.NewReader(`{"signed":{"_type":"root","version":8}}`))
	w.Append("role.staged", map[string]any{"role": "root", "metadata": root})
	_, err = w.Append("device.used", map[string]string{"serial": "12345678", "pin": "123456"})
	fmt.Println("a PIN is refused:", err != nil)
	w.Close()

	report, err := transcripts.Verify(path, "")
	fmt.Println(report.Events, "events,", report.Artifacts, "artifact, intact:", err == nil)

	f, _ := os.Open(path)
	defer f.Close()
	for ev, err := range transcripts.Events(f) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.Seq, ev.Type)
	}
	// Output:
	// a PIN is refused: true
	// 2 events, 1 artifact, intact: true
	// 1 transcript.header
	// 2 role.staged
}
