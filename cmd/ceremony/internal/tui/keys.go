package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
)

// keyMap is every key the TUI answers to, named by what it does. Update
// matches key presses against it, the help bar shows its bindings' help,
// and the key table in docs/TUI.md is generated from its rows
// (TestKeyTable), so a key cannot work without being listed, nor be
// listed and not work.
type keyMap struct {
	// Every screen.
	Jump                   [numScreens]key.Binding // r s t p c: to that screen
	NextScreen, PrevScreen key.Binding
	PageUp, PageDown       key.Binding
	Quit, ForceQuit        key.Binding

	// Review.
	PrevRole, NextRole, Raw, Reviewed key.Binding
	// Review and Thresholds.
	ScrollUp, ScrollDown key.Binding
	// Sign.
	KeyUp, KeyDown, UseKey key.Binding
	// Publish and Close.
	Publish, CloseCeremony key.Binding

	// The PIN and "yes" fields, which take every other key as typed.
	Send, Confirm, Erase, Cancel key.Binding
	// The error panel.
	Dismiss key.Binding
}

// newKeyMap returns the keys of the full TUI or, for request, of the
// one-signer view, which has only the Review and Sign screens.
func newKeyMap(request bool) *keyMap {
	bind := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	km := &keyMap{
		Jump: [numScreens]key.Binding{
			screenReview:  key.NewBinding(key.WithKeys("r")),
			screenSign:    key.NewBinding(key.WithKeys("s")),
			screenBoard:   key.NewBinding(key.WithKeys("t")),
			screenPublish: key.NewBinding(key.WithKeys("p")),
			screenClose:   key.NewBinding(key.WithKeys("c")),
		},
		NextScreen: key.NewBinding(key.WithKeys("tab")),
		PrevScreen: key.NewBinding(key.WithKeys("shift+tab")),
		// Not on the help bar: the scroll hint names PgDn when there is
		// more to see.
		PageUp:    key.NewBinding(key.WithKeys("pgup")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown")),
		Quit:      bind("q", "quit", "q"),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c")),

		PrevRole:   bind("←/→", "role", "left", "h"),
		NextRole:   bind("←/→", "role", "right", "l", " "),
		Raw:        bind("x", "JSON", "x"),
		Reviewed:   bind("enter", "done", "enter"),
		ScrollUp:   bind("↑/↓", "scroll", "up", "k"),
		ScrollDown: bind("↑/↓", "scroll", "down", "j"),

		KeyUp:   bind("↑/↓", "choose key", "up", "k"),
		KeyDown: bind("↑/↓", "choose key", "down", "j"),
		UseKey:  bind("enter", "use it", "enter"),

		Publish:       bind("enter", "publish", "enter"),
		CloseCeremony: bind("enter", "close the ceremony", "enter"),

		Send:    bind("enter", "send", "enter"),
		Confirm: bind("enter", "sign", "enter"),
		Erase:   key.NewBinding(key.WithKeys("backspace")),
		Cancel:  bind("esc", "cancel", "esc"),
		Dismiss: bind("enter", "dismiss", "enter", "esc"),
	}
	if request {
		for _, s := range []screen{screenBoard, screenPublish, screenClose} {
			km.Jump[s].SetEnabled(false)
		}
	}
	// The ways between screens share one entry: "r s t p c/tab screens".
	var jumps []string
	for _, j := range km.Jump {
		if j.Enabled() {
			jumps = append(jumps, j.Keys()...)
		}
	}
	label := strings.Join(jumps, " ") + "/" + km.NextScreen.Keys()[0]
	for _, b := range km.screenKeys() {
		b.SetHelp(label, "screens")
	}
	return km
}

// screenKeys are the bindings that go from screen to screen.
func (km *keyMap) screenKeys() []*key.Binding {
	out := []*key.Binding{&km.NextScreen, &km.PrevScreen}
	for i := range km.Jump {
		out = append(out, &km.Jump[i])
	}
	return out
}

// everyScreen are the keys every screen has, as the help bar lists them
// after the screen's own.
func (km *keyMap) everyScreen() []key.Binding {
	return slices.Concat(km.Jump[:], []key.Binding{km.NextScreen, km.PrevScreen, km.Quit})
}

// helpBar renders the help bar: a hint of what to type, if any, then the
// help of each enabled binding; bindings that share their help (← and →
// for the role) share one entry.
func helpBar(hint string, bs ...key.Binding) string {
	var items []string
	if hint != "" {
		items = append(items, hint)
	}
	var last key.Help
	for _, b := range bs {
		h := b.Help()
		if !b.Enabled() || h.Key == "" || h == last {
			continue
		}
		last = h
		items = append(items, h.Key+" "+h.Desc)
	}
	return " " + strings.Join(items, " · ")
}

// keyRow is one row of the key table in docs/TUI.md.
type keyRow struct {
	keys  []key.Binding
	where string
	does  string
}

// rows are the key table in docs/TUI.md: every binding of the map, where
// it works and what it does, in words for the signer.
func (km *keyMap) rows() []keyRow {
	return []keyRow{
		{km.Jump[:], "any screen", "go to Review, Sign, Thresholds, Publish, Close"},
		{[]key.Binding{km.NextScreen, km.PrevScreen}, "any screen", "go to the next, the previous screen"},
		{[]key.Binding{km.PageUp, km.PageDown}, "any screen", "scroll a page up, down"},
		{[]key.Binding{km.Quit}, "any screen, error panel", "quit; while a device or the engine works, it says to wait"},
		{[]key.Binding{km.ForceQuit}, "anywhere", "quit at once; `ceremony tui` takes the ceremony up where it stopped"},
		{[]key.Binding{km.PrevRole, km.NextRole}, "Review", "the previous, the next role"},
		{[]key.Binding{km.Raw}, "Review", "the raw canonical JSON that signatures cover, or back to the summary"},
		{[]key.Binding{km.ScrollUp, km.ScrollDown}, "Review, Thresholds", "scroll a line up, down"},
		{[]key.Binding{km.Reviewed}, "Review", "done reading: go to Sign"},
		{[]key.Binding{km.KeyUp, km.KeyDown}, "Sign", "choose a key"},
		{[]key.Binding{km.UseKey}, "Sign", "open the chosen key's device; it asks for its PIN"},
		{[]key.Binding{km.Publish}, "Publish", "publish; the online key asks for its PIN"},
		{[]key.Binding{km.CloseCeremony}, "Close", "close the ceremony: nothing can be added afterwards"},
		{[]key.Binding{km.Send}, "PIN field", "give the PIN to the device"},
		{[]key.Binding{km.Confirm}, "yes field", "sign, if what is typed is yes"},
		{[]key.Binding{km.Erase}, "PIN and yes fields", "erase the last character"},
		{[]key.Binding{km.Cancel}, "PIN and yes fields", "leave the field: nothing is signed"},
		{[]key.Binding{km.Dismiss}, "error panel", "back to the screen"},
	}
}

// keyNames are how the table in docs/TUI.md writes keys that bubbletea
// names in words.
var keyNames = map[string]string{"left": "←", "right": "→", "up": "↑", "down": "↓", " ": "space", "pgup": "PgUp", "pgdown": "PgDn"}

// keyTable is the key table of docs/TUI.md, in Markdown.
func (km *keyMap) keyTable() string {
	var b strings.Builder
	b.WriteString("| keys | where | what they do |\n|---|---|---|\n")
	for _, r := range km.rows() {
		var keys []string
		for _, k := range r.keys {
			for _, s := range k.Keys() {
				if n, ok := keyNames[s]; ok {
					s = n
				}
				keys = append(keys, "`"+s+"`")
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", strings.Join(keys, " "), r.where, r.does)
	}
	return b.String()
}
