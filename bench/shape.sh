#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One h2load shape against the daemon (pinned to CPU 0, h2load to CPU 1): req/s and the CPU
# share the daemon used, so a run where the client or the machine was the limit shows itself.
# With SYSCALLS=1 the daemon runs under `strace -c -f` instead and its system calls per kind
# are printed (strace slows it: the counts are the figure then, not the req/s).
#
#   BUILD=build bench/shape.sh C M [SECONDS]        e.g. 4 32, 64 1; METHOD=IsActive
#   SYSCALLS=1 N=50000 BUILD=build bench/shape.sh 64 1
set -euo pipefail
source "$(dirname "$0")/lib.sh"
c=${1:?clients} m=${2:?streams per client} secs=${3:-4}
METHOD=${METHOD:-GetMetrics}
need h2load taskset protoc
bodies demo-api
body=$work/gm.bin
[ "$METHOD" = IsActive ] && body=$work/ia.bin
url_path=/externalscaler.ExternalScaler/$METHOD
port=$(free_port)
start_daemon "$port" "$here/etc/kedastral-scaler.conf" taskset -c 0
pid=$!
pids+=("$pid")
wait_port "$port"
h() {
  taskset -c 1 h2load "$@" -d "$body" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$port$url_path" >"$work/h2load.txt" 2>&1
}
h -n 2000 -c 1 -m 10 # warm: the forecast is cached

if [ "${SYSCALLS:-0}" = 1 ]; then
  need strace
  strace -c -f -p "$pid" -o "$work/strace.txt" 2>/dev/null &
  st=$!
  sleep 0.5
  h -n "${N:-50000}" -c "$c" -m "$m"
  kill -INT "$st"
  wait "$st" || true
  grep -E '^requests:' "$work/h2load.txt"
  awk 'NR <= 2 || /epoll|read|write|ioctl|total/' "$work/strace.txt"
  exit 0
fi

ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
t0=$(ticks) s0=$(date +%s%N)
h -c "$c" -m "$m" -D "$secs"
t1=$(ticks) s1=$(date +%s%N)
awk -v c="$c" -v m="$m" -v meth="$METHOD" -v cpu="$(((t1 - t0) * 1000000000 / (s1 - s0)))" \
  '/^finished in/ { rps = $4 } /^requests:/ { bad = $12 + $14 }
   END { printf "%s c=%s m=%s: %.0f req/s, daemon CPU %d %%, failed %d\n", meth, c, m, rps, cpu, bad }' \
  "$work/h2load.txt"
