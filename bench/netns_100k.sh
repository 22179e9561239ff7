#!/usr/bin/env bash
# bench/netns_100k.sh - N named network namespaces (default 100000) in one VirtKernel daemon:
# one `ip -batch` of N `netns add` lines through the shim, then one of N `netns del` lines, with
# the daemon's memory before, with all of them, and after they are gone.
#
# Usage: bench/netns_100k.sh [N]
# Prints lines in the kernel baselines' format (../shared/bench/kernel/README.md):
#   metric=netns_add_batch n=N seconds=S per_op_us=U rss_kb_per_ns=R heap_kb_per_ns=H
#          namespaces=C memavail_kb_per_ns=M
#   metric=netns_del_batch n=N seconds=S per_op_us=U rss_kb_after=R heap_kb_after=H namespaces=C
#          rss_kb_idle=I
# rss: the daemon's VmRSS; heap: its live managed memory after a full collection (vk status);
# memavail: the host's MemAvailable, which also counts the namespaces' files on the tmpfs;
# rss_kb_idle: VmRSS two seconds after the deletes (the daemon trims its heap once idle).
set -euo pipefail
export LC_ALL=C
N=${1:-100000}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VK=$ROOT/vk
IP=/usr/sbin/ip
TMP=$(mktemp -d -t vkbench.XXXXXX)
export VIRTKERNEL_SOCKET=$TMP/vk.sock
cleanup() { "$VK" stop >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
"$VK" build >/dev/null

emit() { # metric n t0 t1 extra
  awk -v m="$1" -v n="$2" -v a="$3" -v b="$4" -v x="$5" 'BEGIN {
    d = (b - a) * 1e6; printf "metric=%s n=%d seconds=%.6f per_op_us=%.3f %s\n", m, n, d / 1e6, d / n, x }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
memavail_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
status() { "$VK" status; }
heap_kb() { status | awk '/^managed heap/ { print $3 }'; }
count_ns() { status | awk '/^namespaces/ { print $2 }'; }

"$VK" run -- $IP link show >/dev/null          # starts the daemon
pid=$(cat "$TMP/vk.sock.pid")
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "netns add vk100k-%d\n", i }' >"$TMP/add"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "netns del vk100k-%d\n", i }' >"$TMP/del"

heap0=$(heap_kb); rss0=$(rss_kb "$pid"); mem0=$(memavail_kb)
t0=$EPOCHREALTIME
"$VK" run -- $IP -batch "$TMP/add"
t1=$EPOCHREALTIME
rss1=$(rss_kb "$pid"); mem1=$(memavail_kb); heap1=$(heap_kb); c1=$(count_ns)
[ "$c1" -eq $((N + 1)) ] || { echo "expected $((N + 1)) namespaces, found $c1" >&2; exit 1; }
emit netns_add_batch "$N" "$t0" "$t1" "$(awk -v n="$N" -v r0="$rss0" -v r1="$rss1" -v h0="$heap0" \
  -v h1="$heap1" -v m0="$mem0" -v m1="$mem1" -v c="$c1" 'BEGIN {
  printf "rss_kb_per_ns=%.2f heap_kb_per_ns=%.2f namespaces=%d memavail_kb_per_ns=%.2f",
         (r1 - r0) / n, (h1 - h0) / n, c, (m0 - m1) / n }')"

t0=$EPOCHREALTIME
"$VK" run -- $IP -batch "$TMP/del"
t1=$EPOCHREALTIME
c2=$(count_ns); heap2=$(heap_kb); rss2=$(rss_kb "$pid")
[ "$c2" -eq 1 ] || { echo "$c2 namespaces left after delete" >&2; exit 1; }
sleep 2   # the daemon gives back what the deleted namespaces held once it has been idle for a second
rss3=$(rss_kb "$pid")
emit netns_del_batch "$N" "$t0" "$t1" "rss_kb_after=$rss2 heap_kb_after=$heap2 namespaces=$c2 rss_kb_idle=$rss3"
