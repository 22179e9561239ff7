#!/usr/bin/env bash
# route_dump.sh - time dumping a table of N IPv4 /32 routes through the shim, in a fresh VirtKernel
# daemon: the same three dumps as the kernel baseline's route_dump.sh (see bench/README.md).
#
# Usage: bench/route_dump.sh [N]        N = routes installed (default 100000, max 130816)
# Setup (not timed): veth va/vb (addrgenmode none, up), 198.18.0.1/15 on va, N routes
# "198.18.X.Y/32 via 198.18.0.2" added with one `ip -batch`. Then (per_op_us = per route):
#   metric=route_dump_text   `ip route show >/dev/null`
#   metric=route_dump_json   `ip -j route show >/dev/null`
#   metric=route_dump_count  `ip -4 route show table main | wc -l` (lines = N + 1)
#   metric=route_memory      the daemon's VmRSS growth for the N routes (rss_kb_per_100k_routes)
set -euo pipefail
export LC_ALL=C
N=${1:-100000}
if ! [[ $N =~ ^[0-9]+$ ]] || (( N < 1 || N > 130816 )); then echo "N must be 1..130816" >&2; exit 2; fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/daemon.sh
. "$ROOT/bench/daemon.sh"

emit() {
  local m=$1 n=$2 d=$(( 10#${4/./} - 10#${3/./} )); shift 4
  awk -v m="$m" -v n="$n" -v d="$d" -v x="$*" 'BEGIN {
    printf "metric=%s n=%d seconds=%.6f per_op_us=%.3f%s\n", m, n, d / 1e6, (n > 0 ? d / n : 0), (x == "" ? "" : " " x) }'
}


cat >"$TMP/setup" <<'EOS'
link add va type veth peer name vb
link set dev va addrgenmode none
link set dev vb addrgenmode none
address add 198.18.0.1/15 dev va
link set dev va up
link set dev vb up
EOS
ipv -batch "$TMP/setup"
awk -v n="$N" 'BEGIN {
  b = 198 * 16777216 + 18 * 65536 + 256
  for (i = 0; i < n; i++) {
    a = b + i
    printf "route add %d.%d.%d.%d/32 via 198.18.0.2\n", int(a / 16777216), int(a / 65536) % 256, int(a / 256) % 256, a % 256
  } }' >"$TMP/routes"
rss0=$(rss)
ipv -batch "$TMP/routes"
rss1=$(rss)

t0=$EPOCHREALTIME
ipv route show >/dev/null
t1=$EPOCHREALTIME
emit route_dump_text "$N" "$t0" "$t1"

t0=$EPOCHREALTIME
ipv -j route show >/dev/null
t1=$EPOCHREALTIME
emit route_dump_json "$N" "$t0" "$t1"

t0=$EPOCHREALTIME
lines=$(ipv -4 route show table main | wc -l)
t1=$EPOCHREALTIME
if (( lines != N + 1 )); then echo "error: expected $((N + 1)) routes in table main, found $lines" >&2; exit 1; fi
emit route_dump_count "$N" "$t0" "$t1" "lines=$lines"
awk -v n="$N" -v r0="$rss0" -v r1="$rss1" 'BEGIN {
  printf "metric=route_memory n=%d seconds=0 per_op_us=0 rss_kb_before=%d rss_kb_after=%d rss_kb_per_100k_routes=%d\n",
         n, r0, r1, (r1 - r0) * 100000 / n }'
