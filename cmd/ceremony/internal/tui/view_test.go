package tui

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ceremony-tuf/ceremony/ceremony"
)

// TestViewOnlyReads: the scroll that keeps the chosen key in view is set
// by Update, and drawing a frame changes nothing.
func TestViewOnlyReads(t *testing.T) {
	w := newWorld(t)
	m := w.model(asciiRenderer())
	m.Update(snapMsg{takeSnapshot(w.eng)})
	devs, probs := w.devices(context.Background())
	m.Update(devsMsg{devs, probs})
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s")})
	for range people {
		m.Update(tea.KeyMsg{Type: tea.KeyDown})
	}
	if m.scroll == 0 {
		t.Fatalf("the cursor went down to the last key and the body did not scroll:\n%s", m.View())
	}
	scroll, followed := m.scroll, m.followed
	f := m.View()
	if !strings.Contains(f, "▸ SoftHSM v2 #0006 (online)") {
		t.Errorf("the chosen key is not in view:\n%s", f)
	}
	if again := m.View(); again != f || m.scroll != scroll || m.followed != followed {
		t.Errorf("drawing changed the model: scroll %d→%d, followed %d→%d", scroll, m.scroll, followed, m.followed)
	}
}

// TestKeyTableListsEveryKey: every binding of the key map is in a row of
// the key table, once.
func TestKeyTableListsEveryKey(t *testing.T) {
	km := newKeyMap(false)
	var listed []key.Binding
	for _, r := range km.rows() {
		listed = append(listed, r.keys...)
	}
	v := reflect.ValueOf(*km)
	for i := range v.NumField() {
		var bs []key.Binding
		switch f := v.Field(i).Interface().(type) {
		case key.Binding:
			bs = []key.Binding{f}
		case [numScreens]key.Binding:
			bs = f[:]
		default:
			t.Fatalf("keyMap.%s is a %T, not a binding", v.Type().Field(i).Name, f)
		}
		for _, b := range bs {
			j := -1
			for k := range listed {
				if reflect.DeepEqual(listed[k], b) {
					j = k
					break
				}
			}
			if j < 0 {
				t.Errorf("keyMap.%s (%v) is in no row of the key table", v.Type().Field(i).Name, b.Keys())
				continue
			}
			listed = append(listed[:j], listed[j+1:]...)
		}
	}
	for _, b := range listed {
		t.Errorf("the key table lists %v, which is not in the key map, or twice", b.Keys())
	}
}

// TestRequestKeys: the one-signer view has Review and Sign only; tab
// goes between them and the keys of the other screens do nothing.
func TestRequestKeys(t *testing.T) {
	m := New(Options{Request: &ceremony.Request{}, Renderer: asciiRenderer()})
	m.snap = &snapshot{Roles: []roleView{{Name: "root"}}}
	if bar := m.help(); !strings.HasSuffix(bar, " · r s/tab screens · q quit") {
		t.Errorf("help bar: %q", bar)
	}
	for _, k := range []tea.KeyMsg{{Type: tea.KeyTab}, {Type: tea.KeyRunes, Runes: []rune("t")}, {Type: tea.KeyRunes, Runes: []rune("p")}, {Type: tea.KeyShiftTab}} {
		m.Update(k)
		if m.screen != screenSign && m.screen != screenReview {
			t.Fatalf("after %s the one-signer view is on %s", k, screenNames[m.screen])
		}
	}
	if m.screen != screenReview {
		t.Errorf("tab then shift+tab ends on %s, not Review", screenNames[m.screen])
	}
}
