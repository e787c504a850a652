// Package vpiv is a virtual PIV card that stands in for a YubiKey in tests.
//
// It speaks the protocol of vsmartcard's vpcd reader driver (a 2-byte
// big-endian length, then a control byte or a command APDU) and the subset
// of PIV and Yubico's PIV extensions that github.com/go-piv/piv-go/v2 and
// ykcs11 send: SELECT, GET VERSION, GET SERIAL, VERIFY, CHANGE REFERENCE,
// RESET RETRY, GET METADATA, mutual authentication with the management key
// (3DES or AES), GENERATE ASYMMETRIC, IMPORT KEY, ATTEST, GET DATA, PUT DATA
// (with the PIN-protected object where ykman keeps a protected management
// key), SET MANAGEMENT KEY, SET PIN RETRIES, RESET, GENERAL AUTHENTICATE
// (signing), command chaining and GET RESPONSE; and, outside PIV, the
// management applet's device info (form factor) and the OTP applet's
// serial, which older firmware needs. Key agreement (ECDH) is left out:
// ceremonies only sign. Its keys are real keys held in memory and its
// signatures are real signatures; its attestation certificates chain to a
// test CA.
//
// The card can be pulled out and put back, also in the middle of a command,
// so that tests can see what a user sees when a YubiKey is unplugged.
//
// vpiv is test equipment: it is not part of the ceremony program.
package vpiv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// ATR is a YubiKey 5 NFC's answer to reset. It advertises T=1, the only
// protocol go-piv connects with.
var ATR = []byte{0x3b, 0xfd, 0x13, 0x00, 0x00, 0x81, 0x31, 0xfe, 0x15, 0x80, 0x73, 0xc0, 0x21, 0xc0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4b, 0x65, 0x79, 0x40}

// DefaultManagementKey is the factory management key of every YubiKey.
var DefaultManagementKey = []byte{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8}

// Algorithm and policy bytes as PIV and Yubico define them.
const (
	Alg3DES    = 0x03
	AlgAES128  = 0x08
	AlgAES192  = 0x0a
	AlgAES256  = 0x0c
	AlgRSA1024 = 0x06
	AlgRSA2048 = 0x07
	AlgRSA3072 = 0x05
	AlgRSA4096 = 0x16
	AlgP256    = 0x11
	AlgP384    = 0x14
	AlgEd25519 = 0xe0

	PINPolicyNever  = 0x01
	PINPolicyOnce   = 0x02
	PINPolicyAlways = 0x03

	TouchPolicyNever  = 0x01
	TouchPolicyAlways = 0x02
	TouchPolicyCached = 0x03
)

// Config describes a card. The zero Config is a YubiKey 5 with firmware
// 5.7.1, serial 12345678, factory PIN, PUK and management key, three tries
// each, and a fresh test CA.
type Config struct {
	Serial     uint32
	Firmware   [3]byte // major, minor, patch; 5.7.1 when zero
	FormFactor byte    // Yubico's form factor byte; 0x01 (USB-A keychain) when zero
	PINRetries int     // 3 when zero
	PUKRetries int     // 3 when zero
	PIN        string  // "123456" when empty
	PUK        string  // "12345678" when empty
	// ManagementKey and ManagementKeyAlg: the factory key when nil; AES-192
	// on firmware 5.7 and later, 3DES before, as Yubico ships them.
	ManagementKey    []byte
	ManagementKeyAlg byte
	// CA signs the card's F9 certificate; NewCA when nil.
	CA *CA
	// Touch is called when a key whose touch policy asks for it signs; it
	// returns whether the user touched the key. Nil touches at once.
	Touch func(slot byte) bool
}

// Card is one virtual PIV card. Its methods are safe for concurrent use.
type Card struct {
	mu  sync.Mutex
	cfg Config
	ca  *CA

	pin, puk         []byte // padded to 8 bytes
	pinLeft, pukLeft int
	mgmKey           []byte
	mgmAlg           byte
	mgmTouch         bool

	slots   map[byte]*slotKey
	objects map[uint32][]byte

	attKey  crypto.Signer
	attCert *x509.Certificate

	// Security state; power off, reset and pulling the card out clear it.
	selected     aid
	pinVerified  bool
	pinFresh     bool // a VERIFY since the last signature (PIN policy "always")
	mgmAuthed    bool
	witness      []byte
	lastTouch    map[byte]time.Time
	chainIns     byte
	chainData    []byte
	pendingResp  []byte
	pullOutOnIns int // -1 when not armed
	apdus        int
	ready        chan struct{} // closed at vpcd's first ATR request after insertion; nil while out
	poweredUp    chan struct{} // closed at the first ATR request after a power-on
	powerOnSeen  bool

	// Transport. conn is nil while the card is out of its reader; serving
	// is closed once the goroutine serving the last conn has closed it.
	dial    func() (net.Conn, error)
	conn    net.Conn
	serving chan struct{}
}

type slotKey struct {
	alg         byte
	pinPolicy   byte
	touchPolicy byte
	priv        crypto.Signer
	generated   bool
}

type aid int

const (
	aidNone aid = iota
	aidPIV
	aidMgmt
	aidOTP
)

// New makes a card; it is not inserted in any reader until Insert.
func New(cfg Config) (*Card, error) {
	if cfg.Serial == 0 {
		cfg.Serial = 12345678
	}
	if cfg.Firmware == [3]byte{} {
		cfg.Firmware = [3]byte{5, 7, 1}
	}
	if cfg.FormFactor == 0 {
		cfg.FormFactor = 0x01
	}
	if cfg.PINRetries <= 0 {
		cfg.PINRetries = 3
	}
	if cfg.PUKRetries <= 0 {
		cfg.PUKRetries = 3
	}
	if cfg.PINRetries > 15 || cfg.PUKRetries > 15 {
		return nil, errors.New("vpiv: PIN and PUK retries must be 1 to 15")
	}
	if cfg.PIN == "" {
		cfg.PIN = "123456"
	}
	if cfg.PUK == "" {
		cfg.PUK = "12345678"
	}
	pin, err := padPIN([]byte(cfg.PIN))
	if err != nil {
		return nil, fmt.Errorf("vpiv: PIN: %w", err)
	}
	puk, err := padPIN([]byte(cfg.PUK))
	if err != nil {
		return nil, fmt.Errorf("vpiv: PUK: %w", err)
	}
	c := &Card{
		cfg: cfg, pin: pin, puk: puk,
		pinLeft: cfg.PINRetries, pukLeft: cfg.PUKRetries,
		slots: map[byte]*slotKey{}, objects: map[uint32][]byte{},
		lastTouch: map[byte]time.Time{}, pullOutOnIns: -1,
	}
	c.mgmKey = cfg.ManagementKey
	c.mgmAlg = cfg.ManagementKeyAlg
	if c.mgmKey == nil {
		c.mgmKey = append([]byte(nil), DefaultManagementKey...)
	}
	if c.mgmAlg == 0 {
		c.mgmAlg = Alg3DES
		if c.fwAtLeast(5, 7, 0) {
			c.mgmAlg = AlgAES192
		}
	}
	if _, err := mgmBlock(c.mgmAlg, c.mgmKey); err != nil {
		return nil, fmt.Errorf("vpiv: management key: %w", err)
	}
	c.ca = cfg.CA
	if c.ca == nil {
		if c.ca, err = NewCA(); err != nil {
			return nil, err
		}
	}
	attKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c.attKey = attKey
	if c.attCert, err = c.ca.deviceCert(attKey.Public(), cfg.Serial); err != nil {
		return nil, err
	}
	c.objects[0x5fff01] = certObject(c.attCert.Raw)
	return c, nil
}

// CA returns the root the card's attestations chain to.
func (c *Card) CA() *CA { return c.ca }

// Serial returns the card's serial number.
func (c *Card) Serial() uint32 { return c.cfg.Serial }

// PINRetriesLeft returns the PIN tries the card has left.
func (c *Card) PINRetriesLeft() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pinLeft
}

// APDUs returns how many command APDUs the card has answered.
func (c *Card) APDUs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apdus
}

// PublicKey returns the public key in slot, or nil when it is empty.
func (c *Card) PublicKey(slot byte) crypto.PublicKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.slots[slot]; k != nil {
		return k.priv.Public()
	}
	return nil
}

// certObject wraps a certificate as PIV stores it: 70 cert, 71 00, FE 00.
func certObject(der []byte) []byte {
	b := enc(0x70, der)
	b = append(b, enc(0x71, []byte{0})...)
	return append(b, enc(0xfe, nil)...)
}

func padPIN(p []byte) ([]byte, error) {
	if len(p) == 0 || len(p) > 8 {
		return nil, fmt.Errorf("must be 1 to 8 bytes, not %d", len(p))
	}
	out := make([]byte, 8)
	copy(out, p)
	for i := len(p); i < 8; i++ {
		out[i] = 0xff
	}
	return out, nil
}

func (c *Card) fwAtLeast(major, minor, patch byte) bool {
	v := c.cfg.Firmware
	if v[0] != major {
		return v[0] > major
	}
	if v[1] != minor {
		return v[1] > minor
	}
	return v[2] >= patch
}

// resetSecurity forgets logins, as a card does when it loses power.
func (c *Card) resetSecurity() {
	c.selected = aidNone
	c.pinVerified, c.pinFresh, c.mgmAuthed = false, false, false
	c.witness, c.chainData, c.pendingResp = nil, nil, nil
	c.lastTouch = map[byte]time.Time{}
}

// Insert puts the card in a vpcd reader: dial connects to the reader's
// port (for pcsctest, inside pcscd's network namespace). The card answers
// on its own goroutine until PullOut or Close.
func (c *Card) Insert(dial func() (net.Conn, error)) error {
	c.mu.Lock()
	if c.conn != nil {
		c.mu.Unlock()
		return errors.New("vpiv: card is already inserted")
	}
	c.dial = dial
	c.mu.Unlock()
	return c.PutBack()
}

// PutBack inserts the card again in the reader it was last inserted in.
func (c *Card) PutBack() error {
	c.mu.Lock()
	dial, conn, served := c.dial, c.conn, c.serving
	c.mu.Unlock()
	if conn != nil {
		return nil
	}
	if dial == nil {
		return errors.New("vpiv: card was never inserted, or was closed")
	}
	// vpcd serves one card per reader: the last connection is closed
	// before the next one opens.
	if served != nil {
		<-served
	}
	conn, err := dial()
	if err != nil {
		return fmt.Errorf("vpiv: connect to the vpcd reader: %w", err)
	}
	done := make(chan struct{})
	c.mu.Lock()
	if c.conn != nil || c.dial == nil {
		// Another PutBack won, or Close came first: this connection goes.
		closed := c.dial == nil
		c.mu.Unlock()
		conn.Close()
		if closed {
			return errors.New("vpiv: card was closed")
		}
		return nil
	}
	// All of the card's state is in place before vpcd can get an answer
	// from it: serve, the only reader of conn, starts below.
	c.conn = conn
	c.serving = done
	c.ready = make(chan struct{})
	c.poweredUp = make(chan struct{})
	c.powerOnSeen = false
	c.resetSecurity()
	c.mu.Unlock()
	go c.serve(conn, done)
	return nil
}

// PullOut removes the card from its reader at once, as a user yanking a
// YubiKey out does. It returns when the card has stopped answering.
func (c *Card) PullOut() {
	c.mu.Lock()
	conn, served := c.conn, c.serving
	if conn != nil {
		c.takeOut(conn)
	}
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	if served != nil {
		<-served
	}
}

// takeOut marks the card out of the reader conn connects it to, if it is
// still there. Callers hold c.mu, and close conn only afterwards: whoever
// sees the connection close (vpcd, then pcscd, then a client) must find
// the card out, with its logins forgotten, when it asks.
func (c *Card) takeOut(conn net.Conn) {
	if c.conn != conn {
		return
	}
	c.conn = nil
	c.ready, c.poweredUp = nil, nil
	c.resetSecurity()
}

// PullOutOn arms the card to be pulled out when it next receives a command
// with instruction byte ins (0x87 is GENERAL AUTHENTICATE, that is, a
// signature): the command is never answered.
func (c *Card) PullOutOn(ins byte) {
	c.mu.Lock()
	c.pullOutOnIns = int(ins)
	c.mu.Unlock()
}

// Inserted reports whether the card is in a reader.
func (c *Card) Inserted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}

// Close pulls the card out for good: PutBack fails after it.
func (c *Card) Close() error {
	c.mu.Lock()
	c.dial = nil
	c.mu.Unlock()
	c.PullOut()
	return nil
}

// serve answers vpcd on conn until the card is pulled out or vpcd hangs up.
func (c *Card) serve(conn net.Conn, done chan struct{}) {
	defer close(done)
	defer func() {
		c.mu.Lock()
		c.takeOut(conn)
		c.mu.Unlock()
		conn.Close()
	}()
	var hdr [2]byte
	for {
		quickAck(conn)
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		quickAck(conn)
		if _, err := io.ReadFull(conn, msg); err != nil {
			return
		}
		reply, in := c.handle(conn, msg)
		if !in {
			return
		}
		if reply == nil {
			continue
		}
		out := make([]byte, 2+len(reply))
		binary.BigEndian.PutUint16(out, uint16(len(reply)))
		copy(out[2:], reply)
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// handle answers one message from vpcd on conn: nil when it needs no
// answer. in is false when the card is (now) out of conn's reader, so that
// nothing arriving after PullOut changes the card.
func (c *Card) handle(conn net.Conn, msg []byte) (reply []byte, in bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != conn {
		return nil, false
	}
	if len(msg) == 1 {
		switch msg[0] {
		case 0, 2: // power off, reset
			c.resetSecurity()
		case 1: // power on
			c.powerOnSeen = true
		case 4: // ATR request
			closeOnce(c.ready)
			if c.powerOnSeen {
				closeOnce(c.poweredUp)
			}
			return ATR, true
		}
		return nil, true
	}
	if len(msg) == 0 {
		return nil, true
	}
	if c.pullOutOnIns >= 0 && len(msg) >= 2 && int(msg[1]) == c.pullOutOnIns {
		c.pullOutOnIns = -1
		c.takeOut(conn)
		return nil, false
	}
	return c.transmit(msg), true
}

// quickAck sets TCP_QUICKACK before each read: vpcd writes a length and a
// payload in two writes, and Nagle plus delayed ACKs otherwise cost about
// 40 ms per APDU (FACTS.md). The kernel clears the flag again by itself,
// which is why it is set every time.
func quickAck(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpQuickAck, 1)
	})
}

// tcpQuickAck is TCP_QUICKACK from linux/tcp.h; package syscall lacks it.
const tcpQuickAck = 12

// WaitSeen waits until vpcd has read the card's ATR since it was last
// inserted, that is, until the reader has taken the card. pcscd publishes
// the card a moment later, or, when the card came back before pcscd
// noticed it gone, never stopped publishing it; pcsctest's Insert and
// PutBack wait for both.
func (c *Card) WaitSeen(timeout time.Duration) error {
	c.mu.Lock()
	ready := c.ready
	c.mu.Unlock()
	if ready == nil { // not inserted, or pulled out since
		return errors.New("vpiv: card is not inserted")
	}
	select {
	case <-ready:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("vpiv: vpcd did not ask for the card's ATR within %v: is the reader's port right?", timeout)
	}
}

// WaitReady waits until the reader has seen the card (WaitSeen) and, when
// pcscd powers it up for it, a little longer, for pcscd to publish it. It
// is for a process whose libpcsclite cannot reach that daemon; where it
// can, pcsctest's Insert and PutBack wait for the published state itself.
func (c *Card) WaitReady(timeout time.Duration) error {
	c.mu.Lock()
	poweredUp := c.poweredUp
	c.mu.Unlock()
	if err := c.WaitSeen(timeout); err != nil {
		return err
	}
	// When pcscd sees a card arrive it powers it up, reads the ATR again
	// and then publishes the reader state. When the card came back before
	// pcscd noticed it gone, pcscd does none of this: it still thinks the
	// card is there, so clients can already connect.
	select {
	case <-poweredUp:
		time.Sleep(5 * time.Millisecond)
	case <-time.After(time.Second):
	}
	return nil
}

func closeOnce(ch chan struct{}) {
	if ch == nil {
		return
	}
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// GenerateKey puts a freshly generated key in slot, as GENERATE does, but
// without going through a reader: for test set-ups that need a key on the
// card before the program under test runs. alg, pinPolicy and touchPolicy
// are the PIV bytes (AlgP256, PINPolicyOnce, TouchPolicyNever, ...).
func (c *Card) GenerateKey(slot, alg, pinPolicy, touchPolicy byte) (crypto.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	saved := c.mgmAuthed
	c.mgmAuthed = true
	defer func() { c.mgmAuthed = saved }()
	body := enc(0xac, append(append(enc(0x80, []byte{alg}), enc(0xaa, []byte{pinPolicy})...), enc(0xab, []byte{touchPolicy})...))
	if _, code := c.generate(command{ins: 0x47, p2: slot, data: body}); code != swOK {
		return nil, fmt.Errorf("vpiv: generate in slot %02x: status %04x", slot, code)
	}
	return c.slots[slot].priv.Public(), nil
}
