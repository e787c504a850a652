// Package pcsctest runs a private pcscd with vsmartcard's vpcd reader driver
// for tests, so that the whole real PC/SC stack (libpcsclite, pcscd, a
// reader driver) sits between a client such as go-piv or ykcs11 and a
// virtual card from package vpiv.
//
// The daemon runs in its own mount and network namespaces (unshare --mount
// --net --fork): a private directory is bind-mounted over /run, so its
// socket and pid file land there and never meet a system pcscd; the CCID
// driver bundle is hidden, so it never sees a real reader; and vpcd's ports
// are bound in a network namespace of its own, so tests running in
// parallel do not collide and nothing on the host can reach them. Clients
// find the daemon through PCSCLITE_CSOCK_NAME; cards connect to vpcd by
// dialling from a thread that has entered the daemon's network namespace.
//
// Main runs a package's tests beside one daemon. Insert, PutBack,
// WaitPresent and WaitEmpty wait for the reader state pcscd tells its
// clients, so that no test guesses at pcscd's 400 ms presence poll.
//
// This needs root (or CAP_SYS_ADMIN), util-linux's unshare, iproute2's ip,
// pcscd, vsmartcard-vpcd and libpcsclite-dev (cgo):
// scripts/install-deps.sh installs them.
package pcsctest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// VPCDDriver is where Debian's vsmartcard-vpcd installs the reader driver.
const VPCDDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"

// basePort is vpcd's default port; each reader.conf entry serves two
// readers, on its port and the next.
const basePort = 35963

// Options configure a daemon.
type Options struct {
	// ReaderName is the reader's friendly name; pcscd appends " 00 00" and
	// " 00 01". "Yubico YubiKey (virtual)" when empty: ykcs11 only talks to
	// readers whose name starts with "Yubico".
	ReaderName string
	// Readers is how many readers to offer (rounded up to an even number);
	// 2 when zero.
	Readers int
	// Log, when set, receives pcscd's log (with APDUs when Debug is set).
	Log   *os.File
	Debug bool
}

// Daemon is a running private pcscd.
type Daemon struct {
	// Dir holds the daemon's run directory, reader.conf and socket.
	Dir string
	// Socket is the daemon's socket: set PCSCLITE_CSOCK_NAME to it.
	Socket string
	// Readers are the reader names, in port order.
	Readers []string

	cmd     *exec.Cmd
	pid     int // pcscd's, for its network namespace
	ownDir  bool
	stopped sync.Once
	waitErr chan error
}

// Start starts pcscd and waits until it accepts clients. Stop it with Stop;
// if the test process dies first, the kernel kills it (Pdeathsig, and
// unshare's --kill-child).
func Start(opts Options) (*Daemon, error) {
	for _, bin := range []string{"unshare", "ip", "pcscd"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("pcsctest: %s not found (%v): run scripts/install-deps.sh", bin, err)
		}
	}
	if _, err := os.Stat(VPCDDriver); err != nil {
		return nil, fmt.Errorf("pcsctest: the vpcd reader driver is missing (%v): install vsmartcard-vpcd (scripts/install-deps.sh)", err)
	}
	if opts.ReaderName == "" {
		opts.ReaderName = "Yubico YubiKey (virtual)"
	}
	if strings.ContainsAny(opts.ReaderName, "\"\n") {
		return nil, errors.New("pcsctest: reader name must not contain quotes or newlines")
	}
	if opts.Readers <= 0 {
		opts.Readers = 2
	}
	entries := (opts.Readers + 1) / 2

	sweepStale()
	dir, err := os.MkdirTemp("", "pcsctest-")
	if err != nil {
		return nil, err
	}
	d := &Daemon{Dir: dir, ownDir: true, waitErr: make(chan error, 1)}
	fail := func(err error) (*Daemon, error) {
		d.Stop()
		return nil, err
	}
	for _, sub := range []string{"run", "conf", "empty"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return fail(err)
		}
	}
	var conf bytes.Buffer
	for i := 0; i < entries; i++ {
		port := basePort + 2*i
		name := opts.ReaderName
		if i > 0 {
			name = fmt.Sprintf("%s %d", opts.ReaderName, i)
		}
		fmt.Fprintf(&conf, "FRIENDLYNAME \"%s\"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n\n", name, port, VPCDDriver, port)
		d.Readers = append(d.Readers, name+" 00 00", name+" 00 01")
	}
	if err := os.WriteFile(filepath.Join(dir, "conf", "vpcd"), conf.Bytes(), 0o644); err != nil {
		return fail(err)
	}
	d.Socket = filepath.Join(dir, "run", "pcscd", "pcscd.comm")

	// The script runs inside the new namespaces. Paths come in through the
	// environment so that no quoting is needed.
	const script = `set -e
ip link set lo up
mount --bind "$PCSCTEST_DIR/run" /run
if [ -d /usr/lib/pcsc/drivers/ifd-ccid.bundle ]; then
  mount --bind "$PCSCTEST_DIR/empty" /usr/lib/pcsc/drivers/ifd-ccid.bundle
fi
exec pcscd --foreground --config "$PCSCTEST_DIR/conf" $PCSCTEST_LOGLEVEL
`
	level := "--error"
	if opts.Debug {
		level = "--debug --apdu"
	}
	cmd := exec.Command("unshare", "--mount", "--net", "--fork", "--kill-child", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "PCSCTEST_DIR="+dir, "PCSCTEST_LOGLEVEL="+level)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if opts.Log != nil {
		cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	} else {
		var stderr bytes.Buffer
		cmd.Stderr = &lockedWriter{w: &stderr}
		cmd.Stdout = cmd.Stderr
	}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("pcsctest: start pcscd: %w", err))
	}
	d.cmd = cmd
	go func() { d.waitErr <- cmd.Wait() }()

	// Ready when the socket exists and the pid file names pcscd.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(d.Socket); err == nil {
			if b, err := os.ReadFile(filepath.Join(dir, "run", "pcscd", "pcscd.pid")); err == nil {
				// pcscd writes a NUL after the newline.
				if pid, err := strconv.Atoi(strings.Trim(string(b), " \n\x00")); err == nil && pid > 0 {
					d.pid = pid
					break
				}
			}
		}
		select {
		case err := <-d.waitErr:
			d.waitErr <- err
			return fail(fmt.Errorf("pcsctest: pcscd exited at start (%v)%s", err, tail(cmd.Stderr)))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("pcsctest: pcscd did not create %s within 10s%s", d.Socket, tail(cmd.Stderr)))
		}
	}
	// vpcd listens once pcscd has loaded the driver; wait for the ports.
	for i := 0; i < 2*entries; i++ {
		for {
			if d.listening(basePort + i) {
				break
			}
			if time.Now().After(deadline) {
				return fail(fmt.Errorf("pcsctest: vpcd is not listening on port %d after 10s%s", basePort+i, tail(cmd.Stderr)))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return d, nil
}

func tail(w any) string {
	lw, ok := w.(*lockedWriter)
	if !ok {
		return ""
	}
	s := strings.TrimSpace(lw.String())
	if s == "" {
		return ""
	}
	return ": " + s
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// listening checks that a port in pcscd's namespace listens, without
// connecting to it: vpcd would take a connection for a card.
func (d *Daemon) listening(port int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", d.pid))
	if err != nil {
		return false
	}
	return strings.Contains(string(b), fmt.Sprintf(":%04X 00000000:0000 0A", port)) // 0A: LISTEN
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// Env returns the environment entry that points PC/SC clients (and child
// processes) at this daemon.
func (d *Daemon) Env() string { return "PCSCLITE_CSOCK_NAME=" + d.Socket }

// Dialer returns a function that connects to the vpcd port of reader i
// (0-based, in the order of Readers) from inside the daemon's network
// namespace: pass it to vpiv.Card.Insert.
func (d *Daemon) Dialer(i int) func() (net.Conn, error) {
	port := basePort + i
	return func() (net.Conn, error) { return d.dialInNetns(port) }
}

// dialInNetns connects from a thread that has joined pcscd's network
// namespace. The socket keeps that namespace after the thread leaves, so
// the rest of the program uses it like any other connection. The thread
// goes back to its own namespace before it is unlocked; if it cannot, it
// stays locked and the runtime ends it with the goroutine. (Ending threads
// as a rule would be wrong: the thread that started unshare may be this
// one, and Pdeathsig fires when that thread, not the process, exits.)
func (d *Daemon) dialInNetns(port int) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open own network namespace: %w", err)}
			return
		}
		defer own.Close()
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", d.pid))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open pcscd's network namespace: %w", err)}
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter pcscd's network namespace (needs root): %w", err)}
			return
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// Stop ends pcscd and removes its directory.
func (d *Daemon) Stop() error {
	var err error
	d.stopped.Do(func() {
		if d.cmd != nil && d.cmd.Process != nil {
			// unshare forwards nothing, but --kill-child kills pcscd when
			// unshare dies; the process group catches the shell too.
			syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-d.waitErr:
			case <-time.After(5 * time.Second):
				syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
				<-d.waitErr
			}
			if d.pid > 0 {
				// pcscd is in the group too; make sure it is gone before
				// its directory goes.
				for i := 0; i < 250 && alive(d.pid); i++ {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
		if d.ownDir {
			err = os.RemoveAll(d.Dir)
		}
	})
	return err
}

// sweepStale removes the directories of daemons whose test process was
// killed (the kernel ends pcscd then, but nobody removes its directory).
// Only directories older than ten minutes whose pcscd is gone are touched,
// so a daemon that another test process is starting right now is safe.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pcsctest-*"))
	for _, dir := range dirs {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < 10*time.Minute {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "run", "pcscd", "pcscd.pid"))
		if err == nil {
			if pid, err := strconv.Atoi(strings.Trim(string(b), " \n\x00")); err == nil && alive(pid) {
				continue
			}
		}
		os.RemoveAll(dir)
	}
}
