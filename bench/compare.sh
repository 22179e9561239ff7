#!/usr/bin/env bash
# compare.sh - the routing benchmarks side by side with the kernel: route_add_batch.sh 10000 and
# 100000, route_dump.sh 100000, each run ROUNDS times through the shim in fresh daemons, and (when
# KERNEL_BENCH holds the kernel baseline's scripts and they can run, i.e. as root) the same scripts
# against the real kernel, interleaved with ours so that both see the same load.
#
# Usage: bench/compare.sh [ROUNDS]      (default 3)
# Env:   KERNEL_BENCH  folder of the kernel baseline scripts (default ../shared/bench/kernel beside the project);
#                      set it empty to skip the kernel runs.
# Prints one line per metric: our min and median per_op_us, the kernel's here (min, median), the
# kernel baseline's recorded median (bench/README.md), our median over that and the target
# (route adds at most 1.25x, dumps at most 1.1x the recorded kernel). Memory: the daemon's RSS
# growth per 100,000 routes (median). The raw lines go to stderr.
set -euo pipefail
export LC_ALL=C
ROUNDS=${1:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUNDS]" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KB=${KERNEL_BENCH-$(cd "$HERE/../.." && pwd)/shared/bench/kernel}
if [ -n "$KB" ] && { [ ! -x "$KB/route_add_batch.sh" ] || [ "$(id -u)" != 0 ]; }; then
  echo "note: not running the kernel side ($KB missing or not root)" >&2
  KB=
fi
RAW=$(mktemp -t vkcompare.XXXXXX)
trap 'rm -f "$RAW"' EXIT

run() { # side dir
  "$2/route_add_batch.sh" 10000 | sed "s/^/$1 /"
  "$2/route_add_batch.sh" 100000 | sed "s/^/$1 /"
  "$2/route_dump.sh" 100000 | sed "s/^/$1 /"
}
for _ in $(seq "$ROUNDS"); do
  run vk "$HERE" | tee -a "$RAW" >&2
  if [ -n "$KB" ]; then run kernel "$KB" | tee -a "$RAW" >&2; fi
done

# the kernel baseline's recorded medians (../shared/bench/kernel/README.md) and the targets
ref() {
  case $1 in
    route_add_batch_via/10000) echo "11.19 1.25" ;;
    route_add_batch_via/100000) echo "15.87 1.25" ;;
    route_dump_text/100000) echo "1.09 1.1" ;;
    route_dump_json/100000) echo "1.34 1.1" ;;
    route_dump_count/100000) echo "2.28 -" ;;
    *) echo "- -" ;;
  esac
}
stats() { # side metric n field -> "min median" (or "- -")
  awk -v s="$1" -v m="metric=$2" -v n="n=$3" -v f="$4=" '$1 == s && $2 == m && $3 == n {
      for (i = 4; i <= NF; i++) if (index($i, f) == 1) print substr($i, length(f) + 1) }' "$RAW" |
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "- -"; else print v[1], (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
printf '%-22s %7s | %9s %9s | %9s %9s | %9s %7s %6s | %s\n' metric n vk_min vk_med kern_min kern_med kern_rec ratio target rss_kb_per_100k
for mn in route_add_batch_via/10000 route_add_batch_via/100000 route_dump_text/100000 route_dump_json/100000 route_dump_count/100000 route_memory/100000; do
  m=${mn%/*} n=${mn#*/}
  read -r vmin vmed < <(stats vk "$m" "$n" per_op_us)
  read -r kmin kmed < <(stats kernel "$m" "$n" per_op_us)
  read -r _ mem < <(stats vk "$m" "$n" rss_kb_per_100k_routes)
  read -r rec target < <(ref "$mn")
  ratio=-
  [ "$rec" != - ] && [ "$vmed" != - ] && ratio=$(awk -v a="$vmed" -v b="$rec" 'BEGIN { printf "%.2f", a / b }')
  if [ "$m" = route_memory ]; then vmin=- vmed=-; fi
  printf '%-22s %7s | %9s %9s | %9s %9s | %9s %7s %6s | %s\n' "$m" "$n" "$vmin" "$vmed" "$kmin" "$kmed" "$rec" "$ratio" "$target" "$mem"
done
