package tui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/roles"
)

// The one-signer view: an air-gapped signer, with no workspace, reads a
// signing request, chooses a device, gives the PIN, types "yes", and
// the response is written to carry back. The request is checked and
// signed by the engine's SignRequest; the TUI only draws it.

// requestSnapshot is what the TUI draws of a signing request.
func requestSnapshot(req *ceremony.Request) *snapshot {
	s := &snapshot{Ceremony: req.Ceremony, Head: req.TranscriptHead, HeadWords: digestWords(req.TranscriptHead),
		Keys: map[string]*keyView{}}
	rv := roleView{Name: req.Role, Version: req.Version, Summary: req.Summary, Digest: req.Digest,
		Words: digestWords(req.Digest), Canonical: string(req.Signed)}
	for _, c := range req.ChecksPassed {
		rv.Checks = append(rv.Checks, roles.Finding{Check: c, Role: req.Role, Passed: true})
	}
	s.Roles = []roleView{rv}
	for _, sg := range req.Signers {
		s.Keys[sg.KeyID] = &keyView{Participant: sg.Name, KeyID: sg.KeyID, Device: sg.Device, MaySign: []string{req.Role}}
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
	tick := m.setBusy("signing with " + m.sign.with.dev.String())
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
		fmt.Sprintf("signed %s v%d as %s with key %s, verified", msg.resp.Role, msg.resp.Version, msg.resp.Signer, shortID(msg.resp.KeyID)),
		"response written to " + msg.path,
	}
	m.notice = "Signed. Carry the response back to the ceremony room; q to leave."
}
