#!/usr/bin/env bash
# fuzz.sh runs every fuzz target in every package of the module, one after
# the other, for FUZZTIME each (go test's -fuzztime: 30s, 5m, 10000x).
#
#   scripts/fuzz.sh [FUZZTIME]        (make fuzz FUZZTIME=2m)
#
# Targets are discovered with `go test -list`, so a Fuzz* function added
# to any package is picked up without touching this script. A failing
# input is saved by go test under that package's testdata/fuzz/<Target>/,
# where plain `go test` replays it from then on. The script goes on after
# a failure, and exits non-zero if any target failed or a package's tests
# could not be listed.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime=${1:-30s}
module=$(go list -m)

# `go test -list` prints each package's matching names, then "ok <pkg>".
listing=$(go test -list '^Fuzz' ./... 2>&1)
list_rc=$?
targets=()
pending=()
while IFS= read -r line; do
	if [[ $line =~ ^Fuzz[[:alnum:]_]*$ ]]; then
		pending+=("$line")
	elif [[ $line =~ ^ok[[:space:]]+([^[:space:]]+) ]]; then
		pkg=${BASH_REMATCH[1]}
		pkg=.${pkg#"$module"}
		for name in "${pending[@]+"${pending[@]}"}"; do
			targets+=("$pkg $name")
		done
		pending=()
	elif [[ $line =~ ^(FAIL|\?)[[:space:]] ]]; then
		pending=()
	fi
done <<<"$listing"

if ((list_rc != 0)); then
	echo "fuzz.sh: go test -list failed for some packages; their targets are not run:" >&2
	grep -E '^(FAIL|---|#)' <<<"$listing" >&2
fi
if ((${#targets[@]} == 0)); then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

echo "fuzz.sh: ${#targets[@]} targets, $fuzztime each" >&2
failed=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "== $pkg $name" >&2
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"; then
		failed+=("$pkg $name")
	fi
done

if ((${#failed[@]} > 0)); then
	echo "fuzz.sh: failed (inputs saved under each package's testdata/fuzz/):" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
if ((list_rc != 0)); then
	exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran $fuzztime without failure" >&2
