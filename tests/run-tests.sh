#!/usr/bin/env bash
# tests/run-tests.sh (what `./vk test` runs): installs what the tests need on a Debian machine,
# builds the shim and the daemon, runs the shim's C checks and the xunit suite (unit, wire, fuzz and
# end-to-end tests that run the real clients under the shim as an unprivileged user), and ends
# with one line: "tests: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/tests/out
mkdir -p "$OUT"

log() { echo "== $*" >&2; }

# ---- 1. system packages ----------------------------------------------------------------------
declare -A PKG_FOR=( [ip]=iproute2 [bridge]=iproute2 [cc]=gcc [make]=make [setpriv]=util-linux [flock]=util-linux
                     [fusermount3]=fuse3 [nsenter]=util-linux [busybox]=busybox [nl-link-list]=libnl-utils
                     [busctl]=systemd [gdbus]=libglib2.0-bin [dbus-daemon]=dbus )
missing=()
for cmd in "${!PKG_FOR[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${PKG_FOR[$cmd]}")
done
# the client suites (tests/clients) run busybox ip, libnl's nl-* tools and pyroute2 (Debian's, on
# /usr/bin/python3) under the shim
if ! /usr/bin/python3 -c 'import pyroute2' >/dev/null 2>&1; then missing+=(python3-pyroute2); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "run-tests: missing ${missing[*]} (install them, or run as root to have them installed)" >&2
  fi
fi
# The daemon mounts its /proc/sys/net, /proc/net and /sys/class/net views with FUSE: root through
# mount(2), other users through fusermount3, which needs /dev/fuse to be openable by them. Debian
# makes it 0666; some machines (and CI containers) have it 0600: open it up for the unprivileged
# end-to-end tests.
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != 666 ]; then
  log "making /dev/fuse usable by unprivileged users (chmod 0666)"
  chmod 0666 /dev/fuse
fi
[ -c /dev/fuse ] || echo "run-tests: no /dev/fuse: the tests of the mounted views will fail" >&2

command -v dotnet >/dev/null || { echo "run-tests: the .NET SDK (dotnet) is required" >&2; echo "tests: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0

# ---- 2. the shim and its C checks -----------------------------------------------------------------
log "building the shim"
if make -s -C "$ROOT/shim" >&2 && make -s -C "$ROOT/shim" tests >&2; then
  log "shim checks"
  make -s -C "$ROOT/shim" check 2>&1 | tee "$OUT/shim-check.log" >&2
  line=$(grep -E '^shim: [0-9]+ passed, [0-9]+ failed' "$OUT/shim-check.log" | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | sed -E 's/^shim: ([0-9]+) passed.*/\1/')))
    failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
  else
    failed=$((failed + 1))
  fi
else
  echo "run-tests: building the shim failed" >&2
  failed=$((failed + 1))
fi

# ---- 3. the daemon and the xunit suite ------------------------------------------------------------
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log "building the daemon"
if dotnet build -c Release --nologo -v q "$ROOT/VirtKernel.sln" >&2; then
  log "xunit tests"
  rm -f "$OUT/results.trx"
  dotnet test -c Release --no-build --nologo "$ROOT/tests/VirtKernel.Tests/VirtKernel.Tests.csproj" \
    --logger "trx;LogFileName=$OUT/results.trx" --logger "console;verbosity=minimal" "$@" >&2
  if [ -f "$OUT/results.trx" ]; then
    counters=$(grep -o '<Counters [^>]*>' "$OUT/results.trx" | head -1)
    p=$(echo "$counters" | sed -E 's/.* passed="([0-9]+)".*/\1/')
    f=$(echo "$counters" | sed -E 's/.* failed="([0-9]+)".*/\1/')
    passed=$((passed + p))
    failed=$((failed + f))
    # the client suites, per client: cases matched of total
    grep -o 'testName="[^"]*ClientTests.MatchesTheKernel(name: &quot;[a-z0-9]*-[^&]*&quot;)"[^>]*outcome="[A-Za-z]*"' "$OUT/results.trx" |
      sed -E 's/.*&quot;([a-z0-9]+)-[^&]*&quot;.*outcome="([A-Za-z]+)"/\1 \2/' | sort |
      awk '{t[$1]++; if ($2 == "Passed") p[$1]++} END {for (c in t) printf "clients: %s %d/%d\n", c, p[c], t[c]}' | sort >&2
  else
    failed=$((failed + 1))
  fi
else
  echo "run-tests: building the solution failed" >&2
  failed=$((failed + 1))
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
