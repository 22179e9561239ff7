#!/bin/sh
# Runs the shim's daemon-less tests with the shim preloaded: run-checks.sh TEST...
# (VKSHIM = absolute path of libvkshim.so). Prints the totals as "N passed, N failed".
set -u
passed=0 failed=0 status=0
for t in "$@"; do
    out=$(VIRTKERNEL_SOCKET= VIRTKERNEL_NETNS= LD_PRELOAD="$VKSHIM" timeout 120 "$t" --minid 2>&1)
    rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E ': [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then
        echo "$t: no result line (exit $rc)"
        failed=$((failed + 1)) status=1
        continue
    fi
    p=$(printf '%s' "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
    f=$(printf '%s' "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
    passed=$((passed + p)) failed=$((failed + f))
    [ "$rc" -eq 0 ] || status=1
done
echo "shim: $passed passed, $failed failed"
exit $status
