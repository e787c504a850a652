package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/hsm"
	"github.com/ceremony-tuf/ceremony/internal/untrusted"
)

const devicesHelp = `Lists every token and card ceremony can reach, through every backend
(pkcs11: PKCS#11 modules such as SoftHSM, YubiHSM 2, OpenSC and ykcs11;
piv: YubiKeys), with the keys on each that can be read without a PIN. Each
device and key is shown with the URI that selects it and no other: give
that URI to 'ceremony keys show' or to a plan.

PKCS#11 modules are found in the usual places, or named by the
CEREMONY_PKCS11_MODULE environment variable (then no other module is
tried). A backend that cannot be reached is reported on stderr and the
others are still listed; when none can be reached the exit status is 5.

Example:
  ceremony devices
  CEREMONY_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so ceremony devices --json`

// devicesReport is the --json form of 'ceremony devices'.
type devicesReport struct {
	Devices  []hsm.DeviceKeys `json:"devices"`
	Problems []backendProblem `json:"problems,omitempty"`
}

type backendProblem struct {
	Backend string `json:"backend"`
	Error   string `json:"error"`
}

// runDevices is 'ceremony devices'.
func runDevices(ctx context.Context, e *env, asJSON *bool, args []string) error {
	if len(args) > 0 {
		return usageErrorf("devices takes no arguments")
	}
	rep := devicesReport{Devices: []hsm.DeviceKeys{}}
	var errs []error
	backends := hsm.Backends()
	for _, b := range backends {
		devs, err := b.Devices(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.Scheme(), err))
			rep.Problems = append(rep.Problems, backendProblem{Backend: b.Scheme(), Error: err.Error()})
			continue
		}
		rep.Devices = append(rep.Devices, devs...)
	}
	if len(backends) > 0 && len(errs) == len(backends) {
		err := errors.Join(errs...)
		return exitcode.Errorf(hsm.ErrDevice, "no backend could list its devices:\n%w", err)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(e.stderr, "ceremony devices: warning: %s backend: %s\n", safe(p.Backend), untrusted.Text(p.Error))
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	if len(rep.Devices) == 0 {
		fmt.Fprintln(e.stdout, "No tokens or cards found. Plug one in, or name the PKCS#11 module with CEREMONY_PKCS11_MODULE.")
		return nil
	}
	for i, d := range rep.Devices {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		// Everything here is the device's own words: escaped.
		fmt.Fprintf(e.stdout, "%s\n", safe(d.Device.String()))
		fmt.Fprintf(e.stdout, "  uri           %s\n", safe(d.Device.URI))
		fmt.Fprintf(e.stdout, "  manufacturer  %s\n", safe(d.Device.Manufacturer))
		if d.Device.Firmware != "" {
			fmt.Fprintf(e.stdout, "  firmware      %s\n", safe(d.Device.Firmware))
		}
		if len(d.Keys) == 0 {
			fmt.Fprintln(e.stdout, "  keys          none")
		} else {
			fmt.Fprintln(e.stdout, "  keys")
			for _, k := range d.Keys {
				fmt.Fprintf(e.stdout, "    %-11s %-20s %s\n", safe(string(k.Type)), safe(k.Label), safe(k.URI))
			}
		}
		if d.Note != "" {
			fmt.Fprintf(e.stdout, "  note          %s\n", untrusted.Text(d.Note))
		}
	}
	return nil
}
