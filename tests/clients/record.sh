#!/usr/bin/env bash
# record.sh - records the client cases against the REAL kernel (as root): golden/NAME.out.
#
# Usage: sudo tests/clients/record.sh [-o OUTDIR] [--verify] [CASE...]
#
#   CASE      case names (cases/NAME.case) or paths; default: every case
#   -o DIR    write NAME.out into DIR (default: golden/ next to this script)
#   --verify  record twice and report every case whose two recordings differ
#
# The run happens in a private mount namespace with a private tmpfs on /run/netns, so the cases'
# namespaces never mix with the machine's and nothing is left behind. Each case runs through
# run-case.sh, exactly as the end-to-end tests run it against VirtKernel.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -z "${VKC_INNER:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "record.sh: must run as root" >&2; exit 2; }
    mkdir -p /run/netns
    export VKC_INNER=1
    exec unshare --mount --propagation private -- bash "${BASH_SOURCE[0]}" "$@"
fi
mount -t tmpfs -o mode=0755,size=1m vkc-netns /run/netns || { echo "record.sh: cannot mount a tmpfs on /run/netns" >&2; exit 2; }
export VKC_PRIVATE=1

# New namespaces copy the initial namespace's IPv4 conf/all and conf/default (forwarding, rp_filter,
# ...) unless net.core.devconf_inherit_init_net says otherwise: with 2 they start from the kernel's
# compiled defaults, whatever this machine's own settings, as a fresh VirtKernel namespace does.
# Only namespaces created meanwhile are affected; the old value is put back at the end.
INHERIT=$(cat /proc/sys/net/core/devconf_inherit_init_net)
echo 2 > /proc/sys/net/core/devconf_inherit_init_net
trap 'echo "$INHERIT" > /proc/sys/net/core/devconf_inherit_init_net' EXIT

OUTDIR=$HERE/golden
VERIFY=0
CASES=()
while [ $# -gt 0 ]; do
    case "$1" in
        -o) OUTDIR=$2; shift 2 ;;
        --verify) VERIFY=1; shift ;;
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) CASES+=("$1"); shift ;;
    esac
done
[ ${#CASES[@]} -eq 0 ] && for f in "$HERE"/cases/*.case; do CASES+=("$f"); done
mkdir -p "$OUTDIR"

path_of() { case "$1" in */*|*.case) echo "$1" ;; *) echo "$HERE/cases/$1.case" ;; esac; }

record_into() { # DIR
    local c f
    for c in "${CASES[@]}"; do
        f=$(path_of "$c")
        "$HERE/run-case.sh" "$f" > "$1/$(basename "$f" .case).out"
        echo "recorded $(basename "$f" .case)" >&2
    done
}

record_into "$OUTDIR"
if [ $VERIFY = 1 ]; then
    tmp=$(mktemp -d)
    record_into "$tmp"
    bad=0
    for c in "${CASES[@]}"; do
        n=$(basename "$(path_of "$c")" .case)
        if ! cmp -s "$OUTDIR/$n.out" "$tmp/$n.out"; then echo "unstable: $n" >&2; diff "$OUTDIR/$n.out" "$tmp/$n.out" | head -20 >&2; bad=1; fi
    done
    rm -rf "$tmp"
    exit $bad
fi
