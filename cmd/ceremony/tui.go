package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/tui"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/hsm/piv"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
	"github.com/ceremony-tuf/ceremony/roles"
)

const tuiHelp = `Opens the guided terminal UI on the ceremony in WORKSPACE (default: the
current folder), for the people in the ceremony room. A step rail shows
Open, Load, Stage, Review, Sign, Publish, Close: where the ceremony
stands and what blocks the next step. Review shows, per role, the change
in plain words, the policy checks by name, the digest in hex and PGP
words, and the raw canonical JSON (x). Sign lists the tokens and cards
plugged in, refreshed every second, with the key each holds and the roles
it may sign; choose one, type "yes", give its PIN in a masked field that
shows the tries left, and each signature is verified at once. The
threshold board shows, per role, who signed and who is missing, the old
and new root side by side. Errors are shown as a panel saying what to do;
the ceremony can always be left (q) and taken up again.

Everything the TUI does goes through the same engine as the CLI commands
(sign, publish, close), and lands in the transcript. Run 'ceremony' with
no arguments in a workspace, in a terminal, to open it too.

--plain gives a line-by-line mode with the same steps for serial consoles
and screen readers: it prints the review and thresholds and reads
commands (review, status, devices, sign URI, publish, close, quit).

The TUI needs a terminal of at least 80x24; NO_COLOR is honoured.

Example:
  ceremony tui ws-2026-q4
  ceremony tui ws-2026-q4 --plain`

type tuiCommandOptions struct {
	onlineKey              *string
	allowLastPINTry, plain *bool
}

func tuiFlags(fs *flag.FlagSet) *tuiCommandOptions {
	return &tuiCommandOptions{
		onlineKey:       fs.String("online-key", "", "the online key's URI for publishing (default: the plan's online.key_uri)"),
		allowLastPINTry: fs.Bool("allow-last-pin-try", false, "let a login spend the device's last PIN try"),
		plain:           fs.Bool("plain", false, "line-by-line mode for serial consoles and screen readers"),
	}
}

// runTUICommand is 'ceremony tui [WORKSPACE]'.
func runTUICommand(ctx context.Context, e *env, o *tuiCommandOptions, args []string) error {
	if len(args) > 1 {
		return usageErrorf("tui takes at most one workspace folder")
	}
	ws := "."
	if len(args) == 1 {
		ws = args[0]
	}
	return runTUI(ctx, e, ws, *o.onlineKey, *o.allowLastPINTry, *o.plain)
}

// maybeTUI opens the TUI when ceremony is run with no arguments in a
// workspace (a folder holding a transcript), in a terminal. It reports
// whether it did, and the exit code then.
func maybeTUI(ctx context.Context, e *env, args []string) (handled bool, code int) {
	if len(args) != 0 || !isTerminal(e.stdin) || !isTerminal(e.stdout) {
		return false, 0
	}
	if _, err := os.Stat(filepath.Join(".", ceremony.TranscriptName)); err != nil {
		return false, 0
	}
	if err := runTUI(ctx, e, ".", "", false, false); err != nil {
		fmt.Fprintf(e.stderr, "ceremony tui: %s\n", untrusted.Text(err.Error()))
		return true, int(exitcode.Of(err))
	}
	return true, int(exitcode.OK)
}

func isTerminal(x any) bool {
	f, ok := x.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func runTUI(ctx context.Context, e *env, ws, online string, allowLast, plain bool) error {
	if !plain && (!isTerminal(e.stdin) || !isTerminal(e.stdout)) {
		return usageErrorf("the TUI needs a terminal: run it in one, or use --plain for line-by-line mode")
	}
	eng, err := viewWorkspace(ws)
	if err != nil {
		return err
	}
	defer eng.Release()
	if plain {
		return runPlain(ctx, e, eng, online, allowLast)
	}
	return tui.Run(tuiOptions(ctx, eng, online, allowLast), e.stdin, e.stdout)
}

// tuiOptions are the TUI's options on a real terminal and real devices.
func tuiOptions(ctx context.Context, eng *ceremony.Engine, online string, allowLast bool) tui.Options {
	return tui.Options{Engine: eng, OnlineURI: online, AllowLastTry: allowLast, Context: ctx, PromptOut: pivPrompts}
}

// pivPrompts sends what YubiKeys ask for ("touch your YubiKey now") to w,
// or back to stderr when w is nil.
func pivPrompts(w io.Writer) {
	for _, b := range hsm.Backends() {
		if pb, ok := b.(*piv.Backend); ok {
			pb.Out = w
		}
	}
}

// runPlain is the line-by-line face: the CLI's printing, and commands
// read a line at a time.
func runPlain(ctx context.Context, e *env, eng *ceremony.Engine, online string, allowLast bool) error {
	in := bufio.NewReader(e.stdin)
	opt := tui.Options{Engine: eng, OnlineURI: online}
	st := eng.State()
	printReview(e.stdout, st)
	printProgress(e.stdout, st)
	for {
		// The rail, and where the ceremony stands in this face's own
		// words: the TUI's keys mean nothing here.
		fmt.Fprintf(e.stdout, "\nSteps:%s\n%s\nCommands: review, status, devices, sign URI, publish, close, quit\n> ", tui.Steps(opt, true), plainStanding(eng.State()))
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			if errors.Is(err, io.EOF) {
				fmt.Fprintln(e.stdout)
				return nil
			}
			return err
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var cerr error
		switch f[0] {
		case "review":
			printReview(e.stdout, st)
		case "status":
			printProgress(e.stdout, st)
		case "devices":
			plainDevices(ctx, e, st)
		case "sign":
			if len(f) != 2 {
				fmt.Fprintln(e.stdout, "sign takes the key URI: sign 'pkcs11:token=alice;object=admin' (see devices)")
				continue
			}
			cerr = plainSign(ctx, e, in, eng, f[1], allowLast)
		case "publish":
			cerr = plainPublish(ctx, e, eng, online, allowLast)
		case "close":
			if cerr = eng.End(); cerr == nil {
				h := eng.Head()
				fmt.Fprintf(e.stdout, "Closed. Transcript head: %s\nin words: %s\n", h, h.Words())
			}
		case "quit", "q", "exit":
			return nil
		default:
			fmt.Fprintf(e.stdout, "unknown command %s\n", safe(f[0]))
		}
		if cerr != nil {
			fmt.Fprintf(e.stdout, "error: %s\n", untrusted.Text(cerr.Error()))
		}
	}
}

// plainStanding is standing in the plain face's commands.
func plainStanding(st *ceremony.State) string {
	r := strings.NewReplacer("'ceremony publish' (or 'ceremony resume')", "publish", "'ceremony publish'", "publish", "'ceremony close'", "close", "'ceremony sign --key URI'", "sign URI")
	return r.Replace(standing(st))
}

func plainDevices(ctx context.Context, e *env, st *ceremony.State) {
	devs, probs := tui.AllDevices(ctx)
	for _, p := range probs {
		fmt.Fprintf(e.stdout, "(%s)\n", untrusted.Text(p))
	}
	if len(devs) == 0 {
		fmt.Fprintln(e.stdout, "No tokens or cards found: plug yours in.")
	}
	for _, d := range devs {
		fmt.Fprintf(e.stdout, "%s\n", safe(d.Device.String()))
		for _, k := range d.Keys {
			who := "not a participant's key"
			if tk, err := roles.KeyFromPublic(k.Public); err == nil {
				for _, p := range st.Plan.Participants {
					if p.KeyID == tk.ID() {
						who = p.Name + "'s key " + tk.ID()[:8]
					}
				}
			}
			fmt.Fprintf(e.stdout, "  %s (%s)\n    sign %s\n", safe(k.Label), who, safe(k.URI))
		}
	}
}

func plainSign(ctx context.Context, e *env, in *bufio.Reader, eng *ceremony.Engine, uri string, allowLast bool) error {
	// As 'ceremony sign' does: refuse first, then the review, "yes", and
	// only then the PIN.
	review, sign := signingFor(eng.State())
	tk, who, err := review(ctx, e.stdout, eng, uri)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Type \"yes\" to sign these with %s: ", who)
	line, _ := in.ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(e.stdout, notConfirmed)
		return nil
	}
	signer, err := openLookedUp(ctx, uri, tk, terminalAuth(e, allowLast))
	if err != nil {
		return err
	}
	defer signer.Close()
	return sign(e, eng, signer)
}

func plainPublish(ctx context.Context, e *env, eng *ceremony.Engine, online string, allowLast bool) error {
	st := eng.State()
	if online == "" && st.Plan.Online != nil {
		online = st.Plan.Online.KeyURI
	}
	var res *ceremony.PublishResult
	var err error
	if online == "" || st.Publishing() || !st.Done() {
		// No PIN is asked before the engine has said it will publish.
		res, err = eng.Publish(nil, nil)
	} else {
		signer, oerr := hsm.Open(ctx, online, terminalAuth(e, allowLast))
		if oerr != nil {
			return oerr
		}
		defer signer.Close()
		dev := signer.Key().Device
		res, err = eng.Publish(signer, &dev)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %d files into %s\n", len(res.Files), safe(res.Dir))
	return nil
}

// runRequestTUI opens the one-signer view on a signing request, for a
// key holder on an air-gapped machine with no workspace: the request is
// reviewed, a device is chosen, "yes" typed, the PIN given, and the
// response written to out (never over an existing file). 'ceremony sign
// REQUEST --out FILE' without --key, in a terminal, is meant to call it.
func runRequestTUI(ctx context.Context, e *env, request, out, rootFile string, allowLast bool) error {
	if out == "" {
		return usageErrorf("name the response file to write with --out, e.g. --out /media/usb/alice-root.response.json")
	}
	if !isTerminal(e.stdin) || !isTerminal(e.stdout) {
		return usageErrorf("the signing view needs a terminal: run it in one, or give --key URI to sign without it")
	}
	req, err := readRequest(request)
	if err != nil {
		return err
	}
	if err := reqRefuseExisting(out); err != nil {
		return err
	}
	note, err := previousNote(req, rootFile)
	if err != nil {
		return err
	}
	resp := &responseFile{path: out}
	if err := tui.Run(tui.Options{Request: req, RequestNote: note, WriteResponse: resp.write, AllowLastTry: allowLast, Context: ctx, PromptOut: pivPrompts}, e.stdin, e.stdout); err != nil {
		return err
	}
	return resp.outcome()
}

// responseFile is where the one-signer view writes the signed response:
// atomically, never over an existing file. It remembers how that went,
// for the exit status.
type responseFile struct {
	path string

	mu      sync.Mutex
	written bool
	err     error // the last write's failure
}

func (f *responseFile) write(r *ceremony.Response) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := r.Marshal()
	if err == nil {
		err = reqRefuseExisting(f.path)
	}
	if err == nil {
		err = ceremony.WriteFileAtomic(f.path, b, 0o644)
	}
	f.written, f.err = err == nil, err
	if err != nil {
		return "", err
	}
	return f.path, nil
}

// outcome is how the view ended: nil once the response is written, the
// last failure to write it, or else the signer's leaving without signing.
func (f *responseFile) outcome() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.written:
		return nil
	case f.err != nil:
		return f.err
	}
	return exitcode.Errorf(exitcode.ErrDeclined, "left the signing view without signing: nothing was signed and %s was not written", f.path)
}
