#!/usr/bin/env bash
# bench/kernel_baselines.sh - run the kernel baseline scripts (a folder of *.sh measuring the real
# kernel through /usr/sbin/ip, e.g. the project's shared bench/kernel) unchanged against
# VirtKernel: IP is the real ip under the shim, MEM_PID the daemon, which runs on a private
# socket for the duration.
#
# The shim is exported in the environment (LD_PRELOAD, VIRTKERNEL_SOCKET) and IP=/usr/sbin/ip,
# as in the kernel's runs, so that per-process figures compare one exec with one exec;
# VKBENCH_IP=env uses IP="env LD_PRELOAD=... /usr/sbin/ip" instead (one more exec per command).
#
# Usage: bench/kernel_baselines.sh KERNEL_BENCH_DIR [SCRIPT [ARGS...]]
#   without SCRIPT: KERNEL_BENCH_DIR/run_all.sh (RUNS and RAW_FILE as its arguments: $RUNS, $RAW)
#   with SCRIPT:    only that script, e.g. netns_lifecycle.sh 1000 batch
# The scripts print metric= lines in their own format.
set -euo pipefail
export LC_ALL=C
DIR=${1:?usage: bench/kernel_baselines.sh KERNEL_BENCH_DIR [SCRIPT [ARGS...]]}
shift
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VK=$ROOT/vk
TMP=$(mktemp -d -t vkbench.XXXXXX)
export VIRTKERNEL_SOCKET=$TMP/vk.sock
cleanup() { "$VK" stop >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
"$VK" build >/dev/null
"$VK" run -- /usr/sbin/ip link show >/dev/null   # starts the daemon
export MEM_PID
MEM_PID=$(cat "$TMP/vk.sock.pid")
if [ "${VKBENCH_IP:-}" = env ]; then
  export IP="env LD_PRELOAD=$ROOT/shim/build/libvkshim.so VIRTKERNEL_SOCKET=$VIRTKERNEL_SOCKET /usr/sbin/ip"
else
  export IP=/usr/sbin/ip
  export LD_PRELOAD=$ROOT/shim/build/libvkshim.so${LD_PRELOAD:+:$LD_PRELOAD}
fi
if [ $# -gt 0 ]; then
  script=$1
  shift
  bash "$DIR/$script" "$@"
else
  bash "$DIR/run_all.sh" "${RUNS:-3}" ${RAW:+"$RAW"}
fi
