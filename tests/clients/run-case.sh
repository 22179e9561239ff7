#!/usr/bin/env bash
# run-case.sh - runs one client case (tests/clients/cases/NAME.case) and prints its transcript in
# the golden format. The same script runs against the real kernel (record.sh, as root, in a private
# mount namespace) and against VirtKernel (the end-to-end tests, unprivileged, with the shim in
# LD_PRELOAD and VIRTKERNEL_SOCKET naming a fresh daemon): only the environment differs.
#
# Usage: run-case.sh CASEFILE
#
# The case runs in a network namespace of its own, $NS (`ip netns add`), entered for every line
# with `nsenter --net=/run/netns/$NS` (the network namespace only: namespaces a line creates stay
# visible to the next lines). Namespace names in the output are replaced by the token $NS. At the
# end every namespace under /run/netns is deleted, so the script refuses to run unless /run/netns
# is private to it (VKC_PRIVATE=1, set by record.sh) or virtual (VIRTKERNEL_SOCKET set).
#
# Case format: see README.md.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IP=${IP:-/usr/sbin/ip}
NSENTER=${NSENTER:-/usr/bin/nsenter}
SETTLE=${SETTLE:-0.5}
CMD_TIMEOUT=${CMD_TIMEOUT:-30}

if [ -z "${VKC_PRIVATE:-}" ] && [ -z "${VIRTKERNEL_SOCKET:-}" ]; then
    echo "run-case.sh: run it through record.sh (real kernel) or under the shim (VIRTKERNEL_SOCKET)" >&2
    exit 2
fi
[ $# -eq 1 ] || { echo "usage: run-case.sh CASEFILE" >&2; exit 2; }
CASE=$1

NS=vkc-$$
export NS S="$HERE/scripts" PY=/usr/bin/python3 LC_ALL=C
TMPD=$(mktemp -d)
declare -A BG_PID=()

cleanup() {
    local p n
    for p in "${BG_PID[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for n in $("$IP" netns list 2>/dev/null | cut -d' ' -f1); do "$IP" netns del "$n" 2>/dev/null; done
    rm -rf "$TMPD"
}
trap cleanup EXIT

trim() {
    local s=$1
    s=${s#"${s%%[![:space:]]*}"}
    s=${s%"${s##*[![:space:]]}"}
    printf '%s' "$s"
}

masks=" $(sed -n 's/^#mask://p' "$CASE" | tr '\n' ' ') "

# normalise FILE: the namespace name, and the masks the case asks for (README.md)
normalise() {
    sed -i -e "s/$NS/\$NS/g" "$1"
    case "$masks" in *" bridge-timers "*)
        sed -i -E \
            -e 's/((hello|tcn|topology_change|gc|hold|message_age|forward_delay)_timer) +[0-9]+\.[0-9]+/\1 *.**/g' \
            -e 's/"((hello|tcn|topology_change|gc|hold|message_age|forward_delay)_timer)":[0-9]+(\.[0-9]+)?/"\1":"*"/g' "$1" ;;
    esac
    case "$masks" in *" timestamps "*)
        sed -i -E \
            -e 's/^Timestamp: .* [0-9]+ usec$/Timestamp: * usec/' \
            -e 's/^\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}\] /[*] /' "$1" ;;
    esac
}

# emit LINE FILE RC
emit() {
    printf '=== %s\n' "$1"
    normalise "$2"
    cat "$2"
    if [ -s "$2" ] && [ "$(tail -c1 "$2" | od -An -c | tr -d ' ')" != '\n' ]; then
        printf '\n--- rc=%s noeol\n' "$3"
    else
        printf -- '--- rc=%s\n' "$3"
    fi
}

# #clock: SECONDS - the case's commands see a fixed wall clock, that many seconds since the epoch,
# in UTC: under the shim through its VIRTKERNEL_REALTIME, on the real kernel (recording) through
# libfaketime (Debian's libfaketime, FAKETIME_LIB) frozen at the same instant. Only the commands of
# the case get it, not this script.
CLOCK=()
clock=$(sed -n 's/^#clock:[[:space:]]*//p' "$CASE" | head -n 1)
if [ -n "$clock" ]; then
    case "$clock" in *[!0-9]*) echo "run-case.sh: #clock wants whole seconds since the epoch: $clock" >&2; exit 2 ;; esac
    CLOCK=(env TZ=UTC VIRTKERNEL_REALTIME="$clock")
    if [ -z "${VIRTKERNEL_SOCKET:-}" ]; then
        lib=${FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}
        [ -f "$lib" ] || { echo "run-case.sh: #clock needs libfaketime ($lib) on the real kernel" >&2; exit 2; }
        CLOCK+=(LD_PRELOAD="$lib" FAKETIME="$(TZ=UTC date -d "@$clock" '+%Y-%m-%d %H:%M:%S')" FAKETIME_NO_CACHE=1)
    fi
fi

in_ns() { "$NSENTER" --net="/run/netns/$NS" -- "${CLOCK[@]}" "$@"; }

"$IP" netns add "$NS" || { echo "run-case.sh: cannot create namespace $NS" >&2; exit 1; }

while IFS= read -r raw || [ -n "$raw" ]; do
    line=$(trim "$raw")
    [ -z "$line" ] && continue
    case "$line" in '#'*) continue ;; esac
    rest=$line
    [ "${rest:0:1}" = "?" ] && rest=$(trim "${rest:1}")
    out=$TMPD/out
    : > "$out"
    case "$rest" in
        '&'*)
            name=${rest%% *}; name=${name:1}
            cmd=$(trim "${rest#* }")
            in_ns /bin/sh -c "exec $cmd" > "$TMPD/bg.$name" 2>&1 < /dev/null &
            BG_PID[$name]=$!
            sleep "$SETTLE"
            rc=0 ;;
        '!stop '*|'!wait '*)
            name=$(trim "${rest#* }")
            pid=${BG_PID[$name]:-}
            if [ -z "$pid" ]; then echo "run-case.sh: no background command $name" >&2; exit 2; fi
            if [ "${rest:0:5}" = '!stop' ]; then
                sleep "$SETTLE"
                kill -TERM "$pid" 2>/dev/null
            else
                # give it CMD_TIMEOUT seconds to end by itself
                ( sleep "$CMD_TIMEOUT"; kill -KILL "$pid" 2>/dev/null ) & watchdog=$!
            fi
            wait "$pid"; rc=$?
            [ "${rest:0:5}" = '!wait' ] && { kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null; }
            unset "BG_PID[$name]"
            cp "$TMPD/bg.$name" "$out" ;;
        '!sleep '*)
            sleep "${rest#!sleep }"; rc=0 ;;
        *)
            timeout "$CMD_TIMEOUT" "$NSENTER" --net="/run/netns/$NS" -- "${CLOCK[@]}" /bin/sh -c "$rest" > "$out" 2>&1 < /dev/null
            rc=$? ;;
    esac
    emit "$line" "$out" "$rc"
done < "$CASE"
