#!/usr/bin/env bash
# bench/netns_add_floor.sh - what `ip netns add` costs in file system calls alone (no namespace):
# bench/netns_add_floor.c run on a tmpfs, the same calls the unmodified ip makes per namespace
# around unshare/mount/setns. It bounds from below what any implementation serving the unmodified
# ip can reach in ../shared/bench/kernel's netns_lifecycle.sh batch mode.
#
# Usage: bench/netns_add_floor.sh [N] [RUNS]     (defaults 1000 and 3)
set -euo pipefail
N=${1:-1000}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d -t vkfloor.XXXXXX)
SHM=$(mktemp -d -p /dev/shm vkfloor.XXXXXX)
trap 'rm -rf "$TMP" "$SHM"' EXIT
cc -O2 -Wall -o "$TMP/floor" "$ROOT/bench/netns_add_floor.c"
for _ in $(seq "$RUNS"); do
  rm -rf "$SHM/netns"
  "$TMP/floor" "$SHM/netns" "$N"
done
