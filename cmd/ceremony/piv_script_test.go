package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ceremony-tuf/ceremony/internal/pcsctest"
	"github.com/ceremony-tuf/ceremony/internal/vpiv"
)

// Scripts named piv*.txtar get a private pcscd with a virtual YubiKey in
// its first reader: serial 12345678, firmware 5.7.1, factory PIN 123456,
// a P-256 key in slot 9c (PIN once, no touch) and an Ed25519 key in slot
// 82 (PIN always, touch always, touched at once). $WORK/testca.pem holds
// the test CA its attestations chain to. The card lives in the test
// process; 'exec ceremony' reaches it through pcscd, as it would a YubiKey.
func init() {
	scriptSetups = append(scriptSetups, setupVirtualYubiKey)
}

func setupVirtualYubiKey(e *testscript.Env) error {
	if !strings.HasPrefix(filepath.Base(e.WorkDir), "script-piv") {
		return nil
	}
	d, err := pcsctest.Start(pcsctest.Options{})
	if err != nil {
		return err
	}
	card, err := vpiv.New(vpiv.Config{Serial: 12345678})
	if err != nil {
		d.Stop()
		return err
	}
	e.Defer(func() {
		card.Close()
		d.Stop()
	})
	if _, err := card.GenerateKey(0x9c, vpiv.AlgP256, vpiv.PINPolicyOnce, vpiv.TouchPolicyNever); err != nil {
		return err
	}
	if _, err := card.GenerateKey(0x82, vpiv.AlgEd25519, vpiv.PINPolicyAlways, vpiv.TouchPolicyAlways); err != nil {
		return err
	}
	if err := card.Insert(d.Dialer(0)); err != nil {
		return err
	}
	if err := card.WaitReady(5 * time.Second); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.WorkDir, "testca.pem"), card.CA().PEM(), 0o644); err != nil {
		return fmt.Errorf("write test CA: %w", err)
	}
	e.Setenv("PCSCLITE_CSOCK_NAME", d.Socket)
	return nil
}
