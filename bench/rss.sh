#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Peak RSS of the daemon under many connections: idle, then after N GetMetrics calls from
# h2load with CLIENTS connections of STREAMS streams each (defaults: 400000, 64, 1), so the
# figure shows whether memory follows the call count (it should not).
#
#   BUILD=build bench/rss.sh                 N=400000 CLIENTS=64 STREAMS=1
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${N:-400000}
CLIENTS=${CLIENTS:-64}
STREAMS=${STREAMS:-1}
need h2load taskset protoc
bodies demo-api
port=$(free_port)
start_daemon "$port" "$here/etc/kedastral-scaler.conf" taskset -c 0
pid=$!
pids+=("$pid")
wait_port "$port"
idle=$(vm_kb "$pid" VmHWM)
taskset -c 1 h2load -n "$N" -c "$CLIENTS" -m "$STREAMS" -d "$work/gm.bin" \
  -H 'content-type: application/grpc' -H 'te: trailers' \
  "http://127.0.0.1:$port/externalscaler.ExternalScaler/GetMetrics" >"$work/h2load.txt"
echo "== $(date -u +%FT%TZ) $(git -C "$here" rev-parse --short HEAD) n=$N c=$CLIENTS m=$STREAMS"
grep -E '^requests:' "$work/h2load.txt"
echo "peak RSS idle $idle kB, after $(vm_kb "$pid" VmHWM) kB, now $(vm_kb "$pid" VmRSS) kB"
