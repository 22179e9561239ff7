# bench/daemon.sh - sourced by the routing benchmarks (ROOT set to the project): a fresh daemon on a
# private socket for the run, stopped on exit. Defines TMP, VIRTKERNEL_SOCKET, DPID, SHIM, and
# ipv (ip under the shim, as `vk run` starts it but without the wrapper's own start-up inside the
# timed step: one exec of ip, as in the kernel's runs) and rss (the daemon's VmRSS in kB).
VK=$ROOT/vk
TMP=$(mktemp -d -t vkbench.XXXXXX)
export VIRTKERNEL_SOCKET=$TMP/vk.sock
cleanup() { "$VK" stop >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

"$VK" serve --socket "$VIRTKERNEL_SOCKET" >"$TMP/daemon.log" 2>&1 &
for _ in $(seq 1200); do [ -S "$VIRTKERNEL_SOCKET" ] && [ -s "$VIRTKERNEL_SOCKET.pid" ] && break; sleep 0.025; done
DPID=$(cat "$VIRTKERNEL_SOCKET.pid" 2>/dev/null || true)
[ -n "$DPID" ] || { cat "$TMP/daemon.log" >&2; echo "error: the daemon did not start" >&2; exit 1; }
SHIM=$ROOT/shim/build/libvkshim.so
[ -f "$SHIM" ] || { echo "error: $SHIM missing (./vk build)" >&2; exit 1; }
ipv() { LD_PRELOAD=$SHIM${LD_PRELOAD:+:$LD_PRELOAD} /usr/sbin/ip "$@"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }
