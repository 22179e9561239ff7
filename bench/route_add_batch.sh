#!/usr/bin/env bash
# route_add_batch.sh - time one `ip -batch` of N IPv4 /32 route adds through the shim, in a fresh
# VirtKernel daemon. The same workload as the kernel baseline's route_add_batch.sh (see
# bench/README.md), so the figures can be put side by side.
#
# Usage: bench/route_add_batch.sh [N] [MODE]
#   N     number of routes (default 10000, max 130816)
#   MODE  via: "route add 198.18.X.Y/32 via 198.18.0.2" (default)
#         dev: "route add 198.18.X.Y/32 dev va"
# Setup (not timed): a daemon on a private socket, veth va/vb (addrgenmode none, up),
# 198.18.0.1/15 on va. After the timed batch the route count is verified (N + 1 connected).
# Prints: metric=route_add_batch_<MODE> n=N seconds=S per_op_us=U routes=C rss_kb=R rss_kb_per_100k_routes=M
set -euo pipefail
export LC_ALL=C
N=${1:-10000}
MODE=${2:-via}
case $MODE in
  via) FMT='route add %s/32 via 198.18.0.2' ;;
  dev) FMT='route add %s/32 dev va' ;;
  *) echo "usage: $0 [N] [via|dev]" >&2; exit 2 ;;
esac
if ! [[ $N =~ ^[0-9]+$ ]] || (( N < 1 || N > 130816 )); then echo "N must be 1..130816" >&2; exit 2; fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/daemon.sh
. "$ROOT/bench/daemon.sh"


cat >"$TMP/setup" <<'EOS'
link add va type veth peer name vb
link set dev va addrgenmode none
link set dev vb addrgenmode none
address add 198.18.0.1/15 dev va
link set dev va up
link set dev vb up
EOS
ipv -batch "$TMP/setup"
awk -v n="$N" -v f="$FMT" 'BEGIN {
  b = 198 * 16777216 + 18 * 65536 + 256
  for (i = 0; i < n; i++) {
    a = b + i
    printf f "\n", sprintf("%d.%d.%d.%d", int(a / 16777216), int(a / 65536) % 256, int(a / 256) % 256, a % 256)
  } }' >"$TMP/routes"
rss0=$(rss)

t0=$EPOCHREALTIME
ipv -batch "$TMP/routes"
t1=$EPOCHREALTIME

count=$(ipv -4 route show table main | wc -l)
if (( count != N + 1 )); then echo "error: expected $((N + 1)) routes in table main, found $count" >&2; exit 1; fi
rss1=$(rss)
d=$(( 10#${t1/./} - 10#${t0/./} ))
awk -v m="route_add_batch_$MODE" -v n="$N" -v d="$d" -v c="$count" -v r0="$rss0" -v r1="$rss1" 'BEGIN {
  printf "metric=%s n=%d seconds=%.6f per_op_us=%.3f routes=%d rss_kb=%d rss_kb_per_100k_routes=%d\n",
         m, n, d / 1e6, d / n, c, r1, (r1 - r0) * 100000 / n }'
