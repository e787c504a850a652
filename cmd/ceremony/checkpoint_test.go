package main

import (
	"bytes"
	"encoding/json"
	"os"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/transcripts"
)

// Commands for demo.txtar:
//
//	rechain SRC DST OLD NEW   write the transcript SRC anew at DST (its
//	                          artifacts beside it) with OLD replaced by NEW
//	                          in every event's data and the hash chain
//	                          computed again, as whoever can write the
//	                          workspace could
func init() { scriptCmds["rechain"] = cmdRechain }

func cmdRechain(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: rechain SRC DST OLD NEW")
	}
	src, dst := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	ts.Check(os.CopyFS(transcripts.ArtifactDir(dst), os.DirFS(transcripts.ArtifactDir(src))))
	f, err := os.Open(src)
	ts.Check(err)
	defer f.Close()
	var w *transcripts.Writer
	changed := 0
	for ev, err := range transcripts.Events(f) {
		ts.Check(err)
		if ev.Type == transcripts.HeaderType {
			var h transcripts.Header
			ts.Check(json.Unmarshal(ev.Data, &h))
			w, err = transcripts.Create(dst, h)
			ts.Check(err)
			continue
		}
		data := bytes.ReplaceAll(ev.Data, []byte(args[2]), []byte(args[3]))
		if !bytes.Equal(data, ev.Data) {
			changed++
		}
		_, err := w.Append(ev.Type, json.RawMessage(data))
		ts.Check(err)
	}
	ts.Check(w.Close())
	if changed == 0 {
		ts.Fatalf("rechain: no event holds %q", args[2])
	}
	ts.Logf("rechain: %d events changed", changed)
}
