#!/usr/bin/env bash
# install-deps.sh installs, with apt-get, the Debian packages that building,
# testing and the demo need, but only those that are missing, so that a fresh
# Debian 12 machine with Go needs nothing but `make demo` and `make test`.
set -euo pipefail

packages=(
  gcc pkg-config            # cgo for miekg/pkcs11 and go-piv
  softhsm2 opensc           # PKCS#11 tokens for tests and the demo; pkcs11-tool
  pcscd libpcsclite-dev     # PC/SC daemon and headers (go-piv)
  libpcsclite1 vsmartcard-vpcd  # reader driver for the virtual PIV card
  ykcs11                    # YubiKey PKCS#11 module, tested on the virtual card
  tmux                      # drives the TUI end-to-end test
  strace                    # softhsm-tests: kills a publish at an exact syscall (kill -9 mid-publish)
  yubikey-manager           # softhsm-tests: ykman prepares the virtual YubiKeys as RUNBOOK step 4 says
  util-linux iproute2       # unshare and ip for the hermetic pcscd namespace
  python3                   # runs docs/TRANSCRIPT.md's verifier in package transcripts' tests
  python3-cryptography      # and its checkpoint verifier (section 13) in package ceremony's
)

missing=()
for p in "${packages[@]}"; do
  [ "${p:0:1}" = "#" ] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# tuf-js, the second independent client softhsm-tests/ checks every
# published repository with, runs on node: Debian 12's own nodejs 18 will
# do when the machine has no node at all.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

# The audit report's test (ceremony/report) prints the report to PDF with
# headless Chromium and reads the PDF back with poppler's pdfinfo,
# pdftotext and pdftoppm.
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftotext >/dev/null || missing+=(poppler-utils)

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# tuf-js itself, at the version softhsm-tests/tufjs/package-lock.json pins,
# from the npm registry; again only when it is missing or the lock changed.
tufjs="$(dirname "$0")/../softhsm-tests/tufjs"
if [ ! -f "$tufjs/node_modules/.package-lock.json" ] || [ "$tufjs/package-lock.json" -nt "$tufjs/node_modules/.package-lock.json" ]; then
  echo "install-deps: npm ci in softhsm-tests/tufjs" >&2
  npm ci --prefix "$tufjs" --no-audit --no-fund --loglevel=error >&2
fi
