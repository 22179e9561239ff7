#!/usr/bin/env bash
# bench/sysctl_walk.sh - what `sysctl -a` costs on a namespace's /proc/sys/net: the kernel's (a fresh
# namespace, run as root with unshare) and VirtKernel's view (a fresh daemon's root namespace,
# through its FUSE mount), each walked by bench/sysctl_walk.c: readdir every directory, lstat every
# name, open + read to EOF + close every readable file, as procps sysctl does.
#
# Usage: bench/sysctl_walk.sh [ITERATIONS]     (default 30)
# Prints: metric=sysctl_walk_{kernel,virtkernel} files=N ms_per_walk=T
#         metric=sysctl_a_kernel ms=T (procps `sysctl -a` over all of /proc/sys, for scale)
set -euo pipefail
export LC_ALL=C
N=${1:-30}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VK=$ROOT/vk
TMP=$(mktemp -d -t vkwalk.XXXXXX)
cleanup() { VIRTKERNEL_SOCKET=$TMP/vk.sock "$VK" stop >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
cc -O2 -Wall -o "$TMP/walk" "$ROOT/bench/sysctl_walk.c"
"$VK" build >/dev/null 2>&1

if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  r=$(unshare -n "$TMP/walk" /proc/sys/net "$N")
  echo "metric=sysctl_walk_kernel $(echo "$r" | sed -E 's/.*(files=[0-9]+).*(ms_per_walk=[0-9.]+).*/\1 \2/')"
  ms=$(unshare -n bash -c 's=$(date +%s%N); for i in $(seq 10); do sysctl -a >/dev/null 2>&1; done; e=$(date +%s%N); echo $(( (e - s) / 10000000 ))')
  echo "metric=sysctl_a_kernel ms=$ms"
fi

export VIRTKERNEL_SOCKET=$TMP/vk.sock
"$VK" run -- true
view=$TMP/vk.sock.d/fs/ns/0/proc/sys/net
[ -d "$view" ] || { echo "bench: the daemon did not mount its views (see $TMP/vk.sock.log)" >&2; exit 1; }
r=$("$TMP/walk" "$view" "$N")
echo "metric=sysctl_walk_virtkernel $(echo "$r" | sed -E 's/.*(files=[0-9]+).*(ms_per_walk=[0-9.]+).*/\1 \2/')"
