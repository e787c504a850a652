// Package modules knows where PKCS#11 modules are installed: one list, for
// the pkcs11 backend's search, the demo's SoftHSM and the tests' throwaway
// tokens. It loads nothing (no cgo), so test harnesses can use it without
// importing the backend they test.
package modules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Candidates returns the module files tried, in order, when neither the
// URI nor CEREMONY_PKCS11_MODULE names one: SoftHSM, YubiHSM's module,
// ykcs11 and OpenSC, in the folders Debian, Fedora and Homebrew install
// them in.
func Candidates() []string {
	names := []string{
		"softhsm/libsofthsm2.so", "pkcs11/libsofthsm2.so", "libsofthsm2.so",
		"pkcs11/yubihsm_pkcs11.so", "yubihsm_pkcs11.so",
		"libykcs11.so", "libykcs11.so.2", "libykcs11.dylib",
		"opensc-pkcs11.so", "pkcs11/opensc-pkcs11.so",
	}
	var out []string
	for _, n := range names {
		for _, d := range dirs() {
			out = append(out, filepath.Join(d, n))
		}
	}
	return out
}

// ErrNoSoftHSM is wrapped by SoftHSM when SoftHSM is not installed.
var ErrNoSoftHSM = errors.New("SoftHSM is not installed")

// SoftHSM returns the first of Candidates that is SoftHSM's
// module and exists: the one module the demo and the tests' throwaway
// tokens use, found where every other module is found.
func SoftHSM() (string, error) {
	for _, c := range Candidates() {
		if filepath.Base(c) != "libsofthsm2.so" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: its PKCS#11 module libsofthsm2.so is in none of the places modules are looked for (under %s); install the Debian package softhsm2 (scripts/install-deps.sh does it)", ErrNoSoftHSM, strings.Join(dirs(), ", "))
}

// dirs are the folders modules are installed under, on Debian, Fedora and
// Homebrew.
func dirs() []string {
	return []string{"/usr/lib/" + multiarch(), "/usr/lib64", "/usr/lib", "/usr/local/lib", "/opt/homebrew/lib"}
}

func multiarch() string {
	switch runtime.GOARCH {
	case "arm64":
		return "aarch64-linux-gnu"
	case "386":
		return "i386-linux-gnu"
	}
	return "x86_64-linux-gnu"
}
