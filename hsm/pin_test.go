package hsm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPINPolicy(t *testing.T) {
	dev := Device{Model: "SoftHSM v2", Serial: "ab12", Label: "alice"}
	for _, c := range []struct {
		tries int
		allow bool
		want  error
	}{
		{-1, false, nil}, {3, false, nil}, {2, false, nil},
		{1, false, ErrLastTry}, {1, true, nil},
		{0, false, ErrPINLocked}, {0, true, ErrPINLocked},
	} {
		err := PINPolicy{AllowLastTry: c.allow}.Check(dev, c.tries)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("tries %d allow %v: got %v, want %v", c.tries, c.allow, err, c.want)
		}
	}
	msgs := map[string]PINError{
		"wrong PIN, 2 tries left":    {Device: dev, Err: ErrWrongPIN, TriesLeft: 2},
		"(alice): wrong PIN":         {Device: dev, Err: ErrWrongPIN, TriesLeft: -1},
		"PIN is locked":              {Device: dev, Err: ErrPINLocked},
		"run again with --allow-las": {Device: dev, Err: ErrLastTry, TriesLeft: 1},
	}
	for want, e := range msgs {
		if !strings.Contains(e.Error(), want) || !strings.Contains(e.Error(), "SoftHSM v2 #ab12") {
			t.Errorf("%q does not say %q and name the device", e.Error(), want)
		}
	}
}

func TestFilePIN(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pin")
	if err := os.WriteFile(p, []byte("123456\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pin, err := FilePIN{Path: p}.PIN(PINRequest{TriesLeft: -1})
	if err != nil || string(pin) != "123456" {
		t.Fatalf("got %q, %v", pin, err)
	}
	// A retry would only burn another try with the same file.
	if _, err := (FilePIN{Path: p}).PIN(PINRequest{Retry: true, TriesLeft: 2}); !errors.Is(err, ErrWrongPIN) {
		t.Errorf("retry: got %v", err)
	}
	if err := os.WriteFile(p, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (FilePIN{Path: p}).PIN(PINRequest{}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: got %v", err)
	}
	if _, err := (FilePIN{Path: filepath.Join(dir, "none")}).PIN(PINRequest{}); err == nil {
		t.Error("missing file accepted")
	}
}

func TestStaticPIN(t *testing.T) {
	s := StaticPIN("1234")
	pin, err := s.PIN(PINRequest{})
	if err != nil || string(pin) != "1234" {
		t.Fatalf("got %q, %v", pin, err)
	}
	Wipe(pin)
	if string(s) != "1234" {
		t.Error("wiping the returned PIN wiped the source")
	}
	if _, err := s.PIN(PINRequest{Retry: true}); !errors.Is(err, ErrWrongPIN) {
		t.Errorf("retry: got %v", err)
	}
}
