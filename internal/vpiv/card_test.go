package vpiv

import (
	"bytes"
	"io"
	"net"
	"testing"
)

func TestParseAPDU(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		ok   bool
		data []byte
	}{
		{[]byte{0, 0xfd, 0, 0}, true, nil},
		{[]byte{0, 0xfd, 0, 0, 0}, true, nil},
		{[]byte{0, 0x20, 0, 0x80, 2, 1, 2}, true, []byte{1, 2}},
		{[]byte{0, 0x20, 0, 0x80, 2, 1, 2, 0}, true, []byte{1, 2}},
		{[]byte{0, 0x20, 0, 0x80, 3, 1, 2}, false, nil},
		{[]byte{0, 0x20, 0, 0x80, 0, 0, 2, 1, 2}, true, []byte{1, 2}},
		{[]byte{0, 0x20, 0, 0x80, 0, 0, 9, 1, 2}, false, nil},
		{[]byte{0, 0x20}, false, nil},
	} {
		c, ok := parseAPDU(tc.in)
		if ok != tc.ok || !bytes.Equal(c.data, tc.data) {
			t.Errorf("parseAPDU(% x) = %+v, %v", tc.in, c, ok)
		}
	}
}

// FuzzTransmit feeds the card arbitrary APDUs, also after it has been
// selected and logged in to, and checks that every answer ends in a status
// word and that nothing panics.
func FuzzTransmit(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 0xa4, 4, 0, 5, 0xa0, 0, 0, 3, 8},
		{0, 0x47, 0, 0x9c, 11, 0xac, 9, 0x80, 1, 0x11, 0xaa, 1, 2, 0xab, 1, 1},
		{0, 0x87, 0x11, 0x9c, 6, 0x7c, 4, 0x82, 0, 0x81, 0},
		{0, 0xcb, 0x3f, 0xff, 5, 0x5c, 3, 0x5f, 0xc1, 0x0a},
		{0x10, 0xdb, 0x3f, 0xff, 3, 0x5c, 1, 0x7e},
		{0, 0x87, 0x0a, 0x9b, 4, 0x7c, 2, 0x80, 0},
		{0, 0xf7, 0, 0x9b},
		{0, 0xf9, 0x9c, 0},
		{0, 0xc0, 0, 0, 0},
	} {
		f.Add(seed)
	}
	card, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, apdu []byte) {
		// RSA key generation takes seconds and teaches the fuzzer nothing
		// about parsing; P-256 generation covers the same code path.
		for _, alg := range []byte{AlgRSA1024, AlgRSA2048, AlgRSA3072, AlgRSA4096} {
			if bytes.Contains(apdu, []byte{0x80, 0x01, alg}) {
				return
			}
		}
		card.mu.Lock()
		card.selected = aidPIV
		card.mgmAuthed = true
		card.pinVerified = true
		card.pinLeft = 3
		card.mu.Unlock()
		resp := card.Transmit(apdu)
		if len(resp) < 2 {
			t.Fatalf("response % x has no status word", resp)
		}
	})
}

func TestParseTLVNoPanic(t *testing.T) {
	for _, b := range [][]byte{nil, {0x5f}, {0x5f, 0xc1}, {0x5f, 0xc1, 0x81}, {0x53, 0x84, 1, 2, 3, 4}, {0x53, 0x82, 0xff, 0xff}, {0x1f, 0x81, 0x82, 0x83, 0x84, 0}} {
		parseTLVs(b)
	}
}

// TestOutBeforeTheReaderSeesIt: whoever sees the card's connection close
// finds the card out, whether the card was pulled out in the middle of a
// command or from outside. A reader stands in for vpcd here; many rounds,
// because the order used to be a race that lost a few times in a hundred.
func TestOutBeforeTheReaderSeesIt(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	card, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	dial := func() (net.Conn, error) { return net.Dial("tcp", l.Addr().String()) }
	for round := 0; round < 200; round++ {
		var err error
		if round == 0 {
			err = card.Insert(dial)
		} else {
			err = card.PutBack()
		}
		if err != nil {
			t.Fatal(err)
		}
		reader, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		send := func(msg ...byte) {
			if _, err := reader.Write(append([]byte{0, byte(len(msg))}, msg...)); err != nil {
				t.Fatal(err)
			}
		}
		send(4) // ATR request
		var hdr [2]byte
		if _, err := io.ReadFull(reader, hdr[:]); err != nil {
			t.Fatalf("round %d: no ATR: %v", round, err)
		}
		io.ReadFull(reader, make([]byte, int(hdr[0])<<8|int(hdr[1])))
		if round%2 == 0 {
			card.PullOutOn(0x87)
			send(0, 0x87, 0x11, 0x9c, 0) // a signature: never answered
		} else {
			go card.PullOut()
		}
		if n, err := reader.Read(hdr[:]); err != io.EOF {
			t.Fatalf("round %d: the reader read %d bytes, %v; want the connection closed", round, n, err)
		}
		if card.Inserted() {
			t.Fatalf("round %d: the reader saw the connection close before the card was out", round)
		}
		reader.Close()
		card.PullOut() // waits until the card has stopped serving
	}
}
