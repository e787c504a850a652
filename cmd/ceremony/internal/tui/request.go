package tui

import (
	"fmt"
	"github.com/ceremony-tuf/ceremony/roles"
	"slices"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
)

// The one-signer view: an air-gapped signer, with no workspace, reads a
// signing request, chooses a device, gives the PIN, types "yes", and
// the response is written to carry back. The request is checked and
// signed by the engine's SignRequest; the TUI only draws it.

// requestSnapshot is what the TUI draws of a signing request: what its
// bytes say, read from them (Review), what they were compared with
// (note, as 'ceremony sign' words it), and the requester's own words
// apart (Claims); the digest is computed here from the bytes.
func requestSnapshot(req *ceremony.Request, note string) *snapshot {
	s := &snapshot{Ceremony: untrusted.Line(req.Ceremony), Head: req.TranscriptHead, HeadWords: digestWords(req.TranscriptHead),
		Keys: map[string]*keyView{}}
	rv := req.Review()
	v := roleView{Name: untrusted.Line(req.Role), Version: req.Version, Summary: safeLines(append([]string{rv.Head}, rv.Holds...)),
		Compared: untrusted.Text(note), Changes: safeLines(append(slices.Clip(rv.Changes), rv.ProjectLines(maxProjectLines)...)), Says: safeLines(req.Claims())}
	v.setBytes(req.Signed)
	s.Roles = []roleView{v}
	for _, sg := range req.Signers {
		s.Keys[sg.KeyID] = &keyView{Participant: untrusted.Line(sg.Name), KeyID: sg.KeyID, Device: untrusted.Line(sg.Device), MaySign: []string{v.Name}}
	}
	names := map[string]string{}
	for _, sg := range req.Signers {
		names[sg.KeyID] = sg.Name
	}
	for _, t := range req.Thresholds {
		p := ceremony.Progress{Role: req.Role, Under: t.Under, Threshold: t.Threshold}
		for _, id := range t.KeyIDs {
			p.Missing = append(p.Missing, names[id])
		}
		s.Progress = append(s.Progress, p)
	}
	s.Progress = safeProgress(s.Progress)
	return s
}

type requestSignedMsg struct {
	resp *ceremony.Response
	path string
	err  error
}

// signRequest signs the request with the open signer and writes the
// response.
func (m *Model) signRequest() tea.Cmd {
	tick := m.setBusy("signing with " + m.sign.with.name)
	req, signer, write := m.opt.Request, m.sign.signer, m.opt.WriteResponse
	dev := signer.Key().Device
	return tea.Batch(tick, m.work(func() tea.Msg {
		resp, err := ceremony.SignRequest(req, signer, &dev)
		if err != nil {
			return requestSignedMsg{err: err}
		}
		path, err := write(resp)
		return requestSignedMsg{resp: resp, path: path, err: err}
	}))
}

func (m *Model) requestSigned(msg requestSignedMsg) {
	m.busy = busy{}
	m.sign.end()
	if msg.err != nil {
		m.fail(msg.err)
		return
	}
	if k := m.snap.Keys[msg.resp.KeyID]; k != nil {
		k.Signed = []string{msg.resp.Role}
	}
	m.sign.written = msg.path
	m.sign.devices.resuggest(m.snap)
	m.sign.results = []string{
		fmt.Sprintf("signed %s v%d as %s with key %s, verified", untrusted.Line(msg.resp.Role), msg.resp.Version, untrusted.Line(msg.resp.Signer), roles.ShortID(msg.resp.KeyID)),
		"response written to " + untrusted.Line(msg.path),
	}
	m.notice = "Signed. Carry the response back to the ceremony room; q to leave."
}
