#!/usr/bin/env bash
# bench.sh runs the benchmarks side by side with their peers in one run and
# prints the tables the README shows. Raw output goes to bench-out/.
#
# Suites (BENCH_SUITES, default all four, in this order):
#   roles     parse + canonicalize + verify one claimed role, against go-tuf
#   pkcs11    signing on a SoftHSM key, against bare miekg/pkcs11
#   commands  every ceremony command on the built binary, as a whole
#             process, at 1,000, 10,000 and 100,000 projects (BENCH_SIZES;
#             BENCH_FULL=1 adds 600,000), BENCH_RUNS runs each (default 5)
#   rstuf     verify an RSTUF-layout repository: 16,384 bins, a million targets
#
# `bash scripts/bench.sh readme` (`make bench-readme`) instead pastes the
# last commands table (bench-out/commands/table.md) into README.md's speed
# section, between its bench:commands markers.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = readme ]; then
  table=bench-out/commands/table.md
  [ -s "$table" ] || { echo "bench.sh readme: no $table; run make bench first" >&2; exit 1; }
  grep -q '^<!-- bench:commands -->$' README.md && grep -q '^<!-- /bench:commands -->$' README.md ||
    { echo "bench.sh readme: README.md lacks the <!-- bench:commands --> and <!-- /bench:commands --> lines" >&2; exit 1; }
  awk -v table="$table" '
    /^<!-- bench:commands -->$/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /^<!-- \/bench:commands -->$/ { skip = 0 }
    !skip' README.md >README.md.tmp
  mv README.md.tmp README.md
  echo "bench.sh readme: README.md now shows $table" >&2
  exit 0
fi
mkdir -p bench-out

roles_suite() {
  echo "== roles: parse + canonicalize + verify a 3-of-5 signed claimed role" >&2
  go test -run '^$' -bench 'BenchmarkClaimed' -benchtime "${BENCHTIME:-3x}" -timeout 60m ./roles | tee bench-out/roles.txt >&2

  awk '
  /^BenchmarkClaimed\/projects=/ {
    split($1, p, "/"); n = p[2]; sub("projects=", "", n); way = p[3]; sub(/-[0-9]+$/, "", way)
    for (i = 2; i <= NF; i++) {
      if ($(i) == "ns/op") ns[n, way] = $(i-1)
      if ($(i) == "allocs/op") al[n, way] = $(i-1)
      if ($(i) == "B/op") by[n, way] = $(i-1)
      if ($(i) == "peak-MB") pk[n, way] = $(i-1)
      if ($(i) == "file-MB") fm[n] = $(i-1)
    }
    if (!(n in seen)) { seen[n] = 1; order[++cnt] = n }
  }
  END {
    print "| projects | file | ours | go-tuf v2 | floor | go-tuf / ours | ours / floor | ours allocs | ours peak RSS (× file) | go-tuf peak RSS (× file) |"
    print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= cnt; i++) {
      n = order[i]
      printf "| %d | %.1f MB | %.3f s | %.2f s | %.3f s | %.1fx | %.2fx | %d | %.0f MB (%.2fx) | %.0f MB (%.2fx) |\n", \
        n, fm[n], ns[n,"ours"]/1e9, ns[n,"go-tuf"]/1e9, ns[n,"floor"]/1e9, ns[n,"go-tuf"]/ns[n,"ours"], ns[n,"ours"]/ns[n,"floor"], \
        al[n,"ours"], pk[n,"ours"], pk[n,"ours"]/fm[n], pk[n,"go-tuf"], pk[n,"go-tuf"]/fm[n]
    }
  }' bench-out/roles.txt | tee bench-out/roles-table.md
}

pkcs11_suite() {
  echo "== hsm/pkcs11: sign on one SoftHSM key, hsm/pkcs11 vs a bare C_SignInit+C_Sign loop" >&2
  go test -run '^$' -bench 'BenchmarkSign' -benchtime "${PKCS11_BENCHTIME:-2s}" -count "${PKCS11_COUNT:-3}" ./hsm/pkcs11 | tee bench-out/pkcs11.txt >&2

  awk '
  /^BenchmarkSign\// {
    split($1, p, "/"); kt = p[2]; way = p[3]; sub(/-[0-9]+$/, "", way)
    for (i = 2; i <= NF; i++) if ($(i) == "ns/op") { sum[kt, way] += $(i-1); n[kt, way]++ }
    if (!(kt in seen)) { seen[kt] = 1; order[++cnt] = kt }
  }
  END {
    print "| key | bare miekg/pkcs11 | hsm/pkcs11 without the software check | overhead | hsm/pkcs11 (every signature verified) | overhead |"
    print "|---|---:|---:|---:|---:|---:|"
    for (i = 1; i <= cnt; i++) {
      k = order[i]; b = sum[k,"bare"]/n[k,"bare"]; nv = sum[k,"hsm-noverify"]/n[k,"hsm-noverify"]; h = sum[k,"hsm"]/n[k,"hsm"]
      printf "| %s | %.0f µs | %.0f µs | %+.0f%% | %.0f µs | %+.0f%% |\n", k, b/1e3, nv/1e3, (nv/b-1)*100, h/1e3, (h/b-1)*100
    }
  }' bench-out/pkcs11.txt | tee bench-out/pkcs11-table.md
}

# The whole-command suite (issue 13): the binary `make build` makes, run as
# a user runs it, on synthetic repositories and plans (internal/benchrepo;
# cached by size under bench-out/repos, the admins' SoftHSM tokens under
# bench-out/hsm). Each command is one process, timed with its peak RSS by
# internal/benchrepo/cmd/benchtime, BENCH_RUNS times from the same starting
# state (a fresh copy of the workspace the step before left); the table
# shows medians. A run slower than BENCH_SLOW seconds (default 120) is not
# repeated; one slower than BENCH_TIMEOUT (default 20m) is killed and
# reported. Raw runs: bench-out/commands/raw.jsonl (BENCH_APPEND=1 adds to
# it, so that one table can gather sizes run at different times); what
# each command printed: bench-out/commands/logs/.
commands_suite() {
  out=bench-out/commands
  tools=bench-out/bin
  runs=${BENCH_RUNS:-5}
  slow=${BENCH_SLOW:-120}
  timeout=${BENCH_TIMEOUT:-20m}
  local sizes="${BENCH_SIZES:-1000 10000 100000}"
  if [ "${BENCH_FULL:-0}" = 1 ] && [ -z "${BENCH_SIZES:-}" ]; then sizes="$sizes 600000"; fi
  mkdir -p "$out/logs" "$tools" bench-out/repos
  echo "== commands: the binary (make build) and the benchmark's tools" >&2
  make --no-print-directory build BIN="$PWD/$tools/ceremony" >&2
  go build -o "$tools/benchrepo" ./internal/benchrepo/cmd/benchrepo
  go build -o "$tools/benchtime" ./internal/benchrepo/cmd/benchtime
  bin="$PWD/$tools/ceremony"
  raw="$out/raw.jsonl"
  if [ "${BENCH_APPEND:-0}" != 1 ]; then
    : >"$raw"
    rm -f "$out"/logs/*
  fi
  for n in $sizes; do
    commands_at "$n"
  done
  {
    echo "Whole commands on the built binary, commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores: median of $runs runs (fewer where a run took over ${slow} s), peak RSS the largest of the runs."
    echo
    "$tools/benchrepo" table -raw "$raw" -repos bench-out/repos
  } | tee "$out/table.md"
}

# commands_at N times every command on the repository of N projects.
commands_at() {
  n=$1
  echo "== commands at $n projects" >&2
  local vars
  vars=$("$tools/benchrepo" generate -projects "$n" -out "bench-out/repos/$n" -hsm bench-out/hsm)
  eval "$vars"
  export SOFTHSM2_CONF CEREMONY_PKCS11_MODULE
  # The first read of the repository from disk is not what a command
  # costs: read every file once, untimed, so that no row starts cold.
  find "$META" -type f -print0 | xargs -0 cat >/dev/null
  work="$PWD/bench-out/work/$n"
  run="$work/run"
  rm -rf "$work"
  mkdir -p "$work"
  timed verify -- "$bin" verify "$META" --root "$ROOT" || true
  timed gotuf -- "$tools/benchrepo" gotuf -metadata "$META" -root "$ROOT" || true
  "$tools/benchrepo" floor -metadata "$META" -size "$n" -runs "$runs" -o "$raw" >/dev/null
  chain rr "$RR_PLAN" "$KEY_alice" "$KEY_bob" "$KEY_carol"
  chain cu "$CU_PLAN" "$KEY_claims_1" "$KEY_claims_2"
  rm -rf "$work"
}

# chain C PLAN FIRST OTHERS...: one ceremony (rr: the root rotation, cu:
# the claimed update), each step timed: start; sign by FIRST; the OTHERS
# sign untimed until every threshold holds; status; publish; resume; close;
# transcript verify and replay. A step that fails skips those after it.
# The publish folder is a copy of the repository, as an admin's is: the
# ceremony publishes only the files it changes, and start and publish
# verify the repository as the folder would hold it.
chain() {
  local c=$1 plan=$2 first=$3
  shift 3
  local pub="$work/$c-pub" ws="$work/$c" k
  seed "$pub"
  timed "start.$c" --clear "$run" -- "$bin" start "$plan" --workspace "$run" --publish-dir "$pub" --allow-reference-time || { skip_after "$c" start; return; }
  mv "$run" "$ws-started"
  timed "sign.$c" --from "$ws-started" --yes -- "$bin" sign --workspace "$run" --key "$first" || { skip_after "$c" sign; return; }
  mv "$run" "$ws-ready"
  for k in "$@"; do
    echo yes | "$bin" sign --workspace "$ws-ready" --key "$k" >>"$out/logs/$n-untimed-sign.log" 2>&1 || { skip_after "$c" sign; return; }
  done
  timed "status.$c" -- "$bin" status --workspace "$ws-ready" || true
  timed "publish.$c" --from "$ws-ready" --seed "$pub" -- "$bin" publish --workspace "$run" || { skip_after "$c" publish; return; }
  mv "$run" "$ws-published"
  timed "resume.$c" --from "$ws-published" -- "$bin" resume --workspace "$run" || true
  timed "close.$c" --from "$ws-published" -- "$bin" close --workspace "$run" || { skip_after "$c" close; return; }
  timed "tverify.$c" -- "$bin" transcript verify "$run/transcript.jsonl" || true
  timed "replay.$c" -- "$bin" transcript replay "$run/transcript.jsonl" --against "$pub" || true
}

# skip_after C STEP records every step of chain C after STEP as skipped.
skip_after() {
  local after="" s
  for s in start sign status publish resume close tverify replay; do
    if [ -n "$after" ]; then
      printf '{"command":"%s.%s","size":%d,"skipped":"%s failed"}\n' "$s" "$1" "$n" "$2" >>"$raw"
    fi
    [ "$s" = "$2" ] && after=1
  done
}

# seed DIR makes DIR a fresh copy of the repository ($META). Hard links,
# not copies, so that 600,000 files take seconds: publish replaces a file
# by writing a new one and renaming it over, never writing into one, so
# the cached repository is never changed through them.
seed() {
  rm -rf "$1"
  cp -al "$META" "$1"
}

# timed ID [--from DIR] [--clear DIR] [--seed DIR] [--yes] -- COMMAND...:
# BENCH_RUNS runs of COMMAND, each after $run is made a fresh copy of DIR
# (--from), DIR is removed (--clear) or made a fresh copy of the repository
# (--seed), with "yes" on stdin (--yes). False at the first run that fails;
# it stops early after a run slower than BENCH_SLOW.
timed() {
  local id=$1 from="" clear="" fresh="" stdin="" i status secs
  shift
  while [ "$1" != -- ]; do
    case $1 in
      --from) from=$2; shift 2 ;;
      --clear) clear=$2; shift 2 ;;
      --seed) fresh=$2; shift 2 ;;
      --yes) stdin='yes\n'; shift ;;
      *) echo "timed: unknown option $1" >&2; return 2 ;;
    esac
  done
  shift
  for ((i = 1; i <= runs; i++)); do
    if [ -n "$from" ]; then rm -rf "$run"; cp -a "$from" "$run"; fi
    if [ -n "$clear" ]; then rm -rf "$clear"; fi
    if [ -n "$fresh" ]; then seed "$fresh"; fi
    read -r status secs < <("$tools/benchtime" -o "$raw" -log "$out/logs/$n-$id.log" -command "$id" -size "$n" -run "$i" \
      -stdin "$stdin" -timeout "$timeout" -- "$@" || echo "fail 0")
    echo "   $id, $n projects, run $i: $status ${secs}s" >&2
    [ "$status" = ok ] || return 1
    if awk -v s="$secs" -v l="$slow" 'BEGIN { exit !(s > l) }'; then break; fi
  done
}

# rstuf: `ceremony verify` on an RSTUF-layout repository at PyPI's size,
# 16,384 succinct hash bins and RSTUF_BENCH_TARGETS targets (default a
# million), laid out as RSTUF's worker lays them out (issue 14).
rstuf_suite() {
  echo "== rstuf: verify 16,384 succinct bins and ${RSTUF_BENCH_TARGETS:-1000000} targets" >&2
  go test -run '^$' -bench 'BenchmarkVerifyRSTUF' -benchtime 1x -timeout 60m ./rstuf | tee bench-out/rstuf.txt >&2
  awk '/^BenchmarkVerifyRSTUF/ { printf "| bins | targets | verify |\n|---:|---:|---:|\n| %d | %d | %.1f s |\n", $5, $7, $3/1e9 }' bench-out/rstuf.txt | tee bench-out/rstuf-table.md
}

for suite in ${BENCH_SUITES:-roles pkcs11 commands rstuf}; do
  "${suite}_suite"
done
