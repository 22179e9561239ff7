#!/usr/bin/env bash
# compare.sh - replays client cases against VirtKernel and compares them with the kernel's
# recordings (golden/NAME.out): a quick way to do by hand what the end-to-end tests do.
#
# Usage: tests/clients/compare.sh [CASE...]      (from anywhere; needs ./vk build first)
#   VKC_DIFF=N   show the first N lines of each diff
#
# Each case gets a fresh daemon; daemon and clients run as nobody (65534) when started as root,
# as the end-to-end tests do. Prints one line per mismatch and, per client, matched/total.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DLL=$ROOT/daemon/Daemon/bin/Release/net10.0/vk.dll
SHIM=$ROOT/shim/build/libvkshim.so
[ -f "$DLL" ] && [ -f "$SHIM" ] || { echo "compare.sh: build first (./vk build)" >&2; exit 2; }

CASES=()
for a in "$@"; do case "$a" in */*|*.case) CASES+=("$a") ;; *) CASES+=("$HERE/cases/$a.case") ;; esac; done
[ ${#CASES[@]} -eq 0 ] && for f in "$HERE"/cases/*.case; do CASES+=("$f"); done

AS=()
if [ "$(id -u)" = 0 ]; then AS=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
WORK=$(mktemp -d)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

declare -A TOTAL=() OK=()
for f in "${CASES[@]}"; do
    name=$(basename "$f" .case)
    client=${name%%-*}
    sockdir=$WORK/$name
    mkdir -p "$sockdir"
    [ ${#AS[@]} -gt 0 ] && chown 65534:65534 "$sockdir"
    chmod 700 "$sockdir"
    sock=$sockdir/vk.sock
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=$WORK DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
        "${AS[@]}" dotnet "$DLL" serve --socket "$sock" > "$sockdir/daemon.log" 2>&1 &
    dpid=$!
    for _ in $(seq 400); do [ -S "$sock" ] && break; sleep 0.025; done
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=$WORK LC_ALL=C VIRTKERNEL_SOCKET=$sock LD_PRELOAD=$SHIM \
        ${SETTLE:+SETTLE=$SETTLE} "${AS[@]}" bash "$HERE/run-case.sh" "$f" > "$sockdir/got.out" 2> "$sockdir/err"
    kill -TERM $dpid 2>/dev/null; wait $dpid 2>/dev/null
    TOTAL[$client]=$(( ${TOTAL[$client]:-0} + 1 ))
    if cmp -s "$HERE/golden/$name.out" "$sockdir/got.out"; then
        OK[$client]=$(( ${OK[$client]:-0} + 1 ))
    else
        echo "mismatch: $name"
        if [ -n "${VKC_DIFF:-}" ]; then diff "$HERE/golden/$name.out" "$sockdir/got.out" | head -"$VKC_DIFF"; cat "$sockdir/err" | head -5; fi
    fi
done
all=0; allok=0
for c in $(echo "${!TOTAL[@]}" | tr ' ' '\n' | sort); do
    echo "$c: ${OK[$c]:-0}/${TOTAL[$c]}"
    all=$((all + TOTAL[$c])); allok=$((allok + ${OK[$c]:-0}))
done
echo "matched $allok of $all"
