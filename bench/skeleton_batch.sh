#!/usr/bin/env bash
# bench/skeleton_batch.sh - time `ip -batch` of N IPv4 address adds (one veth device, up) and of
# M veth pairs, through the shim against a fresh VirtKernel daemon each, as the kernel baselines
# addr_add_batch.sh and link_add_batch.sh do against the real kernel.
#
# Usage: bench/skeleton_batch.sh [N_ADDRS] [M_PAIRS]     (defaults 10000 and 1000)
# The timed step is the `ip -batch` process itself, run with the shim preloaded, as the kernel's
# scripts time `$IP -batch` and nothing else (`vk run` would add its own start-up, the build check
# and the daemon check: about 15 ms, 15 µs per pair of a 1,000-pair batch).
# Prints lines in the kernel baselines' format:
#   metric=addr_add_batch_v4 n=N seconds=S per_op_us=U addrs=C
#   metric=veth_add_batch n=M seconds=S per_op_us=U links=L rss_kb_per_pair=R
set -euo pipefail
export LC_ALL=C
N=${1:-10000}
M=${2:-1000}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VK=$ROOT/vk
IP=/usr/sbin/ip
SHIM=$ROOT/shim/build/libvkshim.so
TMP=$(mktemp -d -t vkbench.XXXXXX)
cleanup() { VIRTKERNEL_SOCKET=$TMP/a.sock "$VK" stop >/dev/null 2>&1 || true
            VIRTKERNEL_SOCKET=$TMP/b.sock "$VK" stop >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
"$VK" build >/dev/null

emit() { # metric n t0 t1 extra
  awk -v m="$1" -v n="$2" -v a="$3" -v b="$4" -v x="$5" 'BEGIN {
    d = (b - a) * 1e6; printf "metric=%s n=%d seconds=%.6f per_op_us=%.3f %s\n", m, n, d / 1e6, d / n, x }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# --- addresses ---
export VIRTKERNEL_SOCKET=$TMP/a.sock
printf '%s\n' "link add va type veth peer name vb" "link set dev va addrgenmode none" \
  "link set dev vb addrgenmode none" "link set dev va up" "link set dev vb up" >"$TMP/setup"
"$VK" run -- $IP -batch "$TMP/setup"
awk -v n="$N" 'BEGIN { b = 198 * 16777216 + 18 * 65536 + 256
  for (i = 0; i < n; i++) { a = b + i
    printf "address add %d.%d.%d.%d/32 dev va\n", int(a / 16777216), int(a / 65536) % 256, int(a / 256) % 256, a % 256 } }' >"$TMP/addrs"
t0=$EPOCHREALTIME
LD_PRELOAD=$SHIM $IP -batch "$TMP/addrs"
t1=$EPOCHREALTIME
count=$("$VK" run -- $IP -4 -o address show dev va | wc -l)
[ "$count" -eq "$N" ] || { echo "expected $N addresses, found $count" >&2; exit 1; }
emit addr_add_batch_v4 "$N" "$t0" "$t1" "addrs=$count"

# --- veth pairs ---
export VIRTKERNEL_SOCKET=$TMP/b.sock
"$VK" run -- $IP link show >/dev/null
pid=$(cat "$TMP/b.sock.pid")
awk -v n="$M" 'BEGIN { for (i = 0; i < n; i++) printf "link add v%da type veth peer name v%db\n", i, i }' >"$TMP/links"
rss0=$(rss_kb "$pid")
t0=$EPOCHREALTIME
LD_PRELOAD=$SHIM $IP -batch "$TMP/links"
t1=$EPOCHREALTIME
rss1=$(rss_kb "$pid")
links=$("$VK" run -- $IP -o link show | wc -l)
[ "$links" -eq $((2 * M + 1)) ] || { echo "expected $((2 * M + 1)) links, found $links" >&2; exit 1; }
emit veth_add_batch "$M" "$t0" "$t1" "links=$links rss_kb_per_pair=$(awk -v a="$rss0" -v b="$rss1" -v n="$M" 'BEGIN { printf "%.1f", (b - a) / n }')"
