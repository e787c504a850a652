package vpiv

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"
)

// Status words.
const (
	swOK               = 0x9000
	swWrongLength      = 0x6700
	swSecurityStatus   = 0x6982
	swBlocked          = 0x6983
	swConditions       = 0x6985
	swWrongData        = 0x6a80
	swFuncNotSupported = 0x6a81
	swNotFound         = 0x6a82
	swRefNotFound      = 0x6a88
	swWrongP1P2        = 0x6a86
	swInsNotSupported  = 0x6d00
	swClaNotSupported  = 0x6e00
)

var (
	aidPIVBytes  = []byte{0xa0, 0x00, 0x00, 0x03, 0x08}
	aidMgmtBytes = []byte{0xa0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17}
	aidOTPBytes  = []byte{0xa0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01, 0x01}
)

// slotObjects maps key slots to the data objects of their certificates.
var slotObjects = map[byte]uint32{
	0x9a: 0x5fc105, 0x9c: 0x5fc10a, 0x9d: 0x5fc10b, 0x9e: 0x5fc101, 0xf9: 0x5fff01,
}

func init() {
	for s := byte(0x82); s <= 0x95; s++ {
		slotObjects[s] = 0x5fc10d + uint32(s-0x82)
	}
}

// command is a parsed command APDU.
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
}

// parseAPDU reads the ISO 7816-4 cases: short and extended lengths, with or
// without Le.
func parseAPDU(b []byte) (command, bool) {
	if len(b) < 4 {
		return command{}, false
	}
	c := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3]}
	body := b[4:]
	switch {
	case len(body) <= 1: // case 1 or 2 (Le only)
		return c, true
	case body[0] != 0: // short Lc
		lc := int(body[0])
		if len(body) != 1+lc && len(body) != 2+lc {
			return command{}, false
		}
		c.data = body[1 : 1+lc]
		return c, true
	default: // extended: 00 Lc1 Lc2 data [Le Le]
		if len(body) < 3 {
			return command{}, false
		}
		if len(body) == 3 { // extended Le only
			return c, true
		}
		lc := int(body[1])<<8 | int(body[2])
		if lc == 0 || (len(body) != 3+lc && len(body) != 5+lc) {
			return command{}, false
		}
		c.data = body[3 : 3+lc]
		return c, true
	}
}

func sw(code int) []byte { return []byte{byte(code >> 8), byte(code)} }

func withSW(data []byte, code int) []byte {
	return append(append([]byte(nil), data...), byte(code>>8), byte(code))
}

// maxResp is the most response data sent at once; the rest waits for GET
// RESPONSE, as short APDUs require.
const maxResp = 0xff

// Transmit answers one command APDU with a response APDU (data and status
// word). It never panics, whatever the input.
func (c *Card) Transmit(apdu []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transmit(apdu)
}

// transmit is Transmit for a caller that holds c.mu.
func (c *Card) transmit(apdu []byte) []byte {
	c.apdus++
	cmd, ok := parseAPDU(apdu)
	if !ok {
		return sw(swWrongLength)
	}
	if cmd.ins == 0xc0 { // GET RESPONSE
		if c.pendingResp == nil {
			return sw(swConditions)
		}
		return c.respond(c.pendingResp, swOK)
	}
	c.pendingResp = nil
	if cmd.cla&^0x10 != 0 {
		return sw(swClaNotSupported)
	}
	if cmd.cla&0x10 != 0 { // command chaining: collect, answer later
		if c.chainData != nil && c.chainIns != cmd.ins {
			c.chainData = nil
			return sw(swConditions)
		}
		c.chainIns = cmd.ins
		c.chainData = append(c.chainData, cmd.data...)
		if len(c.chainData) > 1<<16 {
			c.chainData = nil
			return sw(swWrongLength)
		}
		return sw(swOK)
	}
	if c.chainData != nil {
		if c.chainIns != cmd.ins {
			c.chainData = nil
			return sw(swConditions)
		}
		cmd.data = append(c.chainData, cmd.data...)
		c.chainData = nil
	}
	data, code := c.dispatch(cmd)
	if code != swOK {
		return sw(code)
	}
	return c.respond(data, swOK)
}

func (c *Card) respond(data []byte, code int) []byte {
	if len(data) <= maxResp {
		c.pendingResp = nil
		return withSW(data, code)
	}
	c.pendingResp = data[maxResp:]
	rest := len(c.pendingResp)
	if rest > 0xff {
		rest = 0
	}
	return withSW(data[:maxResp], 0x6100|rest)
}

func (c *Card) dispatch(cmd command) ([]byte, int) {
	if cmd.ins == 0xa4 {
		return c.selectApp(cmd)
	}
	switch c.selected {
	case aidMgmt:
		if cmd.ins == 0x1d { // read device info
			return c.deviceInfo(), swOK
		}
		return nil, swInsNotSupported
	case aidOTP:
		if cmd.ins == 0x01 && cmd.p1 == 0x10 { // serial, for firmware before 5
			return binary.BigEndian.AppendUint32(nil, c.cfg.Serial), swOK
		}
		return nil, swInsNotSupported
	case aidPIV:
	default:
		return nil, swNotFound
	}
	switch cmd.ins {
	case 0xfd: // GET VERSION
		return c.cfg.Firmware[:], swOK
	case 0xf8: // GET SERIAL
		if !c.fwAtLeast(5, 0, 0) {
			return nil, swInsNotSupported
		}
		return binary.BigEndian.AppendUint32(nil, c.cfg.Serial), swOK
	case 0x20:
		return c.verify(cmd)
	case 0x24:
		return c.changeReference(cmd)
	case 0x2c:
		return c.resetRetry(cmd)
	case 0xf7:
		return c.metadata(cmd)
	case 0x87:
		if cmd.p2 == 0x9b {
			return c.mutualAuth(cmd)
		}
		return c.generalAuth(cmd)
	case 0x47:
		return c.generate(cmd)
	case 0xf9:
		return c.attest(cmd)
	case 0xcb:
		return c.getData(cmd)
	case 0xdb:
		return c.putData(cmd)
	case 0xff:
		return c.setManagementKey(cmd)
	case 0xfb:
		return c.reset()
	case 0xfa:
		return c.setRetries(cmd)
	case 0xfe:
		return c.importKey(cmd)
	}
	return nil, swInsNotSupported
}

func (c *Card) selectApp(cmd command) ([]byte, int) {
	if cmd.p1 != 0x04 {
		return nil, swWrongP1P2
	}
	switch {
	case len(cmd.data) >= len(aidPIVBytes) && bytes.HasPrefix(cmd.data, aidPIVBytes):
		c.switchTo(aidPIV)
		// Application property template, as a YubiKey answers.
		return []byte{0x61, 0x11, 0x4f, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
			0x79, 0x07, 0x4f, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08}, swOK
	case bytes.Equal(cmd.data, aidMgmtBytes):
		c.switchTo(aidMgmt)
		v := c.cfg.Firmware
		return []byte(fmt.Sprintf("Virtual YubiKey %d.%d.%d", v[0], v[1], v[2])), swOK
	case bytes.Equal(cmd.data, aidOTPBytes):
		c.switchTo(aidOTP)
		return append(c.cfg.Firmware[:], 0x00, 0x00, 0x00), swOK
	}
	return nil, swNotFound
}

// switchTo selects an applet. Leaving the PIV applet for another one ends
// its logins; selecting PIV again while it is selected keeps them, which
// ykcs11 relies on (it re-selects PIV for each session of one login).
func (c *Card) switchTo(a aid) {
	if c.selected != a {
		c.pinVerified, c.pinFresh, c.mgmAuthed, c.witness = false, false, false, nil
	}
	c.selected = a
}

// deviceInfo is the management applet's READ CONFIG answer: a length byte,
// then TLVs (01 and 03 the USB applications supported and enabled, 02
// serial, 04 form factor, 05 firmware). ykman needs 01 to name the device.
func (c *Card) deviceInfo() []byte {
	// A YubiKey 5's: OTP, U2F, OpenPGP, PIV, OATH, FIDO2.
	usbApps := []byte{0x02, 0x3b}
	var b []byte
	b = append(b, enc(0x01, usbApps)...)
	b = append(b, enc(0x03, usbApps)...)
	b = append(b, enc(0x02, binary.BigEndian.AppendUint32(nil, c.cfg.Serial))...)
	b = append(b, enc(0x04, []byte{c.cfg.FormFactor})...)
	b = append(b, enc(0x05, c.cfg.Firmware[:])...)
	return append([]byte{byte(len(b))}, b...)
}

func retriesSW(left int) int {
	if left <= 0 {
		return swBlocked
	}
	return 0x63c0 | left
}

func (c *Card) verify(cmd command) ([]byte, int) {
	if cmd.p2 != 0x80 {
		return nil, swRefNotFound
	}
	if cmd.p1 == 0xff { // log out
		c.pinVerified, c.pinFresh = false, false
		return nil, swOK
	}
	if cmd.p1 != 0x00 {
		return nil, swWrongP1P2
	}
	if len(cmd.data) == 0 { // ask for the state and the tries left
		if c.pinLeft == 0 {
			return nil, swBlocked
		}
		if c.pinVerified {
			return nil, swOK
		}
		return nil, retriesSW(c.pinLeft)
	}
	if len(cmd.data) != 8 {
		return nil, swWrongData
	}
	if c.pinLeft == 0 {
		return nil, swBlocked
	}
	if subtle.ConstantTimeCompare(cmd.data, c.pin) != 1 {
		c.pinLeft--
		c.pinVerified, c.pinFresh = false, false
		return nil, retriesSW(c.pinLeft)
	}
	c.pinLeft = c.cfg.PINRetries
	c.pinVerified, c.pinFresh = true, true
	return nil, swOK
}

func (c *Card) changeReference(cmd command) ([]byte, int) {
	if len(cmd.data) != 16 {
		return nil, swWrongData
	}
	old, nw := cmd.data[:8], cmd.data[8:]
	switch cmd.p2 {
	case 0x80:
		if c.pinLeft == 0 {
			return nil, swBlocked
		}
		if subtle.ConstantTimeCompare(old, c.pin) != 1 {
			c.pinLeft--
			return nil, retriesSW(c.pinLeft)
		}
		c.pin, c.pinLeft = append([]byte(nil), nw...), c.cfg.PINRetries
		return nil, swOK
	case 0x81:
		if c.pukLeft == 0 {
			return nil, swBlocked
		}
		if subtle.ConstantTimeCompare(old, c.puk) != 1 {
			c.pukLeft--
			return nil, retriesSW(c.pukLeft)
		}
		c.puk, c.pukLeft = append([]byte(nil), nw...), c.cfg.PUKRetries
		return nil, swOK
	}
	return nil, swRefNotFound
}

func (c *Card) resetRetry(cmd command) ([]byte, int) {
	if cmd.p2 != 0x80 {
		return nil, swRefNotFound
	}
	if len(cmd.data) != 16 {
		return nil, swWrongData
	}
	if c.pukLeft == 0 {
		return nil, swBlocked
	}
	if subtle.ConstantTimeCompare(cmd.data[:8], c.puk) != 1 {
		c.pukLeft--
		return nil, retriesSW(c.pukLeft)
	}
	c.pukLeft = c.cfg.PUKRetries
	c.pin, c.pinLeft = append([]byte(nil), cmd.data[8:]...), c.cfg.PINRetries
	return nil, swOK
}

func (c *Card) metadata(cmd command) ([]byte, int) {
	if !c.fwAtLeast(5, 3, 0) {
		return nil, swInsNotSupported
	}
	defaultFlag := func(b bool) byte {
		if b {
			return 1
		}
		return 0
	}
	switch cmd.p2 {
	case 0x9b:
		touch := byte(TouchPolicyNever)
		if c.mgmTouch {
			touch = TouchPolicyAlways
		}
		var b []byte
		b = append(b, enc(0x01, []byte{c.mgmAlg})...)
		b = append(b, enc(0x02, []byte{PINPolicyNever, touch})...)
		b = append(b, enc(0x05, []byte{defaultFlag(bytes.Equal(c.mgmKey, DefaultManagementKey))})...)
		return b, swOK
	case 0x80, 0x81:
		secret, left, total := c.pin, c.pinLeft, c.cfg.PINRetries
		def, _ := padPIN([]byte("123456"))
		if cmd.p2 == 0x81 {
			secret, left, total = c.puk, c.pukLeft, c.cfg.PUKRetries
			def, _ = padPIN([]byte("12345678"))
		}
		var b []byte
		b = append(b, enc(0x01, []byte{0xff})...)
		b = append(b, enc(0x05, []byte{defaultFlag(bytes.Equal(secret, def))})...)
		b = append(b, enc(0x06, []byte{byte(total), byte(left)})...)
		return b, swOK
	}
	k := c.slots[cmd.p2]
	if k == nil {
		if _, ok := slotObjects[cmd.p2]; ok {
			return nil, swRefNotFound
		}
		return nil, swWrongP1P2
	}
	origin := byte(0x02)
	if k.generated {
		origin = 0x01
	}
	var b []byte
	b = append(b, enc(0x01, []byte{k.alg})...)
	b = append(b, enc(0x02, []byte{k.pinPolicy, k.touchPolicy})...)
	b = append(b, enc(0x03, []byte{origin})...)
	b = append(b, enc(0x04, encodePublic(k.priv.Public()))...)
	return b, swOK
}

func mgmBlock(alg byte, key []byte) (cipher.Block, error) {
	switch alg {
	case Alg3DES:
		if len(key) != 24 {
			return nil, fmt.Errorf("3DES key must be 24 bytes, not %d", len(key))
		}
		return des.NewTripleDESCipher(key)
	case AlgAES128, AlgAES192, AlgAES256:
		want := map[byte]int{AlgAES128: 16, AlgAES192: 24, AlgAES256: 32}[alg]
		if len(key) != want {
			return nil, fmt.Errorf("AES key must be %d bytes, not %d", want, len(key))
		}
		return aes.NewCipher(key)
	}
	return nil, fmt.Errorf("unknown management key algorithm 0x%02x", alg)
}

// mutualAuth is the management key's challenge-response: the card sends an
// encrypted witness, the host returns it decrypted along with a challenge
// of its own, and the card proves itself by encrypting that challenge.
func (c *Card) mutualAuth(cmd command) ([]byte, int) {
	if cmd.p1 != c.mgmAlg {
		c.witness = nil
		return nil, swWrongP1P2
	}
	block, err := mgmBlock(c.mgmAlg, c.mgmKey)
	if err != nil {
		return nil, swConditions
	}
	n := block.BlockSize()
	outer, err := parseTLVs(cmd.data)
	if err != nil || len(outer) != 1 || outer[0].tag != 0x7c {
		return nil, swWrongData
	}
	inner, err := parseTLVs(outer[0].value)
	if err != nil {
		return nil, swWrongData
	}
	wit, hasWit := find(inner, 0x80)
	chal, hasChal := find(inner, 0x81)
	switch {
	case hasWit && len(wit) == 0 && !hasChal: // step 1: ask for a witness
		c.mgmAuthed = false
		w := make([]byte, n)
		rand.Read(w)
		c.witness = w
		ew := make([]byte, n)
		block.Encrypt(ew, w)
		return enc(0x7c, enc(0x80, ew)), swOK
	case hasWit && hasChal: // step 2: witness decrypted, host's challenge
		expect := c.witness
		c.witness = nil
		if expect == nil || len(wit) != n || len(chal) != n || subtle.ConstantTimeCompare(wit, expect) != 1 {
			c.mgmAuthed = false
			return nil, swSecurityStatus
		}
		c.mgmAuthed = true
		r := make([]byte, n)
		block.Encrypt(r, chal)
		return enc(0x7c, enc(0x82, r)), swOK
	}
	return nil, swWrongData
}

func (c *Card) touched(slot byte, policy byte) bool {
	switch policy {
	case TouchPolicyAlways:
	case TouchPolicyCached:
		if t, ok := c.lastTouch[slot]; ok && time.Since(t) < 15*time.Second {
			return true
		}
	default:
		return true
	}
	ok := true
	if c.cfg.Touch != nil {
		// Called with the lock held: the card is busy while it waits for
		// a touch, as a YubiKey is.
		ok = c.cfg.Touch(slot)
	}
	if ok {
		c.lastTouch[slot] = time.Now()
	}
	return ok
}

func (c *Card) generalAuth(cmd command) ([]byte, int) {
	k := c.slots[cmd.p2]
	if k == nil {
		if _, ok := slotObjects[cmd.p2]; ok && cmd.p2 != 0xf9 {
			return nil, swRefNotFound
		}
		return nil, swWrongP1P2
	}
	if cmd.p1 != k.alg {
		return nil, swWrongP1P2
	}
	outer, err := parseTLVs(cmd.data)
	if err != nil || len(outer) != 1 || outer[0].tag != 0x7c {
		return nil, swWrongData
	}
	inner, err := parseTLVs(outer[0].value)
	if err != nil {
		return nil, swWrongData
	}
	if resp, ok := find(inner, 0x82); !ok || len(resp) != 0 {
		return nil, swWrongData
	}
	msg, ok := find(inner, 0x81)
	if !ok {
		// 0x85 (key agreement) is not implemented: ceremonies only sign.
		return nil, swFuncNotSupported
	}
	switch k.pinPolicy {
	case PINPolicyAlways:
		if !c.pinFresh {
			return nil, swSecurityStatus
		}
	case PINPolicyOnce:
		if !c.pinVerified {
			return nil, swSecurityStatus
		}
	}
	if !c.touched(cmd.p2, k.touchPolicy) {
		return nil, swSecurityStatus
	}
	c.pinFresh = false
	sig, err := rawSign(k, msg)
	if err != nil {
		return nil, swWrongData
	}
	return enc(0x7c, enc(0x82, sig)), swOK
}

// rawSign does what the card's secure element does: ECDSA over the digest
// it is given (DER, as a YubiKey returns), Ed25519 over the message, and
// the bare RSA private-key operation over a block the host has padded.
func rawSign(k *slotKey, msg []byte) ([]byte, error) {
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		return ecdsa.SignASN1(rand.Reader, priv, msg)
	case ed25519.PrivateKey:
		return ed25519.Sign(priv, msg), nil
	case *rsa.PrivateKey:
		if len(msg) != priv.Size() {
			return nil, fmt.Errorf("RSA input must be %d bytes", priv.Size())
		}
		m := new(big.Int).SetBytes(msg)
		if m.Cmp(priv.N) >= 0 {
			return nil, fmt.Errorf("RSA input out of range")
		}
		s := new(big.Int).Exp(m, priv.D, priv.N)
		return s.FillBytes(make([]byte, priv.Size())), nil
	}
	return nil, fmt.Errorf("unsupported key %T", k.priv)
}

func (c *Card) generate(cmd command) ([]byte, int) {
	if !c.mgmAuthed {
		return nil, swSecurityStatus
	}
	slot := cmd.p2
	if _, ok := slotObjects[slot]; !ok || slot == 0xf9 {
		return nil, swWrongP1P2
	}
	outer, err := parseTLVs(cmd.data)
	if err != nil || len(outer) != 1 || outer[0].tag != 0xac {
		return nil, swWrongData
	}
	inner, err := parseTLVs(outer[0].value)
	if err != nil {
		return nil, swWrongData
	}
	alg, ok := find(inner, 0x80)
	if !ok || len(alg) != 1 {
		return nil, swWrongData
	}
	k := &slotKey{alg: alg[0], pinPolicy: PINPolicyOnce, touchPolicy: TouchPolicyNever, generated: true}
	if pp, ok := find(inner, 0xaa); ok {
		if len(pp) != 1 || pp[0] < PINPolicyNever || pp[0] > PINPolicyAlways {
			return nil, swWrongData
		}
		k.pinPolicy = pp[0]
	}
	if tp, ok := find(inner, 0xab); ok {
		if len(tp) != 1 || tp[0] < TouchPolicyNever || tp[0] > TouchPolicyCached {
			return nil, swWrongData
		}
		k.touchPolicy = tp[0]
	}
	switch k.alg {
	case AlgP256:
		k.priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgP384:
		k.priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case AlgEd25519:
		if !c.fwAtLeast(5, 7, 0) {
			return nil, swWrongData
		}
		_, k.priv, err = ed25519.GenerateKey(rand.Reader)
	case AlgRSA1024:
		k.priv, err = rsa.GenerateKey(rand.Reader, 1024)
	case AlgRSA2048:
		k.priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case AlgRSA3072, AlgRSA4096:
		if !c.fwAtLeast(5, 7, 0) {
			return nil, swWrongData
		}
		bits := 3072
		if k.alg == AlgRSA4096 {
			bits = 4096
		}
		k.priv, err = rsa.GenerateKey(rand.Reader, bits)
	default:
		return nil, swWrongData
	}
	if err != nil {
		return nil, swConditions
	}
	c.slots[slot] = k
	return enc(0x7f49, encodePublic(k.priv.Public())), swOK
}

// encodePublic is the inside of GENERATE's 7F49 template: 86 point for EC
// and Ed25519, 81 modulus and 82 exponent for RSA.
func encodePublic(pub crypto.PublicKey) []byte {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		pt, err := p.Bytes() // uncompressed: 04 X Y
		if err != nil {
			return nil
		}
		return enc(0x86, pt)
	case ed25519.PublicKey:
		return enc(0x86, p)
	case *rsa.PublicKey:
		return append(enc(0x81, p.N.Bytes()), enc(0x82, big.NewInt(int64(p.E)).Bytes())...)
	}
	return nil
}

func (c *Card) attest(cmd command) ([]byte, int) {
	k := c.slots[cmd.p1]
	if k == nil || !k.generated {
		// A YubiKey attests only keys it generated: imported keys and
		// empty slots get 6A80, which go-piv reports as ErrNotFound.
		return nil, swWrongData
	}
	der, err := slotCert(c.attCert, c.attKey, k.priv.Public(), cmd.p1, c.cfg.Serial, c.cfg.Firmware, c.cfg.FormFactor, k.pinPolicy, k.touchPolicy)
	if err != nil {
		return nil, swConditions
	}
	return der, swOK
}

func objectTag(data []byte) (uint32, []byte, bool) {
	t, rest, err := parseTLV(data)
	if err != nil || t.tag != 0x5c || len(t.value) < 1 || len(t.value) > 3 {
		return 0, nil, false
	}
	var tag uint32
	for _, b := range t.value {
		tag = tag<<8 | uint32(b)
	}
	return tag, rest, true
}

// pinProtectedObject is Yubico's PIN-protected data (5FC109), where a
// PIN-protected management key lives: readable only after VERIFY.
const pinProtectedObject = 0x5fc109

func (c *Card) getData(cmd command) ([]byte, int) {
	if cmd.p1 != 0x3f || cmd.p2 != 0xff {
		return nil, swWrongP1P2
	}
	tag, _, ok := objectTag(cmd.data)
	if !ok {
		return nil, swWrongData
	}
	if tag == pinProtectedObject && !c.pinVerified {
		return nil, swSecurityStatus
	}
	obj, ok := c.objects[tag]
	if !ok {
		return nil, swNotFound
	}
	return enc(0x53, obj), swOK
}

func (c *Card) putData(cmd command) ([]byte, int) {
	if cmd.p1 != 0x3f || cmd.p2 != 0xff {
		return nil, swWrongP1P2
	}
	if !c.mgmAuthed {
		return nil, swSecurityStatus
	}
	tag, rest, ok := objectTag(cmd.data)
	if !ok {
		return nil, swWrongData
	}
	if tag < 0x5fc101 || tag > 0x5fffff {
		if tag != 0x7e && tag != 0x7f61 {
			return nil, swWrongData
		}
	}
	t, after, err := parseTLV(rest)
	if err != nil || t.tag != 0x53 || len(after) != 0 {
		return nil, swWrongData
	}
	if len(t.value) == 0 {
		delete(c.objects, tag)
		return nil, swOK
	}
	c.objects[tag] = append([]byte(nil), t.value...)
	return nil, swOK
}

func (c *Card) setManagementKey(cmd command) ([]byte, int) {
	if !c.mgmAuthed {
		return nil, swSecurityStatus
	}
	if cmd.p1 != 0xff || (cmd.p2 != 0xff && cmd.p2 != 0xfe) {
		return nil, swWrongP1P2
	}
	d := cmd.data
	if len(d) < 3 || d[1] != 0x9b || int(d[2]) != len(d)-3 {
		return nil, swWrongData
	}
	if _, err := mgmBlock(d[0], d[3:]); err != nil {
		return nil, swWrongData
	}
	if d[0] != Alg3DES && !c.fwAtLeast(5, 4, 0) {
		return nil, swWrongData
	}
	c.mgmAlg, c.mgmKey = d[0], append([]byte(nil), d[3:]...)
	c.mgmTouch = cmd.p2 == 0xfe
	return nil, swOK
}

func (c *Card) reset() ([]byte, int) {
	if c.pinLeft != 0 || c.pukLeft != 0 {
		return nil, swConditions
	}
	c.pin, _ = padPIN([]byte("123456"))
	c.puk, _ = padPIN([]byte("12345678"))
	c.pinLeft, c.pukLeft = c.cfg.PINRetries, c.cfg.PUKRetries
	c.mgmKey = append([]byte(nil), DefaultManagementKey...)
	c.mgmAlg = Alg3DES
	if c.fwAtLeast(5, 7, 0) {
		c.mgmAlg = AlgAES192
	}
	c.slots = map[byte]*slotKey{}
	c.objects = map[uint32][]byte{0x5fff01: certObject(c.attCert.Raw)}
	c.pinVerified, c.pinFresh, c.mgmAuthed = false, false, false
	return nil, swOK
}

func (c *Card) setRetries(cmd command) ([]byte, int) {
	if !c.mgmAuthed || !c.pinVerified {
		return nil, swSecurityStatus
	}
	if cmd.p1 < 1 || cmd.p1 > 15 || cmd.p2 < 1 || cmd.p2 > 15 {
		return nil, swWrongP1P2
	}
	c.cfg.PINRetries, c.cfg.PUKRetries = int(cmd.p1), int(cmd.p2)
	c.pin, _ = padPIN([]byte("123456"))
	c.puk, _ = padPIN([]byte("12345678"))
	c.pinLeft, c.pukLeft = c.cfg.PINRetries, c.cfg.PUKRetries
	return nil, swOK
}

// importKey is Yubico's IMPORT ASYMMETRIC KEY. An imported key signs like
// any other, but its origin says so and it cannot be attested: that is
// what attestation is for.
func (c *Card) importKey(cmd command) ([]byte, int) {
	if !c.mgmAuthed {
		return nil, swSecurityStatus
	}
	slot := cmd.p2
	if _, ok := slotObjects[slot]; !ok || slot == 0xf9 {
		return nil, swWrongP1P2
	}
	ts, err := parseTLVs(cmd.data)
	if err != nil {
		return nil, swWrongData
	}
	k := &slotKey{alg: cmd.p1, pinPolicy: PINPolicyOnce, touchPolicy: TouchPolicyNever}
	if pp, ok := find(ts, 0xaa); ok {
		if len(pp) != 1 || pp[0] < PINPolicyNever || pp[0] > PINPolicyAlways {
			return nil, swWrongData
		}
		k.pinPolicy = pp[0]
	}
	if tp, ok := find(ts, 0xab); ok {
		if len(tp) != 1 || tp[0] < TouchPolicyNever || tp[0] > TouchPolicyCached {
			return nil, swWrongData
		}
		k.touchPolicy = tp[0]
	}
	switch cmd.p1 {
	case AlgP256, AlgP384:
		d, ok := find(ts, 0x06)
		curve := elliptic.P256()
		if cmd.p1 == AlgP384 {
			curve = elliptic.P384()
		}
		if !ok || len(d) != (curve.Params().BitSize+7)/8 {
			return nil, swWrongData
		}
		priv, err := ecdsa.ParseRawPrivateKey(curve, d)
		if err != nil {
			return nil, swWrongData
		}
		k.priv = priv
	case AlgEd25519:
		seed, ok := find(ts, 0x07)
		if !ok || len(seed) != ed25519.SeedSize {
			return nil, swWrongData
		}
		k.priv = ed25519.NewKeyFromSeed(seed)
	default:
		// RSA import is not needed by any test yet.
		return nil, swWrongData
	}
	c.slots[slot] = k
	return nil, swOK
}
