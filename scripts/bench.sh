#!/usr/bin/env bash
# bench.sh runs the benchmarks side by side with their peers in one run and
# prints the tables the README shows. Raw output goes to bench-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench-out

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
